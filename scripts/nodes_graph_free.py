"""The graph-free baseline of docs/nodes.md's injection rows: the same architecture trained
and evaluated with every node alone (no edges), on the targets of scripts/nodes_figures.py.

    python scripts/nodes_graph_free.py --datasets cora_ml citeseer --models gcn gat

A classifier that reads no edges cannot be changed by injected nodes, so its clean accuracy is
certified against any number of them without sampling. A certified accuracy against injected
nodes shows robustness of a graph model only where it exceeds this figure.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from graphcert.data.datasets import load_graph, split
from graphcert.noise.injection import injection_noise
from graphcert.run.models import build_model
from graphcert.tasks.graph.node_threats import train_under_noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["cora_ml", "citeseer"])
    parser.add_argument("--models", nargs="+", default=["gcn", "gat", "appnp"])
    parser.add_argument("--n-targets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for dataset in args.datasets:
        data = load_graph(dataset)
        idx_train, idx_val, idx_test = split(data.y, 20, args.seed)
        targets = np.sort(np.random.default_rng(args.seed).choice(  # as nodes_figures.py
            idx_test, min(args.n_targets, idx_test.size), replace=False))
        alone = data.clone()
        alone.edge_index = torch.empty(2, 0, dtype=torch.long)
        no_noise = injection_noise(alone.edge_index, data.num_nodes, 0.0, 0.0)
        for name in args.models:
            torch.manual_seed(args.seed)
            model = build_model(name, data.num_features, int(data.y.max()) + 1)
            start = time.perf_counter()
            train_under_noise(model, alone, no_noise, idx_train, idx_val, seed=args.seed)
            with torch.no_grad():
                predicted = model(alone.x, alone.edge_index).argmax(-1)
            correct = (predicted[targets] == data.y[targets]).float().mean().item()
            print(json.dumps({"dataset": dataset, "model": name, "graph_free_accuracy": correct,
                              "n_targets": int(targets.size),
                              "train_s": time.perf_counter() - start}))


if __name__ == "__main__":
    main()

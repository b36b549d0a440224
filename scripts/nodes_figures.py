"""Figures of docs/nodes.md: certified accuracy against controlled nodes (hierarchical
smoothing, docs/theory.md §14) and injected nodes (node-aware bi-smoothing, §15).

    python scripts/nodes_figures.py --dataset cora_ml --model gcn --threat nodes \
        --n-samples 2000 --out results/nodes

One JSON file per (dataset, model, threat, noise setting) with the budgets, the naive and
collective certified counts, the smoothed accuracy and the wall time of each step.

``--clusters K --theta-minus-range LOW HIGH`` (controlled nodes): cluster-wise lower-level
noise (docs/theory.md §14.1) on K METIS clusters, theta_minus from LOW to HIGH in the order of
the clusters' mean degree (the densest cluster gets HIGH), theta_plus everywhere the same.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from graphcert.data.clustering import metis_partition
from graphcert.data.datasets import load_graph, split
from graphcert.noise.hierarchical import hierarchical_noise
from graphcert.noise.injection import injection_noise
from graphcert.run.models import build_model
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.node_threats import node_threat_result, train_under_noise

HOPS = {"gcn": 2, "gat": 2, "appnp": 10}  # message-passing steps: GCN layers, APPNP's k


def degree_ordered_noise(edge_index, n: int, k: int, low: float, high: float, seed: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """METIS clusters (N,) and theta_minus (K,) from ``low`` to ``high`` by the clusters' mean
    degree: a node of a dense cluster reaches more targets and the model averages its row
    with more neighbours, so its noise costs less accuracy per certified node."""
    clusters = metis_partition(edge_index, n, k, seed=seed)
    degree = np.bincount(np.asarray(edge_index).ravel(), minlength=n)
    mean = np.bincount(clusters, weights=degree, minlength=k) / np.bincount(clusters,
                                                                           minlength=k)
    theta_minus = np.empty(k)
    theta_minus[np.argsort(mean, kind="stable")] = np.linspace(low, high, k)
    return clusters, theta_minus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora_ml")
    parser.add_argument("--model", default="gcn", choices=sorted(HOPS))
    parser.add_argument("--threat", default="nodes", choices=("nodes", "injection"))
    parser.add_argument("--p-select", type=float, default=0.81)
    parser.add_argument("--theta-plus", type=float, default=0.05)
    parser.add_argument("--theta-minus", type=float, default=0.8)
    parser.add_argument("--clusters", type=int, default=0, help="0: one lower-level noise")
    parser.add_argument("--theta-minus-range", type=float, nargs=2, default=(0.7, 0.9))
    parser.add_argument("--p-node", type=float, default=0.8)
    parser.add_argument("--p-edge", type=float, default=0.9)
    parser.add_argument("--tau", type=int, default=6)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-pre", type=int, default=100)
    parser.add_argument("--n-targets", type=int, default=500)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/nodes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_graph(args.dataset)
    n = data.num_nodes
    idx_train, idx_val, idx_test = split(data.y, 20, args.seed)
    targets = np.sort(np.random.default_rng(args.seed).choice(
        idx_test, min(args.n_targets, idx_test.size), replace=False))
    if args.threat == "nodes" and args.clusters:
        clusters, theta_minus = degree_ordered_noise(data.edge_index, n, args.clusters,
                                                     *args.theta_minus_range, args.seed)
        noise = hierarchical_noise(n, args.p_select,
                                   theta_plus=np.full(args.clusters, args.theta_plus),
                                   theta_minus=theta_minus, indicator=True, clusters=clusters)
        in_features, budgets = data.num_features + 1, [0, 1, 2, 3, 5]
        low, high = args.theta_minus_range
        tag = f"p{args.p_select}_tp{args.theta_plus}_k{args.clusters}_tm{low}-{high}"
    elif args.threat == "nodes":
        noise = hierarchical_noise(n, args.p_select, theta_plus=args.theta_plus,
                                   theta_minus=args.theta_minus, indicator=True)
        in_features, budgets = data.num_features + 1, [0, 1, 2, 3, 5]
        tag = f"p{args.p_select}_tp{args.theta_plus}_tm{args.theta_minus}"
    else:
        noise = injection_noise(data.edge_index, n, args.p_node, args.p_edge)
        in_features, budgets = data.num_features, [0, 5, 10, 20, 30]
        tag = f"pn{args.p_node}_pe{args.p_edge}_tau{args.tau}"
    model = build_model(args.model, in_features, int(data.y.max()) + 1)
    times = {}
    start = time.perf_counter()
    train_under_noise(model, data, noise, idx_train, idx_val, seed=args.seed)
    times["train_s"] = time.perf_counter() - start
    config = MonteCarloConfig(args.n_samples, args.n_pre, chunk_size=500, batch_size=32,
                              n_bins=1, seed=args.seed)
    start = time.perf_counter()
    stats = smooth(model, data.x, data.edge_index, noise, config, progress=False)
    times["smooth_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = node_threat_result(stats, data.y.numpy(), targets, noise, data.edge_index.numpy(),
                                budgets, alpha=args.alpha, hops=HOPS[args.model],
                                additions_per_node=0, deletions_per_node=1, tau=args.tau)
    times["certify_s"] = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"dataset": args.dataset, "model": args.model, "threat": args.threat,
              "noise": noise.describe(), "n_samples": args.n_samples, "n_pre": args.n_pre,
              "alpha": args.alpha, "n_targets": result.n_targets, "budgets": result.budgets,
              "naive": result.naive, "collective": result.collective,
              "accuracy": result.accuracy, "tau": args.tau, "times": times,
              "targets": targets.tolist(), "p_lower": result.p_lower.tolist(),
              "correct": result.correct.tolist()}
    name = f"{args.dataset}_{args.model}_{args.threat}_{tag}.json"
    (out / name).write_text(json.dumps(record, indent=1))
    print(json.dumps({k: record[k] for k in ("dataset", "model", "threat", "budgets", "naive",
                                             "collective", "accuracy", "n_targets", "times")}))


if __name__ == "__main__":
    main()

"""Benchmark: voting certificates over edge-hashed subgraphs (docs/voting.md).

Trains the base classifier on the T subgraphs (or loads ``--weights``), then times

* ``graphcert.voting.certify`` on every test node (``--targets all``: every node): T forward
  passes (disjoint unions of subgraphs), vote counts and radii;
* the collective certificate (``VotingCertificate.collective_accuracy``) over the budgets;

and prints certified accuracy against 0..``--max-budget`` edge insertions and deletions,
naive and collective, with the wall times. ``--json`` writes the numbers.

    python benchmarks/voting.py --dataset cora_ml --model gcn [--groups 30] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import graphcert.voting as voting
from gnn_models import get_model
from graphcert.data.datasets import graph_split, load_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora_ml")
    parser.add_argument("--model", default="gcn")
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--division", default="edge")
    parser.add_argument("--seed", type=int, default=0, help="division key and training seed")
    parser.add_argument("--n-per-class", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--targets", choices=("test", "all"), default="test",
                        help="the test nodes, or every node of the graph")
    parser.add_argument("--max-budget", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--weights", help="state dict to load (skips training) or to save")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

    data = load_graph(args.dataset)
    idx_train, idx_val, idx_test = graph_split(data, args.n_per_class, 0)
    model = get_model(args.model, data.x.shape[1], data.num_classes, hidden=args.hidden)
    division = voting.divide_graph(data, args.groups, args.division, args.seed)
    clock = time.perf_counter()
    trained = None
    if args.weights and Path(args.weights).exists():
        model.load_state_dict(torch.load(args.weights, weights_only=True))
    else:
        trained = voting.train(model, data, division, idx_train, idx_val, lr=args.lr,
                               weight_decay=args.weight_decay, patience=args.patience,
                               seed=args.seed)
        if args.weights:
            torch.save(model.state_dict(), args.weights)
    training = time.perf_counter() - clock

    clock = time.perf_counter()
    targets = idx_test if args.targets == "test" else None  # None: all nodes
    cert = voting.certify(model, data, args.groups, args.division, targets, args.seed)
    certify_time = time.perf_counter() - clock
    budgets = np.arange(args.max_budget + 1)
    naive = cert.certified_accuracy(data.y, budgets)
    clock = time.perf_counter()
    collective = (cert.collective_accuracy(data.y, budgets, args.time_limit)
                  if args.division == "edge" else np.full(budgets.size, np.nan))
    collective_time = time.perf_counter() - clock

    print(f"{args.dataset} / {args.model}, {args.division} hashing, T = {args.groups}, "
          f"{cert.targets.size} targets ({args.targets}), hops K = {cert.hops}")
    if trained is not None:
        print(f"training: {training:.1f} s, best epoch {trained.best_epoch}, voted validation "
              f"accuracy {trained.val_accuracy:.3f}")
    print(f"certify (T forward passes, votes, radii): {certify_time:.2f} s")
    print(f"collective certificate, {budgets.size} budgets: {collective_time:.1f} s")
    print("edges       " + " ".join(f"{b:>5d}" for b in budgets))
    print("naive       " + " ".join(f"{a:5.3f}" for a in naive))
    print("collective  " + " ".join(f"{a:5.3f}" for a in collective))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"dataset": args.dataset, "model": args.model, "groups": args.groups,
                       "division": args.division, "n_targets": int(cert.targets.size),
                       "hops": cert.hops, "training_s": training,
                       "certify_s": certify_time, "collective_s": collective_time,
                       "budgets": budgets.tolist(), "naive": naive.tolist(),
                       "collective": collective.tolist()}, handle, indent=1)


if __name__ == "__main__":
    main()

"""Reproduce the LRS Fig. 5 comparison on CiteSeer: localized smoothing (5 METIS clusters,
theta_plus = 0.01, theta_minus from theta_min to 0.95 by affinity) with the collective
certificate vs. SparseSmooth at theta_minus = theta_min, for theta_min in 0.1, 0.15, ..., 0.95.

Every run is resumable; rerunning the script continues where it stopped. The papers use
--n-pre 1000 --n-samples 100000 (per cluster); the defaults here finish on a laptop.

    python scripts/citeseer_fig5.py --out runs/fig5 --n-samples 2000
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from graphcert.run.config import RunConfig
from graphcert.run.sweep import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/citeseer_fig5")
    parser.add_argument("--theta-min", type=float, nargs="*",
                        default=[round(t, 2) for t in np.arange(0.10, 0.951, 0.05)])
    parser.add_argument("--theta-max", type=float, default=0.95)
    parser.add_argument("--n-clusters", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--n-pre", type=int, default=200)
    parser.add_argument("--model", default="appnp")
    parser.add_argument("--methods", default="localized,sparse_smooth")
    parser.add_argument("--max-deletions", type=int, default=100)
    parser.add_argument("--max-additions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {
        f"theta_min_{theta:.2f}": RunConfig(
            dataset="citeseer", model=args.model, methods=args.methods.split(","),
            n_clusters=args.n_clusters, theta_plus=0.01, theta_minus_low=theta,
            theta_minus_high=args.theta_max, n_samples=args.n_samples, n_pre=args.n_pre,
            max_deletions=args.max_deletions, max_additions=args.max_additions,
            split_seed=args.seed, train_seed=args.seed, mc_seed=args.seed)
        for theta in args.theta_min}
    points = run_sweep(runs, args.out, progress=not args.quiet)
    print(f"\n{'run':<18} {'method':<14} {'accuracy':>8} {'ACR del':>8} {'ACR add':>8}")
    for p in points:
        print(f"{p['run']:<18} {p['method']:<14} {p['accuracy']:>8.3f} "
              f"{p['acr_deletions']:>8.2f} {p['acr_additions']:>8.2f}")
    print(f"\ntable and Pareto plots in {args.out}/")


if __name__ == "__main__":
    main()

"""Benchmark: exact localized certificates (docs/theory.md §11) on CiteSeer-sized problems.

For each theta_min (Fig. 5's schedule: 5 clusters, theta_plus 0.01, theta_minus from theta_min
to 0.95 by affinity rank) it times, from a cold threshold cache:

* per-node (naive) certificates of ``--targets`` targets over the whole budget grid
  (additions 0..20 x deletions 0..100, per-cluster allocations);
* the collective sweeps of Fig. 5 for ``--collective-targets`` targets: deletions 0..100 and
  additions 0..20 (exact searches), and the joint grid (one deletion sweep per additions
  budget, 400 search nodes per budget as the ``localized_exact`` method runs it), and whether
  every search of the curves and of the grid finished exactly.

p_lower are Clopper-Pearson bounds with Holm's correction of synthetic votes (``--samples``
per target, vote shares uniform in (0.5, 1] with a fifth of the targets unanimous);
capacities are CiteSeer's (3703 attributes, 32 ones per node on average, 3327 nodes).

    python benchmarks/localized_exact.py [--theta-min 0.3 0.5 0.7] [--targets 1000] [--no-joint]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from graphcert.certificates._localized_regions import _threshold
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.certificates.collective import LocalizedExactCollective

N_CLUSTERS, THETA_PLUS, THETA_MAX = 5, 0.01, 0.95
N_NODES, N_ATTRIBUTES, MEAN_ONES = 3327, 3703, 32


def schedule(theta_min: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(theta_plus, theta_minus), (C, C): each row a random rank permutation, own cluster
    first (rank 0), as METIS clusters of a graph give."""
    rng = np.random.default_rng(seed)
    ranks = np.empty((N_CLUSTERS, N_CLUSTERS), dtype=np.int64)
    for i in range(N_CLUSTERS):
        others = rng.permutation([j for j in range(N_CLUSTERS) if j != i])
        ranks[i, i] = 0
        ranks[i, others] = np.arange(1, N_CLUSTERS)
    theta_minus = theta_min + (THETA_MAX - theta_min) * ranks / (N_CLUSTERS - 1)
    return np.full_like(theta_minus, THETA_PLUS), theta_minus


def instance(n_targets: int, n_samples: int, seed: int):
    rng = np.random.default_rng(seed)
    share = np.where(rng.random(n_targets) < 0.2, 1.0, rng.uniform(0.5, 1.0, n_targets))
    votes = np.floor(share * n_samples).astype(np.int64)
    p_lower, passed = holm_lower_bounds(votes, n_samples, 0.01)
    group = rng.integers(0, N_CLUSTERS, n_targets)
    labels = rng.integers(0, N_CLUSTERS, N_NODES)
    ones = np.clip(rng.poisson(MEAN_ONES, N_NODES), 1, N_ATTRIBUTES)
    cap_minus = np.bincount(labels, weights=ones, minlength=N_CLUSTERS).astype(np.int64)
    cap_plus = np.bincount(labels, weights=N_ATTRIBUTES - ones,
                           minlength=N_CLUSTERS).astype(np.int64)
    return np.where(passed, p_lower, 0.0), group, cap_plus, cap_minus


class _Clock:
    """Wall and process CPU time since creation, read as "wall / cpu"."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> str:
        return (f"{time.perf_counter() - self.wall:.1f}/"
                f"{time.process_time() - self.cpu:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--theta-min", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--collective-targets", type=int, default=120)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-joint", dest="joint", action="store_false",
                        help="time the naive grid and the two curves only")
    args = parser.parse_args()
    print("seconds as wall / CPU of this process (the CPU time is the work: on a shared "
          "machine the wall time also holds the waits)")
    print("theta_min  naive grid  collective: deletions  additions  joint  exact (curves/grid)"
          "  nodes")
    for theta_min in args.theta_min:
        tp, tm = schedule(theta_min, args.seed)
        p, group, cap_plus, cap_minus = instance(args.targets, args.samples, args.seed)
        _threshold.cache_clear()
        clock = _Clock()
        LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus).naive_grid(20, 100)
        t_naive = clock.read()
        p, group, _, _ = instance(args.collective_targets, args.samples, args.seed + 1)
        _threshold.cache_clear()
        coll = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus)
        times, results = [], []
        for plus, minus in ((0, np.arange(101)), (np.arange(21), 0)):
            clock = _Clock()
            results += coll.sweep(plus, minus)
            times.append(clock.read())
        clock = _Clock()
        grid, rows = LocalizedExactCollective(p, group, tp, tm, cap_plus, cap_minus,
                                              max_nodes=400), []
        for budget_plus in range(1, 21 if args.joint else 1):
            rows += grid.sweep(budget_plus, np.arange(101))
            if rows[-101].count == 0:
                break
        times.append(clock.read() if args.joint else "-")
        exact = f"{all(r.exact for r in results)}/{all(r.exact for r in rows)}"
        nodes = sum(r.nodes for r in results + rows)
        print(f"{theta_min:9.2f}  {t_naive:10}  {times[0]:>21}  {times[1]:>9}  {times[2]:>5}  "
              f"{exact:>10}  {nodes}")


if __name__ == "__main__":
    main()

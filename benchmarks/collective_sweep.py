"""Benchmark: deletion sweep of the collective certificate on a CiteSeer-sized problem
(docs/theory.md §5).

Sweeps deletions 0, 1, ... until the certified count reaches 0 and times

* ``CollectiveCertifier.sweep`` (build once, re-solve): default settings (exact enumeration of
  allocations over merged units when small, else MILP) and the MILP forced, once with merged
  per-cluster units and no local budget, once with per-node units and a local budget;
* the MILP rebuilt from scratch per budget (same formulation: isolates the DPP re-use);
* the plain way of the papers' code: a fresh cvxpy problem per budget with one binary and one
  ``W b >= eta t``-style constraint per output (slow: run up to ``--plain-max-budget``).

All ways must give identical counts (asserted).

    python benchmarks/collective_sweep.py [--input run.npz] [--milp-bins B] [--local-budget R]

An ``--input`` .npz (loaded with allow_pickle=False) holds ``eta`` (per node; non-finite or
<= 0 abstains), ``clusters``, ``cap_plus``, ``cap_minus`` and optionally ``targets`` and the
(C, C) schedules ``theta_plus``, ``theta_minus`` (else synthesised from ``--seed``).
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import cvxpy as cp
import numpy as np

from graphcert.certificates import sparsity_aware_weights
from graphcert.certificates.collective import CollectiveCertifier, quantize_eta


def rank_schedule(affinity: np.ndarray, low: float, high: float) -> np.ndarray:
    """theta[i, j] = low + (high - low) * rank of j by affinity to i / (C - 1)
    (docs/theory.md §2)."""
    n = affinity.shape[0]
    if n == 1:
        return np.full((1, 1), low)
    order = np.lexsort((np.broadcast_to(np.arange(n), affinity.shape), -affinity), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(n), (n, n)), axis=1)
    return low + (high - low) * ranks / (n - 1)


def synthetic_instance(seed: int = 0, n_nodes: int = 2110, n_targets: int = 1870,
                       n_clusters: int = 5, n_attributes: int = 3703, mean_ones: float = 32.0,
                       abstain_rate: float = 0.2) -> dict:
    """CiteSeer-like clusters, attribute counts, smoothing schedule and radii.

    Radii are ``ln(1 + (mu - 1/2)^2 / zeta)`` (docs/theory.md §3) with mu ~ U(1/2, 1) and zeta a
    random fraction of the largest possible variance mu (1 - mu); ``abstain_rate`` of them abstain.
    """
    rng = np.random.default_rng(seed)
    clusters = rng.permutation(np.arange(n_nodes) % n_clusters)
    ones = np.clip(rng.poisson(mean_ones, n_nodes), 1, n_attributes)
    affinity = rng.integers(0, 50, (n_clusters, n_clusters)) + 500 * np.eye(n_clusters)
    mu = rng.uniform(0.5, 1.0, n_nodes)
    zeta = mu * (1 - mu) * rng.uniform(0.02, 1.0, n_nodes)
    eta = np.log1p((mu - 0.5) ** 2 / zeta)
    eta[rng.random(n_nodes) < abstain_rate] = -np.inf
    targets = np.zeros(n_nodes, bool)
    targets[rng.choice(n_nodes, min(n_targets, n_nodes), replace=False)] = True
    return dict(eta=eta, clusters=clusters, cap_plus=(n_attributes - ones).astype(float),
                cap_minus=ones.astype(float), targets=targets,
                theta_plus=np.full((n_clusters, n_clusters), 0.01),
                theta_minus=rank_schedule(affinity, 0.5, 0.95))


def load_instance(path: str, seed: int) -> dict:
    """Read a run's arrays; missing targets default to all nodes, missing schedules to synthetic."""
    with np.load(path, allow_pickle=False) as data:
        inst = {key: data[key] for key in data.files}
    missing = {"eta", "clusters", "cap_plus", "cap_minus"} - inst.keys()
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}")
    n_nodes, n_clusters = inst["eta"].size, int(inst["clusters"].max()) + 1
    synthetic = synthetic_instance(seed, n_nodes=n_nodes, n_targets=n_nodes,
                                   n_clusters=n_clusters)
    for key in ("targets", "theta_plus", "theta_minus"):
        inst.setdefault(key, synthetic[key])
    return inst


def plain_count(eta, group, w_plus, w_minus, cap_plus, cap_minus, unit_column, eps_plus,
                eps_minus, local=None) -> int:
    """The papers' way: a fresh MILP, one binary per certifiable output, inf weights -> big M."""
    keep = np.isfinite(eta) & (eta > 0)
    eta, group = eta[keep], group[keep]
    big = eta.max() + 1
    wp = np.minimum(w_plus, big)[group][:, unit_column]
    wm = np.minimum(w_minus, big)[group][:, unit_column]
    bp = cp.Variable(cap_plus.size, integer=True)
    bm = cp.Variable(cap_minus.size, integer=True)
    t = cp.Variable(eta.size, boolean=True)
    cons = [bp >= 0, bp <= cap_plus, bm >= 0, bm <= cap_minus, cp.sum(bp) <= eps_plus,
            cp.sum(bm) <= eps_minus, wp @ bp + wm @ bm >= cp.multiply(eta, 1 - t)]
    if local is not None:
        cons.append(bp + bm <= local)
    problem = cp.Problem(cp.Minimize(cp.sum(t)), cons)
    problem.solve(solver=cp.HIGHS, mip_rel_gap=0.0)
    assert problem.status == cp.OPTIMAL, problem.status
    return math.ceil(problem.solver_stats.extra_stats.mip_dual_bound - 1e-6)


def sweep_counts(common: tuple, kw: dict, budgets, **opts) -> np.ndarray:
    """Collective counts along the deletion `budgets`, one certifier for all of them."""
    cert = CollectiveCertifier(*common, **kw, **opts)
    if opts:  # MILP or LP: one DPP problem, re-solved with new budget parameters
        assert cert.problem.is_dpp()
    return cert.sweep(0, budgets)


def rebuilt_counts(common: tuple, kw: dict, budgets, **opts) -> np.ndarray:
    """Collective counts along the deletion `budgets`, a new certifier for each."""
    return np.array([CollectiveCertifier(*common, **kw, **opts).certify(0, d) for d in budgets])


def plain_counts(eta, groups, w_plus, w_minus, caps, cols, budgets, local_budgets) -> np.ndarray:
    """The papers' plain MILP formulation (`plain_count`) along the deletion `budgets`."""
    return np.array([plain_count(eta, groups, w_plus, w_minus, *caps, cols, 0, d, local_budgets)
                     for d in budgets])


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", help=".npz with eta, clusters, cap_plus, cap_minus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--milp-bins", type=int, default=None, help="quantise eta (default exact)")
    parser.add_argument("--local-budget", type=float, default=8.0,
                        help="per-node local budget of the per-node configuration")
    parser.add_argument("--max-budget", type=int, default=500,
                        help="largest deletion budget (the sweep stops at count 0)")
    parser.add_argument("--plain-max-budget", type=int, default=3,
                        help="largest budget for the (slow) plain way")
    args = parser.parse_args()

    inst = load_instance(args.input, args.seed) if args.input else synthetic_instance(args.seed)
    w_plus, w_minus = sparsity_aware_weights(inst["theta_plus"], inst["theta_minus"])
    clusters = inst["clusters"].astype(np.int64)
    targets = np.asarray(inst["targets"])
    if targets.dtype != bool:
        targets = np.isin(np.arange(clusters.size), targets)
    cap_plus, cap_minus = inst["cap_plus"].astype(float), inst["cap_minus"].astype(float)
    deletions = np.arange(args.max_budget + 1)
    common = (inst["eta"], clusters, w_plus, w_minus, cap_plus, cap_minus)
    print(f"{clusters.size} nodes, {targets.sum()} targets, {clusters.max() + 1} clusters, "
          f"{np.sum(targets & np.isfinite(inst['eta']) & (inst['eta'] > 0))} certifiable; "
          f"mean cap_minus {cap_minus.mean():.1f}, milp_bins={args.milp_bins}")

    configs = {
        "merged per-cluster units, no local budget": dict(unit_group=clusters),
        f"per-node units, local budget {args.local_budget:g}": dict(
            unit_group=clusters, local_budget=args.local_budget, merge_units=False),
    }
    for name, kw in configs.items():
        kw = dict(kw, targets=targets, milp_bins=args.milp_bins)
        print(f"\n== {name}")

        sweep, rebuilt = partial(sweep_counts, common, kw), partial(rebuilt_counts, common, kw)
        counts, t_default = timed(partial(sweep, deletions))
        stop = int(np.argmax(counts == 0)) if (counts == 0).any() else counts.size - 1
        budgets = deletions[: stop + 1]
        counts = counts[: stop + 1]
        milp, t_milp = timed(partial(sweep, budgets, max_enumeration=0))
        milp_rebuilt, t_milp_rebuilt = timed(partial(rebuilt, budgets, max_enumeration=0))
        lp, t_lp = timed(partial(sweep, budgets, relax=True))
        lp_rebuilt, t_lp_rebuilt = timed(partial(rebuilt, budgets, relax=True))
        for values in (milp, milp_rebuilt):
            np.testing.assert_array_equal(values, counts)
        np.testing.assert_array_equal(lp, lp_rebuilt)
        assert np.all(lp <= counts)

        n_plain = min(args.plain_max_budget, stop) + 1
        local = kw.get("local_budget")
        if local is None:  # the papers' per-cluster variables (summed capacities)
            cols = np.arange(w_plus.shape[1])
            caps = (np.bincount(clusters, cap_plus, cols.size),
                    np.bincount(clusters, cap_minus, cols.size))
        else:
            cols, caps = clusters, (cap_plus, cap_minus)
        plain_eta = inst["eta"][targets]
        if args.milp_bins is not None:  # the same quantised radii the certifier uses
            plain_eta = quantized(plain_eta, clusters[targets], args.milp_bins)
        local_budgets = None if local is None else np.full(cols.size, local)
        plain, t_plain = timed(partial(plain_counts, plain_eta, clusters[targets], w_plus,
                                       w_minus, caps, cols, budgets[:n_plain], local_budgets))
        np.testing.assert_array_equal(plain, counts[:n_plain])
        _, t_milp_head = timed(partial(sweep, budgets[:n_plain], max_enumeration=0))
        _, t_default_head = timed(partial(sweep, budgets[:n_plain]))

        print(f"  deletions 0..{stop} (count reaches 0), counts equal across all exact ways")
        print(f"  {'default sweep (enumeration when small)':44s} {t_default:8.2f} s")
        print(f"  {'MILP sweep, built once, re-solved':44s} {t_milp:8.2f} s")
        print(f"  {'MILP rebuilt per budget':44s} {t_milp_rebuilt:8.2f} s"
              f"  (rebuilt / re-solved {t_milp_rebuilt / t_milp:.2f} x)")
        print(f"  {'LP relaxation sweep, built once':44s} {t_lp:8.2f} s")
        print(f"  {'LP relaxation rebuilt per budget':44s} {t_lp_rebuilt:8.2f} s"
              f"  (rebuilt / re-solved {t_lp_rebuilt / t_lp:.2f} x)")
        print(f"  plain way (fresh per-output MILP) on deletions 0..{n_plain - 1}: "
              f"{t_plain:.2f} s; MILP built once {t_milp_head:.2f} s "
              f"({t_plain / t_milp_head:.1f} x); default {t_default_head:.3f} s "
              f"({t_plain / max(t_default_head, 1e-9):.0f} x)")
        print(f"  collective counts: {counts.tolist()}")
        print(f"  LP relaxation:     {lp.tolist()}")


def quantized(eta: np.ndarray, group: np.ndarray, milp_bins: int) -> np.ndarray:
    """Radii as the certifier sees them after quantisation (abstainers stay abstaining)."""
    out = np.full_like(eta, -np.inf)
    valid = np.isfinite(eta) & (eta > 0)
    out[valid] = quantize_eta(eta[valid], group[valid], milp_bins)
    return out


if __name__ == "__main__":
    main()

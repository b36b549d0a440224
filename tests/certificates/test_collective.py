"""Collective certificates (docs/theory.md §5) against brute-force enumeration of all
allocations."""

import itertools

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from graphcert.certificates.collective import (
    CollectiveCertifier,
    CollectiveCertifierL2,
    collective_certificate,
    collective_certificate_l2,
    max_adversarial_weight,
    naive_certificate,
    naive_certificate_l2,
    quantize_eta,
)


# ----------------------------------------------------------------------------- brute force
def _allocations(cap_plus, cap_minus, eps_plus, eps_minus, local=None):
    """All admissible integer (b_plus, b_minus), each of shape (n_alloc, n_units)."""
    ranges = [range(int(c) + 1) for c in np.concatenate([cap_plus, cap_minus])]
    b = np.array(list(itertools.product(*ranges)), dtype=float).reshape(-1, 2 * len(cap_plus))
    bp, bm = b[:, : len(cap_plus)], b[:, len(cap_plus):]
    ok = (bp.sum(1) <= eps_plus) & (bm.sum(1) <= eps_minus)
    if local is not None:
        ok &= (bp + bm <= np.broadcast_to(local, bp.shape)).all(1)
    return bp[ok], bm[ok]


def _loads(w_units_plus, w_units_minus, bp, bm):
    """(n_alloc, n_rows) adversarial weight; a bit of infinite weight gives inf, zero bits 0."""
    def part(w, b):
        with np.errstate(invalid="ignore"):  # inf * 0 is masked out
            prod = np.where(b[:, None, :] > 0, w[None] * b[:, None, :], 0.0)
        return prod.sum(-1)
    return part(w_units_plus, bp) + part(w_units_minus, bm)


def brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m, unit_group=None,
                     local=None, targets=None, naive=False):
    col = np.arange(len(cap_p)) if unit_group is None else np.asarray(unit_group)
    bp, bm = _allocations(cap_p, cap_m, eps_p, eps_m, local)
    load = _loads(wp[group][:, col], wm[group][:, col], bp, bm)  # (n_alloc, n_out)
    valid = eta > 0  # an infinite radius counts while the load is finite (inf < inf is false)
    if targets is not None:
        mask = np.zeros(len(eta), bool)
        mask[targets] = True
        valid &= mask
    robust = (load < eta) & valid
    if naive:
        return int(robust.all(0).sum())
    return int(robust.sum(1).min())


def quantize_by_loop(eta, group, milp_bins):
    """Independent quantisation: largest edge lo + j (hi - lo) / (milp_bins - 1) <= eta."""
    out = np.zeros_like(eta)
    for i, (e, k) in enumerate(zip(eta, group, strict=True)):
        lo, hi = eta[group == k].min(), eta[group == k].max()
        step = (hi - lo) / (milp_bins - 1) if milp_bins > 1 else 0.0
        edges = [lo] + [j * step + lo for j in range(1, milp_bins - 1)]
        edges += [hi] if milp_bins > 1 else []
        out[i] = max(edge for edge in edges if edge <= e)
    return out


# ----------------------------------------------------------------------------- instances
def random_instance(rng, dyadic=True, n_units=None, n_cols=None):
    """Tiny instance with soft locality (group k weighs columns c = k mod n_groups most), so
    that the collective certificate often beats the naive one; some inf and zero weights,
    abstentions and duplicate radii."""
    n_units = n_units or int(rng.integers(2, 5))
    n_cols = n_cols or n_units
    n_groups, n_out = int(rng.integers(2, 4)), int(rng.integers(3, 9))
    own = np.arange(n_cols)[None] % n_groups == np.arange(n_groups)[:, None]
    shape = (n_groups, n_cols)
    if dyadic:  # exact float sums: loads either equal eta or miss it by >= 1/8
        wp = np.where(own, rng.integers(2, 9, shape), rng.integers(0, 3, shape)) / 8
        wm = np.where(own, rng.integers(2, 9, shape), rng.integers(0, 3, shape)) / 8
        eta = rng.integers(6, 20, n_out) / 8
    else:
        wp = rng.exponential(np.where(own, 0.6, 0.15)) * (rng.random(shape) > 0.15)
        wm = rng.exponential(np.where(own, 0.6, 0.15)) * (rng.random(shape) > 0.15)
        eta = rng.uniform(0.6, 2.5, n_out)
    wp[rng.random(shape) < 0.05] = np.inf
    wm[rng.random(shape) < 0.05] = np.inf
    eta[rng.random(n_out) < 0.15] = rng.choice([0.0, -0.5, np.inf, -np.inf])
    eta[rng.random(n_out) < 0.2] = eta[0]  # duplicates share a variable
    group = rng.integers(0, n_groups, n_out)
    cap_p = rng.integers(1, 4, n_units) * (rng.random(n_units) > 0.15).astype(float)
    cap_m = rng.integers(1, 4, n_units) * (rng.random(n_units) > 0.15).astype(float)
    return eta, group, wp, wm, cap_p, cap_m


def random_budgets(rng):
    """Often one-sided: with both sides the adversary can serve two groups independently."""
    eps = [int(rng.integers(1, 5)), int(rng.integers(1, 5))]
    if rng.random() < 0.6:
        eps[int(rng.integers(0, 2))] = 0
    return tuple(eps)


# ----------------------------------------------------------------------------- binary MILP
@pytest.mark.parametrize("dyadic", [True, False])
def test_milp_equals_brute_force_without_local_budget(dyadic):
    rng = np.random.default_rng(1 + dyadic)
    beats_naive = 0
    for _ in range(100):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng, dyadic)
        eps_p, eps_m = random_budgets(rng)
        expected = brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m)
        got = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m)
        milp = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                      max_enumeration=0)
        assert got == milp == expected
        naive = naive_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m)
        assert naive == brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                         naive=True)
        relaxed = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                         relax=True)
        assert naive <= relaxed <= got
        beats_naive += got > naive
    assert beats_naive >= 4  # the instances exercise the collective problem, not just naive


def test_milp_equals_brute_force_with_local_budget():
    rng = np.random.default_rng(3)
    beats_naive = 0
    for _ in range(80):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng)
        eps_p, eps_m = random_budgets(rng)
        local = rng.integers(0, 4, cap_p.size).astype(float)
        expected = brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m, local=local)
        for merge, enum in itertools.product((True, False), (0, 10**6)):
            got = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                         local_budget=local, merge_units=merge,
                                         max_enumeration=enum)
            assert got == expected
        naive = naive_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                  local_budget=local)
        assert naive == brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                         local=local, naive=True)
        assert naive <= collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                               local_budget=local, relax=True) <= expected
        beats_naive += expected > naive
    assert beats_naive >= 4


@pytest.mark.parametrize("with_local", [False, True])
def test_merging_units_of_a_column_is_exact(with_local):
    """Several units share a weight column: merged == per-unit == brute force."""
    rng = np.random.default_rng(4 + with_local)
    for _ in range(40):
        n_units = int(rng.integers(3, 5))
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng, n_units=n_units, n_cols=2)
        unit_group = rng.integers(0, 2, n_units)
        eps_p, eps_m = random_budgets(rng)
        local = rng.integers(0, 4, n_units).astype(float) if with_local else None
        if with_local and rng.random() < 0.3:
            local[0] = np.inf  # mixed: some units of a column without a local budget
        expected = brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                    unit_group=unit_group, local=local)
        values = [
            collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                   unit_group=unit_group, local_budget=local,
                                   merge_units=merge, max_enumeration=enum)
            for merge, enum in [(True, 0), (False, 0), (True, 10**6)]
        ]
        assert values == [expected] * 3  # merged MILP, per-unit MILP, enumeration
        relaxed = [collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                          unit_group=unit_group, local_budget=local,
                                          merge_units=merge, relax=True)
                   for merge in (True, False)]
        assert relaxed[0] == relaxed[1] <= expected  # same polytope, merged or not


def test_scalar_local_budget_equals_vector():
    rng = np.random.default_rng(6)
    for _ in range(10):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng)
        eps_p, eps_m = random_budgets(rng)
        a = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m, local_budget=2)
        b = brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                             local=np.full(cap_p.size, 2.0))
        assert a == b


def test_enumeration_equals_milp_on_medium_instances():
    """Beyond brute force: thousands of allocations, tens of outputs, both exact methods."""
    rng = np.random.default_rng(15)
    for _ in range(12):
        n_cols, n_out = int(rng.integers(3, 6)), int(rng.integers(20, 60))
        own = np.eye(n_cols, dtype=bool)
        wp = np.where(own, rng.uniform(0.3, 0.7, (n_cols, n_cols)), rng.uniform(0, 0.2))
        wm = np.where(own, rng.uniform(0.3, 0.7, (n_cols, n_cols)), rng.uniform(0, 0.2))
        eta = rng.uniform(0.1, 4, n_out)
        group = rng.integers(0, n_cols, n_out)
        caps = rng.integers(0, 12, (2, n_cols)).astype(float)
        eps_p, eps_m = int(rng.integers(0, 10)), int(rng.integers(0, 10))
        local = rng.integers(1, 12, n_cols).astype(float) if rng.random() < 0.5 else None
        values = [collective_certificate(eta, group, wp, wm, *caps, eps_p, eps_m,
                                         local_budget=local, max_enumeration=enum)
                  for enum in (0, 10**6)]
        assert values[0] == values[1]


def test_quantization_rounds_down_and_matches_brute_force_on_quantized_eta():
    rng = np.random.default_rng(7)
    for _ in range(40):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng, dyadic=False)
        eps_p, eps_m = random_budgets(rng)
        milp_bins = int(rng.integers(1, 5))
        exact = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m)
        binned = collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                        milp_bins=milp_bins)
        assert binned == collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                                milp_bins=milp_bins, max_enumeration=0)
        assert binned <= exact
        valid = np.isfinite(eta) & (eta > 0)
        q = np.where(eta == np.inf, np.inf, 0.0)  # abstainers stay, infinite radii stay
        q[valid] = quantize_by_loop(eta[valid], group[valid], milp_bins)
        assert binned == brute_collective(q, group, wp, wm, cap_p, cap_m, eps_p, eps_m)
        assert naive_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                 milp_bins=milp_bins) <= binned


def test_quantize_eta_never_rounds_up():
    rng = np.random.default_rng(8)
    eta = rng.uniform(1e-3, 10, 500)
    group = rng.integers(0, 3, 500)
    for milp_bins in (1, 3, 7, 100):
        q = quantize_eta(eta, group, milp_bins)
        assert np.all(q <= eta)
        np.testing.assert_array_equal(q, quantize_by_loop(eta, group, milp_bins))
        for k in range(3):  # at most milp_bins distinct values, the extremes kept exactly
            assert np.unique(q[group == k]).size <= milp_bins
            assert q[group == k].min() == eta[group == k].min()
            if milp_bins > 1:
                assert q[group == k].max() == eta[group == k].max()


@pytest.mark.parametrize("as_mask", [True, False])
def test_targets(as_mask):
    rng = np.random.default_rng(9)
    for _ in range(20):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng)
        eps_p, eps_m = random_budgets(rng)
        mask = rng.random(eta.size) < 0.6
        targets = mask if as_mask else np.flatnonzero(mask)
        expected = brute_collective(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                    targets=np.flatnonzero(mask))
        for enum in (0, 10**6):
            assert collective_certificate(eta, group, wp, wm, cap_p, cap_m, eps_p, eps_m,
                                          targets=targets, max_enumeration=enum) == expected


def test_monotone_in_budgets_and_sweep_equals_one_shot_calls():
    rng = np.random.default_rng(10)
    for _ in range(8):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng, dyadic=False)
        local = rng.integers(1, 4, cap_p.size).astype(float)
        for relax, enum in [(False, 0), (True, 0), (False, 10**6)]:
            cert = CollectiveCertifier(eta, group, wp, wm, cap_p, cap_m, local_budget=local,
                                       relax=relax, merge_units=False, max_enumeration=enum)
            grid = np.array([[cert.certify(a, d) for d in range(6)] for a in range(6)])
            assert np.all(np.diff(grid, axis=0) <= 0) and np.all(np.diff(grid, axis=1) <= 0)
            one_shot = [collective_certificate(eta, group, wp, wm, cap_p, cap_m, 1, d,
                                               local_budget=local, relax=relax,
                                               merge_units=False, max_enumeration=enum)
                        for d in range(6)]
            np.testing.assert_array_equal(cert.sweep(1, np.arange(6)), one_shot)
            diag = cert.sweep(np.arange(6), np.arange(6))
            np.testing.assert_array_equal(diag, np.diag(grid))


def test_sweep_stops_at_zero_and_rejects_decreasing_budgets():
    eta = np.array([1.0, 1.5, 2.5])
    group = np.zeros(3, int)
    cert = CollectiveCertifier(eta, group, [[1.0]], [[0.5]], [10], [10], max_enumeration=0)
    calls = []
    certify = cert.certify
    cert.certify = lambda a, d: calls.append((a, d)) or certify(a, d)
    counts = cert.sweep(0, np.arange(10))
    np.testing.assert_array_equal(counts, [3, 3, 2, 1, 1, 0, 0, 0, 0, 0])
    assert len(calls) == 6  # stopped after the first zero
    with pytest.raises(ValueError, match="non-decreasing"):
        cert.sweep([0, 2, 1], 0)


def test_problem_is_dpp_and_built_once():
    rng = np.random.default_rng(11)
    eta, group, wp, wm, cap_p, cap_m = random_instance(rng)
    eta[:] = np.abs(rng.uniform(0.5, 2, eta.size))
    for relax in (False, True):
        cert = CollectiveCertifier(eta, group, wp, wm, cap_p, cap_m, local_budget=2,
                                   relax=relax, merge_units=False, max_enumeration=0)
        problem = cert.problem
        assert problem.is_dpp()
        cert.sweep(np.arange(4), np.arange(4))
        assert cert.problem is problem
    assert CollectiveCertifierL2(eta, group, np.abs(wp.clip(max=3))).problem.is_dpp()


def test_lp_bound_is_weak_duality_for_any_multipliers():
    """The relaxed count comes from a Lagrangian bound: valid for ANY multipliers y >= 0,
    so solver tolerances cannot inflate it. It is tight at HiGHS' duals, and random
    multipliers stay below the LP value."""
    rng = np.random.default_rng(16)
    binding_rows = 0
    for _ in range(30):
        eta, group, wp, wm, cap_p, cap_m = random_instance(rng, dyadic=False)
        eta[~np.isfinite(eta) | (eta <= 0)] = 1.0
        local = rng.integers(1, 4, cap_p.size).astype(float)
        cert = CollectiveCertifier(eta, group, wp, wm, cap_p, cap_m, local_budget=local,
                                   relax=True, merge_units=False)
        program = cert._program()
        cert._eps_plus.value, cert._eps_minus.value = 1.0, 2.0
        sure = np.zeros(cert.pairs.eta.size, bool)
        box = [cert.units.cap_plus, cert.units.cap_minus]
        program.solve(sure, box)
        optimum = cert.problem.value
        assert program._lagrangian_bound(sure, box)[0] == pytest.approx(optimum, abs=1e-6)
        binding_rows += any(np.any(row.dual_value > 1e-6) for _, _, row in program.rows)
        for _ in range(10):
            for con in cert.problem.constraints:
                shape = con.dual_variables[0].shape
                con.dual_variables[0].save_value(rng.exponential(2.0, shape))
            assert program._lagrangian_bound(sure, box)[0] <= optimum + 1e-9
    assert binding_rows >= 5  # the budget rows' multipliers are exercised


def test_infinite_weights():
    eta = np.array([5.0, 0.3, 100.0])
    group = np.array([0, 1, 1])
    wp = np.array([[np.inf, 0.1], [0.0, 0.2]])
    wm = np.zeros((2, 2))
    # column 0 cannot add bits (capacity 0): its infinite weight is harmless
    args = (eta, group, wp, wm, [0, 5], [3, 3])
    assert collective_certificate(*args, 3, 3) == 2  # 3 * 0.2 >= 0.3 breaks output 1 only
    # with capacity, one bit of infinite weight breaks group 0, leaving 1 bit for group 1
    args = (eta, group, wp, wm, [1, 5], [3, 3])
    assert collective_certificate(*args, 1, 0) == 2
    assert collective_certificate(*args, 2, 0) == 2  # breaks output 0 or 1 (0.4 >= 0.3), not both
    assert collective_certificate(*args, 3, 0) == 1  # 1 infinite bit + 2 bits of 0.2
    assert collective_certificate(*args, 3, 0, relax=True) <= 1
    assert naive_certificate(*args, 1, 0) == 2
    assert max_adversarial_weight([np.inf, 1.0], [0, 0], [1, 2], [0, 0], 1, 0) == np.inf
    assert max_adversarial_weight([np.inf, 1.0], [0, 0], [0, 2], [0, 0], 1, 0) == 1.0


def test_abstaining_outputs_never_certified():
    """eta <= 0 abstains; an infinite radius is certified as in `BaseCertificate` (see
    test_infinite_radius.py for the infinite weights that still break it)."""
    eta = np.array([0.0, -1.0, np.inf, -np.inf, 1.0])
    args = (eta, np.zeros(5, int), [[0.1]], [[0.1]], [4], [4])
    assert collective_certificate(*args, 0, 0) == 2
    assert naive_certificate(*args, 0, 0) == 2
    assert collective_certificate(*args, 0, 0, targets=[0, 1, 3]) == 0
    assert collective_certificate_l2(eta, np.zeros(5, int), [[1.0]], 0.0) == 2


# ----------------------------------------------------------------------------- knapsack
def test_max_adversarial_weight_equals_brute_force():
    rng = np.random.default_rng(12)
    for _ in range(300):
        n = int(rng.integers(1, 5))
        wp, wm = rng.exponential(1, n).round(2), rng.exponential(1, n).round(2)
        cap_p, cap_m = rng.integers(0, 4, n), rng.integers(0, 4, n)
        eps_p, eps_m = random_budgets(rng)
        local = rng.integers(0, 5, n).astype(float) if rng.random() < 0.7 else None
        bp, bm = _allocations(cap_p, cap_m, eps_p, eps_m, local)
        expected = _loads(wp[None], wm[None], bp, bm).max()
        got = max_adversarial_weight(wp, wm, cap_p, cap_m, eps_p, eps_m, local)
        assert got == pytest.approx(expected, abs=1e-12)


def _milp_max_weight(wp, wm, cap_p, cap_m, eps_p, eps_m, local):
    """Independent exact worst case with scipy's MILP (x = [b_plus, b_minus])."""
    n = len(wp)
    rows = [np.r_[np.ones(n), np.zeros(n)], np.r_[np.zeros(n), np.ones(n)]]
    upper = [eps_p, eps_m]
    for u in range(n):
        rows.append(np.eye(2 * n)[u] + np.eye(2 * n)[n + u])
        upper.append(local[u])
    res = milp(-np.r_[wp, wm], constraints=LinearConstraint(np.array(rows), -np.inf, upper),
               integrality=np.ones(2 * n), bounds=Bounds(0, np.r_[cap_p, cap_m]))
    return -res.fun


def test_max_adversarial_weight_equals_milp_on_larger_instances():
    rng = np.random.default_rng(14)
    for _ in range(200):
        n = int(rng.integers(2, 7))
        wp, wm = rng.exponential(1, n), rng.exponential(1, n)
        cap_p, cap_m = rng.integers(0, 12, n), rng.integers(0, 12, n)
        eps_p, eps_m = int(rng.integers(0, 30)), int(rng.integers(0, 30))
        local = rng.integers(0, 15, n).astype(float)
        got = max_adversarial_weight(wp, wm, cap_p, cap_m, eps_p, eps_m, local)
        expected = _milp_max_weight(wp, wm, cap_p, cap_m, eps_p, eps_m, local)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_merge_with_mixed_local_budgets():
    # units 0 (no local budget) and 1 (local budget 1) share column 0: at most 3+3+1 = 7 bits
    args = ([8.0, 7.0], [0, 0], [[1.0]], [[1.0]], [3, 3], [3, 3])
    kw = dict(unit_group=[0, 0], local_budget=[np.inf, 1])
    for merge, enum in [(True, 0), (False, 0), (True, 10**6)]:
        assert collective_certificate(*args, 4, 4, merge_units=merge, max_enumeration=enum,
                                      **kw) == 1
    assert naive_certificate(*args, 4, 4, **kw) == 1


def test_max_adversarial_weight_beats_plain_greedy():
    # greedy by weight takes the 10 (plus on unit 0), then nothing useful; optimum is 9 + 9
    got = max_adversarial_weight([10, 9], [9, 0], [1, 1], [1, 1], 1, 1, local_budget=1)
    assert got == 18


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("change, message", [
    (dict(budget_plus=-1), "budget_plus"),
    (dict(budget_minus=np.nan), "budget_minus"),
    (dict(eta=[1.0, np.nan]), "eta contains NaN"),
    (dict(eta=[1.0]), "out_group has length"),
    (dict(w_plus=[[np.nan, 1.0]]), "w_plus contains NaN"),
    (dict(w_minus=[[-1.0, 1.0]]), "w_minus must be non-negative"),
    (dict(w_minus=[[1.0, 1.0, 1.0]]), "w_minus has shape"),
    (dict(cap_plus=[-1, 1]), "cap_plus must be non-negative"),
    (dict(cap_minus=[1.5, 1]), "cap_minus must contain finite integers"),
    (dict(cap_minus=[1, 1, 1]), "same length"),
    (dict(out_group=[0, 1]), "out_group must lie"),
    (dict(unit_group=[0, 2]), "unit_group must lie"),
    (dict(local_budget=[-1, 1]), "local_budget must be non-negative"),
    (dict(targets=[True]), "boolean targets"),
    (dict(targets=[5]), "targets must lie"),
    (dict(milp_bins=0), "milp_bins"),
])
def test_bad_input_raises(change, message):
    args = dict(eta=[1.0, 2.0], out_group=[0, 0], w_plus=[[1.0, 1.0]], w_minus=[[1.0, 1.0]],
                cap_plus=[1, 1], cap_minus=[1, 1], budget_plus=1, budget_minus=1)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        collective_certificate(**args)


def test_bad_l2_input_raises():
    with pytest.raises(ValueError, match="budget"):
        collective_certificate_l2([1.0], [0], [[1.0]], -1.0)
    with pytest.raises(ValueError, match="w must be non-negative"):
        naive_certificate_l2([1.0], [0], [[-1.0]], 1.0)


# ----------------------------------------------------------------------------- l2
def brute_l2(eta, group, w, budget):
    """n_valid - largest set S of outputs breakable together (feasibility LP per subset)."""
    valid = np.flatnonzero(np.isfinite(eta) & (eta > 0))
    for size in range(len(valid), 0, -1):
        for subset in itertools.combinations(valid, size):
            rows = w[group[list(subset)]]
            a_ub = np.vstack([-rows, np.ones((1, w.shape[1]))])
            b_ub = np.concatenate([-eta[list(subset)], [budget]])
            res = linprog(np.zeros(w.shape[1]), A_ub=a_ub, b_ub=b_ub, bounds=(0, None),
                          method="highs")
            if res.status == 0:
                return len(valid) - size
    return len(valid)


def test_l2_equals_brute_force():
    rng = np.random.default_rng(13)
    for _ in range(30):
        n_units, n_groups, n_out = int(rng.integers(1, 4)), 3, int(rng.integers(2, 7))
        w = rng.exponential(1.0, (n_groups, n_units)) * (rng.random((n_groups, n_units)) > 0.2)
        eta = rng.uniform(0.1, 3, n_out)
        eta[rng.random(n_out) < 0.15] = -1.0
        group = rng.integers(0, n_groups, n_out)
        budget = rng.uniform(0, 3)
        exact = collective_certificate_l2(eta, group, w, budget)
        assert exact == brute_l2(eta, group, w, budget)
        relaxed = collective_certificate_l2(eta, group, w, budget, relax=True)
        naive = naive_certificate_l2(eta, group, w, budget)
        assert naive <= relaxed <= exact
        binned = collective_certificate_l2(eta, group, w, budget, milp_bins=3)
        valid = eta > 0
        q = np.full_like(eta, -1.0)
        q[valid] = quantize_by_loop(eta[valid], group[valid], 3)
        assert binned == brute_l2(q, group, w, budget) and binned <= exact


def test_l2_naive_and_sweep():
    eta = np.array([1.0, 2.0, 4.0])
    group = np.array([0, 0, 1])
    w = np.array([[1.0, 0.0], [0.0, 2.0]])
    # budget 2: group 0 reaches 2 (breaks eta 1, 2), group 1 reaches 4 (breaks eta 4) - not both
    assert naive_certificate_l2(eta, group, w, 2.0) == 0
    assert collective_certificate_l2(eta, group, w, 2.0) == 1
    cert = CollectiveCertifierL2(eta, group, w)
    np.testing.assert_array_equal(cert.sweep([0, 1, 2, 3, 5, 6]), [3, 2, 1, 1, 0, 0])
    assert cert.certify(np.inf) == 0


def test_l2_infinite_weight():
    eta = np.array([1.0, 1.0, 2.0])
    group = np.array([0, 1, 1])
    w = np.array([[np.inf, 0.0], [0.0, 1.0]])
    assert collective_certificate_l2(eta, group, w, 0.0) == 3
    # any positive budget breaks group 0; 0.5 cannot reach 1 on group 1
    assert collective_certificate_l2(eta, group, w, 0.5) == 2
    assert naive_certificate_l2(eta, group, w, 0.5) == 2
    assert collective_certificate_l2(eta, group, w, 1.0) == 1

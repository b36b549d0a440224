"""MMCert (docs/theory.md §7, Wang et al. 2024) against exact integer computations and
brute-force enumeration."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from graphcert.certificates import ablation_delta, mmcert_certified
from graphcert.noise.ablation import AblationSampler
from graphcert.tasks.image.multimodal import (
    MMVotes,
    ablate,
    ablation_votes,
    mmcert_bounds,
    run_phases,
    segmentation_scores,
)


def _subsets(n, k):
    """All joint ablations: one k_i-subset per modality."""
    return list(itertools.product(*[itertools.combinations(range(ni), ki)
                                    for ni, ki in zip(n, k, strict=True)]))


@pytest.mark.parametrize("n,k,r", [((5, 4), (2, 2), (1, 2)), ((6,), (3,), (2,)),
                                   ((4, 3, 3), (1, 2, 0), (2, 1, 3)), ((5, 4), (2, 2), (0, 0)),
                                   ((5, 4), (2, 2), (5, 4))])
def test_delta_is_the_probability_of_keeping_a_modified_element(n, k, r):
    subsets = _subsets(n, k)
    modified = [set(range(ri)) for ri in r]  # w.l.o.g. the first r_i elements
    touched = sum(any(set(s) & m for s, m in zip(joint, modified, strict=True))
                  for joint in subsets)
    assert ablation_delta(n, k, r) == Fraction(touched, len(subsets))
    ratio = Fraction(math.prod(math.comb(a - b, c) for a, b, c in zip(n, r, k, strict=True)),
                     math.prod(math.comb(a, c) for a, c in zip(n, k, strict=True)))
    assert ablation_delta(n, k, r) == 1 - ratio


def _reference_certified(p_a, p_b, n, k, r):
    """Independent: round with Fractions, compare p_A - delta > p_B + delta."""
    total = math.prod(math.comb(a, c) for a, c in zip(n, k, strict=True))
    kept = math.prod(math.comb(a - b, c) for a, b, c in zip(n, r, k, strict=True))
    delta = 1 - Fraction(kept, total)
    low = Fraction(math.floor(Fraction(p_a) * total), total)
    high = Fraction(math.ceil(Fraction(p_b) * total), total)
    return low - delta > high + delta


def test_certificate_matches_exact_rational_reference_including_rounding():
    n, k = (6, 5), (2, 2)  # T = 150
    budgets = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (3, 3)]
    rng = np.random.default_rng(0)
    grid = np.arange(151) / 150
    p_a = np.concatenate([rng.uniform(0.4, 1, 300), grid, np.nextafter(grid, 2).clip(0, 1)])
    p_b = np.clip(1 - p_a - rng.uniform(0, 0.2, p_a.size), 0, 1)
    got = mmcert_certified(p_a, p_b, n, k, budgets)
    for i in range(p_a.size):
        for j, r in enumerate(budgets):
            assert got[i, j] == _reference_certified(p_a[i], p_b[i], n, k, r)
    # rounding decides: delta(1, 0) = 50/150; unrounded 0.8999 - 0.2266 > 2 delta = 100/150,
    # rounded floor(134.985) - ceil(33.99) = 134 - 34 = 100 is not > 100
    d = float(ablation_delta(n, k, (1, 0)))
    assert d == pytest.approx(1 / 3) and 0.8999 - d > 0.2266 + d
    assert not mmcert_certified([0.8999], [0.2266], n, k, [(1, 0)])[0, 0]
    assert mmcert_certified([0.9], [0.2266], n, k, [(1, 0)])[0, 0]


def _smoothed_probs(values, n, k, table, n_classes):
    """Exact class probabilities of the ablation-smoothed classifier by enumeration."""
    counts = np.zeros(n_classes, dtype=np.int64)
    offsets = np.cumsum((0,) + n)[:-1]
    for joint in _subsets(n, k):
        key = tuple((o + i, values[o + i]) for o, s in zip(offsets, joint, strict=True) for i in s)
        counts[table(key)] += 1
    return counts / counts.sum()


def test_certificate_is_sound_by_brute_force_over_all_attacks():
    n, k, n_classes = (5, 4), (2, 1), 3
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(40):
        salt = int(rng.integers(1 << 30))
        bias = rng.uniform(0.6, 0.97)

        def table(key, salt=salt, bias=bias):
            u = np.random.default_rng(abs(hash((salt, key))) % (1 << 32)).random()
            return 0 if u < bias else 1 + int(u * 7) % 2

        x = rng.integers(0, 2, size=sum(n))
        p = _smoothed_probs(x, n, k, table, n_classes)
        a = int(np.argmax(p))
        p_b = np.max(np.delete(p, a))
        for r in [(1, 0), (0, 1), (1, 1), (2, 0)]:
            if not mmcert_certified([p[a]], [p_b], n, k, [r])[0, 0]:
                continue
            checked += 1
            for pos1 in itertools.combinations(range(5), r[0]):
                for pos2 in itertools.combinations(range(5, 9), r[1]):
                    for vals in itertools.product(range(3), repeat=r[0] + r[1]):
                        x2 = x.copy()
                        x2[list(pos1 + pos2)] = vals
                        q = _smoothed_probs(x2, n, k, table, n_classes)
                        assert q[a] > np.max(np.delete(q, a))
    assert checked >= 10


def test_randomized_ablation_is_the_pooled_special_case():
    n, k, r = (30, 20), (6, 2), (0, 3)
    pooled = ablation_delta((50,), (8,), (3,))
    assert pooled == 1 - Fraction(math.comb(47, 8), math.comb(50, 8))
    # the attack hits the modality MMCert samples sparsely: MMCert's delta is smaller
    assert ablation_delta(n, k, r) < pooled
    # but a budget on the densely sampled modality favours pooling
    assert ablation_delta(n, k, (3, 0)) > ablation_delta((50,), (8,), (3,))


def test_sampler_keeps_exactly_k_and_is_uniform():
    sampler = AblationSampler((10, 6), (3, 2))
    masks = sampler.masks(4000, np.random.default_rng(0))
    assert [m.shape for m in masks] == [(4000, 10), (4000, 6)]
    assert np.all(masks[0].sum(1) == 3) and np.all(masks[1].sum(1) == 2)
    np.testing.assert_allclose(masks[0].mean(0), 0.3, atol=0.03)
    np.testing.assert_allclose(masks[1].mean(0), 1 / 3, atol=0.03)
    pooled = AblationSampler((10, 6), (3, 2), pooled=True).masks(4000, np.random.default_rng(0))
    total = pooled[0].sum(1) + pooled[1].sum(1)
    assert np.all(total == 5) and pooled[1].sum(1).std() > 0
    np.testing.assert_allclose(np.concatenate(pooled, 1).mean(0), 5 / 16, atol=0.03)


def test_ablate_votes_bounds_on_a_tiny_image():
    rgb, depth = torch.rand(3, 4, 4), torch.rand(1, 4, 4)
    sampler = AblationSampler((16, 16), (3, 5))
    batch = ablate([rgb, depth], sampler.masks(2, np.random.default_rng(0)))
    assert batch.shape == (2, 6, 4, 4)
    assert torch.all(batch[:, 3].sum((1, 2)) == 3) and torch.all(batch[:, 5].sum((1, 2)) == 5)
    assert torch.all((batch[:, :3] == 0) | (batch[:, 3:4] == 1))

    def predict(z):  # per pixel: 1 if the pixel's rgb is kept, else 0
        return z[:, 3].long()

    votes = run_phases(predict, [rgb, depth], sampler, 50, 200, 2, seed=1)
    assert votes.candidate.shape == (16,) and np.all(votes.candidate == 0)
    assert np.all(votes.votes_a + votes.votes_b == 200)
    lower, upper = mmcert_bounds(votes, 0.05)
    assert np.all(lower < 13 / 16) and np.all(upper > 3 / 16) and np.all(upper <= 1 - lower)
    again = ablation_votes(predict, [rgb, depth], sampler, 200, 2, seed=1)  # seeded
    np.testing.assert_array_equal(again[:, 0], votes.votes_a)


def test_segmentation_scores_by_hand():
    target = np.array([1, 1, 0, 0, 1])
    pred = np.array([1, 0, 0, 1, 1])
    cert = np.array([True, True, True, True, False])
    s = segmentation_scores(pred, cert, target, 2)
    assert s["pixel_accuracy"] == pytest.approx(2 / 5)
    # label 1: TP 1, TN 1 (pixel 2), FP 3 - 1 = 2, FN 2 - 1 = 1; label 0: TP 1, TN 1, FP 1, FN 2
    assert s["iou"] == pytest.approx((1 / 4 + 1 / 4) / 2)
    assert s["f_score"] == pytest.approx((2 / 5 + 2 / 5) / 2)


@pytest.mark.parametrize("call", [
    lambda: ablation_delta((5, 4), (6, 1), (0, 0)),
    lambda: ablation_delta((5, 4), (2, 1), (-1, 0)),
    lambda: ablation_delta((5, 4), (2, 1), (6, 0)),
    lambda: ablation_delta((5, 4), (2,), (0, 0)),
    lambda: mmcert_certified([1.2], [0.1], (5,), (2,), [(0,)]),
    lambda: mmcert_certified([0.9], [-0.1], (5,), (2,), [(0,)]),
    lambda: AblationSampler((3,), (4,)),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_mmvotes_from_counts_picks_runner_up():
    pre = np.array([[1, 5, 0], [4, 0, 0]])
    main = np.array([[2, 90, 8], [50, 30, 20]])
    v = MMVotes.from_counts(pre, main, 100)
    assert v.candidate.tolist() == [1, 0] and v.votes_a.tolist() == [90, 50]
    assert v.votes_b.tolist() == [8, 30] and v.n_classes == 3

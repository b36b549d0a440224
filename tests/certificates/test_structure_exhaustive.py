"""Exhaustive soundness checks of the structure certificates on tiny graphs (docs/theory.md §8).

Four nodes with one binary attribute each and all six node pairs: 10 bits, 1024 inputs and
1024 noise outcomes. A fixed random message-passing classifier is evaluated on every noisy
graph, so smoothed quantities are EXACT (enumerated, no Monte Carlo). For every clean graph
and every perturbed graph within a budget, a certified output must keep its exact smoothed
prediction; the collective count must not exceed the number of targets that any single
perturbed graph leaves unchanged.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from graphcert.certificates import (
    localized_weight_matrices,
    pair_weight_matrices,
    sparse_smooth_certified,
    variance_constrained_radius,
)
from graphcert.certificates.collective import CollectiveCertifier, PairUnits
from graphcert.utils.pairs import pair_column

N_NODES = 4
LABELS = np.array([0, 0, 1, 1])
PAIRS = np.array(list(itertools.combinations(range(N_NODES), 2)))  # (6, 2)
N_BITS = N_NODES + len(PAIRS)
BITS = ((np.arange(2**N_BITS)[:, None] >> np.arange(N_BITS)) & 1).astype(np.int64)
PAIR_COLUMN = pair_column(LABELS[PAIRS[:, 0]], LABELS[PAIRS[:, 1]], 2)
BUDGETS = [(1, 0, 0, 1), (0, 1, 1, 0), (0, 0, 0, 2), (0, 0, 2, 0), (0, 0, 1, 1), (1, 1, 1, 1),
           (0, 0, 2, 2)]


def _classifier(rng) -> np.ndarray:
    """Softmax scores (1024 graphs, N, 3 classes) of a random one-layer message passing net."""
    x = BITS[:, :N_NODES].astype(float)
    adjacency = np.zeros((BITS.shape[0], N_NODES, N_NODES))
    adjacency[:, PAIRS[:, 0], PAIRS[:, 1]] = BITS[:, N_NODES:]
    adjacency += adjacency.transpose(0, 2, 1)
    features = np.stack([x, (adjacency @ x[..., None])[..., 0], adjacency.sum(-1), np.ones_like(x)],
                        axis=-1)
    logits = rng.uniform(1, 4) * features @ rng.normal(size=(4, 3))
    logits[..., 0] += rng.uniform(0, 3)  # a favoured class makes confident predictions
    scores = np.exp(logits - logits.max(-1, keepdims=True))
    return scores / scores.sum(-1, keepdims=True)


def _noise_matrix(p_on_zero: np.ndarray, p_on_one: np.ndarray) -> np.ndarray:
    """P[input, outcome] for independent bits: Pr[z_b = 1] is p_on_zero[b] if the input bit is
    0, else p_on_one[b]."""
    p_one = np.where(BITS == 1, p_on_one, p_on_zero)  # (inputs, bits)
    out = np.ones((BITS.shape[0], BITS.shape[0]))
    for b in range(N_BITS):
        out *= np.where(BITS[None, :, b] == 1, p_one[:, None, b], 1 - p_one[:, None, b])
    return out


def _changes(clean: int) -> np.ndarray:
    """(r_add, r_del, s_add, s_del) from graph `clean` to every graph (1024, 4)."""
    before, after = BITS[clean], BITS
    added, deleted = (before == 0) & (after == 1), (before == 1) & (after == 0)
    return np.stack([added[:, :N_NODES].sum(1), deleted[:, :N_NODES].sum(1),
                     added[:, N_NODES:].sum(1), deleted[:, N_NODES:].sum(1)], axis=1)


def _pair_changes_per_node(clean: int) -> np.ndarray:
    """Changed pairs incident to each node, from `clean` to every graph (1024, N)."""
    changed = BITS[:, N_NODES:] != BITS[clean, N_NODES:]
    count = np.zeros((BITS.shape[0], N_NODES), dtype=np.int64)
    for p, (i, j) in enumerate(PAIRS):
        count[:, i] += changed[:, p]
        count[:, j] += changed[:, p]
    return count


@pytest.fixture(scope="module")
def instances() -> list[dict]:
    rng = np.random.default_rng(20250101)
    out = []
    for _ in range(8):
        out.append(dict(scores=_classifier(rng), tp=rng.uniform(0.05, 0.3, (2, 2)),
                        tm=rng.uniform(0.1, 0.5, (2, 2)), tpa=rng.uniform(0.05, 0.3, (2, 3)),
                        tma=rng.uniform(0.1, 0.5, (2, 3)),
                        cleans=rng.choice(BITS.shape[0], 3, replace=False)))
    return out


def _localized_noise(inst: dict, k: int) -> np.ndarray:
    """Noise matrix of output cluster k: attributes by node cluster, pairs by cluster pair."""
    tp = np.r_[inst["tp"][k, LABELS], inst["tpa"][k, PAIR_COLUMN]]
    tm = np.r_[inst["tm"][k, LABELS], inst["tma"][k, PAIR_COLUMN]]
    return _noise_matrix(tp, 1 - tm)


def test_sparse_smooth_joint_never_certifies_a_flip(instances):
    certified_joint = 0
    for inst in instances:
        tp, tm, tpa, tma = inst["tp"][0, 0], inst["tm"][0, 0], inst["tpa"][0, 0], inst["tma"][0, 0]
        noise = _noise_matrix(np.r_[[tp] * N_NODES, [tpa] * len(PAIRS)],
                              np.r_[[1 - tm] * N_NODES, [1 - tma] * len(PAIRS)])
        votes = np.eye(3)[inst["scores"].argmax(-1)]  # (graphs, N, classes)
        vote_prob = np.einsum("io,onc->inc", noise, votes)  # exact Pr_x[g_n = c]
        for clean in inst["cleans"]:
            changes = _changes(clean)
            for n in range(N_NODES):
                y = vote_prob[clean, n].argmax()
                ok = sparse_smooth_certified(min(vote_prob[clean, n, y], 1.0), tp, tm,
                                             changes[:, 0], changes[:, 1], theta_plus_adj=tpa,
                                             theta_minus_adj=tma, s_add=changes[:, 2],
                                             s_del=changes[:, 3])
                assert (vote_prob[ok, n, y] > 0.5).all()
                certified_joint += int((ok & (changes[:, :2].sum(1) > 0)
                                        & (changes[:, 2:].sum(1) > 0)).sum())
    assert certified_joint > 50  # the check is not vacuous


def _smoothed(inst: dict) -> tuple[np.ndarray, np.ndarray]:
    """Exact E[g] and E[g^2] (inputs, N, classes), each node under its cluster's distribution."""
    if "moments" not in inst:
        scores = inst["scores"]
        mean, second = np.empty((2, BITS.shape[0], N_NODES, 3))
        for k in range(2):
            noise, nodes = _localized_noise(inst, k), LABELS == k
            mean[:, nodes] = np.einsum("io,onc->inc", noise, scores[:, nodes])
            second[:, nodes] = np.einsum("io,onc->inc", noise, scores[:, nodes] ** 2)
        inst["moments"] = mean, second
    return inst["moments"]


def _variance_setup(inst: dict, clean: int) -> dict:
    """Exact mu, eta, predictions and mu' (every graph) of each node, with the weights and
    units of the certificates."""
    mean, second = _smoothed(inst)
    nodes = np.arange(N_NODES)
    pred = mean[clean].argmax(-1)
    mu = mean[clean, nodes, pred]
    zeta = second[clean, nodes, pred] - mu**2
    eta = variance_constrained_radius(mu, np.maximum(zeta, 0.0))
    wp, wm = localized_weight_matrices(inst["tp"], inst["tm"])
    wpa, wma = pair_weight_matrices(inst["tpa"], inst["tma"])
    x = BITS[clean, :N_NODES]
    edges = PAIRS[BITS[clean, N_NODES:] == 1].T
    return dict(pred=pred, eta=eta, kept=mean[:, nodes, pred] > 0.5,
                args=(eta, LABELS, wp, wm, 1 - x, x), edges=edges, wpa=wpa, wma=wma)


@pytest.mark.parametrize("local_budget", [None, 1])
def test_variance_naive_and_collective_never_certify_a_flip(instances, local_budget):
    certified_naive = 0
    for inst in instances:
        for clean in inst["cleans"]:
            setup = _variance_setup(inst, clean)
            changes = _changes(clean)
            admissible = np.ones(BITS.shape[0], dtype=bool)
            if local_budget is not None:
                admissible = (_pair_changes_per_node(clean) <= local_budget).all(1)
            units = PairUnits.from_graph(setup["edges"], LABELS, setup["wpa"], setup["wma"],
                                         local_budget=local_budget)
            targets = setup["eta"] > 0
            certifier = CollectiveCertifier(*setup["args"], unit_group=LABELS, structure=units,
                                            targets=targets)
            relaxed = CollectiveCertifier(*setup["args"], unit_group=LABELS, structure=units,
                                          targets=targets, relax=True)
            if not targets.any():
                continue
            alone = {n: CollectiveCertifier(*setup["args"], unit_group=LABELS, structure=units,
                                            targets=[n]) for n in np.flatnonzero(targets)}
            for budget in BUDGETS:
                within = admissible & (changes <= budget).all(1)
                kept = setup["kept"][within][:, targets]  # (graphs in budget, targets)
                worst_case = int(kept.sum(1).min())
                collective = certifier.certify(*budget)
                assert collective <= worst_case, (clean, budget)
                assert relaxed.certify(*budget) <= collective
                naive = certifier.naive(*budget)
                assert naive <= collective
                # outputs certified on their own keep their prediction under every graph
                for n, single in alone.items():
                    if single.naive(*budget):
                        assert setup["kept"][within, n].all(), (clean, budget, n)
                certified_naive += naive * (budget[2] + budget[3] > 0)
    assert certified_naive > 20  # edge budgets were certified, not only trivial cases


def test_isotropic_variance_joint_weights_never_certify_a_flip(instances):
    """One cluster: certified iff r_a gp + r_d gm + s_a gpa + s_d gma < eta (docs/theory.md §8)."""
    certified = 0
    for inst in instances:
        iso = dict(scores=inst["scores"], tp=np.full((2, 2), inst["tp"][0, 0]),
                   tm=np.full((2, 2), inst["tm"][0, 0]),
                   tpa=np.full((2, 3), inst["tpa"][0, 0]), tma=np.full((2, 3), inst["tma"][0, 0]))
        for clean in inst["cleans"]:
            setup = _variance_setup(iso, clean)
            changes = _changes(clean)
            gp, gm = localized_weight_matrices(iso["tp"][:1, :1], iso["tm"][:1, :1])
            gpa, gma = pair_weight_matrices(iso["tpa"][0, 0], iso["tma"][0, 0])
            weight = changes @ np.array([gp[0, 0], gm[0, 0], gpa[0, 0], gma[0, 0]])
            for n in range(N_NODES):
                ok = weight < setup["eta"][n]
                assert setup["kept"][ok, n].all()
                certified += int((ok & (changes[:, 2:].sum(1) > 0)).sum())
    assert certified > 50

"""Certificates of filtering, abstaining base classifiers against exact probabilities
(docs/theory.md §10, §13).

A 4-node graph has 6 node pairs: every structure-noise outcome of every graph can be listed.
The base classifier filters edges by feature similarity (a star around node 0 survives), then
a classifier reads each node's filtered degree and abstains when unsure. Its exact class and
abstention probabilities are known for every graph, so each robustness claim of a run
(SparseSmooth thresholds for edge insertions / deletions, Holm-corrected vote bounds) can be
checked against every graph within its budget. Over many seeds, runs with a contradicted
claim must be no more frequent than alpha allows. Dividing the votes by the copies that did
not abstain (the unsound variant) makes claims the exact probabilities contradict in most
runs, and the same check catches it.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from graphcert.certificates import sparse_smooth_thresholds
from graphcert.certificates.bounds import holm_lower_bounds
from graphcert.noise.pair_filter import FilteredStructureNoise, PairFilter, feature_matrix
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.abstention import class_votes
from graphcert.sampling.devices import DeviceCounts
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.statistics import CheckpointError, ChunkCounts, SmoothingStats
from graphcert.tasks.graph.denoise import abstain_below

N_NODES, P_PLUS, P_MINUS, ALPHA = 4, 0.3, 0.4, 0.05
PAIRS = list(itertools.combinations(range(N_NODES), 2))
# Jaccard: 2/3 between node 0 and each other node, 1/3 between the others
FEATURES = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0]],
                        dtype=torch.float32)
FILTER = PairFilter(0.5, "jaccard")
CLEAN = [(0, 1), (1, 2)]  # (1, 2) is dropped by the filter
MAX_ADD, MAX_DEL = 2, 1
N_SEEDS, N_SAMPLES, N_PRE = 60, 300, 40
# class probabilities by filtered degree 0, 1, 2, 3; below 0.6 the copy abstains
DEGREE_PROBABILITIES = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.55, 0.45], [0.1, 0.9]])


class DegreeClassifier(torch.nn.Module):
    """Logits from each node's degree in the (filtered) union graph."""

    batching = "union"

    def forward(self, x, edge_index):
        degree = torch.bincount(edge_index[0], minlength=x.shape[0]).clamp(max=3)
        return DEGREE_PROBABILITIES[degree].log()


BASE = abstain_below(DegreeClassifier(), 0.6).eval()


def base_outputs(edges: set[tuple[int, int]]) -> np.ndarray:
    """Class (or -1: abstain) per node of the base classifier on the filtered graph."""
    kept = [e for e in edges if e in KEPT]
    both = np.array(kept + [(v, u) for u, v in kept], dtype=np.int64).reshape(-1, 2).T
    with torch.no_grad():
        return class_votes(BASE(FEATURES, torch.from_numpy(both))).numpy()


KEPT = {(u, v) for u, v in PAIRS if FILTER.apply(feature_matrix(FEATURES, "jaccard"),
                                                 np.array([[u], [v]])).size}


def exact_probabilities(graph: frozenset) -> np.ndarray:
    """(N, 3) exact probabilities of class 0, class 1 and abstention per node."""
    out = np.zeros((N_NODES, 3))
    for bits in itertools.product((0, 1), repeat=len(PAIRS)):
        prob, noisy = 1.0, set()
        for pair, bit in zip(PAIRS, bits, strict=True):
            on = 1 - P_MINUS if pair in graph else P_PLUS
            prob *= on if bit else 1 - on
            if bit:
                noisy.add(pair)
        classes = base_outputs(noisy)
        out[np.arange(N_NODES), classes] += prob  # -1 (abstain) lands in column 2
    return out


GRAPHS = [frozenset(g) for r in range(len(PAIRS) + 1) for g in itertools.combinations(PAIRS, r)]
EXACT = {g: exact_probabilities(g) for g in GRAPHS}
THRESHOLDS = sparse_smooth_thresholds(P_PLUS, P_MINUS, MAX_ADD, MAX_DEL)[:, :, 0, 0]


def contradicted(node: int, predicted: int, p_lower: float) -> bool:
    """Whether a claim that the exact probabilities refute is made for `node`: a budget whose
    threshold p_lower passes, and a graph within it where `predicted` has probability <= 1/2
    (or at the clean graph, p_lower above the exact probability)."""
    clean = frozenset(CLEAN)
    if p_lower > EXACT[clean][node, predicted]:
        return True
    for graph in GRAPHS:
        added, deleted = len(graph - clean), len(clean - graph)
        if added <= MAX_ADD and deleted <= MAX_DEL and p_lower > THRESHOLDS[added, deleted] \
                and EXACT[graph][node, predicted] <= 0.5:
            return True
    return False


def smoothed_runs():
    structure = StructureNoise.isotropic(np.array(CLEAN).T, N_NODES, P_PLUS, P_MINUS)
    noise = FilteredStructureNoise(structure, FILTER, FEATURES)
    for seed in range(N_SEEDS):
        config = MonteCarloConfig(N_SAMPLES, N_PRE, batch_size=50, seed=seed)
        yield smooth(BASE, FEATURES, None, noise, config, progress=False)


RUNS = list(smoothed_runs())


def wrong_runs(divide_by_votes: bool) -> int:
    """Runs with at least one claim the exact probabilities contradict."""
    wrong = 0
    for run in RUNS:
        nodes = np.arange(N_NODES)
        predicted = run.candidate_vote
        votes = run.votes[nodes, predicted]
        n = run.votes.sum(1) if divide_by_votes else run.n
        p_lower, passed = holm_lower_bounds(votes, n, ALPHA)
        wrong += any(contradicted(i, predicted[i], p_lower[i])
                     for i in nodes if passed[i])
    return wrong


def allowed(alpha: float) -> int:
    """Largest count of wrong runs that is not evidence (at level 1e-3) of a rate > alpha."""
    return int(scipy_stats.binom.ppf(1 - 1e-3, N_SEEDS, alpha))


def test_the_setting_can_catch_an_unsound_count():
    """Node 0 abstains often and, among the rest, mostly says class 0; class 0 alone has
    probability below 1/2, so a count over the non-abstaining copies over-claims."""
    probabilities = EXACT[frozenset(CLEAN)][0]
    assert probabilities[0] < 0.5 < probabilities[0] / (probabilities[0] + probabilities[1])
    assert probabilities[2] > 0.4


def test_abstentions_count_every_sample():
    for run in RUNS[:3]:
        assert np.all(run.votes.sum(1) < run.n)  # some copies abstained
        assert np.all(run.hist.sum(1) == run.n)  # every sample is in the score statistics


def test_claims_hold_as_often_as_alpha_allows():
    claims = sum(holm_lower_bounds(r.votes[np.arange(N_NODES), r.candidate_vote], r.n,
                                   ALPHA)[1].sum() for r in RUNS)
    assert claims >= N_SEEDS // 2  # the check has claims to check
    assert wrong_runs(divide_by_votes=False) <= allowed(ALPHA)


def test_dividing_by_the_non_abstaining_copies_is_caught():
    assert wrong_runs(divide_by_votes=True) > allowed(ALPHA)


@pytest.mark.parametrize("p_plus, p_minus", [(-0.1, 0.5), (0.2, 1.5), (float("nan"), 0.1)])
def test_pair_probabilities_outside_the_unit_interval_are_errors(p_plus, p_minus):
    with pytest.raises(ValueError, match="p_plus|p_minus"):
        StructureNoise.isotropic(np.array(CLEAN).T, N_NODES, p_plus, p_minus)


def test_statistics_with_abstentions_save_and_load(tmp_path):
    RUNS[0].save(tmp_path / "stats.npz")
    loaded = SmoothingStats.load(tmp_path / "stats.npz")
    np.testing.assert_array_equal(loaded.votes, RUNS[0].votes)
    broken = SmoothingStats.load(tmp_path / "stats.npz")
    broken.votes[0, 0] += RUNS[0].n[0]  # more votes than samples
    broken.save(tmp_path / "broken.npz")
    with pytest.raises(CheckpointError, match="votes does not count every sample"):
        SmoothingStats.load(tmp_path / "broken.npz")


def test_device_counts_treat_abstentions_as_the_cpu_counts_do():
    """`DeviceCounts` (accelerator path, run here on CPU tensors) counts abstaining rows as
    `ChunkCounts` does: no vote, zero scores, every sample in the histogram."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5, 3))
    logits[rng.random((6, 5)) < 0.4] = -np.inf
    chosen = np.array([0, 1, 2, 0, 1])
    for phase_chosen in (None, chosen):
        cpu = ChunkCounts(5, 3, 10)
        cpu.add(logits, phase_chosen)
        device = DeviceCounts(5, 3, 10, torch.device("cpu"))
        device.add(torch.from_numpy(logits),
                   None if phase_chosen is None else torch.from_numpy(phase_chosen))
        for name in DeviceCounts._FIELDS:
            np.testing.assert_array_equal(device.tensors[name].numpy(), getattr(cpu, name))
    assert cpu.votes.sum() == np.isfinite(logits[..., 0]).sum()
    assert cpu.hist.sum() == logits.shape[0] * logits.shape[1]

"""Fault injection for what becomes a vote: non-finite logits are never counted (an error that
names the model and the share of copies, for every bound), edited statistics files are
refused and resampled, and edge ids outside the graph fail before any sampling."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import graphcert
from graphcert.sampling.engine import smooth
from graphcert.sampling.finite import non_finite_copies
from graphcert.sampling.statistics import CheckpointError, SmoothingStats
from tests.sampling.fault_problem import CONFIG, LinearModel, make_noise, make_x
from tests.sampling.test_faults_sampling import resumes_after_setting_aside, rewrite, run


class PoisonedModel(LinearModel):
    """LinearModel whose logits turn NaN (or +inf, or all -inf) wherever node 0 keeps its
    first attribute in the noisy copy."""

    def __init__(self, value: float = float("nan"), every_class: bool = False):
        super().__init__()
        self.value, self.every_class = value, every_class

    def forward(self, x, edge_index):
        logits = super().forward(x, edge_index)
        poisoned = x.to_dense()[:, 0:1] > 0  # (N, 1): copies where the bit is on
        bad = poisoned.expand_as(logits) if self.every_class else \
            torch.zeros_like(logits, dtype=torch.bool).index_fill_(1, torch.tensor([0]), True) \
            & poisoned
        return torch.where(bad, torch.full_like(logits, self.value), logits)


def test_non_finite_copies_counts_copies_not_entries():
    logits = np.zeros((4, 3, 2))
    assert non_finite_copies(logits) == 0
    logits[1, 0, 0] = np.nan
    logits[1, 2, 1] = np.inf
    logits[3, 1] = -np.inf  # every class -inf: an abstention (docs/theory.md §10), fine
    logits[2, 1, 0] = -np.inf  # one masked class: fine
    assert non_finite_copies(logits) == 1


@pytest.mark.parametrize("value, every_class", [(float("nan"), False), (float("inf"), False),
                                                (float("nan"), True)])
def test_non_finite_logits_never_become_votes(tmp_path, value, every_class):
    checkpoint = tmp_path / "stats_x.npz"
    with pytest.raises(ValueError) as error:
        run(model=PoisonedModel(value, every_class), checkpoint=checkpoint)
    message = str(error.value)
    assert message.startswith("model tests.sampling.test_faults_votes.PoisonedModel returned "
                              "NaN or infinite logits for ")
    bad, copies = (int(word) for word in message.split(" for ")[1].split()[:3:2])
    assert 0 < bad <= copies == CONFIG.chunk_size and f"({bad / copies:.1%})" in message
    assert not checkpoint.exists()  # the first chunk already failed: nothing was saved


@pytest.mark.parametrize("bounds", ["clopper_pearson", "dkw", "bernstein"])
def test_certify_with_nan_logits_names_nan_for_every_bound(bounds):
    data = Data(x=make_x(), edge_index=torch.zeros((2, 0), dtype=torch.long))
    with pytest.raises(ValueError, match=r"PoisonedModel returned NaN or infinite logits"):
        graphcert.certify(PoisonedModel(), data, make_noise(), n_pre=20, n_samples=60,
                          chunk_size=20, bounds=bounds, device="cpu")


def test_an_edited_statistics_file_is_refused_and_resampled(tmp_path, caplog):
    checkpoint = tmp_path / "stats_x.npz"
    fresh = run(checkpoint=checkpoint)
    votes = fresh.votes.copy()
    votes[0] = votes[0][::-1]  # still counts every sample exactly once: consistent
    assert not np.array_equal(votes, fresh.votes)
    rewrite(checkpoint, change={"votes": votes})
    with pytest.raises(CheckpointError, match="differ from the digest saved with them"):
        SmoothingStats.load(checkpoint)
    resumes_after_setting_aside(checkpoint, fresh, caplog, "the file was edited")
    rewrite(checkpoint, {"fingerprint": "sha256:" + "0" * 64})  # metadata edited alike
    with pytest.raises(CheckpointError, match="the file was edited"):
        SmoothingStats.load(checkpoint)


def test_edge_ids_outside_the_graph_fail_before_sampling(caplog):
    calls = []

    class Counting(LinearModel):
        def forward(self, x, edge_index):
            calls.append(1)
            return super().forward(x, edge_index)

    for edges, bad in ((torch.tensor([[0, 12], [12, 0]]), 12),
                       (torch.tensor([[0, -1], [1, 0]]), -1)):
        with pytest.raises(ValueError, match=rf"edge_index holds node id {bad}, outside "
                           r"\[0, 12\) for a graph of 12 nodes"):
            smooth(Counting().eval(), make_x(), edges, make_noise(), CONFIG, progress=False)
    assert calls == []
    with caplog.at_level(logging.WARNING):
        smooth(Counting().eval(), make_x(), torch.tensor([[0, 11], [11, 0]]), make_noise(),
               CONFIG, progress=False)
    assert calls


def test_accelerator_counts_refuse_non_finite_logits_too():
    """`DeviceCounts` (the counting of chunks on an accelerator) on the CPU: the same refusal,
    read once at the end of the chunk."""
    from graphcert.sampling.devices import DeviceCounts
    from graphcert.sampling.finite import NonFiniteLogits
    from graphcert.sampling.streams import PRE
    logits = torch.zeros(5, 3, 2)
    logits[1, 2, 0] = float("nan")
    logits[3, 1, 1] = float("inf")
    logits[4, 0] = float("-inf")  # every class -inf: an abstention, not a failure
    counts = DeviceCounts(3, 2, 4, torch.device("cpu"))
    counts.add(logits, None)
    with pytest.raises(NonFiniteLogits, match="for 2 of 5 noisy copies"):
        counts.result(CONFIG, {}, PRE, 0, 0, np.arange(3), None)
    clean = DeviceCounts(3, 2, 4, torch.device("cpu"))
    clean.add(torch.zeros(5, 3, 2), None)
    assert clean.result(CONFIG, {}, PRE, 0, 0, np.arange(3), None).votes.sum() == 15


def test_logits_all_minus_infinity_are_abstentions_not_failures(tmp_path):
    """A copy whose logits are all -inf for an output abstains there (docs/theory.md §10):
    the chunk is kept, that output votes for no class, and every sample is still counted."""
    stats = run(model=PoisonedModel(float("-inf"), every_class=True),
                checkpoint=tmp_path / "stats_x.npz")
    assert np.all(stats.votes.sum(1) <= stats.n) and np.any(stats.votes.sum(1) < stats.n)

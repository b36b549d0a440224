"""The method registry (`graphcert.run.methods`): every method declares itself completely,
the pipeline, config and reports read it, and methods with the same noise and scores share
one statistics file without changing a vote."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gnn_models import GCN, ScaledLogits, normalized_adjacency
from graphcert.noise.binary import LocalizedNoise
from graphcert.run.config import RunConfig
from graphcert.run.methods import METHODS, DeterministicMethod, SmoothingMethod
from graphcert.run.methods.isotropic import Isotropic
from graphcert.run.pipeline import sampling_plans
from graphcert.run.reporting import _label
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig

CONFIG_FIELDS = {f.name for f in dataclasses.fields(RunConfig)}
MC = MonteCarloConfig(n_samples=60, n_pre=20, chunk_size=25, batch_size=8, n_bins=100)


def tiny_graph(n_nodes: int = 30, n_features: int = 12, seed: int = 0):
    """A random binary graph with the attributes the pipeline reads."""
    rng = np.random.default_rng(seed)
    x = torch.from_numpy((rng.random((n_nodes, n_features)) < 0.3).astype(np.float32))
    edge_index = torch.from_numpy(rng.integers(0, n_nodes, (2, 4 * n_nodes)))
    return SimpleNamespace(x=x, edge_index=edge_index, num_nodes=n_nodes)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_declares_itself(name):
    method = METHODS[name]
    assert isinstance(method, (SmoothingMethod, DeterministicMethod)) and method.name == name
    assert method.label and (isinstance(method, DeterministicMethod) or method.noise_name)
    assert method.features in ("binary", "continuous")
    assert method.fields and method.fields <= CONFIG_FIELDS, method.fields - CONFIG_FIELDS


def test_isotropic_at_temperature_zero_and_sparse_smooth_share_one_plan():
    data = tiny_graph()
    config = RunConfig(methods=["sparse_smooth", "isotropic", "localized"], n_clusters=2)
    plans = sampling_plans(config, data, MC)
    assert [[m.name for m in plan.methods] for plan in plans] == \
        [["localized"], ["isotropic", "sparse_smooth"]]  # registry order, not flag order
    assert [plan.checkpoint for plan in plans] == ["stats_localized_T0.npz",
                                                   "stats_isotropic_T0.npz"]
    assert {plan.mc.n_bins for plan in plans} == {1}  # binary bounds read no histogram


def test_other_scores_or_histograms_get_their_own_statistics():
    data = tiny_graph()
    config = RunConfig(methods=["isotropic", "sparse_smooth"], score_temperature=0.5,
                       bounds="dkw")
    iso, sparse = sampling_plans(config, data, MC)
    assert (iso.checkpoint, iso.temperature, iso.mc.n_bins) == \
        ("stats_isotropic_T0.5.npz", 0.5, MC.n_bins)
    assert (sparse.checkpoint, sparse.temperature, sparse.mc.n_bins) == \
        ("stats_isotropic_T0.npz", 0.0, 1)
    shared, = sampling_plans(dataclasses.replace(config, score_temperature=0.0), data, MC)
    assert shared.mc.n_bins == MC.n_bins  # the histogram is kept when one method reads it
    softmax, _ = sampling_plans(dataclasses.replace(config, score_temperature=1.0), data, MC)
    assert (softmax.checkpoint, softmax.temperature) == ("stats_isotropic.npz", None)


def test_gaussian_plan_caps_the_batch_for_memory():
    data = tiny_graph(n_nodes=1000, n_features=2**16)  # 256 MiB per dense copy
    plan, = sampling_plans(RunConfig(methods=["gaussian"], n_clusters=2), data, MC)
    assert plan.mc.batch_size == 1 and plan.temperature is None
    assert plan.checkpoint == "stats_gaussian.npz"


def test_one_hot_scores_leave_every_vote_unchanged():
    """SparseSmooth reads votes only: sampling softmax(logits) or one-hot scores gives the same
    votes and vote candidates, so sharing the isotropic T = 0 statistics changes no number."""
    data = tiny_graph()
    torch.manual_seed(0)
    model = GCN(data.x.shape[1], 3).eval()
    adjacency = normalized_adjacency(data.edge_index, data.num_nodes)
    noise = LocalizedNoise.isotropic(data.num_nodes, 0.1, 0.6)
    raw = smooth(model, data.x, adjacency, noise, MC, progress=False)
    hard = smooth(ScaledLogits(model, 0.0).eval(), data.x, adjacency, noise, MC,
                  progress=False)
    for name in ("pre_votes", "votes", "candidate_vote", "n_pre", "n"):
        assert np.array_equal(getattr(raw, name), getattr(hard, name)), name
    assert raw.votes.min() < raw.votes.max()  # not a degenerate all-one-class model


class Renamed(Isotropic):
    """A new method as a user would add it: one class, one registry entry."""

    name = "isotropic_copy"
    label = "a registered copy"
    noise_name = "isotropic_copy"


def test_a_registered_method_reaches_config_plans_and_reports(monkeypatch):
    monkeypatch.setitem(METHODS, Renamed.name, Renamed())
    config = RunConfig(methods=["isotropic_copy"])
    plan, = sampling_plans(config, tiny_graph(), MC)
    assert [m.name for m in plan.methods] == ["isotropic_copy"]
    assert plan.checkpoint == "stats_isotropic_copy_T0.npz"
    assert _label("isotropic_copy") == "a registered copy"
    monkeypatch.delitem(METHODS, Renamed.name)
    with pytest.raises(ValueError, match=r"methods\[0\] must be one of .*, got 'isotropic_copy'"):
        RunConfig(methods=["isotropic_copy"])

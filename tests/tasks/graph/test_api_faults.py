"""Fault injection through ``graphcert.certify``: settings and models that would fail late or
inside the user's model fail first, with a message naming the argument; a checkpoint of a
model whose private state changed is resampled, not reused."""
from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

import graphcert


class Linear(torch.nn.Module):
    """Per-node linear scores; `_sign` is private state that flips every prediction."""

    def __init__(self, features: int = 12, classes: int = 2):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(features, classes)
        self._sign = 1.0

    def forward(self, x, edge_index):
        return self._sign * self.lin(x.to_dense())


class MustNotRun(Linear):
    def forward(self, x, edge_index):
        raise AssertionError("the model ran before the arguments were checked")


@pytest.fixture(scope="module")
def data() -> Data:
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(24, 12, generator=gen) < 0.4).float()
    src = torch.arange(24)
    edges = torch.stack([src, (src + 1) % 24])
    return Data(x=x, edge_index=torch.cat([edges, edges.flip(0)], 1), y=src % 2)


@pytest.fixture(scope="module")
def noise(data):
    return graphcert.isotropic_noise(data, 0.01, 0.6)


def certify(model, data, noise, **kwargs):
    settings = dict(n_pre=20, n_samples=60, chunk_size=30, device="cpu", seed=0)
    return graphcert.certify(model, data, noise, **{**settings, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    (dict(local_budget=-1), "local_budget == -1, must be >= 0"),
    (dict(alpha=1e-320), "alpha == 1e-320 shared by 24 outputs gives 4.15e-322 per output, "
     "below the smallest normal float"),
    (dict(targets=torch.ones(24, dtype=torch.uint8)), "targets has dtype uint8, which is read "
     "as node ids; a mask must be boolean"),
    (dict(n_samples=10**12), "n_samples == 1000000000000 with chunk_size == 30 makes "
     "33333333334 chunks per distribution, at most 1000000"),
])
def test_bad_arguments_fail_before_the_model_runs(data, noise, kwargs, message):
    with pytest.raises(ValueError) as error:
        certify(MustNotRun(), data, noise, **kwargs)
    assert message in str(error.value)


def test_float64_and_meta_models_are_named_before_they_run(data, noise):
    with pytest.raises(ValueError, match="model MustNotRun has float64 tensors .* the noisy "
                       r"copies of the data are float32: convert it with model.float\(\)"):
        certify(MustNotRun().double(), data, noise)
    with torch.device("meta"):
        meta = MustNotRun()
    with pytest.raises(ValueError, match="model MustNotRun has tensors on the meta device"):
        certify(meta, data, noise)


def test_seed_of_the_clustering_is_a_32_bit_number(data):
    with pytest.raises(ValueError, match=r"seed == 4294967296, must be in \[0, 4294967295\]"):
        graphcert.localized_noise(data, n_clusters=2, seed=2**32)


def test_edge_ids_outside_the_graph_fail_before_the_model_runs(data, noise):
    broken = Data(x=data.x, edge_index=torch.tensor([[0, 24], [24, 0]]), y=data.y)
    with pytest.raises(ValueError, match=r"edge_index holds node id 24, outside \[0, 24\)"):
        certify(MustNotRun(), broken, noise)


def test_certified_accuracy_needs_the_labels_of_every_node(data, noise):
    cert = certify(Linear(), data, noise)
    assert 0 <= cert.certified_accuracy(data.y, "deletions", range(3))[0] <= 1
    for y, shape in ((data.y[:10], "(10,)"), (data.y[None], "(1, 24)"),
                     (data.y.float(), "(24,)")):
        with pytest.raises(ValueError, match=r"y must hold the integer labels of all 24 nodes, "
                           rf"shape \(24,\), got .* of shape {re.escape(shape)}"):
            cert.certified_accuracy(y, "deletions", range(3))


def test_a_checkpoint_of_changed_private_state_is_resampled(data, noise, tmp_path, caplog):
    """The high-severity defect through the API: a private attribute that flips every
    prediction must not reuse the statistics sampled before."""
    checkpoint = tmp_path / "stats.npz"
    model = Linear()
    first = certify(model, data, noise, checkpoint=checkpoint)
    saved = checkpoint.read_bytes()
    certify(model, data, noise, checkpoint=checkpoint)
    assert checkpoint.read_bytes() == saved  # the same model: reused as it is
    assert not (tmp_path / "stats.stale-1.npz").exists()
    model._sign = -1.0
    with caplog.at_level(logging.WARNING, logger="graphcert.sampling"):
        flipped = certify(model, data, noise, checkpoint=checkpoint)
    assert "not reused: it was sampled from another model" in caplog.text
    assert (tmp_path / "stats.stale-1.npz").exists()
    decided = (first.prediction >= 0) & (flipped.prediction >= 0)
    assert decided.any() and np.all(first.prediction[decided] != flipped.prediction[decided])

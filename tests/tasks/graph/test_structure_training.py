"""Training on noisy graphs (docs/theory.md §8): a fresh graph from the structure noise every
epoch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_models import get_model
from graphcert.data.datasets import split
from graphcert.noise.structure import StructureNoise
from graphcert.tasks.graph.training import set_seed, train_model


def _trained(citeseer, **noise) -> tuple[torch.Tensor, list]:
    idx_train, idx_val, _ = split(citeseer.y, seed=0)
    set_seed(3)
    model = get_model("gcn", citeseer.x.shape[1], citeseer.num_classes)
    result = train_model(model, citeseer, idx_train, idx_val, max_epochs=6, patience=100,
                         lr=1e-2, seed=3, **noise)
    return torch.cat([p.detach().flatten() for p in model.parameters()]), result.history


def test_noiseless_structure_noise_trains_like_the_clean_graph(citeseer):
    """p_plus = p_minus = 0 draws the clean graph every epoch: the same model, bit for bit;
    real noise trains on other graphs (other losses), reproducibly."""
    clean, clean_history = _trained(citeseer)
    still = StructureNoise.isotropic(citeseer.edge_index, citeseer.num_nodes, 0.0, 0.0)
    same, same_history = _trained(citeseer, structure=still)
    assert torch.equal(clean, same) and clean_history == same_history
    noisy = StructureNoise.isotropic(citeseer.edge_index, citeseer.num_nodes, 0.001, 0.4)
    first, history = _trained(citeseer, structure=noisy)
    again, _ = _trained(citeseer, structure=noisy)
    assert torch.equal(first, again)
    assert history[0][0] != pytest.approx(clean_history[0][0], abs=1e-6)


def test_structure_noise_must_fit_the_graph(citeseer):
    idx_train, idx_val, _ = split(citeseer.y, seed=0)
    model = get_model("gcn", citeseer.x.shape[1], citeseer.num_classes)
    other = StructureNoise.isotropic(np.array([[0], [1]]), 3, 0.1, 0.1)
    with pytest.raises(ValueError, match="StructureNoise on the 2110 nodes"):
        train_model(model, citeseer, idx_train, idx_val, structure=other, max_epochs=1)

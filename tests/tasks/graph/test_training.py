"""Training: noise rates, smoke test, checkpoints, and the clean accuracy targets."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_models import get_model, model_input
from graphcert.data.datasets import split
from graphcert.noise.binary import flip_bits
from graphcert.tasks.graph.training import (
    accuracy,
    load_checkpoint,
    save_checkpoint,
    set_seed,
    train_model,
)


def test_flip_bits_rates_and_validation():
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(400, 500, generator=generator) < 0.2).float()
    noisy = flip_bits(x, 0.05, 0.7, generator)
    ones, zeros = x == 1, x == 0
    added = (noisy[zeros] == 1).float().mean().item()
    deleted = (noisy[ones] == 0).float().mean().item()
    n_zeros, n_ones = zeros.sum().item(), ones.sum().item()
    assert abs(added - 0.05) < 5 * np.sqrt(0.05 * 0.95 / n_zeros)
    assert abs(deleted - 0.7) < 5 * np.sqrt(0.7 * 0.3 / n_ones)
    per_node = torch.linspace(0, 1, 400).unsqueeze(1)
    assert torch.equal(flip_bits(x, 0.0, per_node * 0, generator), x)
    with pytest.raises(ValueError, match="theta_minus"):
        flip_bits(x, 0.1, 1.2)


def test_training_smoke_and_checkpoint_round_trip(citeseer, tmp_path):
    idx_train, idx_val, idx_test = split(citeseer.y, seed=0)
    model = get_model("appnp", citeseer.x.shape[1], citeseer.num_classes)
    result = train_model(model, citeseer, idx_train, idx_val, max_epochs=30, patience=100,
                         lr=1e-2, seed=0)
    losses = [train for train, _ in result.history]
    assert len(losses) == 30 and losses[-1] < losses[0]
    before = accuracy(model, citeseer, idx_test)
    assert before > 1 / citeseer.num_classes + 0.1
    save_checkpoint(model, tmp_path / "model.pt", name="appnp", seed=0)
    fresh = get_model("appnp", citeseer.x.shape[1], citeseer.num_classes)
    _, meta = load_checkpoint(tmp_path / "model.pt", fresh)
    assert meta == {"name": "appnp", "seed": 0}
    assert accuracy(fresh, citeseer, idx_test) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_training_is_reproducible_and_noise_is_optional(citeseer):
    idx_train, idx_val, _ = split(citeseer.y, seed=1)
    runs = []
    for _ in range(2):
        set_seed(7)  # initialization; train_model seeds dropout and noise itself
        model = get_model("gcn", citeseer.x.shape[1], citeseer.num_classes)
        train_model(model, citeseer, idx_train, idx_val, max_epochs=5, seed=7,
                    theta_plus=0.01, theta_minus=0.6)
        runs.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])
    with pytest.raises(ValueError, match="both theta_plus and theta_minus"):
        train_model(model, citeseer, idx_train, idx_val, theta_plus=0.01)


def test_progress_bar_only_when_asked(citeseer, capsys):
    idx_train, idx_val, _ = split(citeseer.y, seed=0)
    model = get_model("appnp", citeseer.x.shape[1], citeseer.num_classes)
    train_model(model, citeseer, idx_train, idx_val, max_epochs=3, progress=True)
    bar = capsys.readouterr().err
    assert "training:" in bar and "/3 [" in bar
    train_model(model, citeseer, idx_train, idx_val, max_epochs=3)
    assert capsys.readouterr().err == ""


def test_model_input_layout_follows_density(citeseer):
    """Bag-of-words attributes go in as CSR, continuous features stay dense; the model's
    output is the same either way."""
    assert model_input(citeseer.x).layout == torch.sparse_csr
    continuous = torch.randn(50, 8)
    assert model_input(continuous) is continuous
    torch.manual_seed(0)
    model = get_model("appnp", 8, 3).eval()
    edge_index = torch.tensor([[i for i in range(49)], [i + 1 for i in range(49)]])
    sparse = torch.where(continuous > 1.5, continuous, 0.0)  # 7% nonzero
    assert model_input(sparse).layout == torch.sparse_csr
    torch.testing.assert_close(model(model_input(sparse), edge_index), model(sparse, edge_index))


@pytest.mark.slow
@pytest.mark.parametrize("name, threshold", [("cora_ml", 0.80), ("citeseer", 0.70)])
def test_clean_appnp_accuracy_over_three_seeds(name, threshold, request):
    data = request.getfixturevalue("cora" if name == "cora_ml" else "citeseer")
    accuracies = []
    for seed in range(3):
        idx_train, idx_val, idx_test = split(data.y, seed=seed)
        model = get_model("appnp", data.x.shape[1], data.num_classes)
        train_model(model, data, idx_train, idx_val, seed=seed)
        accuracies.append(accuracy(model, data, idx_test))
    print(f"{name}: test accuracies {np.round(accuracies, 3)}, mean {np.mean(accuracies):.3f}")
    assert np.mean(accuracies) >= threshold

"""Hierarchical noise (docs/theory.md §14): selection rate, clean unselected rows, lower-level
flip rates on selected rows, the indicator column, seeding and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcert.noise.hierarchical import (
    HierarchicalGaussianNoise,
    HierarchicalSparseNoise,
    hierarchical_noise,
)

X = torch.tensor([[0, 1, 1, 0, 0], [1, 0, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=torch.float32)
B = 20_000


def _within(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_sparse_copies_follow_the_hierarchical_law():
    noise = hierarchical_noise(3, 0.7, theta_plus=0.1, theta_minus=0.4)
    out = noise.sample(X, 0, B, np.random.default_rng(0)).to_dense().view(B, 3, 6)
    selected = out[..., 5] == 1
    assert _within(selected.float().mean().item(), 0.7, 3 * B)
    bits = out[..., :5]
    clean = X.expand(B, 3, 5)
    assert torch.equal(bits[~selected], clean[~selected])  # unselected rows stay clean
    on_sel = bits[selected]
    clean_sel = clean[selected]
    zeros, ones = clean_sel == 0, clean_sel == 1
    assert _within(on_sel[zeros].mean().item(), 0.1, int(zeros.sum()))
    assert _within(1 - on_sel[ones].mean().item(), 0.4, int(ones.sum()))
    again = noise.sample(X, 0, B, np.random.default_rng(0)).to_dense().view(B, 3, 6)
    assert torch.equal(out, again)


def test_indicator_is_optional_and_p_one_selects_every_row():
    noise = HierarchicalSparseNoise(3, 1.0, False, 0.0, 0.0)
    out = noise.sample(X, 0, 4, np.random.default_rng(1)).to_dense()
    assert out.shape == (12, 5)
    assert torch.equal(out, X.repeat(4, 1))


def test_gaussian_copies_follow_the_hierarchical_law():
    x = torch.arange(6, dtype=torch.float32).view(3, 2)
    noise = hierarchical_noise(3, 0.6, sigma=0.5)
    out = noise.sample(x, 0, B, np.random.default_rng(2)).view(B, 3, 3)
    selected = out[..., 2] == 1
    assert _within(selected.float().mean().item(), 0.6, 3 * B)
    delta = out[..., :2] - x
    assert torch.all(delta[~selected] == 0)
    assert abs(delta[selected].std().item() - 0.5) < 0.01
    assert isinstance(noise, HierarchicalGaussianNoise)
    assert noise.describe()["kind"] == "hierarchical_gaussian"


@pytest.mark.parametrize("kwargs, match", [
    ({"p_select": 0.0, "sigma": 1.0}, r"p_select == 0.0, must be in \(0, 1\]"),
    ({"p_select": 1.5, "sigma": 1.0}, r"p_select == 1.5"),
    ({"p_select": 0.5, "sigma": 1.0, "theta_plus": 0.1, "theta_minus": 0.2}, "not both"),
    ({"p_select": 0.5}, "either theta_plus"),
    ({"p_select": 0.5, "theta_plus": 0.1}, "both theta_plus and theta_minus"),
    ({"p_select": 0.5, "theta_plus": 0.1, "theta_minus": 1.2}, r"theta_minus == 1.2"),
    ({"p_select": 0.5, "sigma": 0.0}, r"sigma == 0.0"),
])
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hierarchical_noise(3, **kwargs)


def test_wrong_number_of_nodes_is_named():
    with pytest.raises(ValueError, match="n_nodes=4"):
        hierarchical_noise(4, 0.5, theta_plus=0.1, theta_minus=0.2).sample(
            X, 0, 2, np.random.default_rng(0))

"""Certified attributions (docs/theory.md §7, Anani et al. 2025)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from graphcert.run.demos.models import DigitsCNN
from graphcert.tasks.image.attribution import (
    ATTRIBUTION_METHODS,
    CertifiedAttribution,
    attribution_method,
    certified_gridpg,
    certify_attribution,
    deletion_curve,
    image_grid,
    percent_certified,
    sparsify,
)
from graphcert.tasks.image.segmentation import ABSTAIN


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Tiny models run ~10x faster on one thread than with thread barriers."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("k,expected", [(10, 40), (2.5, 10), (100, 400), (50, 200), (0.1, 1),
                                        (33.3, 134)])
def test_sparsifier_keeps_exactly_k_percent(k, expected):
    maps = torch.randn(3, 20, 20)
    out = sparsify(maps, k)
    assert out.dtype == torch.long and set(out.unique().tolist()) <= {0, 1}
    assert out.reshape(3, -1).sum(1).tolist() == [expected] * 3
    # the ones are the largest values
    flat, ones = maps.reshape(3, -1), out.reshape(3, -1).bool()
    if expected < 400:
        assert torch.all(flat.masked_fill(~ones, np.inf).min(1).values
                         >= flat.masked_fill(ones, -np.inf).max(1).values)


def test_sparsifier_breaks_ties_by_index_and_validates_k():
    out = sparsify(torch.zeros(4, 5), 25)
    assert out.ravel().tolist() == [1] * 5 + [0] * 15
    for bad in (0, -1, 100.5):
        with pytest.raises(ValueError):
            sparsify(torch.zeros(4, 5), bad)


def test_every_method_gives_one_map_per_image():
    torch.manual_seed(0)
    model = DigitsCNN().eval()
    x, target = torch.rand(2, 1, 12, 12), torch.tensor([3, 7])
    for name in ATTRIBUTION_METHODS:
        maps = attribution_method(name, model, model.features)(x, target)
        assert maps.shape == (2, 12, 12) and torch.isfinite(maps).all(), name
    with pytest.raises(ValueError):
        attribution_method("gradcam", model)
    with pytest.raises(ValueError):
        attribution_method("shap", model)


def _brightness(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=1)


def test_certification_of_a_known_attribution():
    """Attribution = pixel value: with small noise, bright pixels are certified 1, dark 0."""
    x = torch.zeros(1, 8, 8)
    x[0, :2] = 1.0  # 16 bright pixels = top 25%
    x[0, 2:4] = 0.5  # the next 16
    cert = certify_attribution(_brightness, x, 0, [25, 50, 10], 0.05, n_pre=10, n_samples=60,
                               tau=0.75, alpha=0.01)
    assert cert.radius == pytest.approx(0.05 * norm.ppf(0.75))
    assert np.all(cert.maps[0][:2] == 1) and np.all(cert.maps[0][2:] == 0)
    assert np.all(cert.maps[1][:4] == 1) and np.all(cert.maps[1][4:] == 0)
    # K = 10: 7 of the 16 tied bright pixels, chosen by noise: they abstain
    assert np.all(cert.maps[2][:2] == ABSTAIN) and np.all(cert.maps[2][2:] == 0)
    assert percent_certified(cert.maps[0]) == 1.0
    noisy = certify_attribution(_brightness, x, 0, [25], 5.0, n_pre=10, n_samples=60)
    assert percent_certified(noisy.maps[0]) < 0.5


def test_gridpg_grid_and_deletion():
    labels = np.full((4, 4), 0)
    labels[0, 0] = labels[0, 1] = labels[3, 3] = 1
    labels[1, 1] = ABSTAIN
    assert certified_gridpg(labels, 2, 0) == pytest.approx(2 / 3)
    assert certified_gridpg(labels, 2, 3) == pytest.approx(1 / 3)
    assert np.isnan(certified_gridpg(np.zeros((4, 4)), 2, 0))
    grid = image_grid([torch.full((1, 2, 2), float(i)) for i in range(4)], 2)
    assert grid.shape == (1, 4, 4) and grid[0, 3, 0] == 2 and grid[0, 0, 3] == 1
    model = DigitsCNN().eval()
    x = torch.rand(1, 4, 4)
    cert = CertifiedAttribution((50.0, 10.0), np.stack([labels, labels * 0]), 0.1)
    curve = deletion_curve(model, x, 2, cert)
    assert curve.shape == (3,)
    assert curve[0] == pytest.approx(torch.softmax(model(x[None]), 1)[0, 2].item(), abs=1e-6)


def test_attribute_command_end_to_end(tmp_path, capsys):
    from graphcert.cli import main
    code = main(["attribute", "--n-images", "1", "--methods", "saliency,gradcam", "--ks", "10,50",
                 "--n-pre", "5", "--n-samples", "20", "--epochs", "1", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "attribution_maps.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "saliency" in out and "gradcam" in out and "cert GridPG" in out

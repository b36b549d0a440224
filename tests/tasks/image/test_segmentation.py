"""Segmentation certificates (docs/theory.md §4-§7) against independent computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import ndtr, ndtri

from graphcert.certificates import BaseCertificate, gaussian_radius
from graphcert.certificates.collective import l2_certified_counts
from graphcert.data.grid import GridPartition
from graphcert.noise.gaussian import GridGaussian
from graphcert.tasks.image.center_smoothing import center_smoothing
from graphcert.tasks.image.segmentation import (
    ABSTAIN,
    anisotropic_certificate,
    confusion_matrix,
    mean_iou,
    pixel_accuracy,
    segcertify_star,
    segcertify_star_pixels,
)
from graphcert.tasks.image.votes import PixelVotes


def _cell_energy(delta: np.ndarray, partition: GridPartition) -> np.ndarray:
    """b[u] = squared l2 norm of the perturbation inside cell u (all channels)."""
    cells = partition.cell_map()
    return np.array([np.sum(delta[..., cells == u] ** 2) for u in range(partition.n_cells)])


@pytest.mark.parametrize("rows,cols", [(1, 1), (2, 3)])
def test_anisotropic_certificate_exact_for_linear_classifier(rows, cols):
    """Linear base classifier: Pr[a.z + b > 0] = Phi(m / s) exactly under N(x, diag sigma^2).
    Every perturbation with w[k] . b < eta keeps it > 1/2, and the worst one on the boundary
    reaches exactly 1/2 (the certificate is tight)."""
    rng = np.random.default_rng(0)
    part = GridPartition(6, 6, rows, cols)
    noise = GridGaussian(part, 0.2, 0.9)
    w = noise.weights()
    x, a = rng.normal(size=(2, 6, 6)), rng.normal(size=(2, 6, 6))
    for k in range(part.n_cells):
        sig = noise.pixel_sigma(k)[None]
        s = np.sqrt(np.sum(a**2 * sig**2))
        bias = 1.5 * s - np.sum(a * x)  # p = Phi(1.5)
        p = ndtr((np.sum(a * x) + bias) / s)
        eta = float(ndtri(p) ** 2)
        worst = -a * sig**2 * np.sqrt(eta) / s  # argmin a.delta s.t. sum delta^2/sig^2 = eta
        assert w[k] @ _cell_energy(worst, part) == pytest.approx(eta)
        p_worst = ndtr((np.sum(a * (x + worst)) + bias) / s)
        assert p_worst == pytest.approx(0.5, abs=1e-9)
        for _ in range(50):  # random perturbations inside the region keep the prediction
            d = rng.normal(size=x.shape) * sig
            d *= np.sqrt(eta / (w[k] @ _cell_energy(d, part))) * rng.uniform(0, 0.999)
            assert ndtr((np.sum(a * (x + d)) + bias) / s) > 0.5


def test_anisotropic_certificate_holm_and_abstain():
    noise = GridGaussian(GridPartition(2, 2, 2, 2), 0.25, 0.5)
    votes = PixelVotes(np.array([0, 1, 2, 1]), np.array([100, 99, 60, 50]), 100)
    cert = anisotropic_certificate(votes, noise, 0.01)
    assert np.isfinite(cert.eta[:2]).all() and cert.eta[0] > cert.eta[1] > 0
    assert np.all(cert.eta[2:] == -np.inf)
    np.testing.assert_array_equal(cert.group, [0, 1, 2, 3])
    bonf = anisotropic_certificate(votes, noise, 0.01, correction="bonferroni")
    assert np.all(bonf.eta <= cert.eta)
    with pytest.raises(ValueError):
        anisotropic_certificate(votes, noise, 0.01, correction="none")


def _brute_force_min_unbroken(eta, group, w, targets, budget, steps=400):
    """Adversary over a fine grid of allocations b = (t, budget - t) of two units."""
    best = np.inf
    for t in np.linspace(0.0, budget, steps + 1):
        b = np.array([t, budget - t])
        best = min(best, np.sum(targets & (eta > 0) & (w[group] @ b < eta)))
    return best


def test_collective_at_least_naive_and_sound_on_a_grid():
    rng = np.random.default_rng(1)
    part = GridPartition(4, 8, 1, 2)
    noise = GridGaussian(part, 0.25, 1.0)
    p = rng.uniform(0.4, 0.9999, size=32)
    cert = BaseCertificate(np.zeros(32, int), np.where(p > 0.5, ndtri(p) ** 2, -np.inf),
                           part.labels)
    target = np.zeros(32, int)
    target[:3] = 1  # three wrong pixels
    eps = np.linspace(0, 1.5, 16)
    naive = l2_certified_counts(cert, target, noise.weights(), eps, collective=False,
                                milp_bins=None)
    coll = l2_certified_counts(cert, target, noise.weights(), eps, relax=False, milp_bins=None)
    lp = l2_certified_counts(cert, target, noise.weights(), eps, milp_bins=8)
    targets = (cert.eta > 0) & (target == 0)
    assert naive[0] == coll[0] == targets.sum()
    assert np.all(coll >= naive) and np.all(coll >= lp) and coll[6] > naive[6]
    for e, c in zip(eps, coll, strict=True):
        assert c <= _brute_force_min_unbroken(cert.eta, cert.group, noise.weights(), targets, e**2)


def test_one_by_one_grid_is_isotropic_smoothing():
    rng = np.random.default_rng(2)
    noise = GridGaussian(GridPartition(5, 5, 1, 1), 0.3, 2.0)  # sigma_max unused
    assert noise.sigma.tolist() == [[0.3]]
    iso = GridGaussian.isotropic(5, 5, 0.3)
    x = torch.zeros(2, 5, 5)
    torch.testing.assert_close(noise.sample(x, 0, 3, np.random.default_rng(4)),
                               iso.sample(x, 0, 3, np.random.default_rng(4)))
    votes = PixelVotes(np.zeros(25, int), rng.integers(40, 201, size=25), 200)
    cert = anisotropic_certificate(votes, noise, 0.05)
    from graphcert.certificates.bounds import holm_lower_bounds
    p_lower, passed = holm_lower_bounds(votes.votes, 200, 0.05)
    radius = np.where(passed, gaussian_radius(p_lower, 0.3), -np.inf)  # Cohen et al.
    eps = np.linspace(0, 1.2, 13)
    expected = [(radius > e).sum() for e in eps]
    for collective in (False, True):
        got = l2_certified_counts(cert, np.zeros(25, int), noise.weights(), eps,
                               collective=collective, milp_bins=None)
        np.testing.assert_array_equal(got, expected)


def _textbook_holm_tau(votes, n, alpha, tau):
    pvals = stats.binom.sf(votes - 1, n, tau)  # P[Bin(n, tau) >= votes]
    passed = np.zeros(votes.size, bool)
    for rank, i in enumerate(np.argsort(pvals, kind="stable")):
        if pvals[i] >= alpha / (votes.size - rank):
            break
        passed[i] = True
    return passed


def test_segcertify_star_against_textbook_holm():
    rng = np.random.default_rng(3)
    votes = PixelVotes(rng.integers(0, 3, size=60), rng.integers(60, 101, size=60), 100)
    labels, radius = segcertify_star(votes, 0.25, 0.75, 0.01)
    assert radius == pytest.approx(0.25 * stats.norm.ppf(0.75))
    passed = _textbook_holm_tau(votes.votes, 100, 0.01, 0.75)
    np.testing.assert_array_equal(labels != ABSTAIN, passed)
    np.testing.assert_array_equal(labels[passed], votes.candidate[passed])
    counts = segcertify_star_pixels(labels, radius, votes.candidate, [0.0, 0.1, radius])
    assert counts.tolist() == [passed.sum(), passed.sum(), 0]
    for bad in [(0.0, 0.75), (0.25, 0.4), (0.25, 1.0)]:
        with pytest.raises(ValueError):
            segcertify_star(votes, *bad, 0.01)


def _one_pixel_follows_noise(z: torch.Tensor) -> torch.Tensor:
    out = torch.ones(z.shape[0], 4, 4, dtype=torch.long)
    out[:, 0, 0] = (z[:, 0, 0, 0] > 0).long()
    return out


def test_center_smoothing_constant_and_noisy_models():
    noise = GridGaussian.isotropic(4, 4, 0.5)
    x = torch.zeros(1, 4, 4)
    eps = np.array([0.0, 0.5, 3.0])
    kw = dict(n_pred=300, n_cert=400, delta=0.1, alpha=0.2)
    const = center_smoothing(lambda z: torch.ones(z.shape[0], 4, 4, dtype=torch.long), x, noise,
                             eps, **kw)
    assert np.all(const.center == 1) and const.robust.tolist() == [16, 16, 0]  # q > 1 at 3.0
    # pixel 0 is a coin flip: distances are 0 or 1, at most 16 - 3 = 13 pixels stay robust
    flip = center_smoothing(_one_pixel_follows_noise, x, noise, eps, **kw)
    assert flip.center is not None and flip.robust.tolist() == [13, 13, 0]
    with pytest.raises(ValueError):  # isotropic noise only
        center_smoothing(_one_pixel_follows_noise, x,
                         GridGaussian(GridPartition(4, 4, 2, 2), 0.1, 0.2), eps, **kw)
    with pytest.raises(ValueError):  # too few samples: the center check could never pass
        center_smoothing(_one_pixel_follows_noise, x, noise, eps, n_pred=100, delta=0.05)


def test_iou_and_accuracy_count_abstentions_as_wrong():
    target = np.array([0, 0, 1, 1, 2, 2])
    labels = np.array([0, ABSTAIN, 1, 0, ABSTAIN, ABSTAIN])
    conf = confusion_matrix(labels, target, 3)
    assert conf.shape == (3, 4) and conf.sum() == 6 and conf[:, 3].sum() == 3
    assert pixel_accuracy(conf) == pytest.approx(2 / 6)
    # IoU: class 0: tp 1, fp 1 (pixel 3), fn 1 -> 1/3; class 1: 1/2; class 2: 0
    assert mean_iou(conf) == pytest.approx((1 / 3 + 1 / 2 + 0) / 3)
    with pytest.raises(ValueError):
        confusion_matrix(np.array([3]), np.array([0]), 3)

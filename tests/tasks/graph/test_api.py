"""graphcert.certify end to end: PyG's GAT, GraphSAGE, GIN and a hand-written model, on every
device; statistical soundness against exactly enumerated smoothed probabilities."""
from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn.models import GAT, GIN, GraphSAGE
from torch_geometric.utils import scatter

import graphcert
from graphcert.noise.binary import LocalizedNoise
from tests.helpers import TwoLayer

MODELS = {"gat": lambda d, c: GAT(d, 16, 2, c), "sage": lambda d, c: GraphSAGE(d, 16, 2, c),
          "gin": lambda d, c: GIN(d, 16, 2, c), "two_layer": TwoLayer}


@pytest.fixture(scope="module")
def planted() -> Data:
    """Two classes of 12 nodes: class c has its own 6 of the 12 features mostly on, and its
    edges mostly inside the class."""
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(24) % 2
    own = torch.zeros(24, 12)
    own[y == 0, :6] = 1
    own[y == 1, 6:] = 1
    x = ((torch.rand(24, 12, generator=gen) < 0.8) & own.bool()).float()
    src = torch.arange(24)
    edge_index = torch.cat([torch.stack([src, (src + 2) % 24]),
                            torch.stack([src, (src + 1) % 24])], 1)
    return Data(x=x, edge_index=torch.cat([edge_index, edge_index.flip(0)], 1), y=y)


def trained(name: str, data: Data) -> torch.nn.Module:
    torch.manual_seed(1)
    model = MODELS[name](data.num_features, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(data.x, data.edge_index), data.y).backward()
        optimizer.step()
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pyg_and_hand_written_models_end_to_end(planted, name, device):
    data = planted
    model = trained(name, data)
    noise = graphcert.localized_noise(data, n_clusters=2, theta_plus=0.01,
                                      theta_minus=(0.1, 0.2), seed=0)
    assert noise.labels.shape == (24,) and noise.theta_minus.shape == (2, 2)
    targets = np.arange(0, 24, 3)
    cert = graphcert.certify(model, data, noise, targets=targets, n_pre=40, n_samples=300,
                             alpha=0.05, seed=0, device=device)
    assert isinstance(cert, graphcert.Certificate)
    assert not model.training and next(model.parameters()).device.type == device.type
    prediction, radius = cert.prediction, cert.radius
    assert prediction.shape == radius.shape == targets.shape
    assert np.array_equal(prediction == -1, ~(radius > 0))
    correct = prediction == data.y.numpy()[targets]
    assert correct.mean() >= 0.75  # a learnable task, little noise
    # unanimous votes give the largest radius: Clopper-Pearson mu_lower = (alpha / T)^(1 / n)
    mu = (0.05 / len(targets)) ** (1 / 300)
    top = np.log1p((mu - 0.5) ** 2 / (mu * (1 - mu)))
    assert radius.max() <= top + 1e-9
    if name in ("sage", "two_layer"):
        assert radius.max() == pytest.approx(top, rel=1e-9)
    # at budget 0 a correct, non-abstaining target is certified
    naive = cert.certified_accuracy(data.y, "deletions", range(8), collective=False)
    collective = cert.certified_accuracy(data.y, "deletions", range(8))
    assert naive[0] == collective[0] == correct.mean()
    assert np.all(np.diff(naive) <= 0) and np.all(collective >= naive)
    curve = cert.curve(data.y, "additions", range(4))
    assert curve.budgets == [0, 1, 2, 3] and curve.naive[0] == correct.sum()
    acr = cert.acr(data.y, "deletions", range(40), collective=False)
    assert acr == pytest.approx(naive[1:].sum() + cert.certified_accuracy(
        data.y, "deletions", range(8, 40), collective=False)[:].sum())
    # each curve is computed once: the same arguments give the same curve object
    assert cert.curve(data.y, "deletions", range(8)) is cert.curve(data.y, "deletions", range(8))
    assert cert.acr(data.y, "deletions", range(8)) == cert.curve(
        data.y, "deletions", range(8)).acr("collective")
    assert cert.curve(data.y, "deletions", range(8)) is not cert.curve(
        data.y, "deletions", range(8), collective=False)
    # the same seed gives the same certificates
    again = graphcert.certify(model, data, noise, targets=targets, n_pre=40, n_samples=300,
                              alpha=0.05, seed=0, device=device)
    assert np.array_equal(again.radius, radius)


def test_isotropic_noise_softmax_scores_and_masks(planted):
    data = planted
    model = trained("two_layer", data)
    noise = graphcert.isotropic_noise(data, 0.01, 0.4)
    assert np.all(noise.labels == 0) and noise.theta_plus.shape == (1, 1)
    mask = torch.zeros(24, dtype=torch.bool)
    mask[:5] = True
    for bounds in ("dkw", "bernstein"):
        cert = graphcert.certify(model, data, noise, targets=mask, n_pre=20, n_samples=200,
                                 certificate="variance_constrained", bounds=bounds,
                                 device="cpu")
        assert np.array_equal(cert.targets, np.arange(5))
        assert np.array_equal(cert.prediction == -1, ~(cert.radius > 0))


def test_validation_before_sampling(planted):
    data, model = planted, TwoLayer(12, 2, hidden=16)
    noise = graphcert.isotropic_noise(data, 0.01, 0.4)
    cases = [(dict(bounds="hoeffding"), "bounds must be one of"),
             (dict(alpha=0.0), "alpha == 0.0, must be in"),
             (dict(targets=[0, 0]), "targets must be distinct"),
             (dict(targets=[24]), r"targets must lie in \[0, 24\)"),
             (dict(targets=np.ones(3, dtype=bool)), "boolean targets mask must have shape"),
             (dict(bounds="clopper_pearson", temperature=1.0), "need one-hot scores"),
             (dict(device="tpu"), "must be 'auto', 'cpu' or 'cuda'"),
             (dict(n_samples=0), "n_samples == 0, must be >= 1")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            graphcert.certify(model, data, noise, certificate="variance_constrained", **kwargs)
    with pytest.raises(ValueError, match="noise must come from graphcert.localized_noise"):
        graphcert.certify(model, data, object())
    with pytest.raises(ValueError, match="theta_minus must be a probability or a"):
        graphcert.localized_noise(data, 2, theta_minus=(0.1, 0.2, 0.3))


def test_import_graphcert_is_cheap():
    code = ("import sys, graphcert\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert {'certify', 'localized_noise', 'Certificate'} <= set(dir(graphcert))\n"
            "graphcert.certify\n"
            "assert 'torch' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = graphcert.nothing


# ----------------------------------------------------------------------------- soundness
class CountVotes(torch.nn.Module):
    """Class 1 iff a node's 1-bits plus half its neighbours' exceed 0.9: a fixed function of
    the attributes, so its smoothed probabilities can be enumerated exactly."""

    def forward(self, x, edge_index):
        own = x.sum(-1)
        score = own + 0.5 * scatter(own[edge_index[0]], edge_index[1], 0, dim_size=x.shape[0])
        return torch.stack([torch.zeros_like(score), score - 0.9], -1) * 10


TINY_X = torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
TINY_EDGES = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
TINY_NOISE = LocalizedNoise(np.array([0, 0, 1, 1]), np.array([[0.15, 0.3], [0.3, 0.15]]),
                            np.array([[0.5, 0.7], [0.7, 0.5]]))


def exact_class_probabilities() -> np.ndarray:
    """P[g_n(z) = y] for every node n and class y, each node under its own cluster's noise,
    by enumerating all 2^8 noisy attribute matrices."""
    model, clean = CountVotes(), TINY_X.flatten().numpy()
    node_cluster = np.repeat(TINY_NOISE.labels, 2)
    probs = np.zeros((4, 2))
    for k in (0, 1):
        plus = TINY_NOISE.theta_plus[k][node_cluster]
        minus = TINY_NOISE.theta_minus[k][node_cluster]
        one = np.where(clean == 1, 1 - minus, plus)  # P[bit = 1]
        for bits in itertools.product((0, 1), repeat=8):
            bits = np.array(bits)
            weight = np.prod(np.where(bits == 1, one, 1 - one))
            vote = model(torch.tensor(bits, dtype=torch.float32).view(4, 2), TINY_EDGES)
            for n in np.flatnonzero(TINY_NOISE.labels == k):
                probs[n, int(vote[n].argmax())] += weight
    return probs


def exact_radius(p: np.ndarray) -> np.ndarray:
    """eta of docs/theory.md §3 for one-hot scores with the true mean p and variance p (1 - p)."""
    with np.errstate(divide="ignore"):
        return np.where(p > 0.5, np.log1p((p - 0.5) ** 2 / (p * (1 - p))), -np.inf)


def test_radii_exceed_the_exact_ones_no_more_often_than_alpha():
    probs = exact_class_probabilities()
    assert np.allclose(probs.sum(1), 1) and 0.5 < probs.max(1).min() < probs.max() < 0.9
    data = Data(x=TINY_X, edge_index=TINY_EDGES)
    alpha, runs, n = 0.2, 150, 60
    over, over_point = 0, 0
    for seed in range(runs):
        cert = graphcert.certify(CountVotes(), data, TINY_NOISE, n_pre=10, n_samples=n,
                                 alpha=alpha, seed=seed, device="cpu")
        candidate = cert.base.predicted
        exact = exact_radius(probs[np.arange(4), candidate])
        over += bool(np.any(cert.radius > exact + 1e-12))
        # the same run certified from the point estimate alone (no confidence bound)
        mean = cert.stats.score_sum / cert.stats.n  # vote frequency of each candidate
        over_point += bool(np.any(np.where(mean > 0.5, exact_radius(mean), -np.inf) > exact))
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / runs)
    assert over / runs <= bound
    assert over_point / runs > bound  # the check has power: without the bound it fails

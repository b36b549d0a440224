"""`graphcert.certify` with every noise: the natural certificate of each, bad input refused
before any sampling, structure noise on continuous features, and soundness of edge
certificates against the exact smoothed probabilities of a graph small enough to enumerate
every noisy structure."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import scatter

import graphcert
from graphcert.certificates import localized_weight_matrices, pair_weight_matrices
from graphcert.data.planted import planted_categorical_graph
from graphcert.tasks.graph.kary import kary_variance_certificate
from graphcert.tasks.graph.vote_certificates import SparseSmoothCertificate
from graphcert.utils.pairs import pair_column
from tests.helpers import TwoLayer

FAST = dict(n_pre=10, n_samples=60, device="cpu", batch_size=20, chunk_size=30)


@pytest.fixture(scope="module")
def graph():
    return planted_categorical_graph(n_nodes=60, n_classes=2, n_features=4, n_values=3,
                                     p_in=0.2, p_out=0.02)


class Refuses(torch.nn.Module):
    """A model that must never be called: the checks come before any sampling."""

    def forward(self, x, edge_index):
        raise AssertionError("sampled before checking the input")


def test_each_noise_gets_its_natural_certificate(graph):
    model = TwoLayer(graph.num_features, 2, hidden=8)
    cases = [(graphcert.isotropic_noise(graph, 0.01, 0.5), "sparse_smooth",
              ("additions", "deletions", "attributes")),
             (graphcert.localized_noise(graph, 2, 0.01, (0.5, 0.7)), "variance_constrained",
              ("additions", "deletions", "attributes")),
             (graphcert.structure_noise(graph, 0.01, 0.5), "sparse_smooth",
              ("edge_additions", "edge_deletions", "edges")),
             (graphcert.structure_noise(graph, 0.01, 0.5, n_clusters=2, p_minus_high=0.7),
              "variance_constrained", ("edge_additions", "edge_deletions", "edges")),
             (graphcert.joint_noise(graphcert.isotropic_noise(graph, 0.01, 0.5),
                                    graphcert.structure_noise(graph, 0.01, 0.5)),
              "sparse_smooth", ("additions", "deletions", "attributes", "edge_additions",
                                "edge_deletions", "edges", "attributes_and_edges")),
             (graphcert.kary_noise(graph, 0.7), "kary_hamming", ("hamming",)),
             (graphcert.kary_noise(graph, 0.7, 2, 0.5), "variance_constrained", ("hamming",)),
             (graphcert.gaussian_noise(graph, 0.5), "gaussian", ("l2",))]
    for noise, family, attacks in cases:
        cert = graphcert.certify(model, graph, noise, targets=[0, 1, 2], **FAST)
        assert cert.family == family and cert.attacks == attacks
        assert cert.prediction.shape == (3,) and set(cert.prediction) <= {-1, 0, 1}
        for attack in attacks:
            budget = {"l2": 0.0, "attributes": (0, 0), "edges": (0, 0),
                      "attributes_and_edges": ((0, 0), (0, 0))}.get(attack, 0)
            # at budget 0 exactly the targets that do not abstain are certified
            assert np.array_equal(cert.robust(attack, budget), cert.prediction >= 0)
        other = "l2" if "l2" not in attacks else "edge_additions"
        with pytest.raises(ValueError, match=f"attack '{other}' is not covered"):
            cert.robust(other, 1)


def test_bad_input_is_refused_before_sampling(graph):
    model = Refuses()
    attributes = graphcert.localized_noise(graph, 2)
    structure = graphcert.structure_noise(graph, 0.01, 0.5)
    kary = graphcert.kary_noise(graph, 0.7)
    cases = [
        (structure, dict(certificate="kary_hamming"), "certificate == 'kary_hamming' does not "
         r"fit the noise \(StructureNoise, isotropic, smoothing edges\)"),
        (attributes, dict(certificate="sparse_smooth"), "it needs isotropic binary noise"),
        (structure, dict(certificate="gaussian"), "it needs Gaussian noise"),
        (graphcert.gaussian_noise(graph, 0.5), dict(certificate="variance_constrained"),
         "certificates for this noise: gaussian"),
        (kary, dict(certificate="sparse_smooth"), "kary_hamming, variance_constrained"),
        (structure, dict(certificate="exact"), "certificate must be one of"),
        (structure, dict(bounds="dkw"), "bounds == 'dkw' applies to certificate "
         "'variance_constrained' only"),
        (kary, dict(temperature=1.0), "temperature == 1.0 applies to"),
        (attributes, dict(bounds="hoeffding"), "bounds must be one of"),
        (attributes, dict(bounds="clopper_pearson", temperature=1.0), "need one-hot scores"),
        (structure, dict(local_budget=2), "local_budget == 2 applies to"),
        (structure, dict(alpha=1.0), r"alpha == 1.0, must be in \(0, 1\)"),
        (structure, dict(targets=[60]), r"targets must lie in \[0, 60\)"),
        (graphcert.structure_noise(planted_categorical_graph(n_nodes=20), 0.01, 0.5), {},
         "noise was built for 20 nodes, data has 60"),
        (object(), {}, "noise must come from graphcert.localized_noise"),
    ]
    for noise, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            graphcert.certify(model, graph, noise, **{**FAST, **kwargs})
    continuous = graph.clone()
    continuous.x = continuous.x + 0.5
    with pytest.raises(ValueError, match="data.x must be binary"):
        graphcert.certify(model, continuous, attributes, **FAST)


def test_structure_noise_certifies_edges_with_continuous_features(graph):
    gen = torch.Generator().manual_seed(0)
    data = Data(x=torch.randn(60, 5, generator=gen) + graph.y[:, None].float(),
                edge_index=graph.edge_index, y=graph.y)
    torch.manual_seed(0)
    model = TwoLayer(5, 2, hidden=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(data.x, data.edge_index), data.y).backward()
        optimizer.step()
    for noise in (graphcert.structure_noise(data, 0.001, 0.3),
                  graphcert.structure_noise(data, 0.001, 0.3, n_clusters=2, p_minus_high=0.5)):
        cert = graphcert.certify(model, data, noise, **FAST)
        assert cert.correct(data.y).mean() > 0.8
        robust = [cert.robust("edge_deletions", d).sum() for d in range(4)]
        assert robust[0] > 40 and robust == sorted(robust, reverse=True)


def test_kary_capacity_is_every_feature_whatever_n_values_says(graph):
    """A scalar alphabet size still lets the adversary change all F values of a node."""
    model = TwoLayer(graph.num_features, 2, hidden=8)
    noise = graphcert.kary_noise(graph, 0.8, 2, 0.6, n_values=3)
    cert = graphcert.certify(model, graph, noise, certificate="variance_constrained", **FAST)
    assert np.all(cert.surface.cap_plus == 4)  # F = 4 features of 3 values each
    full = kary_variance_certificate(cert.stats, cert.targets, noise.keep, np.full(4, 3),
                                     alpha=0.01, bounds="clopper_pearson")
    for r in (0, 1, 3, 6):
        assert np.array_equal(cert.robust("hamming", r), full.robust("hamming", r))


def test_variance_constrained_robust_is_eta_against_the_heaviest_bits(graph):
    """robust((a, d)) of the variance-constrained certificate, recomputed: eta of the target
    above the a heaviest addable and d heaviest deletable bits against its cluster."""
    noise = graphcert.localized_noise(graph, 2, 0.05, (0.3, 0.6))
    torch.manual_seed(3)
    cert = graphcert.certify(TwoLayer(graph.num_features, 2, hidden=8), graph, noise,
                             targets=np.arange(30), certificate="variance_constrained",
                             **{**FAST, "n_samples": 300})
    assert np.sum(cert.radius > 0) > 10
    w_plus, w_minus = localized_weight_matrices(noise.theta_plus, noise.theta_minus)
    ones = graph.x.numpy().sum(1).astype(int)
    zeros = graph.num_features - ones
    counts = []
    for a, d in itertools.product(range(3), range(4)):
        expected = []
        for t in cert.targets:
            k = noise.labels[t]
            plus = np.sort(np.repeat(w_plus[k, noise.labels], zeros))[::-1][:a].sum()
            minus = np.sort(np.repeat(w_minus[k, noise.labels], ones))[::-1][:d].sum()
            expected.append(cert.radius[t] > plus + minus)
        assert np.array_equal(cert.robust("attributes", (a, d)), expected), (a, d)
        counts.append(int(np.sum(expected)))
    assert any(0 < count < 30 for count in counts), counts  # budgets inside the radii's range
    assert np.array_equal(cert.robust("deletions", 2), cert.robust("attributes", (0, 2)))


def test_variance_constrained_joint_attack_against_the_heaviest_bits_and_pairs(graph):
    """Attribute bits and edges at once under joint noise: eta above the heaviest bits plus
    the heaviest node pairs (weights of the pair probabilities, by cluster pair)."""
    attributes = graphcert.localized_noise(graph, 2, 0.05, (0.3, 0.6))
    structure = graphcert.structure_noise(graph, 0.02, 0.4, n_clusters=2, p_minus_high=0.6)
    torch.manual_seed(3)
    cert = graphcert.certify(TwoLayer(graph.num_features, 2, hidden=8), graph,
                             graphcert.joint_noise(attributes, structure),
                             targets=np.arange(30), certificate="variance_constrained",
                             **{**FAST, "n_samples": 300})
    assert np.sum(cert.radius > 0) > 10
    w_plus, w_minus = localized_weight_matrices(attributes.theta_plus, attributes.theta_minus)
    pair_plus, pair_minus = pair_weight_matrices(structure.p_plus, structure.p_minus)
    ones = graph.x.numpy().sum(1).astype(int)
    labels = structure.labels
    i, j = np.triu_indices(graph.num_nodes, 1)
    column = pair_column(labels[i], labels[j], 2)
    edge = np.zeros((graph.num_nodes,) * 2, dtype=bool)
    edge[tuple(graph.edge_index.numpy())] = True
    edge = edge[i, j]

    def heaviest(weights, count):
        return np.sort(weights)[::-1][:count].sum()

    counts = []
    for a, d, ea, ed in [(0, 1, 0, 1), (0, 2, 0, 0), (0, 2, 1, 0), (0, 0, 0, 2), (1, 0, 0, 0)]:
        zeros = graph.num_features - ones
        expected = [cert.radius[t] > heaviest(np.repeat(w_plus[k, labels], zeros), a)
                    + heaviest(np.repeat(w_minus[k, labels], ones), d)
                    + heaviest(pair_plus[k, column[~edge]], ea)
                    + heaviest(pair_minus[k, column[edge]], ed)
                    for t in cert.targets for k in [labels[t]]]
        robust = cert.robust("attributes_and_edges", ((a, d), (ea, ed)))
        assert np.array_equal(robust, expected), (a, d, ea, ed)
        counts.append(int(robust.sum()))
    assert any(0 < count < 30 for count in counts), counts  # budgets inside the radii's range
    assert np.array_equal(cert.robust("attributes_and_edges", ((0, 1), (0, 0))),
                          cert.robust("deletions", 1))
    assert np.array_equal(cert.robust("attributes_and_edges", ((0, 0), (0, 1))),
                          cert.robust("edge_deletions", 1))


# ----------------------------------------------------------------------------- soundness
class DegreeVotes(torch.nn.Module):
    """Class 1 iff a node's 1-bits plus half its neighbours' exceed 1.2: a fixed function of
    the structure, so its smoothed probabilities can be enumerated exactly."""

    def forward(self, x, edge_index):
        own = x.sum(-1)
        score = own + 0.5 * scatter(own[edge_index[0]], edge_index[1], 0, dim_size=x.shape[0])
        return torch.stack([torch.zeros_like(score), score - 1.2], -1) * 10


TINY = Data(x=torch.tensor([[1.0], [1.0], [0.0], [1.0]]),
            edge_index=torch.tensor([[0, 1, 1, 2, 0, 3], [1, 0, 2, 1, 3, 0]]))
PAIRS = list(itertools.combinations(range(4), 2))
CLEAN = {(0, 1), (1, 2), (0, 3)}


def vote(edges: set, node: int) -> int:
    both = [(i, j) for i, j in edges] + [(j, i) for i, j in edges]
    index = torch.tensor(both, dtype=torch.long).t().reshape(2, -1)
    return int(DegreeVotes()(TINY.x, index)[node].argmax())


def exact_probability(graph: set, node: int, cls: int, p_plus: float, p_minus: float) -> float:
    """P[g_node(Z) = cls] for Z the structure noise of `graph`, over all 2^6 noisy graphs."""
    total = 0.0
    for bits in itertools.product((0, 1), repeat=len(PAIRS)):
        noisy = {pair for pair, bit in zip(PAIRS, bits, strict=True) if bit}
        weight = np.prod([(1 - p_minus if pair in noisy else p_minus) if pair in graph else
                          (p_plus if pair in noisy else 1 - p_plus) for pair in PAIRS])
        total += weight * (vote(noisy, node) == cls)
    return total


def neighbours(additions: int, deletions: int) -> list[set]:
    """Every graph within (additions, deletions) of the clean one."""
    absent = [pair for pair in PAIRS if pair not in CLEAN]
    return [(CLEAN - set(gone)) | set(added)
            for a in range(additions + 1) for added in itertools.combinations(absent, a)
            for d in range(deletions + 1) for gone in itertools.combinations(sorted(CLEAN), d)]


@pytest.mark.parametrize("family", ["sparse_smooth", "variance_constrained"])
def test_edge_certificates_hold_against_exact_probabilities(family):
    """Over many seeds, claims of `robust` that the exact smoothed probabilities contradict
    (some graph within the budget gives the predicted class probability <= 1/2) are no more
    frequent than alpha allows; the same votes without the confidence bound are not."""
    p_plus, p_minus = 0.15, 0.3
    budgets = [(0, 0), (0, 1), (1, 0), (1, 1)]
    cache = {}

    def exact(graph, node, cls):
        key = (frozenset(graph), node, cls)
        if key not in cache:
            cache[key] = exact_probability(graph, node, cls, p_plus, p_minus)
        return cache[key]

    def contradicted(robust, prediction, budget) -> bool:
        return any(exact(g, n, prediction[n]) <= 0.5 for n in np.flatnonzero(robust)
                   for g in neighbours(*budget))

    noise = graphcert.structure_noise(TINY, p_plus, p_minus)
    alpha, runs = 0.05, 60
    over = over_point = claims = 0
    for seed in range(runs):
        cert = graphcert.certify(DegreeVotes(), TINY, noise, n_pre=10, n_samples=40,
                                 alpha=alpha, certificate=family, seed=seed, device="cpu")
        over += any(contradicted(cert.robust("edges", b), cert.prediction, b) for b in budgets)
        claims += int(sum(cert.robust("edges", b).sum() for b in budgets))
        if family == "sparse_smooth":  # the same votes, point estimates as bounds
            stats, predicted = cert.stats, cert.predicted
            point = stats.votes[np.arange(4), predicted] / stats.n
            naive = SparseSmoothCertificate(cert.targets, predicted, point, point > 0.5,
                                            {"edges": (p_plus, p_minus)})
            over_point += any(contradicted(naive.robust("edges", b), naive.prediction, b)
                              for b in budgets)
    bound = alpha + 3 * np.sqrt(alpha * (1 - alpha) / runs)
    assert over / runs <= bound and claims > runs  # sound, and not by claiming nothing
    if family == "sparse_smooth":
        assert over_point / runs > bound  # the check has power

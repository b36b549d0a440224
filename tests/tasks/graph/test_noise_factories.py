"""The noise factories of the one-call API: the same distributions as `graphcert certify`'s
methods with the same settings, structure noise on continuous features, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from graphcert.data.planted import planted_categorical_graph
from graphcert.noise.structure import ProductNoise, StructureNoise
from graphcert.run.config import RunConfig
from graphcert.run.methods import METHODS
from graphcert.tasks.graph.api import isotropic_noise, localized_noise
from graphcert.tasks.graph.noises import (
    attribute_part,
    gaussian_noise,
    joint_noise,
    kary_noise,
    structure_noise,
    structure_part,
)


@pytest.fixture(scope="module")
def graph():
    return planted_categorical_graph(n_nodes=120, n_classes=3, n_features=6, n_values=3,
                                     p_in=0.1, p_out=0.01)


def same(a, b) -> bool:
    return json.dumps(a.describe(), sort_keys=True) == json.dumps(b.describe(), sort_keys=True)


def test_factories_build_the_command_lines_noises(graph):
    structure = RunConfig(threat_model="structure", n_clusters=3, p_plus=0.01, p_minus=0.3,
                          p_minus_high=0.7, split_seed=2)
    assert same(METHODS["localized"].noise(structure, graph),
                structure_noise(graph, 0.01, 0.3, n_clusters=3, p_minus_high=0.7, seed=2))
    assert same(METHODS["sparse_smooth"].noise(structure, graph),
                structure_noise(graph, 0.01, 0.3))
    both = RunConfig(threat_model="both", n_clusters=3, p_plus=0.01, p_minus=0.3,
                     p_minus_high=0.7, theta_plus=0.02, theta_minus_low=0.5,
                     theta_minus_high=0.8, split_seed=2)
    joint = joint_noise(localized_noise(graph, 3, 0.02, (0.5, 0.8), seed=2),
                        structure_noise(graph, 0.01, 0.3, 3, 0.7, seed=2))
    assert same(METHODS["localized"].noise(both, graph), joint)
    assert same(METHODS["isotropic"].noise(both, graph),
                joint_noise(isotropic_noise(graph, 0.02, 0.5), structure_noise(graph, 0.01, 0.3)))
    kary = RunConfig(n_clusters=3, keep=0.6, keep_far=0.2, split_seed=1)
    assert same(METHODS["kary"].noise(kary, graph), kary_noise(graph, 0.6))
    assert same(METHODS["kary_localized"].noise(kary, graph),
                kary_noise(graph, 0.6, 3, 0.2, seed=1))
    for n_clusters in (1, 3):
        gaussian = RunConfig(n_clusters=n_clusters, sigma_min=0.3, sigma_max=0.9)
        ours = gaussian_noise(graph, 0.3) if n_clusters == 1 else \
            gaussian_noise(graph, 0.3, n_clusters, 0.9)
        theirs = METHODS["gaussian"].noise(gaussian, graph)
        assert same(theirs, ours) and np.array_equal(theirs.labels, ours.labels)


def test_structure_noise_probabilities_and_parts(graph):
    noise = structure_noise(graph, 0.02, 0.3, n_clusters=3, p_minus_high=0.6)
    assert noise.p_plus.shape == (3, 6) and np.all(noise.p_plus == 0.02)
    assert noise.p_minus.min() == 0.3 and noise.p_minus.max() == 0.6
    flat = structure_noise(graph, 0.02, 0.3, n_clusters=3)  # p_minus_high defaults to p_minus
    assert np.all(flat.p_minus == 0.3) and flat.n_clusters == 3
    iso = structure_noise(graph, 0.02, 0.3)
    assert iso.n_clusters == 1 and np.all(iso.labels == 0)
    attributes = isotropic_noise(graph, 0.01, 0.5)
    joint = joint_noise(attributes, iso)
    assert isinstance(joint, ProductNoise)
    assert attribute_part(joint) is attributes and structure_part(joint) is iso
    assert attribute_part(iso) is None and structure_part(attributes) is None


def test_structure_noise_keeps_continuous_features(graph):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(graph.num_nodes, 5, generator=gen)
    noise = structure_noise(graph, 0.05, 0.5)
    assert isinstance(noise, StructureNoise)
    copies = noise.sample(x, 0, 3, np.random.default_rng(0))
    features = copies.x.to_dense() if copies.x.layout != torch.strided else copies.x
    assert torch.equal(features, x.repeat(3, 1))  # the features pass through unchanged
    clean = {tuple(e) for e in graph.edge_index.t().tolist()}
    first = {tuple(e) for e in copies.edge_index.t().tolist() if max(e) < graph.num_nodes}
    assert first != clean  # the structure is noised


@pytest.mark.parametrize("call, message", [
    (lambda g: structure_noise(g, 1.5, 0.3), r"p_plus == 1.5, must be in \[0, 1\]"),
    (lambda g: structure_noise(g, 0.1, -0.1), r"p_minus == -0.1, must be in \[0, 1\]"),
    (lambda g: structure_noise(g, 0.1, 0.3, p_minus_high=0.5), "p_minus_high == 0.5 needs "
     "n_clusters"),
    (lambda g: structure_noise(g, 0.1, 0.3, 3, p_minus_high=1.2), r"p_minus_high == 1.2"),
    (lambda g: structure_noise(g, 0.1, 0.3, 3, p_minus_high=0.2), "must be >= p_minus"),
    (lambda g: structure_noise(g, 0.1, 0.3, n_clusters=0), "n_clusters == 0"),
    (lambda g: kary_noise(g, 1.2), r"keep == 1.2, must be in \[0, 1\]"),
    (lambda g: kary_noise(g, 0.5, 3, keep_far=0.7), "keep_far == 0.7 must be <= keep"),
    (lambda g: kary_noise(g, 0.5, n_values=1), "n_values must be >= 2"),
    (lambda g: gaussian_noise(g, 0.0), "sigma == 0.0, must be"),
    (lambda g: gaussian_noise(g, 0.5, sigma_max=1.0), "sigma_max == 1.0 needs n_clusters"),
    (lambda g: joint_noise(localized_noise(g, 3), structure_noise(g, 0.1, 0.3)),
     "must use the same node clusters"),
    (lambda g: joint_noise(structure_noise(g, 0.1, 0.3), structure_noise(g, 0.1, 0.3)),
     "attribute_noise must be a LocalizedNoise"),
])
def test_bad_input_names_the_argument(graph, call, message):
    with pytest.raises(ValueError, match=message):
        call(graph)


def test_kary_noise_needs_the_alphabet(graph):
    plain = graph.clone()
    del plain.n_values
    with pytest.raises(ValueError, match="data has no n_values"):
        kary_noise(plain, 0.5)
    assert np.array_equal(kary_noise(plain, 0.5, n_values=3).n_values, 3)

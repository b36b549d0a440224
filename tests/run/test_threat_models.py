"""Threat models of the binary methods (`graphcert.run.methods.threats`, docs/theory.md §8): which
noise each method smooths with, which settings it reads and what a model is trained on."""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.structure import ProductNoise, StructureNoise
from graphcert.run.config import RunConfig
from graphcert.run.methods import METHODS
from graphcert.run.methods.threats import noise_samples
from graphcert.run.pipeline import sampling_plans, training_noise
from graphcert.tasks.graph.noises import attribute_part, structure_part
from tests.run.test_method_registry import MC, tiny_graph


@pytest.mark.parametrize("threat, kind", [("attributes", LocalizedNoise),
                                          ("structure", StructureNoise),
                                          ("both", ProductNoise)])
def test_each_binary_method_smooths_what_the_threat_model_attacks(threat, kind):
    data = tiny_graph()
    config = RunConfig(threat_model=threat, n_clusters=3, p_plus=0.01, p_minus=0.3,
                       p_minus_high=0.7)
    for name in ("localized", "isotropic", "sparse_smooth"):
        noise = METHODS[name].noise(config, data)
        assert isinstance(noise, kind), name
        structure = structure_part(noise)
        assert (structure is None) == (threat == "attributes")
        assert (attribute_part(noise) is None) == (threat == "structure")
        if structure is not None:
            clusters = 3 if name == "localized" else 1
            assert structure.p_plus.shape == (clusters, clusters * (clusters + 1) // 2)
            assert np.all(structure.p_plus == 0.01)
            assert structure.p_minus.min() == 0.3
            assert structure.p_minus.max() == (0.7 if name == "localized" else 0.3)
            samples = noise_samples(noise)
            assert samples["p_minus"] == structure.p_minus.tolist()
            assert ("theta_plus" in samples) == (threat == "both")


def test_structure_plans_share_votes_and_keep_their_noise():
    data = tiny_graph()
    config = RunConfig(threat_model="structure", methods=["sparse_smooth", "isotropic",
                                                          "localized"], n_clusters=2)
    localized, isotropic = sampling_plans(config, data, MC)
    assert [m.name for m in isotropic.methods] == ["isotropic", "sparse_smooth"]
    assert localized.noise.describe()["kind"] == "localized_structure"
    assert isotropic.noise.n_clusters == 1 and localized.noise.n_clusters == 2


def test_settings_read_per_threat_model():
    config = RunConfig(p_plus=0.002)  # attribute threat model: no method reads p_plus
    assert config.ignored_fields("localized") == {"p_plus": 0.002}
    assert "p_plus" not in config.method_fields()
    config = RunConfig(threat_model="structure", max_deletions=7, p_plus=0.002)
    assert config.ignored_fields("sparse_smooth") == {"max_deletions": 7}
    assert "p_minus_high" in config.method_fields()
    assert RunConfig(threat_model="both", max_deletions=7).ignored_fields("localized") == {}
    # the localized schedule's order is checked where it is read
    assert RunConfig(p_minus=0.95).p_minus == 0.95
    assert RunConfig(threat_model="structure", methods=["sparse_smooth"], p_minus=0.95)
    with pytest.raises(ValueError, match="p_minus == 0.95 > p_minus_high == 0.9"):
        RunConfig(threat_model="structure", p_minus=0.95)
    assert RunConfig(threat_model="structure", theta_minus_low=0.99).theta_minus_low == 0.99


def test_models_are_trained_on_the_threatened_bits():
    data = tiny_graph()
    attributes = RunConfig()
    assert training_noise(attributes, data) == {"theta_plus": 0.01, "theta_minus": 0.6}
    assert "p_plus" not in attributes.training_key()  # old checkpoints stay valid
    structure = RunConfig(threat_model="structure")
    noise = training_noise(structure, data)
    assert set(noise) == {"structure"} and noise["structure"].n_clusters == 1
    assert np.all(noise["structure"].p_minus == 0.4)
    assert structure.training_key()["p_minus"] == 0.4
    both = training_noise(RunConfig(threat_model="both"), data)
    assert set(both) == {"theta_plus", "theta_minus", "structure"}
    assert training_noise(RunConfig(threat_model="both", train_noise=False), data) == {}


def test_methods_declare_the_threat_models_they_certify():
    binary = {"localized", "isotropic", "sparse_smooth"}
    voting = {"voting_edge", "voting_node"}  # edges only
    nodes = {"hierarchical": ("nodes",), "injection": ("injection",)}  # node-level threats
    for name, method in METHODS.items():
        expected = ("attributes", "structure", "both") if name in binary else \
            ("structure",) if name in voting else nodes.get(name, ("attributes",))
        assert method.threat_models == expected, name
    with pytest.raises(ValueError, match=r"threat_model == 'structure' is not certified by "
                       r"\['gaussian'\]; methods that certify it: localized, isotropic, "
                       r"sparse_smooth, voting_edge, voting_node"):
        RunConfig(threat_model="structure", methods=["localized", "gaussian"])
    with pytest.raises(ValueError, match=r"threat_model == 'injection' is not certified by "
                       r"\['localized'\]; methods that certify it: injection$"):
        RunConfig(threat_model="injection", methods=["localized"])

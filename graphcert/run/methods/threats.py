"""Threat models of the binary methods (docs/theory.md §1, §8): what the adversary changes and hence
what is noised and certified.

* ``attributes``: attribute bits (the default; the papers' main experiments);
* ``structure``: node pairs, i.e. edge insertions and deletions; the attributes stay clean;
* ``both``: attribute bits and node pairs, one product distribution and one program;
* ``nodes`` and ``injection`` (`NODE_THREAT_MODELS`): controlled and injected nodes, certified
  by their own methods (`graphcert.run.methods.node_threats`), not by the binary ones.

The binary methods (localized, isotropic, SparseSmooth) build their attribute noise as
before; `threat_noise` turns it into the noise of the configured threat model, and
`graphcert.tasks.graph.noises.attribute_part` / `structure_part` take a noise apart again for
the certificates.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ALL_THREAT_MODELS", "ATTRIBUTE_FIELDS", "NODE_THREAT_MODELS", "STRUCTURE_FIELDS",
           "THREAT_MODELS", "fields_not_read", "noise_samples", "threat_noise",
           "training_structure"]

#: the threat models of the binary methods
THREAT_MODELS = ("attributes", "structure", "both")
#: node-level threat models (docs/theory.md §14, §15)
NODE_THREAT_MODELS = ("nodes", "injection")
ALL_THREAT_MODELS = THREAT_MODELS + NODE_THREAT_MODELS
#: config fields that only the attribute threat models read (binary methods)
ATTRIBUTE_FIELDS = frozenset({"theta_plus", "theta_minus_low", "theta_minus_high",
                              "max_deletions", "max_additions", "local_budget"})
#: config fields that only the structure threat models read
STRUCTURE_FIELDS = frozenset({"p_plus", "p_minus", "p_minus_high", "max_edge_deletions",
                              "max_edge_additions"})


def fields_not_read(threat_model: str) -> frozenset[str]:
    """Config fields that no binary method reads under `threat_model` (none are run under
    the node-level threat models, whose methods read what they declare).

    Args:
        threat_model (str): one of the threat models.

    Returns:
        frozenset[str]: field names.
    """
    return {"attributes": STRUCTURE_FIELDS, "structure": ATTRIBUTE_FIELDS,
            "both": frozenset(), "nodes": frozenset(), "injection": frozenset()}[threat_model]


def threat_noise(config, data, attributes, localized: bool = False) -> Any:
    """The smoothing noise of ``config.threat_model`` built around the attribute noise
    `attributes` (a `LocalizedNoise`): itself, structure noise alone, or their product.

    The structure noise adds absent pairs with ``p_plus`` and deletes edges with ``p_minus``;
    `localized` uses the clusters of `attributes` and their affinity ranks: deletions go from
    ``p_minus`` (pairs touching the own cluster) to ``p_minus_high`` (pairs between the least
    connected clusters) by the rank of the nearer endpoint (docs/theory.md §8).

    Args:
        config (RunConfig): the run's settings.
        data (Data): the graph.
        attributes (LocalizedNoise): the attribute noise.
        localized (bool): localized structure noise, else isotropic.

    Returns:
        LocalizedNoise or StructureNoise or ProductNoise: the noise.
    """
    if config.threat_model == "attributes":
        return attributes
    from graphcert.noise.structure import (
        ProductNoise,
        StructureNoise,
        localized_structure_noise,
    )
    if localized:
        structure = localized_structure_noise(data.edge_index, attributes.labels,
                                              attributes.n_clusters, config.p_plus,
                                              (config.p_minus, config.p_minus_high))
    else:
        structure = StructureNoise.isotropic(data.edge_index, data.num_nodes, config.p_plus,
                                             config.p_minus)
    return structure if config.threat_model == "structure" else \
        ProductNoise(attributes, structure)


def noise_samples(noise) -> dict:
    """The flip probabilities recorded in results.json (row = output cluster): attribute
    ``theta_*`` (rows x input clusters) and pair ``p_*`` (rows x cluster pairs).

    Args:
        noise: a binary noise (attributes, structure or both).

    Returns:
        dict: ``theta_*`` and / or ``p_*`` as nested lists.
    """
    from graphcert.tasks.graph.noises import attribute_part, structure_part
    samples = {}
    attributes, structure = attribute_part(noise), structure_part(noise)
    if attributes is not None:
        samples.update(theta_plus=attributes.theta_plus.tolist(),
                       theta_minus=attributes.theta_minus.tolist())
    if structure is not None:
        samples.update(p_plus=structure.p_plus.tolist(), p_minus=structure.p_minus.tolist())
    return samples


def training_structure(config, data):
    """The structure noise a model is trained on (the minimal level, isotropic ``p_plus``,
    ``p_minus``, as the attributes are trained at ``theta_minus_low``), or None (edges not
    threatened as pairs).

    Args:
        config (RunConfig): the run's settings.
        data (Data): the graph.

    Returns:
        StructureNoise or None: the noise.
    """
    if config.threat_model not in ("structure", "both"):
        return None
    from graphcert.noise.structure import StructureNoise
    return StructureNoise.isotropic(data.edge_index, data.num_nodes, config.p_plus,
                                    config.p_minus)

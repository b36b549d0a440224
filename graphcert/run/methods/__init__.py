"""The smoothing methods of `graphcert certify`, registered by name in `METHODS`.

Pipeline, config validation, reports and the CLI's ``--methods`` read this registry; no other
module switches on method names. Methods whose noise and score temperature agree share one
statistics file (isotropic at temperature 0 and SparseSmooth draw the same votes).

Adding a method takes one module and one registry line:

1. Write ``graphcert/run/methods/NAME.py`` with a subclass of `SmoothingMethod`
   (`graphcert.run.methods.base`) that sets ``name``, ``label``, ``features`` ("binary" or
   "continuous"), ``noise_name`` (the statistics file) and ``fields`` (the `RunConfig`
   fields it reads), and implements ``noise(config, data)``, ``evaluate(config, stats, noise,
   inputs)`` (returning a `graphcert.tasks.graph.results.MethodResult`) and
   ``describe_samples(noise)``; override ``temperature``, ``needs_histogram`` or
   ``batch_size`` if its sampling differs from the defaults, and ``threat_models`` if it
   certifies edges too (`graphcert.run.methods.threats`). Import torch and the tasks layer
   inside the methods, so that reading the registry stays fast.
2. Add an instance to the tuple below: ``METHODS`` maps its name to it, and
   ``graphcert certify --methods NAME`` runs it.

A method without sampling (the voting certificates, ``graphcert/run/methods/voting.py``)
subclasses `DeterministicMethod` instead and implements ``run``, which trains its own model
if it needs one and returns its `MethodResult`.
"""
from __future__ import annotations

from graphcert.run.methods.base import CertificationInputs, DeterministicMethod, SmoothingMethod
from graphcert.run.methods.gaussian import Gaussian
from graphcert.run.methods.isotropic import Isotropic
from graphcert.run.methods.kary import Kary, KaryLocalized
from graphcert.run.methods.localized import Localized
from graphcert.run.methods.localized_exact import LocalizedExact
from graphcert.run.methods.node_threats import Hierarchical, Injection
from graphcert.run.methods.sparse_smooth import SparseSmooth
from graphcert.run.methods.voting import Voting

__all__ = ["METHODS", "CertificationInputs", "DeterministicMethod", "SmoothingMethod"]

METHODS: dict[str, SmoothingMethod | DeterministicMethod] = {method.name: method for method in (
    Localized(),
    LocalizedExact(),
    Isotropic(),
    SparseSmooth(),
    Gaussian(),
    Kary(),
    KaryLocalized(),
    Voting("edge"),
    Voting("node"),
    Hierarchical(),
    Injection(),
)}

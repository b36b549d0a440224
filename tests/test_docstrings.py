"""The documented entry points describe their arguments and results (Args, Returns, shapes)."""
from __future__ import annotations

import inspect

import pytest

import graphcert
from graphcert.noise.bernoulli import bernoulli_positions
from graphcert.noise.binary import LocalizedNoise, localized_sparse_noise
from graphcert.noise.gaussian import localized_gaussian_noise
from graphcert.noise.kary import localized_kary_noise
from graphcert.noise.sparse_sampler import prepare_binary
from graphcert.noise.structure import localized_structure_noise
from graphcert.sampling.chunks import run_chunk
from graphcert.sampling.engine import smooth

ENTRY_POINTS = [graphcert.certify, graphcert.localized_noise, graphcert.isotropic_noise,
                graphcert.Certificate.from_statistics, graphcert.Certificate.curve,
                graphcert.Certificate.certifier, LocalizedNoise, LocalizedNoise.sample,
                localized_sparse_noise, localized_gaussian_noise, localized_kary_noise,
                localized_structure_noise, bernoulli_positions, prepare_binary, smooth,
                run_chunk]


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.__qualname__)
def test_entry_points_document_arguments_and_results(entry):
    doc = inspect.getdoc(entry) or ""
    assert "Args:" in doc, f"{entry.__qualname__} has no Args section"
    if not inspect.isclass(entry):
        assert "Returns:" in doc, f"{entry.__qualname__} has no Returns section"

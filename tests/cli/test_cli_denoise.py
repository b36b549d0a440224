"""Denoising and abstaining base classifiers from the command line and YAML (docs/theory.md
§10, §13): heavy structure noise on Cora-ML through a similarity filter, drawn directly."""
from __future__ import annotations

import json

import numpy as np
import pytest

from graphcert.cli import main
from graphcert.run.config import RunConfig
from graphcert.sampling.statistics import SmoothingStats

FAST = ["--dataset", "cora_ml", "--threat-model", "structure", "--methods", "sparse_smooth",
        "--p-plus", "0.2", "--p-minus", "0.6", "--n-samples", "64", "--n-pre", "16",
        "--max-epochs", "5", "--batch-size", "16", "--max-edge-deletions", "2",
        "--max-edge-additions", "2", "--quiet"]
FILTER = ["--denoise", "similarity", "--filter-similarity", "jaccard",
          "--filter-threshold", "0.1"]


@pytest.fixture(scope="module")
def filtered_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("denoise")
    assert main(["certify", *FAST, *FILTER, "--abstain-below", "0.3", "--out", str(out)]) == 0
    return out


def test_filtered_run_records_its_settings_and_samples_the_filtered_law(filtered_run):
    results = json.loads((filtered_run / "results.json").read_text())
    config = results["config"]
    assert (config["denoise"], config["filter_similarity"], config["filter_threshold"],
            config["abstain_below"]) == ("similarity", "jaccard", 0.1, 0.3)
    stats = SmoothingStats.load(filtered_run / "stats_isotropic_T0.npz")
    assert stats.noise["kind"] == "filtered_structure"  # the direct sampler of §13
    assert stats.noise["filter"] == {"kind": "similarity_filter", "threshold": 0.1,
                                     "measure": "jaccard", "always": None}
    assert stats.noise["structure"]["p_plus"] == [[0.2]]
    assert np.all(stats.votes.sum(1) <= stats.n)
    entry = results["methods"]["sparse_smooth"]
    assert entry["samples"]["p_plus"] == [[0.2]]  # certified for the noise on the input


def test_abstention_is_part_of_the_scores_fingerprint(filtered_run, tmp_path):
    out = tmp_path / "other"
    assert main(["certify", *FAST, *FILTER, "--abstain-below", "0.5", "--out", str(out)]) == 0
    first = json.loads((filtered_run / "results.json").read_text())["fingerprints"]
    second = json.loads((out / "results.json").read_text())["fingerprints"]
    assert first["stats_isotropic_T0.npz"] != second["stats_isotropic_T0.npz"]


def test_denoise_settings_from_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("denoise: top_k\ntop_k: 3\nfilter_similarity: cosine\n"
                    "abstain_below: 0.6\n")
    config = RunConfig.from_yaml(path)
    assert (config.denoise, config.top_k, config.filter_similarity, config.abstain_below) == \
        ("top_k", 3, "cosine", 0.6)
    assert "top_k" in config.training_key() and "abstain_below" not in config.training_key()


@pytest.mark.parametrize("flags, message", [
    (["--filter-threshold", "0"], "filter_threshold == 0.0, must be in (0, 1]"),
    (["--filter-threshold", "1.5"], "filter_threshold == 1.5, must be in (0, 1]"),
    (["--abstain-below", "1"], "abstain_below == 1.0, must be in (0, 1)"),
    (["--abstain-below", "0"], "abstain_below == 0.0, must be in (0, 1)"),
    (["--denoise", "median"], "denoise must be one of"),
    (["--filter-threshold", "0.5", "--filter-always", "0.3"], "need filter_always >="),
    (["--p-plus", "1.2"], "p_plus == 1.2, must be in [0, 1]"),
    (["--p-minus", "-0.1"], "p_minus == -0.1, must be in [0, 1]"),
])
def test_bad_settings_are_errors_before_any_work(flags, message, tmp_path, capsys):
    assert main(["certify", "--threat-model", "structure", *flags,
                 "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_abstention_at_or_below_one_over_c_is_an_error_before_training(tmp_path, capsys):
    out = tmp_path / "x"
    code = main(["certify", *FAST, "--abstain-below", "0.1", "--out", str(out)])
    assert code == 2
    assert "abstain_below must lie in (1/C, 1) = (1/7, 1)" in capsys.readouterr().err
    assert not (out / "model.pt").exists()

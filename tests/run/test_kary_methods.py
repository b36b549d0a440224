"""The kary methods of the registry (SPEC §9): their noise, plans and config, and
`graphcert certify` on the synthetic categorical graph as a new user would run it."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from graphcert.cli import main
from graphcert.data.planted import planted_categorical_graph
from graphcert.noise.kary import KaryNoise
from graphcert.run.config import RunConfig
from graphcert.run.methods import METHODS
from graphcert.run.pipeline import sampling_plans
from graphcert.sampling.statistics import MonteCarloConfig

MC = MonteCarloConfig(n_samples=60, n_pre=20, chunk_size=25, batch_size=8, n_bins=100)


def test_noises_follow_the_config():
    data = planted_categorical_graph(n_nodes=120, n_classes=3, n_features=4, n_values=5)
    config = RunConfig(methods=["kary", "kary_localized"], n_clusters=3, keep=0.7,
                       keep_far=0.2)
    iso = METHODS["kary"].noise(config, data)
    assert isinstance(iso, KaryNoise) and iso.keep.tolist() == [[0.7]]
    np.testing.assert_array_equal(iso.n_values, [5] * 4)
    local = METHODS["kary_localized"].noise(config, data)
    assert local.keep.shape == (3, 3) and np.all(np.diag(local.keep) == 0.7)
    assert local.keep.min() == pytest.approx(0.2) and np.unique(local.labels).size == 3
    plans = sampling_plans(config, data, MC)
    assert [plan.checkpoint for plan in plans] == ["stats_kary_T0.npz",
                                                   "stats_kary_localized_T0.npz"]
    assert METHODS["kary_localized"].describe_samples(local)["keep"] == local.keep.tolist()


def test_binary_data_is_refused_with_a_pointer():
    data = SimpleNamespace(x=torch.zeros(4, 3), num_nodes=4, name="cora_ml")
    with pytest.raises(ValueError, match="cora_ml has no categorical attributes.*planted"):
        METHODS["kary"].noise(RunConfig(methods=["kary"]), data)


@pytest.mark.parametrize("field,value", [("keep", 1.5), ("keep_far", -0.1),
                                         ("max_hamming", -1)])
def test_config_validation(field, value):
    with pytest.raises(ValueError, match=field):
        RunConfig(methods=["kary"], **{field: value})


def test_cli_certifies_the_planted_categorical_graph(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["certify", "--dataset", "planted_categorical", "--methods", "kary,kary_localized",
            "--out", str(out), "--n-clusters", "3", "--n-pre", "50", "--n-samples", "400",
            "--max-epochs", "150", "--max-hamming", "6", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ACR hamming" in printed and "kary_localized  collective" in printed
    results = json.loads((out / "results.json").read_text())
    assert list(results["methods"]) == ["kary", "kary_localized"]
    iso, local = results["methods"]["kary"], results["methods"]["kary_localized"]
    assert iso["accuracy"] > 0.8 and local["accuracy"] > 0.8
    assert iso["samples"]["n_values"] == [6] * 12 and iso["samples"]["keep"] == [[0.5]]
    curve = local["curves"]["hamming"]
    assert curve["budgets"] == list(range(7))
    assert np.all(np.array(curve["collective"]) >= np.array(curve["naive"]))
    assert curve["naive"][0] > 0 and iso["curves"]["hamming"]["naive"][1] > 0
    assert (out / "certified_accuracy.png").exists() and (out / "stats_kary_T0.npz").exists()
    assert main(["report", str(out)]) == 0  # the saved results redraw without resampling

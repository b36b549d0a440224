"""The kary methods of the registry (docs/theory.md §9): their noise, plans and config, and
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
from graphcert.sampling.monte_carlo import MonteCarloConfig

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


@pytest.mark.parametrize("values,message", [
    ({"keep": 1.5}, r"^keep == 1.5, must be in \[0, 1\]$"),
    ({"keep_far": -0.1}, r"^keep_far == -0.1, must be in \[0, 1\]$"),
    ({"max_hamming": 0}, r"^max_hamming == 0, must be >= 1$"),
    ({"max_hamming": 2.5}, r"^max_hamming == 2.5, must be a whole number$"),
    ({"methods": ["kary_localized"], "keep": 0.3, "keep_far": 0.4},
     r"^keep_far == 0.4 > keep == 0.3: the own cluster gets the least noise"),
])
def test_config_validation(values, message):
    with pytest.raises(ValueError, match=message):
        RunConfig.from_dict({"methods": ["kary"], **values})


def test_keep_far_above_keep_is_fine_where_no_method_reads_it():
    assert RunConfig(methods=["kary"], keep=0.3, keep_far=0.4).keep_far == 0.4


def test_flags_are_generated_from_the_schema(capsys):
    with pytest.raises(SystemExit):
        main(["certify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--keep KEEP kary methods: probability of keeping an attribute value (own cluster " \
        "when localized) (float in [0, 1]; default 0.5)" in text
    assert "--keep-far KEEP_FAR" in text and "--max-hamming MAX_HAMMING" in text
    assert "int >= 1; default 20" in text


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


def _hamming_results(naive: list[int]) -> dict:
    curve = {"budgets": list(range(len(naive))), "naive": naive, "collective": None,
             "naive_ratio": naive, "n_targets": 4, "acr_naive": sum(naive[1:]) / 4,
             "acr_collective": None}
    return {"config": {"dataset": "planted_categorical", "model": "appnp", "targets": "val",
                       "alpha": 0.01},
            "dataset": {"n_targets": 4}, "clean_accuracy": {"targets": 1.0, "test": 1.0},
            "methods": {"kary": {"accuracy": 1.0, "abstain_rate": 0.0,
                                 "curves": {"hamming": curve}}}}


def test_report_table_of_hamming_curves():
    from graphcert.run.reporting import check_results, results_table
    cut = _hamming_results([4, 3, 2])  # still certified at the largest budget
    check_results(cut)
    lines = results_table(cut).splitlines()
    assert lines[1].split() == ["method", "certificate", "accuracy", "abstain", "ACR",
                                "hamming", "r=1", "r=2", "r=5", "r=10"]
    assert lines[3].split() == ["kary", "naive", "1.000", "0.000", ">=1.250", "0.750",
                                "0.500", "-", "-"]
    assert lines[-1] == ("note: >= marks an ACR cut off by the budget grid (still certified "
                         "at the largest budget): a lower bound; raise --max-hamming for the "
                         "exact value")
    ends = results_table(_hamming_results([4, 3, 0]))
    assert ">=" not in ends and "note" not in ends


def test_training_noise_at_the_minimal_noise_level(citeseer):
    from graphcert.run.pipeline import training_noise
    categorical = planted_categorical_graph(n_nodes=60, n_classes=3)
    config = RunConfig(methods=["kary", "kary_localized"], keep=0.7, keep_far=0.2)
    assert training_noise(config, categorical) == {"keep": 0.7}
    assert training_noise(config, citeseer) == {"theta_plus": 0.01, "theta_minus": 0.6}
    continuous = SimpleNamespace(x=torch.tensor([[0.5, -1.0]]))
    assert training_noise(config, continuous) == {"sigma": 0.25}
    quiet = RunConfig(methods=["kary"], train_noise=False)
    assert training_noise(quiet, categorical) == {}


def test_a_model_trained_at_another_keep_is_not_reused(tmp_path):
    from graphcert.run.pipeline import prepare_model
    data = planted_categorical_graph(n_nodes=60, n_classes=3)
    idx_train, idx_val = np.arange(20), np.arange(20, 40)
    config = RunConfig(dataset="planted_categorical", methods=["kary"], max_epochs=2)
    prepare_model(config, data, idx_train, idx_val, tmp_path, log=lambda _: None)
    again = RunConfig(dataset="planted_categorical", methods=["kary"], max_epochs=2, keep=0.6)
    with pytest.raises(ValueError, match=r"train_keep: 0.5 -> 0.6"):
        prepare_model(again, data, idx_train, idx_val, tmp_path, log=lambda _: None)

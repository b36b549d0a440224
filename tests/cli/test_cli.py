"""A tiny end-to-end certification run through the command line, and its resumption."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import yaml

from graphcert.cli import main
from graphcert.run.rundir import file_fingerprint

FAST = ["--dataset", "citeseer", "--n-samples", "200", "--n-pre", "40", "--max-epochs", "30",
        "--max-deletions", "6", "--max-additions", "2", "--batch-size", "40", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["certify", "--out", str(out), "--methods",
                 "localized,isotropic,sparse_smooth", "--alpha", "0.05", *FAST])
    assert code == 0
    return out


def test_results_json_fields(run):
    results = json.loads((run / "results.json").read_text())
    assert set(results) >= {"config", "dataset", "clean_accuracy", "methods", "timings",
                            "environment"}
    assert results["config"]["n_samples"] == 200 and results["config"]["alpha"] == 0.05
    assert results["dataset"]["n_targets"] == 120  # 20 validation nodes x 6 classes
    assert set(results["methods"]) == {"localized", "isotropic", "sparse_smooth"}
    for entry in results["methods"].values():
        assert 0 <= entry["accuracy"] <= 1 and 0 <= entry["abstain_rate"] <= 1
        deletions = entry["curves"]["deletions"]
        assert deletions["budgets"] == list(range(7))
        naive = np.array(deletions["naive"])
        assert np.all(np.diff(naive) <= 0), "certified counts never grow with the budget"
        assert naive[0] / deletions["n_targets"] == pytest.approx(entry["accuracy"])
        if deletions["collective"] is not None:
            assert np.all(np.array(deletions["collective"]) >= naive)
        assert entry["samples"]["n_samples"] == 200
    assert results["methods"]["localized"]["samples"]["n_distributions"] == 5
    # binary bounds (the default) need no score histogram: one bin instead of N x 1000
    assert {entry["samples"]["n_bins"] for entry in results["methods"].values()} == {1}
    with np.load(next(run.glob("stats_localized*.npz")), allow_pickle=False) as stats:
        assert stats["hist"].shape == (results["dataset"]["num_nodes"], 1)
    assert results["timings"]["total"] > 0
    assert results["fingerprints"]["model.pt"] == file_fingerprint(run / "model.pt")
    # isotropic at temperature 0 and SparseSmooth read the same votes: sampled once
    assert sorted(p.name for p in run.glob("stats_*.npz")) == ["stats_isotropic_T0.npz",
                                                              "stats_localized_T0.npz"]
    assert {results["methods"][m]["samples"]["statistics"]
            for m in ("isotropic", "sparse_smooth")} == {"stats_isotropic_T0.npz"}


def test_csv_and_plot_are_written(run):
    rows = list(csv.DictReader(open(run / "results.csv")))
    assert {r["method"] for r in rows} == {"localized", "isotropic", "sparse_smooth"}
    assert len(rows) == 3 * (7 + 3)
    png = (run / "certified_accuracy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_rerun_resumes_and_reproduces(run, capsys):
    before = json.loads((run / "results.json").read_text())
    assert main(["certify", "--out", str(run), "--methods", "localized,isotropic,sparse_smooth",
                 "--alpha", "0.05", *FAST]) == 0
    out = capsys.readouterr().out
    assert "loaded trained model" in out and "sparse_smooth" in out
    after = json.loads((run / "results.json").read_text())
    for method in before["methods"]:
        assert after["methods"][method]["curves"] == before["methods"][method]["curves"]


def test_a_new_model_never_reuses_old_statistics(run, tmp_path, capsys):
    """Delete model.pt and train another model into the same directory: every statistics
    file is set aside and resampled, and results.json records the new fingerprints."""
    out = tmp_path / "run"
    shutil.copytree(run, out)
    before = json.loads((out / "results.json").read_text())
    (out / "model.pt").unlink()
    flags = [f for f in FAST if f not in ("--max-epochs", "30")] + ["--max-epochs", "25"]
    assert main(["certify", "--out", str(out), "--methods",
                 "localized,isotropic,sparse_smooth", "--alpha", "0.05", *flags]) == 0
    after = json.loads((out / "results.json").read_text())
    assert sorted(p.name for p in out.glob("stats_*.stale-1.npz")) == [
        "stats_isotropic_T0.stale-1.npz", "stats_localized_T0.stale-1.npz"]
    for name in ("model.pt", "stats_isotropic_T0.npz", "stats_localized_T0.npz"):
        assert after["fingerprints"][name] != before["fingerprints"][name]
    err = capsys.readouterr().err
    assert f"warning: statistics checkpoint {out / 'stats_localized_T0.npz'} not reused" in err


def test_report_command(run, capsys):
    assert main(["report", str(run)]) == 0
    assert "collective" in capsys.readouterr().out


def test_changed_training_settings_are_refused(run, capsys):
    assert main(["certify", "--out", str(run), *FAST[:-1], "--seed", "3"]) == 2
    assert "trained with other settings" in capsys.readouterr().err


def test_yaml_config_and_bad_values(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"dataset": "citeseer", "theta_plus": 1.5}))
    assert main(["certify", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "theta_plus == 1.5, must be in [0, 1]" in capsys.readouterr().err
    config.write_text(yaml.safe_dump({"datset": "citeseer"}))
    assert main(["certify", "--config", str(config)]) == 2
    assert "unknown configuration keys ['datset']" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_joint_grids_agree_with_the_one_dimensional_curves(run):
    results = json.loads((run / "results.json").read_text())
    for entry in results["methods"].values():
        joint = entry["joint"]
        assert joint["budgets_plus"] == list(range(3))
        assert joint["budgets_minus"] == list(range(7))
        for kind in ("naive", "collective"):
            grid = joint[kind]
            if grid is None:
                assert entry["curves"]["deletions"]["collective"] is None
                continue
            grid = np.array(grid)
            assert grid[0].tolist() == entry["curves"]["deletions"][kind]
            assert grid[:, 0].tolist() == entry["curves"]["additions"][kind]
            assert np.all(np.diff(grid, axis=0) <= 0) and np.all(np.diff(grid, axis=1) <= 0)
        if joint["collective"] is not None:
            assert np.all(np.array(joint["collective"]) >= np.array(joint["naive"]))

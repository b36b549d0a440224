"""End-to-end certification against edge insertions and deletions (docs/theory.md §8) through the
command line, as a new user runs it: `graphcert certify --dataset cora_ml --threat-model
structure` (small sample counts), and the joint threat model on CiteSeer."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from graphcert.cli import _run_dir, build_parser, main
from graphcert.cli.options import common_options, read_config
from graphcert.run.config import RunConfig

FAST = ["--n-samples", "60", "--n-pre", "20", "--max-epochs", "20", "--batch-size", "20",
        "--max-edge-deletions", "8", "--max-edge-additions", "2", "--quiet"]
EDGE_CURVES = {"edge_deletions", "edge_additions"}


@pytest.fixture(scope="module")
def structure_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("structure")
    assert main(["certify", "--dataset", "cora_ml", "--threat-model", "structure",
                 "--methods", "localized,sparse_smooth", "--out", str(out), *FAST]) == 0
    return out


def test_structure_results_hold_edge_curves_and_grids(structure_run):
    results = json.loads((structure_run / "results.json").read_text())
    assert results["config"]["threat_model"] == "structure"
    assert results["dataset"]["name"] == "cora_ml"
    for name, entry in results["methods"].items():
        assert set(entry["curves"]) == EDGE_CURVES, name  # no attribute curves
        deletions = entry["curves"]["edge_deletions"]
        assert deletions["budgets"] == list(range(9))
        assert entry["curves"]["edge_additions"]["budgets"] == list(range(3))
        naive = np.array(deletions["naive"])
        assert naive[0] / deletions["n_targets"] == pytest.approx(entry["accuracy"])
        assert np.all(np.diff(naive) <= 0)
        grid = entry["joint_edges"]
        assert grid["budgets_plus"] == [0, 1, 2] and grid["budgets_minus"] == list(range(9))
        for kind in ("naive", "collective"):
            if grid[kind] is None:
                assert deletions["collective"] is None
                continue
            assert np.array(grid[kind])[0].tolist() == deletions[kind]
            assert np.array(grid[kind])[:, 0].tolist() == entry["curves"]["edge_additions"][kind]
        assert "joint" not in entry
        samples = entry["samples"]
        assert "theta_plus" not in samples
        assert np.all(np.array(samples["p_plus"]) == 0.001)
    localized = results["methods"]["localized"]
    p_minus = np.array(localized["samples"]["p_minus"])
    assert p_minus.shape == (5, 15)  # output cluster x cluster pair
    assert p_minus.min() == 0.4 and p_minus.max() == 0.9
    assert localized["curves"]["edge_deletions"]["collective"] is not None
    collective = np.array(localized["curves"]["edge_deletions"]["collective"])
    assert np.all(collective >= np.array(localized["curves"]["edge_deletions"]["naive"]))
    assert results["methods"]["sparse_smooth"]["samples"]["p_minus"] == [[0.4]]


def test_structure_csv_plot_and_table(structure_run, capsys):
    with open(structure_run / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["attack"] for r in rows} == EDGE_CURVES
    assert len(rows) == 2 * (9 + 3)
    png = (structure_run / "certified_accuracy.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", str(structure_run)]) == 0
    table = capsys.readouterr().out
    assert "ACR edge del" in table and "edge add=1" in table
    assert "ACR del " not in table  # no attribute block


def test_joint_threat_model_certifies_attributes_and_edges(tmp_path):
    out = tmp_path / "both"
    assert main(["certify", "--dataset", "citeseer", "--threat-model", "both", "--methods",
                 "isotropic,sparse_smooth", "--max-deletions", "4", "--max-additions", "1",
                 "--out", str(out), *FAST]) == 0
    results = json.loads((out / "results.json").read_text())
    for name, entry in results["methods"].items():
        assert set(entry["curves"]) == {"deletions", "additions"} | EDGE_CURVES, name
        assert {"joint", "joint_edges"} <= set(entry)
        assert {"theta_plus", "p_plus"} <= set(entry["samples"])
    # isotropic T = 0 and SparseSmooth share the product noise's votes
    assert results["methods"]["isotropic"]["samples"]["statistics"] == \
        results["methods"]["sparse_smooth"]["samples"]["statistics"]


def test_structure_runs_get_their_own_default_directory():
    parser = build_parser()
    for flags, expected in (([], "runs/cora_ml-appnp"),
                            (["--threat-model", "structure"], "runs/cora_ml-appnp-structure"),
                            (["--threat-model", "both", "--model", "gcn"],
                             "runs/cora_ml-gcn-both")):
        args = parser.parse_args(["certify", *flags])
        common = common_options(args)
        assert _run_dir(common, read_config(RunConfig, args, common)) == Path(expected)


def test_structure_settings_are_checked_before_any_work(tmp_path, capsys):
    assert main(["certify", "--threat-model", "edges", "--out", str(tmp_path / "x")]) == 2
    assert ("threat_model must be one of ('attributes', 'structure', 'both', 'nodes', "
            "'injection')") in capsys.readouterr().err
    assert main(["certify", "--threat-model", "structure", "--p-minus", "0.95",
                 "--out", str(tmp_path / "x")]) == 2
    assert "p_minus == 0.95 > p_minus_high == 0.9" in capsys.readouterr().err
    assert main(["certify", "--threat-model", "structure", "--methods", "gaussian",
                 "--out", str(tmp_path / "x")]) == 2
    assert "is not certified by ['gaussian']" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

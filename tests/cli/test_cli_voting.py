"""The voting certificates through the command line: `graphcert certify --methods voting_edge`
trains a base classifier on the hashed subgraphs and reports like every other method."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from graphcert.cli import main

FAST = ["--dataset", "citeseer", "--model", "gcn", "--threat-model", "structure",
        "--n-groups", "4", "--max-epochs", "3", "--patience", "1", "--n-samples", "40",
        "--n-pre", "10", "--max-edge-deletions", "3", "--max-edge-additions", "2", "--quiet"]


@pytest.fixture(scope="module")
def voting_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("voting")
    assert main(["certify", "--methods", "voting_edge", "--out", str(out), *FAST]) == 0
    return out


def test_voting_results_hold_edge_curves_grid_and_settings(voting_run):
    results = json.loads((voting_run / "results.json").read_text())
    entry = results["methods"]["voting_edge"]
    assert entry["samples"] == {"division": "edge", "n_groups": 4, "hash_seed": 0, "hops": 2,
                                "votes_per_edge_change": 1}
    assert entry["abstain_rate"] == 0
    deletions, additions = entry["curves"]["edge_deletions"], entry["curves"]["edge_additions"]
    assert deletions["budgets"] == [0, 1, 2, 3] and additions["budgets"] == [0, 1, 2]
    assert deletions["naive"][:3] == additions["naive"]  # any mix: the same radius
    naive, collective = np.array(deletions["naive"]), np.array(deletions["collective"])
    assert np.all(collective >= naive) and np.all(np.diff(naive) <= 0)
    assert naive[0] / deletions["n_targets"] == pytest.approx(entry["accuracy"])
    # 4 subgraphs: a vote of 4 - 0 certifies floor(4 / 2) = 2 changes, never 3
    assert deletions["naive_ratio"][3] == 0 and naive[3] == 0
    grid = np.array(entry["joint_edges"]["naive"])
    assert grid.shape == (3, 4)
    full = deletions["naive"] + [0, 0]  # counts at 0..5 changes (radius <= 2)
    assert all(grid[a, d] == full[a + d] for a in range(3) for d in range(4))
    assert (voting_run / "model_voting_edge.pt").exists()
    rows = list(csv.DictReader((voting_run / "results.csv").open()))
    assert any(row["method"] == "voting_edge" for row in rows)
    assert (voting_run / "certified_accuracy.png").stat().st_size > 0


def test_voting_refuses_the_attribute_threat_model(tmp_path, capsys):
    assert main(["certify", "--methods", "voting_edge", "--out", str(tmp_path),
                 "--dataset", "citeseer", "--threat-model", "attributes", "--quiet"]) == 2
    assert "voting_edge" in capsys.readouterr().err

"""`graphcert certify --model gat` under every threat model, and runs of the node-threat
methods train only their own model (no unused main model)."""
from __future__ import annotations

import json

import pytest

from graphcert.cli import main
from graphcert.run import pipeline
from graphcert.run.reporting import results_table
from graphcert.tasks.graph import node_threats

FAST = ["--dataset", "planted_categorical", "--n-pre", "20", "--n-samples", "100",
        "--batch-size", "25", "--chunk-size", "50", "--max-epochs", "15", "--patience", "5",
        "--alpha", "0.05", "--threads", "1", "--quiet"]
RUNS = {  # threat model: (method, its curve, its flags)
    "attributes": ("kary", "hamming", ["--keep", "0.8"]),
    "structure": ("sparse_smooth", "edge_deletions", ["--max-edge-deletions", "3",
                                                      "--max-edge-additions", "1"]),
    "nodes": ("hierarchical", "nodes", ["--p-select", "0.7", "--theta-plus", "0.02",
                                        "--theta-minus-low", "0.5", "--max-nodes", "3"]),
    "injection": ("injection", "injection", ["--p-node", "0.5", "--p-edge", "0.6",
                                             "--tau", "2", "--max-injected", "4"]),
}


@pytest.fixture
def training_calls(monkeypatch):
    """Counts of the two trainings: the run's model (`train_model`) and a node-threat
    method's own (`train_under_noise`)."""
    calls = {"run model": 0, "under noise": 0}

    def counted(name, train):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return train(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(pipeline, "train_model", counted("run model", pipeline.train_model))
    monkeypatch.setattr(node_threats, "train_under_noise",
                        counted("under noise", node_threats.train_under_noise))
    return calls


@pytest.mark.parametrize("threat", list(RUNS))
def test_gat_under_every_threat_model(threat, tmp_path, training_calls):
    method, curve, flags = RUNS[threat]
    out = tmp_path / threat
    assert main(["certify", "--model", "gat", "--threat-model", threat, "--methods", method,
                 "--out", str(out), *FAST, *flags]) == 0
    results = json.loads((out / "results.json").read_text())
    entry = results["methods"][method]
    assert results["config"]["model"] == "gat"
    assert entry["accuracy"] > 0.5  # 4 balanced classes: chance is 0.25
    assert entry["curves"][curve]["naive"][0] > 0
    node_threat = threat in ("nodes", "injection")
    # a node-threat run trains its model under its noise, and nothing else
    assert training_calls == {"run model": int(not node_threat),
                              "under noise": int(node_threat)}
    assert (out / "model.pt").exists() != node_threat
    assert (out / f"model_{method}.pt").exists() == node_threat
    if node_threat:
        assert entry["samples"]["hops"] == 2  # two GAT layers: the collective fields
        assert results["clean_accuracy"] == {"targets": None, "test": None}
        assert "model.pt" not in results["fingerprints"]
        assert "clean accuracy n/a (targets) / n/a (test)" in results_table(results)
        # resumed: the method's model and statistics are reused, still nothing else trained
        assert main(["certify", "--model", "gat", "--threat-model", threat, "--methods",
                     method, "--out", str(out), *FAST, *flags]) == 0
        assert training_calls == {"run model": 0, "under noise": 1}
        again = json.loads((out / "results.json").read_text())["methods"][method]
        assert again["curves"] == entry["curves"]


def test_a_misspelled_model_is_refused_before_any_work(tmp_path, capsys, training_calls):
    out = tmp_path / "typo"
    assert main(["certify", "--model", "gta", "--threat-model", "nodes", "--methods",
                 "hierarchical", "--out", str(out), *FAST]) == 2
    assert "model must be one of ('appnp', 'gat', 'gcn'), got 'gta'" in capsys.readouterr().err
    assert training_calls == {"run model": 0, "under noise": 0}
    assert not out.exists() or not list(out.iterdir())

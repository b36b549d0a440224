"""Node-level threat models through the one call `graphcert.certify` and the command line
(docs/theory.md §14, §15): the same model, statistics, predictions and counts on the same
seeds; ``robust`` against the certificate functions computed directly; bad input refused
before any work."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import graphcert
from graphcert.certificates import hierarchical_certified, injection_certified
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.cli import main
from graphcert.data.datasets import graph_split, load_graph
from graphcert.run import pipeline
from graphcert.run.config import RunConfig
from graphcert.run.models import build_model
from graphcert.tasks.graph.node_threats import node_threat_result, train_under_noise

SETTINGS = dict(dataset="planted_categorical", model="gcn", split_seed=1, mc_seed=3,
                train_seed=0, n_pre=20, n_samples=150, batch_size=25, chunk_size=50,
                max_epochs=15, patience=5, lr=0.01, weight_decay=1e-3, alpha=0.05,
                theta_plus=0.02, theta_minus_low=0.5, p_select=0.7, node_bit_deletions=2,
                max_nodes=3, p_node=0.5, p_edge=0.6, tau=2, max_injected=4, device="cpu")
CASES = {"hierarchical": "nodes", "injection": "injection"}


@pytest.fixture(scope="module")
def data():
    return load_graph("planted_categorical")


def one_call(data, method: str):
    """The one call on what the command line's method builds: its noise, its model trained
    under that noise, the validation targets and the Monte Carlo settings."""
    s = SETTINGS
    train, val, _ = graph_split(data, 20, s["split_seed"])
    if method == "hierarchical":
        noise = graphcert.hierarchical_noise(data, s["p_select"], theta_plus=s["theta_plus"],
                                             theta_minus=s["theta_minus_low"])
        options = {"bits_per_node": (0, s["node_bit_deletions"])}
    else:
        noise = graphcert.injection_noise(data, s["p_node"], s["p_edge"])
        options = {"tau": s["tau"]}
    torch.manual_seed(s["train_seed"])
    model = build_model("gcn", data.num_features + int(method == "hierarchical"),
                        data.num_classes)
    train_under_noise(model, data, noise, train, val, lr=s["lr"],
                      weight_decay=s["weight_decay"], max_epochs=s["max_epochs"],
                      patience=s["patience"], seed=s["train_seed"])
    cert = graphcert.certify(model, data, noise, val, n_pre=s["n_pre"],
                             n_samples=s["n_samples"], alpha=s["alpha"], seed=s["mc_seed"],
                             device="cpu", batch_size=s["batch_size"],
                             chunk_size=s["chunk_size"], **options)
    return cert, noise, val


@pytest.mark.parametrize("method", list(CASES))
def test_one_call_matches_the_command_line(data, method, tmp_path):
    threat = CASES[method]
    cert, noise, val = one_call(data, method)
    assert cert.family == method and cert.attacks == (threat,) and cert.hops == 2
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in SETTINGS.items()]
    assert main(["certify", "--out", str(tmp_path), "--threat-model", threat, "--methods",
                 method, "--quiet", *flags]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    config = RunConfig(threat_model=threat, methods=[method], **SETTINGS)
    assert results["config"] == config.to_dict()
    saved = np.load(tmp_path / f"stats_{method}.npz")
    np.testing.assert_array_equal(saved["votes"], cert.stats.votes)

    # the method's own result: the same predictions as the one call
    idx_train, idx_val, _ = graph_split(data, 20, SETTINGS["split_seed"])
    inputs = pipeline.CertificationInputs(data.y.numpy(), idx_val, None)
    result, settings = pipeline.METHODS[method].run(config, data, idx_train, idx_val, inputs,
                                                    tmp_path, lambda _: None)
    np.testing.assert_array_equal(result.predicted, cert.prediction)
    assert settings["hops"] == 2 and settings["statistics"] == f"stats_{method}.npz"

    entry = results["methods"][method]
    curve = entry["curves"][threat]
    budgets = list(range(SETTINGS["max_nodes" if threat == "nodes" else "max_injected"] + 1))
    assert curve["budgets"] == budgets and curve["n_targets"] == len(val)
    correct = cert.correct(data.y)
    assert entry["accuracy"] == pytest.approx(float(np.mean(correct)))
    naive = [int(np.sum(correct & cert.robust(threat, b))) for b in budgets]
    assert curve["naive"] == naive and naive[0] == int(np.sum(correct)) > 0
    assert curve["naive_ratio"] == [int(cert.robust(threat, b).sum()) for b in budgets]
    direct = node_threat_result(cert.stats, data.y.numpy(), val, noise,
                                data.edge_index.numpy(), budgets, alpha=SETTINGS["alpha"],
                                hops=2, deletions_per_node=SETTINGS["node_bit_deletions"],
                                tau=SETTINGS["tau"])
    assert curve["collective"] == direct.collective and curve["naive"] == direct.naive
    assert all(c >= n for c, n in zip(direct.collective, direct.naive, strict=True))
    np.testing.assert_allclose(cert.certified_accuracy(data.y, threat, budgets),
                               np.asarray(direct.collective) / len(val))
    np.testing.assert_allclose(cert.certified_accuracy(data.y, threat, budgets,
                                                       collective=False),
                               np.asarray(naive) / len(val))
    assert naive[-1] < naive[0]  # the budgets reach past what is certified

    # CSV, plot and table carry the curve like every other method's
    csv = (tmp_path / "results.csv").read_text()
    assert f"{method},{threat},1," in csv
    assert (tmp_path / "certified_accuracy.png").stat().st_size > 0
    from graphcert.run.reporting import results_table
    assert f"ACR {threat}" in results_table(results)


@pytest.mark.parametrize("method", list(CASES))
def test_robust_is_the_certificate_function(data, method):
    cert, noise, val = one_call(data, method)
    stats = cert.stats
    predicted = stats.candidate_vote[val]
    p = clopper_pearson_lower(stats.votes[val, predicted], stats.n[val],
                              SETTINGS["alpha"] / len(val))
    np.testing.assert_array_equal(cert.prediction, np.where(p > 0.5, predicted, -1))
    for budget in range(4):
        if method == "hierarchical":
            expected = hierarchical_certified(p, noise.p_select, budget, noise.theta_plus,
                                              noise.theta_minus, 0, 2 * budget)
            assert np.array_equal(cert.robust("nodes", budget), expected & (p > 0.5))
        else:
            for tau in (0, 1, 2, 5):
                expected = injection_certified(p, noise.p_node, noise.p_edge, budget, tau)
                got = cert.robust("injection", (budget, tau))
                assert np.array_equal(got, expected & (p > 0.5))
            assert np.array_equal(cert.robust("injection", budget),
                                  cert.robust("injection", (budget, SETTINGS["tau"])))
    with pytest.raises(ValueError, match="attack 'edges' is not covered"):
        cert.robust("edges", (1, 1))


class FeaturesOnly(torch.nn.Module):
    """A model without an edge input."""

    def __init__(self, in_features: int = 1, num_classes: int = 2):
        super().__init__()
        self.lin = torch.nn.Linear(in_features, num_classes)

    def forward(self, x):
        raise AssertionError("called before the input checks")


def test_bad_input_before_any_work(data, tmp_path):
    injection = graphcert.injection_noise(data, 0.5, 0.5)
    with pytest.raises(ValueError, match="needs a model with an edge input"):
        graphcert.certify(FeaturesOnly(data.num_features, data.num_classes), data, injection)
    model = build_model("gcn", data.num_features, data.num_classes)
    with pytest.raises(ValueError, match="bits_per_node .* 'hierarchical' only"):
        graphcert.certify(model, data, injection, bits_per_node=(0, 1))
    hierarchical = graphcert.hierarchical_noise(data, 0.5, theta_plus=0.0, theta_minus=0.5)
    with pytest.raises(ValueError, match="tau == 3 applies to certificate 'injection' only"):
        graphcert.certify(model, data, hierarchical, tau=3)
    with pytest.raises(ValueError, match="certificate == 'injection' does not fit"):
        graphcert.certify(model, data, hierarchical, certificate="injection")
    with pytest.raises(ValueError, match="p_select"):
        graphcert.hierarchical_noise(data, 0.0, theta_plus=0.0, theta_minus=0.5)
    for key, value in (("p_select", 0.0), ("p_select", 1.2), ("p_node", 1.0), ("p_edge", -0.1),
                       ("tau", -1)):
        with pytest.raises(ValueError, match=key):
            RunConfig(**{key: value})
    with pytest.raises(ValueError, match="not certified by .*certify it: hierarchical"):
        RunConfig(threat_model="nodes")
    config = RunConfig(threat_model="nodes", methods=["hierarchical"], max_nodes=601,
                       **{k: v for k, v in SETTINGS.items() if k != "max_nodes"})
    with pytest.raises(ValueError, match=r"max_nodes == 601, must be in \[1, num_nodes=600\]"):
        pipeline.METHODS["hierarchical"].run(config, data, None, None, None, tmp_path, None)
    assert not list(tmp_path.iterdir())  # nothing trained or sampled
    spec = tmp_path / "features_only.py"
    spec.write_text("import torch\n\n\nclass FeaturesOnly(torch.nn.Module):\n"
                    "    def __init__(self, in_features, num_classes):\n"
                    "        super().__init__()\n"
                    "        self.lin = torch.nn.Linear(in_features, num_classes)\n\n"
                    "    def forward(self, x):\n        return self.lin(x)\n")
    with pytest.raises(ValueError, match="needs a model with an edge input"):
        RunConfig(threat_model="injection", methods=["injection"],
                  model=f"{spec}:FeaturesOnly")
    depthless = tmp_path / "depthless.py"  # takes the graph, but its depth is unknown
    depthless.write_text(spec.read_text().replace("forward(self, x)",
                                                  "forward(self, x, edge_index)"))
    config = RunConfig(threat_model="injection", methods=["injection"],
                       model=f"{depthless}:FeaturesOnly", **{k: v for k, v in SETTINGS.items()
                                                            if k != "model"})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(ValueError, match="receptive field of model .* is unknown"):
        pipeline.METHODS["injection"].run(config, data, None, None, None, run_dir, None)
    assert not list(run_dir.iterdir())

"""Every noise x certificate family through the one call `graphcert.certify`, against the
command line's pipeline on the same graph, model and seed: the same statistics, the same
smoothed predictions and radii, and every curve and grid of results.json recounted from the
per-target answers of ``cert.robust``."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import graphcert
from graphcert.data.datasets import graph_split, load_graph
from graphcert.run import pipeline
from graphcert.run.config import RunConfig
from graphcert.run.models import build_model
from graphcert.sampling.statistics import SmoothingStats
from graphcert.tasks.graph.families import choose_certificate

SPLIT_SEED, MC_SEED, N_CLUSTERS = 1, 3, 3
MONTE_CARLO = dict(n_pre=20, n_samples=120, batch_size=25, chunk_size=50)
SETTINGS = dict(theta_plus=0.02, theta_minus_low=0.5, theta_minus_high=0.8, p_plus=0.002,
                p_minus=0.3, p_minus_high=0.6, keep=0.9, keep_far=0.8, sigma_min=0.3,
                sigma_max=0.6, max_deletions=6, max_additions=2, max_edge_deletions=4,
                max_edge_additions=2, max_hamming=6, l2_step=0.1)
#: attack of each curve of results.json
CURVE_ATTACKS = {"additions": "additions", "deletions": "deletions", "hamming": "hamming",
                 "edge_additions": "edge_additions", "edge_deletions": "edge_deletions",
                 "l2": "l2"}
GRID_ATTACKS = {"joint": "attributes", "joint_edges": "edges"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The planted categorical graph (600 nodes, one-hot attributes), a GCN trained on it
    (saved as the command line's --weights) and the validation targets."""
    data = load_graph("planted_categorical")
    train, val, _ = graph_split(data, 20, SPLIT_SEED)
    torch.manual_seed(0)
    model = build_model("gcn", data.num_features, data.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(40):
        model.train()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(data.x, data.edge_index)[train],
                                                 data.y[train])
        loss.backward()
        optimizer.step()
    weights = tmp_path_factory.mktemp("model") / "gcn.pt"
    torch.save(model.state_dict(), weights)
    return data, model.eval(), weights, val


def api_noise(data, method: str, threat_model: str):
    """The one-call API's noise for a command-line method and threat model."""
    s, c = SETTINGS, N_CLUSTERS
    if method == "gaussian":
        return graphcert.gaussian_noise(data, s["sigma_min"], c, s["sigma_max"], seed=SPLIT_SEED)
    if method == "kary":
        return graphcert.kary_noise(data, s["keep"])
    if method == "kary_localized":
        return graphcert.kary_noise(data, s["keep"], c, s["keep_far"], seed=SPLIT_SEED)
    localized = method == "localized"
    attributes = graphcert.localized_noise(
        data, c, s["theta_plus"], (s["theta_minus_low"], s["theta_minus_high"]),
        seed=SPLIT_SEED) if localized else \
        graphcert.isotropic_noise(data, s["theta_plus"], s["theta_minus_low"])
    structure = graphcert.structure_noise(data, s["p_plus"], s["p_minus"], c,
                                          s["p_minus_high"], seed=SPLIT_SEED) if localized \
        else graphcert.structure_noise(data, s["p_plus"], s["p_minus"])
    return {"attributes": attributes, "structure": structure,
            "both": graphcert.joint_noise(attributes, structure)}[threat_model]


CASES = [("localized", "attributes", "variance_constrained"),
         ("isotropic", "attributes", "variance_constrained"),
         ("sparse_smooth", "attributes", "sparse_smooth"),
         ("localized", "structure", "variance_constrained"),
         ("isotropic", "structure", "variance_constrained"),
         ("sparse_smooth", "structure", "sparse_smooth"),
         ("localized", "both", "variance_constrained"),
         ("sparse_smooth", "both", "sparse_smooth"),
         ("gaussian", "attributes", "gaussian"),
         ("kary", "attributes", "kary_hamming"),
         ("kary_localized", "attributes", "variance_constrained")]


@pytest.mark.parametrize("method, threat_model, family", CASES)
def test_one_call_equals_the_command_line(setup, tmp_path, method, threat_model, family):
    data, model, weights, targets = setup
    config = RunConfig(dataset="planted_categorical", model="gcn", weights=str(weights),
                       methods=[method], threat_model=threat_model, n_clusters=N_CLUSTERS,
                       split_seed=SPLIT_SEED, mc_seed=MC_SEED, **MONTE_CARLO, **SETTINGS)
    results = pipeline.run_certification(config, tmp_path, progress=False, log=lambda _: None)
    entry = results["methods"][method]
    noise = api_noise(data, method, threat_model)
    cert = graphcert.certify(model, data, noise, targets=targets, alpha=config.alpha,
                             certificate=family, seed=MC_SEED, device="cpu", **MONTE_CARLO)
    assert cert.family == family
    exact = "kary_hamming" if method.startswith("kary") else "sparse_smooth"
    assert choose_certificate(noise) == (exact if noise.n_clusters == 1 else family)

    # the same statistics
    (stats_file,) = tmp_path.glob("stats_*.npz")
    theirs = SmoothingStats.load(stats_file)
    for name in ("votes", "n", "candidate_vote", "candidate_score", "score_sum_q",
                 "score_sq_sum_q", "hist", "pre_votes", "labels"):
        assert np.array_equal(getattr(cert.stats, name), getattr(theirs, name)), name

    # the same predictions and radii
    y = data.y.numpy()
    correct = cert.correct(y)
    assert entry["accuracy"] == pytest.approx(correct.mean())
    assert entry["abstain_rate"] == pytest.approx(np.mean(cert.prediction == -1))
    if "eta" in entry:
        assert np.array_equal(np.asarray(entry["eta"]), cert.radius)

    # every curve and grid, recounted from the per-target answers
    assert set(CURVE_ATTACKS[name] for name in entry["curves"]) <= set(cert.attacks)
    for name, curve in entry["curves"].items():
        attack = CURVE_ATTACKS[name]
        robust = np.array([cert.robust(attack, b) for b in curve["budgets"]])
        counts, ratio = (robust & correct).sum(1).tolist(), robust.sum(1).tolist()
        if name == "l2":  # the command line's naive l2 counts quantize the radii down
            assert np.all(np.asarray(curve["naive"]) <= counts)
            assert np.all(np.asarray(curve["naive_ratio"]) <= ratio)
            assert curve["naive"][0] == counts[0]
            continue
        assert curve["naive"] == counts, name
        assert curve["naive_ratio"] == ratio, name
        if curve["collective"] is not None:  # through the same certificate object
            ours = cert.curve(y, attack, curve["budgets"]).collective
            assert ours == curve["collective"], name
    for name, attack in GRID_ATTACKS.items():
        if name not in entry:
            continue
        grid = entry[name]
        counts = [[int((correct & cert.robust(attack, (a, d))).sum())
                   for d in grid["budgets_minus"]] for a in grid["budgets_plus"]]
        assert grid["naive"] == counts, name
    assert cert.stats.noise == theirs.noise == json.loads(json.dumps(noise.describe()))

"""`graphcert certify --model FILE.py:Class | module:Class --weights --device`: a user's model
through the command line, on every device."""
from __future__ import annotations

import json
import textwrap

import pytest
import torch

from graphcert.cli import main
from graphcert.run.config import RunConfig
from graphcert.run.models import build_model, model_class

USER_MODEL = textwrap.dedent("""
    import torch
    from torch_geometric.nn import SAGEConv

    class Sage(torch.nn.Module):
        def __init__(self, in_features, num_classes, hidden=16):
            super().__init__()
            self.conv1 = SAGEConv(in_features, hidden)
            self.conv2 = SAGEConv(hidden, num_classes)

        def forward(self, x, edge_index):
            return self.conv2(torch.relu(self.conv1(x, edge_index)), edge_index)
""")


@pytest.fixture
def user_model(tmp_path):
    path = tmp_path / "my_models.py"
    path.write_text(USER_MODEL)
    return f"{path}:Sage"


def certify_args(out, *extra) -> list[str]:
    return ["certify", "--dataset", "ogbn-arxiv", "--methods", "gaussian", "--out", str(out),
            "--n-clusters", "3", "--n-pre", "40", "--n-samples", "200", "--l2-step", "0.1",
            "--quiet", *extra]


def test_user_model_trained_then_certified(ogb_root, tmp_path, monkeypatch, user_model,
                                           device):
    monkeypatch.setenv("GRAPHCERT_DATA", str(ogb_root))
    out = tmp_path / "trained"
    args = certify_args(out, "--model", user_model, "--max-epochs", "150",
                        "--device", device.type)
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["model"] == user_model
    assert results["environment"]["device"].startswith(device.type)
    assert results["clean_accuracy"]["targets"] > 0.6
    assert results["methods"]["gaussian"]["accuracy"] > 0.6
    assert (out / "model.pt").exists()


def test_user_model_from_a_state_dict(ogb_root, tmp_path, monkeypatch, user_model, capsys):
    monkeypatch.setenv("GRAPHCERT_DATA", str(ogb_root))
    torch.manual_seed(0)
    model = build_model(user_model, 8, 40)  # the miniature has ogbn-arxiv's 40 classes
    weights = tmp_path / "weights.pt"
    torch.save(model.state_dict(), weights)
    out = tmp_path / "loaded"
    assert main(certify_args(out, "--model", user_model, "--weights", str(weights))) == 0
    assert not (out / "model.pt").exists()  # nothing trained
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["weights"] == str(weights)
    torch.save(build_model(user_model, 8, 3).state_dict(), weights)
    assert main(certify_args(tmp_path / "other", "--model", user_model,
                             "--weights", str(weights))) == 2
    assert "do not fit model" in capsys.readouterr().err


def test_module_and_class_names():
    from gnn_models import APPNPNet
    assert model_class("gnn_models.appnp:APPNPNet") is APPNPNet
    assert isinstance(build_model("gnn_models.appnp:APPNPNet", 5, 2, hidden=4), APPNPNet)
    assert isinstance(build_model("gcn", 5, 2), torch.nn.Module)
    for spec, message in [("nowhere.py:Net", "file .* not found"),
                          ("no_such_module_xyz:Net", "cannot import"),
                          ("gnn_models.appnp:Nothing", "defines no torch.nn.Module class"),
                          ("gnn_models.appnp:", "must be a registered name")]:
        with pytest.raises(ValueError, match=message):
            model_class(spec)


def test_device_and_model_errors(tmp_path, capsys):
    assert main(["certify", "--device", "tpu", "--out", str(tmp_path)]) == 2
    assert "device == 'tpu', must be" in capsys.readouterr().err
    with pytest.raises(ValueError, match="device == 'gpu'"):
        RunConfig(device="gpu")
    assert RunConfig(device="cuda:1").device == "cuda:1"

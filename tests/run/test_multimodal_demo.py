"""`graphcert multimodal` end to end with tiny settings (docs/theory.md §7, MMCert,
Wang et al. 2024)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from graphcert.certificates import ablation_delta
from graphcert.certificates.bounds import clopper_pearson_lower
from graphcert.cli import main
from graphcert.run.demos.multimodal_run import MultimodalConfig

TINY = ["--size", "12", "--n-train", "32", "--steps", "30", "--n-test", "2", "--k", "4,8",
        "--n-pre", "5", "--n-samples", "60", "--r-max", "6", "--report-r", "0,2",
        "--example-r", "2,1"]


def test_multimodal_command_end_to_end(tmp_path, capsys):
    assert main(["multimodal", *TINY, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "trained U-Net" in out and "certified region" in out
    for png in ("multimodal_region.png", "multimodal_example.png"):
        assert (tmp_path / png).stat().st_size > 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["r"] == list(range(7)) and results["k"] == [4, 8]

    summary = {row["method"]: row for row in results["summary"]}
    assert set(summary) == {"MMCert", "RA"}
    table = results["table"]
    assert [(row["r1"], row["r2"]) for row in table] == [(0, 0), (0, 2), (2, 0), (2, 2)]
    for method in ("MMCert", "RA"):
        for name in ("acc", "F", "IoU"):
            assert all(0 <= row[f"{method} {name}"] <= 1 for row in table)
            assert f"{method} {name}" in out
        # certifying costs accuracy: certified (0, 0) <= smoothed
        assert table[0][f"{method} acc"] <= summary[method]["smoothed acc"] + 1e-12
        acc = np.array(results["certified_accuracy"][method])
        assert acc.shape == (7, 7)
        assert np.all(np.diff(acc, axis=0) <= 0) and np.all(np.diff(acc, axis=1) <= 0)
        assert acc[0, 0] == pytest.approx(table[0][f"{method} acc"])
        level = [max((b for b, v in enumerate(row) if v >= 0.5), default=None) for row in acc]
        assert results["region"][method] == level
    # a pixel is certifiable at (r1, r2) iff the best possible gap, all N = 60 votes for one
    # class, beats 2 delta: 2 p_A - 1 > 2 delta with p_A the Bonferroni bound over 144 pixels
    best = float(clopper_pearson_lower(60, 60, 0.001 / (2 * 144))) - 0.5
    deltas = {"MMCert": lambda a, b: ablation_delta((144, 144), (4, 8), (a, b)),
              "RA": lambda a, b: ablation_delta((288,), (12,), (a + b,))}
    for method, delta in deltas.items():
        hopeless = np.array([[delta(a, b) >= best for b in range(7)] for a in range(7)])
        acc = np.array(results["certified_accuracy"][method])
        assert 0 < hopeless.sum() < 49 and np.all((acc == 0) == hopeless)
    # k1 < k2: MMCert tolerates more modified RGB than depth pixels
    assert results["region"]["MMCert"][6] == 3 and results["region"]["MMCert"][0] == 6
    # the pooled baseline only sees r1 + r2: its accuracy is constant on anti-diagonals
    ra = np.array(results["certified_accuracy"]["RA"])
    for total in range(13):
        diagonal = [ra[a, total - a] for a in range(max(0, total - 6), min(6, total) + 1)]
        assert np.ptp(diagonal) == 0

    assert main(["multimodal", *TINY, "--out", str(tmp_path)]) == 0  # reloads the model
    again = capsys.readouterr().out
    assert "reloaded model" in again and "trained U-Net" not in again
    assert json.loads((tmp_path / "results.json").read_text()) == results


@pytest.mark.parametrize("kw", [dict(k=(4, 8, 2)), dict(size=13), dict(r_max=-1),
                                dict(report_r=(0, 600)), dict(r_step=0),
                                dict(r_max=0), dict(k=(600, 8)),
                                dict(n_train=16), dict(n_test=0)])
def test_bad_config_raises(kw):
    with pytest.raises(ValueError):
        MultimodalConfig(**kw)

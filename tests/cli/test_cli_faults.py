"""Fault injection through the command line: bad settings fail before any work, corrupt or
incomplete files give messages that name them, and failing commands leave every file
byte-identical."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import graphcert.run.pipeline as pipeline
from graphcert.cli import main
from graphcert.run.config import RunConfig
from graphcert.run.reporting import results_table
from graphcert.run.rundir import file_fingerprint, write_results

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("train", "certify", "report", "segment", "attribute", "multimodal", "sweep")


@pytest.mark.parametrize("argv, message", [
    (["certify", "--alpha", "0"], "alpha == 0.0, must be in (0, 1)"),
    (["certify", "--alpha", "1"], "alpha == 1.0, must be in (0, 1)"),
    (["certify", "--milp-bins", "0"], "milp_bins == 0, must be >= 1"),
    (["certify", "--n-samples", "0"], "n_samples == 0, must be >= 1"),
    (["certify", "--n-pre", "0"], "n_pre == 0, must be >= 1"),
    (["certify", "--batch-size", "0"], "batch_size == 0, must be >= 1"),
    (["certify", "--max-epochs", "0"], "max_epochs == 0, must be >= 1"),
    (["certify", "--threads", "-1"], "threads == -1, must be >= 1"),
    (["certify", "--n-layers", "3"], "model_params ['n_layers'] are not parameters of model "
     "'appnp'"),
    (["certify", "--theta-minus-low", "0.99"], "theta_minus_low == 0.99 > theta_minus_high"),
    (["train", "--max-epochs", "0"], "max_epochs == 0, must be >= 1"),
    (["segment", "--eps-step", "0"], "eps_step == 0.0, must be > 0"),
    (["segment", "--quiet", "--threads", "0"], "threads == 0, must be >= 1"),
    (["attribute", "--methods", "saliency,shap"], "methods[1] must be one of ('saliency'"),
    (["multimodal", "--r-step", "0"], "r_step == 0, must be >= 1"),
])
def test_bad_settings_fail_before_any_work(no_work, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_bad_config_files_and_out_paths_fail_before_any_work(no_work, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("alpha: [0.1\n")
    cases = [(["certify", "--config", str(bad)], f"{bad} is not valid YAML"),
             (["certify", "--config", str(tmp_path)], "is a directory, expected a YAML file"),
             (["segment", "--config", str(bad)], f"{bad} is not valid YAML")]
    typed = tmp_path / "typed.yaml"
    typed.write_text('relax: "no"\n')
    cases.append((["certify", "--config", str(typed)], f"{typed}: relax must be a boolean"))
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for command in ("train", "certify", "segment", "attribute", "multimodal", "report"):
        cases.append(([command, "--out", str(afile)], "is an existing file, expected a "
                      "directory"))
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
    assert afile.read_text() == "keep me"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_the_common_flags(command, tmp_path, monkeypatch):
    """--quiet, --threads, --out, --seed and --config parse on every command and reach its
    configuration (the command itself is replaced by a probe)."""
    from graphcert.cli import build_parser
    from graphcert.cli.options import common_options
    config = tmp_path / "settings.yaml"
    config.write_text("{}\n")
    args = build_parser().parse_args([command, "--quiet", "--threads", "2", "--out",
                                      str(tmp_path), "--seed", "7", "--config", str(config)])
    common = common_options(args)
    assert (common.quiet, common.threads, common.out, common.seed, common.config) == \
        (True, 2, tmp_path, 7, config)


def test_seed_sets_every_seed_unless_one_is_given(tmp_path):
    from graphcert.cli import build_parser
    from graphcert.cli.options import common_options, read_config
    args = build_parser().parse_args(["certify", "--seed", "3", "--mc-seed", "5"])
    config = read_config(RunConfig, args, common_options(args))
    assert (config.split_seed, config.train_seed, config.mc_seed) == (3, 3, 5)
    from graphcert.run.demos.configs import SegmentConfig
    args = build_parser().parse_args(["segment", "--seed", "4"])
    assert read_config(SegmentConfig, args, common_options(args)).seed == 4


def test_help_imports_no_torch():
    """`graphcert --help` and every command's help build without torch, PyG, captum or cvxpy
    (benchmarks/cli_help.py measures the time)."""
    script = textwrap.dedent(f"""
        import contextlib, io, sys
        from graphcert.cli import main
        for argv in ([], {list(COMMANDS)!r}):
            for command in (argv or [None]):
                with contextlib.redirect_stdout(io.StringIO()):
                    try:
                        main(["--help"] if command is None else [command, "--help"])
                    except SystemExit:
                        pass
        heavy = sorted(m for m in ("torch", "torch_geometric", "captum", "cvxpy", "matplotlib")
                       if m in sys.modules)
        print(heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_solver_banner_is_silenced():
    """HiGHS writes its banner on the first logging call of the process; the collective
    certificate makes that call with console logging off before its first solve. Without it,
    the banner appears (the test can fail)."""
    script = textwrap.dedent("""
        import sys
        import cvxpy as cp
        if sys.argv[1] == "silenced":
            from graphcert.certificates.collective import silence_solver_banner
            silence_solver_banner()
        x = cp.Variable(2, integer=True)
        cp.Problem(cp.Maximize(cp.sum(x)), [x <= 1.5, x >= 0]).solve(solver=cp.HIGHS)
        print("value", x.value.sum())
    """)
    outputs = {}
    for mode in ("plain", "silenced"):
        result = subprocess.run([sys.executable, "-c", script, mode], cwd=ROOT,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        outputs[mode] = result.stdout + result.stderr
    assert "Running HiGHS" in outputs["plain"]
    assert "HiGHS" not in outputs["silenced"] and "value 2.0" in outputs["silenced"]


# ------------------------------------------------------------------------------ report
def curve(counts: list[int], n: int = 10) -> dict:
    from graphcert.certificates.metrics import average_certified_radius
    budgets = list(range(len(counts)))
    padded = counts + ([0] if counts[-1] else [])
    acr = float(average_certified_radius(list(range(len(padded))),
                                         [c / n for c in padded]))
    return {"budgets": budgets, "naive": counts, "collective": None, "naive_ratio": counts,
            "n_targets": n, "acr_naive": acr, "acr_collective": None,
            "acr_is_lower_bound": counts[-1] > 0}


def synthetic_results(deletions=(8, 6, 3, 0), ignored=None) -> dict:
    config = RunConfig(methods=["sparse_smooth"]).to_dict()
    entry = {"accuracy": 0.8, "abstain_rate": 0.1, "ignored_settings": ignored or {},
             "curves": {"deletions": curve(list(deletions)), "additions": curve([8, 2, 0])}}
    return {"config": config, "dataset": {"n_targets": 10},
            "clean_accuracy": {"targets": 0.9, "test": 0.85},
            "methods": {"sparse_smooth": entry}}


def test_report_on_incomplete_results_leaves_every_file_byte_identical(tmp_path, capsys):
    results = synthetic_results()
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["report", str(tmp_path)]) == 0
    assert "sparse_smooth" in capsys.readouterr().out
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(files) == {"results.json", "results.csv", "certified_accuracy.png"}
    for broken, key in ((lambda r: r.pop("clean_accuracy"), "'clean_accuracy'"),
                        (lambda r: r["methods"]["sparse_smooth"]["curves"]["deletions"]
                         .pop("naive"), "methods.sparse_smooth.curves.deletions has no key "
                         "'naive'"),
                        (lambda r: r["methods"]["sparse_smooth"].pop("curves"), "'curves'"),
                        (lambda r: r["methods"]["sparse_smooth"].update(accuracy="high"),
                         "methods.sparse_smooth.accuracy == 'high', expected a number"),
                        (lambda r: r["methods"]["sparse_smooth"]["curves"]["additions"]
                         .update(n_targets=0), "additions.n_targets == 0, expected a "
                         "positive integer"),
                        (lambda r: r["methods"]["sparse_smooth"]["curves"]["additions"]
                         .update(naive=[8, 2]), "needs budgets, naive, naive_ratio")):
        damaged = synthetic_results()
        broken(damaged)
        (tmp_path / "results.json").write_text(json.dumps(damaged))
        files["results.json"] = (tmp_path / "results.json").read_bytes()
        assert main(["report", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert str(tmp_path / "results.json") in err and key in err, err
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_report_killed_while_writing_leaves_the_old_files(tmp_path, capsys):
    """kill -9 inside the atomic write of results.csv (data written, not yet renamed): the
    old files stay byte-identical, and the next report succeeds and leaves no temporary
    file behind."""
    (tmp_path / "results.json").write_text(json.dumps(synthetic_results()))
    assert main(["report", str(tmp_path)]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    changed = synthetic_results(deletions=(9, 7, 2, 0))
    (tmp_path / "results.json").write_text(json.dumps(changed))
    before["results.json"] = (tmp_path / "results.json").read_bytes()
    script = textwrap.dedent("""
        import os, signal, sys
        import graphcert.utils.io as io
        io.os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        from graphcert.cli import main
        main(["report", sys.argv[1]])
    """)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                            capture_output=True)
    assert result.returncode == -9
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()
            if not p.name.endswith(".part")} == before
    assert [p.name for p in tmp_path.glob(".results.csv.*.part")]  # the killed write
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "certified_accuracy.png", "results.csv", "results.json"]
    assert (tmp_path / "results.csv").read_bytes() != before["results.csv"]


def test_report_refuses_results_of_another_model_file(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"weights")
    results = {**synthetic_results(),
               "fingerprints": {"model.pt": file_fingerprint(tmp_path / "model.pt")}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["report", str(tmp_path)]) == 0
    capsys.readouterr()
    (tmp_path / "model.pt").write_bytes(b"retrained weights")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["report", str(tmp_path)]) == 2
    assert "was computed with another" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_report_on_corrupt_results_names_the_file(tmp_path, capsys):
    text = json.dumps(synthetic_results())
    (tmp_path / "results.json").write_text(text[: len(text) // 2])  # truncated
    assert main(["report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'results.json'} is not valid JSON" in err
    assert f"graphcert certify --out {tmp_path}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_acr_cut_off_by_the_grid_is_marked_as_a_lower_bound():
    exact = results_table(synthetic_results())
    assert ">=" not in exact and "note" not in exact
    results = synthetic_results(deletions=(9, 9, 9, 9))  # still certified at budget 3
    cut = results_table(results)
    row = next(line for line in cut.splitlines() if line.startswith("sparse_smooth")).split()
    acr = results["methods"]["sparse_smooth"]["curves"]["deletions"]["acr_naive"]
    assert row[4] == f">={acr:.2f}" and row[5] == "0.20"  # additions reach 0: exact
    assert "note: >= marks an ACR cut off" in cut


def test_settings_a_method_ignores_are_reported():
    config = RunConfig(methods=["localized", "sparse_smooth"], local_budget=0)
    assert config.ignored_fields("sparse_smooth") == {"local_budget": 0}
    assert config.ignored_fields("localized") == {}
    table = results_table(synthetic_results(ignored={"local_budget": 0}))
    assert "note: sparse_smooth ignores local_budget = 0" in table


# ------------------------------------------------------------------------------- model
def test_truncated_model_names_the_file_and_the_recovery(tmp_path, citeseer):
    from graphcert.data.datasets import graph_split
    config = RunConfig(dataset="citeseer", max_epochs=2)
    idx_train, idx_val, _ = graph_split(citeseer, config.n_per_class, config.split_seed)
    pipeline.prepare_model(config, citeseer, idx_train, idx_val, tmp_path, log=lambda m: None)
    path = tmp_path / "model.pt"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError) as error:
        pipeline.prepare_model(config, citeseer, idx_train, idx_val, tmp_path)
    assert str(path) in str(error.value) and "delete it and rerun" in str(error.value)
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="truncated or unreadable"):
        pipeline.prepare_model(config, citeseer, idx_train, idx_val, tmp_path)


def test_truncated_demo_model_names_the_file(tmp_path):
    from graphcert.run.demos.configs import MultimodalConfig
    from graphcert.run.demos.multimodal_run import load_or_train
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"model.pt is unreadable .*delete it to retrain"):
        load_or_train(MultimodalConfig(), tmp_path)


# ------------------------------------------------------------------------------- sweep
def test_sweep_redoes_a_run_whose_results_are_corrupt(tmp_path, monkeypatch):
    import graphcert.run.sweep as sweep
    runs = sweep.expand_grid({"dataset": "citeseer"}, {"mc_seed": [0, 1]})
    calls = []

    def fake_run_certification(config, run_dir, **kwargs):
        calls.append(Path(run_dir).name)
        return {**synthetic_results(), "config": config.to_dict()}

    monkeypatch.setattr(sweep, "run_certification", fake_run_certification)
    good, bad = (tmp_path / name for name in runs)
    for run_dir, config in zip((good, bad), runs.values(), strict=True):
        run_dir.mkdir()
        (run_dir / "model.pt").write_bytes(b"weights")
        write_results({**synthetic_results(), "config": config.to_dict(),
                       "fingerprints": {"model.pt": file_fingerprint(run_dir / "model.pt")}},
                      run_dir)
    (bad / "results.json").write_text('{"config": {"dataset": "cites')  # cut off mid-write
    messages = []
    points = sweep.run_sweep(runs, tmp_path, progress=False, log=messages.append)
    assert calls == ["mc_seed=1"] and len(points) == 2
    assert any(m.startswith("run mc_seed=1: ") and str(bad / "results.json") in m
               and "running it again" in m for m in messages), messages
    assert (tmp_path / "sweep.csv").exists()
    (good / "model.pt").write_bytes(b"retrained weights")  # results of another model
    sweep.run_sweep(runs, tmp_path, progress=False, log=messages.append)
    assert calls[1:] == ["mc_seed=0", "mc_seed=1"]
    assert "run mc_seed=0: " + str(good / "results.json") + " was computed with another " \
        "model file; running it again" in messages


def test_sweep_file_errors_name_file_and_run(tmp_path, capsys, no_work):
    grid = tmp_path / "grid.yaml"
    grid.write_text("base: {dataset: citeseer}\ngrid: {alpha: [0.05, 2]}\n")
    assert main(["sweep", str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{grid}: run alpha=2: alpha == 2.0, must be in (0, 1)" in err
    grid.write_text("base: {dataset: citeseer}\ngrids: {}\n")
    assert main(["sweep", "--config", str(grid)]) == 2
    assert f"{grid}: a sweep file is a mapping with keys base and grid" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()

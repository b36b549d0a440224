"""Fault injection through the command line, second round: YAML forms of other YAML versions,
alias bombs, duplicate keys, names used as paths, impossible results, foreign files, weights
and model files that are not what they claim, file system limits and two processes on one
run directory. Each fails with one line that names the key or the file, before any work where
that is possible."""
from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import graphcert.run.pipeline as pipeline
from graphcert.cli import main
from graphcert.run.config import RunConfig
from graphcert.run.rundir import LOCK_FILE, file_fingerprint, write_results
from tests.cli.test_cli_faults import synthetic_results

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def read_only(monkeypatch):
    """Make a directory read-only (mode 0555). Root writes anywhere whatever the mode, so
    under root `os.access` reports what an unprivileged user would see."""
    made = []

    def make(path: Path) -> Path:
        path.chmod(0o555)
        made.append(path)
        if os.geteuid() == 0:
            real = os.access

            def access(p, mode, *args, **kwargs):
                if mode & os.W_OK and Path(p).resolve() in [m.resolve() for m in made]:
                    return False
                return real(p, mode, *args, **kwargs)
            monkeypatch.setattr(os, "access", access)
        return path
    yield make
    for path in made:
        path.chmod(0o755)


def fails(capsys, argv, *messages) -> str:
    """Run the CLI, expect exit code 2 and one error line holding every message."""
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err, err
    for message in messages:
        assert message in err, (message, err)
    return err


# -------------------------------------------------------------------------------- YAML
@pytest.mark.parametrize("line, message", [
    ("n_samples: 3:20", "n_samples must be a whole number, got str '3:20'"),
    ("n_pre: 0b11", "n_pre must be a whole number, got str '0b11'"),
    ("relax: yes", "relax must be a boolean (true or false), got str 'yes'"),
    ("relax: on", "relax must be a boolean (true or false), got str 'on'"),
    ("train_noise: off", "train_noise must be a boolean (true or false), got str 'off'"),
    ("n_pre: 2001-12-14", "n_pre must be a whole number, got str '2001-12-14'"),
])
def test_yaml_1_1_forms_are_refused_naming_the_key(tmp_path, capsys, no_work, line, message):
    config = tmp_path / "run.yaml"
    config.write_text(line + "\n")
    fails(capsys, ["certify", "--config", str(config)], f"{config}: {message}")


@pytest.mark.parametrize("text, values", [
    ("n_pre: 020", {"n_pre": 20}),  # YAML 1.1 read the octal 16
    ("n_pre: 0o20", {"n_pre": 16}),  # YAML 1.2 octal, refused by YAML 1.1 readers
    ("n_pre: 0x10", {"n_pre": 16}),
    ("alpha: 1e-3", {"alpha": 0.001}),
    ("relax: True\ntrain_noise: FALSE", {"relax": True, "train_noise": False}),
    ("local_budget: ~\nmilp_bins: null", {"local_budget": None, "milp_bins": None}),
])
def test_yaml_follows_the_1_2_core_schema(tmp_path, text, values):
    config = tmp_path / "run.yaml"
    config.write_text(text + "\n")
    loaded = RunConfig.from_yaml(config)
    assert {key: getattr(loaded, key) for key in values} == values


def test_yaml_alias_bomb_is_refused_without_expanding(tmp_path, capsys, no_work):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]"
              for i in range(8)]  # 9**9 = 387 million strings once expanded
    lines.append("dataset: *i")
    config = tmp_path / "bomb.yaml"
    config.write_text("\n".join(lines) + "\n")
    assert len(config.read_bytes()) < 500
    started = time.perf_counter()
    err = fails(capsys, ["certify", "--config", str(config)], f"{config} is not valid YAML",
                "aliases (*name) are not supported", "line 2")
    assert time.perf_counter() - started < 5 and len(err) < 300


def test_a_long_value_is_cut_in_the_message(tmp_path, capsys, no_work):
    config = tmp_path / "run.yaml"
    config.write_text(f"n_samples: {'9x' * 50_000}\nmethods: [{'y' * 100_000}]\n")
    err = fails(capsys, ["certify", "--config", str(config)], "n_samples must be a whole "
                "number", "... (100002 characters)")
    assert len(err) < 400
    config.write_text(f"methods: [{'y' * 100_000}]\n")
    err = fails(capsys, ["certify", "--config", str(config)], "methods[0] must be one of")
    assert len(err) < 600


def test_duplicate_yaml_keys_are_refused(tmp_path, capsys, no_work):
    config = tmp_path / "run.yaml"
    config.write_text("alpha: 0.05\nn_pre: 10\nalpha: 0.01\n")
    fails(capsys, ["certify", "--config", str(config)], f"{config} is not valid YAML",
          "duplicate key 'alpha' (line 1 and line 3)")
    grid = tmp_path / "grid.yaml"
    grid.write_text("base: {dataset: citeseer}\ngrid: {mc_seed: [0], mc_seed: [1]}\n")
    fails(capsys, ["sweep", str(grid), "--out", str(tmp_path / "out")],
          "duplicate key 'mc_seed'")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------- settings before work
@pytest.mark.parametrize("flag", ["--max-deletions", "--max-additions",
                                  "--max-edge-deletions", "--max-edge-additions"])
def test_an_empty_budget_grid_is_refused_before_work(capsys, no_work, flag):
    key = flag[2:].replace("-", "_")
    fails(capsys, ["certify", flag, "0"], f"{key} == 0, must be >= 1")


@pytest.mark.parametrize("argv, message", [
    (["certify", "--seed", str(2**32)], "seed == 4294967296, must be in [0, 4294967295]"),
    (["certify", "--seed", str(2**70)], "seed == 1180591620717411303424, must be in"),
    (["certify", "--mc-seed", str(2**32)], "mc_seed == 4294967296, must be in"),
    (["certify", "--split-seed", str(2**40)], "split_seed == 1099511627776, must be in"),
    (["segment", "--seed", str(2**32)], "seed == 4294967296, must be in"),
    (["certify", "--n-samples", str(10**12)], "n_samples == 1000000000000 with chunk_size "
     "== 500 makes 2000000000 chunks per distribution, at most 1000000"),
    (["certify", "--threads", "1000"], f"threads == 1000, this machine has "
     f"{os.cpu_count()} CPU cores"),
])
def test_out_of_range_settings_name_the_key(capsys, no_work, argv, message):
    fails(capsys, argv, message)


def test_seed_at_the_limit_is_accepted():
    assert RunConfig(mc_seed=2**32 - 1, split_seed=2**32 - 1).mc_seed == 2**32 - 1


@pytest.mark.parametrize("dataset", ["../../../escaped", "/tmp/absolute", "cora", "a/b",
                                     "..", ""])
def test_dataset_is_checked_as_a_name_before_any_path(tmp_path, monkeypatch, capsys, no_work,
                                                      dataset):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = sorted(tmp_path.rglob("*"))
    fails(capsys, ["certify", "--dataset", dataset], "is not a dataset; known datasets")
    fails(capsys, ["train", "--dataset", dataset], "is not a dataset")
    assert sorted(tmp_path.rglob("*")) == before  # not even runs/ was made


def test_default_run_directory_stays_in_runs(tmp_path, monkeypatch):
    from graphcert.cli import _run_dir
    from graphcert.cli.options import CommonOptions
    model = tmp_path / "net.py"
    model.write_text("import torch\nclass Net(torch.nn.Linear):\n"
                     "    def __init__(self, i, c):\n        super().__init__(i, c)\n")
    config = RunConfig(dataset="citeseer", model=f"{model}:Net")
    assert _run_dir(CommonOptions(), config) == Path("runs") / "citeseer-Net"
    assert _run_dir(CommonOptions(out=tmp_path / "x"), config) == tmp_path / "x"


# ----------------------------------------------------------------- weights, model files
def write_weights(path: Path, payload) -> str:
    torch.save(payload, path)
    return str(path)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_weights_files_that_are_not_state_dicts_name_the_file(tmp_path, capsys, no_work):
    missing = tmp_path / "missing.pt"
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    fails(capsys, ["certify", "--weights", str(missing)], f"weights == '{missing}': file not "
          "found")
    fails(capsys, ["certify", "--weights", str(empty)], f"weights == '{empty}' is an empty file")
    fails(capsys, ["certify", "--weights", str(tmp_path)], "is a directory, expected a state "
          "dict file")
    text = tmp_path / "notes.pt"
    text.write_text("these are not weights")
    cases = {text: "is not a file torch.save wrote",
             write_weights(tmp_path / "list.pt", [torch.zeros(2)]): "holds a list, expected a "
             "state dict",
             write_weights(tmp_path / "tensor.pt", torch.zeros(2)): "holds a Tensor, expected",
             write_weights(tmp_path / "nested.pt", {"a": {"b": torch.zeros(1)}}): "holds a "
             "dict, expected a state dict (names to tensors",
             write_weights(tmp_path / "exploit.pt", {"w": Exploit()}): "holds objects other "
             "than tensors (posix.system), which are not loaded"}
    for path, message in cases.items():
        with pytest.raises(ValueError) as error:
            pipeline.read_weights(str(path))
        text_of = str(error.value)
        assert text_of.startswith(f"weights {path}") and message in text_of, text_of
        assert "weights_only=False" not in text_of and "\n" not in text_of
    assert not (tmp_path / "pwned").exists()


def test_weights_through_the_cli_name_the_file(tmp_path, capsys, monkeypatch, citeseer):
    monkeypatch.setattr(pipeline, "load_graph", lambda name: citeseer)
    monkeypatch.setattr(pipeline, "train_model", lambda *a, **k: pytest.fail("trained"))
    path = write_weights(tmp_path / "list.pt", [torch.zeros(2)])
    fails(capsys, ["certify", "--dataset", "citeseer", "--weights", path, "--out",
                   str(tmp_path / "run")], f"weights {path} holds a list")


def test_model_file_with_a_syntax_error_names_file_and_line(tmp_path, capsys, no_work):
    model = tmp_path / "net.py"
    model.write_text("import torch\n\nclass Net(torch.nn.Module)\n    pass\n")
    fails(capsys, ["certify", "--model", f"{model}:Net"], f"{model} line 3: ")
    model.write_text("import torch\nraise RuntimeError('no GPU here')\n")
    fails(capsys, ["certify", "--model", f"{model}:Net"], f"importing {model} failed: "
          "RuntimeError: no GPU here")


FLOAT64_MODEL = textwrap.dedent("""
    import torch

    class Net(torch.nn.Module):
        def __init__(self, in_features, num_classes):
            super().__init__()
            self.linear = torch.nn.Linear(in_features, num_classes).double()

        def forward(self, x, edge_index):
            return self.linear(x)
""")


def test_float64_model_is_refused_before_training(tmp_path, capsys, monkeypatch, citeseer):
    monkeypatch.setattr(pipeline, "load_graph", lambda name: citeseer)
    monkeypatch.setattr(pipeline, "train_model", lambda *a, **k: pytest.fail("trained"))
    model = tmp_path / "net.py"
    model.write_text(FLOAT64_MODEL)
    fails(capsys, ["certify", "--dataset", "citeseer", "--model", f"{model}:Net", "--out",
                   str(tmp_path / "run")], "has float64 tensors (e.g. linear.weight), but "
          "the noisy copies of the data are float32: convert it with model.float()")


def test_meta_and_float64_models_are_named():
    from graphcert.sampling.model_checks import check_model_tensors
    with torch.device("meta"):
        meta = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"model has tensors on the meta device .*e.g. "
                       r"weight"):
        check_model_tensors(meta)
    with pytest.raises(ValueError, match="net has float16 tensors"):
        check_model_tensors(torch.nn.Linear(3, 2).half(), "net")
    check_model_tensors(torch.nn.Linear(3, 2))  # float32: fine


# ------------------------------------------------------------------- data directory
def test_data_directory_that_is_a_file_or_read_only_is_named(tmp_path, monkeypatch,
                                                             read_only):
    from graphcert.data.datasets import load_graph
    from graphcert.data.files import DatasetError
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("GRAPHCERT_DATA", str(afile))
    with pytest.raises(DatasetError, match=f"GRAPHCERT_DATA={afile} is a regular file"):
        load_graph("citeseer")
    (tmp_path / "ro").mkdir()
    read_only(tmp_path / "ro")
    monkeypatch.setenv("GRAPHCERT_DATA", str(tmp_path / "ro"))
    with pytest.raises(DatasetError, match=f"GRAPHCERT_DATA={tmp_path / 'ro'} is not "
                       "writable"):
        load_graph("citeseer")


# ------------------------------------------------------------------------ results.json
@pytest.mark.parametrize("edit, message", [
    (lambda r: r["methods"]["sparse_smooth"].update(accuracy=1.5),
     "methods.sparse_smooth.accuracy == 1.5, expected a finite number in [0, 1]"),
    (lambda r: r["methods"]["sparse_smooth"].update(abstain_rate=-0.5),
     "methods.sparse_smooth.abstain_rate == -0.5, expected"),
    (lambda r: r["clean_accuracy"].update(test=math.nan), "clean_accuracy.test == nan"),
    (lambda r: r["methods"]["sparse_smooth"]["curves"]["deletions"].update(acr_naive=math.inf),
     "curves.deletions.acr_naive == inf"),
    (lambda r: r["methods"]["sparse_smooth"]["curves"]["deletions"]["naive"].__setitem__(
        1, 11), "curves.deletions.naive[1] == 11, expected a finite number in [0, 10]"),
    (lambda r: r["methods"]["sparse_smooth"]["curves"]["deletions"].update(
        budgets=[0, 2, 1, 3]), "curves.deletions.budgets must increase"),
    (lambda r: r["config"].update(alpha=2), "config.alpha == 2"),
    (lambda r: r["dataset"].update(n_targets=True), "dataset.n_targets == True, expected a "
     "positive integer"),
])
def test_report_refuses_impossible_values(tmp_path, capsys, edit, message):
    results = synthetic_results()
    edit(results)
    (tmp_path / "results.json").write_text(json.dumps(results))
    fails(capsys, ["report", str(tmp_path)], str(tmp_path / "results.json"), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_report_names_results_graphcert_did_not_write(tmp_path, capsys):
    write_results(synthetic_results(), tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert "warning" not in capsys.readouterr().err
    path = tmp_path / "results.json"
    path.write_text(path.read_text().replace('"accuracy": 0.8', '"accuracy": 0.9'))
    assert main(["report", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert f"warning: {path} was changed after graphcert wrote it" in captured.err
    assert "0.900" in captured.out  # shown, but flagged
    (tmp_path / "results.json.sha256").unlink()
    assert main(["report", str(tmp_path)]) == 0
    assert f"warning: {path} was not written by graphcert (no results.json.sha256" in \
        capsys.readouterr().err


def test_sweep_reruns_an_edited_results_file(tmp_path, monkeypatch):
    import graphcert.run.sweep as sweep
    runs = sweep.expand_grid({"dataset": "citeseer"}, {"mc_seed": [0]})
    calls = []
    monkeypatch.setattr(sweep, "run_certification",
                        lambda config, run_dir, **kwargs: calls.append(1)
                        or {**synthetic_results(), "config": config.to_dict()})
    run_dir = tmp_path / "mc_seed=0"
    run_dir.mkdir()
    (run_dir / "model.pt").write_bytes(b"weights")
    write_results({**synthetic_results(), "config": runs["mc_seed=0"].to_dict(),
                   "fingerprints": {"model.pt": file_fingerprint(run_dir / "model.pt")}},
                  run_dir)
    messages = []
    sweep.run_sweep(runs, tmp_path, progress=False, log=messages.append)
    assert calls == []
    path = run_dir / "results.json"
    path.write_text(path.read_text().replace('"accuracy": 0.8', '"accuracy": 0.99'))
    sweep.run_sweep(runs, tmp_path, progress=False, log=messages.append)
    assert calls == [1]
    assert f"run mc_seed=0: {path} was changed after graphcert wrote it (its digest differs " \
        "from results.json.sha256); running it again" in messages


# ------------------------------------------------------------------------- file system
def test_report_in_a_read_only_directory_still_prints_the_table(tmp_path, capsys,
                                                                read_only):
    write_results(synthetic_results(), tmp_path)
    read_only(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "sparse_smooth" in captured.out and "written:" not in captured.out
    assert f"warning: {tmp_path} is not writable: results.csv and certified_accuracy.png " \
        "not redrawn" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json",
                                                          "results.json.sha256"]


def test_certify_into_a_read_only_directory_fails_before_work(tmp_path, capsys, no_work,
                                                              read_only):
    read_only(tmp_path)
    fails(capsys, ["certify", "--out", str(tmp_path)], f"output directory {tmp_path} is not "
          "writable")


def test_paths_beyond_the_file_system_limits_fail_before_work(tmp_path, capsys, no_work):
    fails(capsys, ["certify", "--out", str(tmp_path / ("n" * 300))], "is too long: a file name "
          "of 300 bytes, the file system allows 255")
    deep = tmp_path.joinpath(*["d" * 200] * 25)
    err = fails(capsys, ["certify", "--out", str(deep)], "is too long: a path of")
    assert len(err) < 400
    assert list(tmp_path.iterdir()) == []


def test_full_disk_ends_in_one_line_and_keeps_the_old_files(tmp_path):
    """``ulimit -f``: writing the plot fails with "File too large"; the old files stay."""
    write_results(synthetic_results(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    script = "import sys; from graphcert.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", script, "report", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, preexec_fn=limit,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: '{tmp_path / 'certified_accuracy.png'}': File "
                                    "too large")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()
            if p.name != "results.csv"} == before


def test_interrupt_prints_how_to_resume(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "load_graph", interrupted)
    assert main(["certify", "--dataset", "citeseer", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted, rerun to resume"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    from graphcert.utils.io import write_text
    old = os.umask(umask)
    try:
        write_results(synthetic_results(), tmp_path)
        assert main(["report", str(tmp_path)]) == 0
    finally:
        os.umask(old)
    for name in ("results.json", "results.json.sha256", "results.csv",
                 "certified_accuracy.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name
    (tmp_path / "results.csv").chmod(0o640)  # the user's choice survives a rewrite
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "results.csv").stat().st_mode & 0o777 == 0o640
    write_text(tmp_path / "results.csv", "x")
    assert (tmp_path / "results.csv").stat().st_mode & 0o777 == 0o640


def test_a_second_process_on_one_run_directory_stops(tmp_path, capsys, no_work):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; "
         "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
         "time.sleep(60)", str(tmp_path / LOCK_FILE)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        fails(capsys, ["certify", "--out", str(tmp_path)], f"another graphcert command is "
              f"writing into {tmp_path}", "wait for it to finish or give another --out")
        fails(capsys, ["train", "--out", str(tmp_path)], "another graphcert command")
    finally:
        holder.kill()
        holder.wait()
    from graphcert.run.rundir import locked
    with locked(tmp_path), locked(tmp_path):  # re-entrant within one process
        pass


# ------------------------------------------------------------------ the model's code
NET = textwrap.dedent("""
    import torch

    class Net(torch.nn.Module):
        def __init__(self, in_features, num_classes):
            super().__init__()
            self.lin = torch.nn.Linear(in_features, num_classes)

        def forward(self, x, edge_index):
            return {sign}self.lin(x)
""")


def test_editing_the_model_code_resamples_its_statistics(tmp_path, capsys, ogb_root,
                                                          monkeypatch):
    """The high-severity defect: `forward` edited to return -logits, rerun into the same
    directory. The old statistics must be set aside (with a warning) and the table must show
    the new code's smoothed accuracy next to its clean accuracy."""
    monkeypatch.setenv("GRAPHCERT_DATA", str(ogb_root))
    model, out = tmp_path / "net.py", tmp_path / "run"
    argv = ["certify", "--dataset", "ogbn-arxiv", "--model", f"{model}:Net", "--out", str(out),
            "--methods", "gaussian", "--n-clusters", "2", "--n-pre", "40", "--n-samples",
            "200", "--l2-step", "0.1", "--max-epochs", "150", "--lr", "0.02", "--quiet"]
    model.write_text(NET.format(sign=""))
    assert main(argv) == 0
    before = json.loads((out / "results.json").read_text())
    stats = out / before["methods"]["gaussian"]["samples"]["statistics"]
    saved = stats.read_bytes()
    assert main(argv) == 0  # the same code: everything reused
    assert stats.read_bytes() == saved and "warning" not in capsys.readouterr().err
    model.write_text(NET.format(sign="-"))
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"warning: statistics checkpoint {stats} not reused: it was sampled from another " \
        "model or data" in err
    assert stats.with_name(stats.stem + ".stale-1.npz").read_bytes() == saved
    after = json.loads((out / "results.json").read_text())
    clean = (before["clean_accuracy"]["targets"], after["clean_accuracy"]["targets"])
    smoothed = (before["methods"]["gaussian"]["accuracy"],
                after["methods"]["gaussian"]["accuracy"])
    assert clean[0] > 0.5 > clean[1] and smoothed[0] > 0.5 > smoothed[1], (clean, smoothed)


def test_full_disk_while_saving_a_model_names_the_file(tmp_path):
    """torch.save reports a short write in its own words; the model is serialized in memory,
    so the error is the file system's, naming model.pt, and nothing is left behind."""
    script = textwrap.dedent("""
        import resource, sys, torch
        from graphcert.tasks.graph.training import save_checkpoint
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            save_checkpoint(torch.nn.Linear(100, 100), sys.argv[1], training_key="k")
        except OSError as error:
            print(error.filename, error.strerror)
    """)
    path = tmp_path / "model.pt"
    result = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == f"{path} File too large", result.stderr
    assert list(tmp_path.iterdir()) == []


def _sigint_default() -> None:
    """Ctrl-C reaches the child even when the tests run as a background job: a shell starts
    those with SIGINT ignored, children inherit that, and Python then installs no handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_sampling_prints_how_to_resume(tmp_path):
    """A real SIGINT to `graphcert certify` while it samples: exit code 130, one line, and
    the chunks done so far are saved for the rerun."""
    out = tmp_path / "run"
    script = "import sys; from graphcert.cli import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", script, "certify", "--dataset", "citeseer", "--methods",
         "sparse_smooth", "--max-epochs", "1", "--n-samples", "1000000", "--chunk-size", "100",
         "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=_sigint_default)
    stats = out / "stats_isotropic_T0.npz"
    deadline = time.monotonic() + 300
    try:
        while not stats.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:  # a failing test never leaves a million-sample run behind
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130 and err.strip() == "interrupted, rerun to resume", err
    from graphcert.sampling.statistics import SmoothingStats
    assert len(SmoothingStats.load(stats).done) >= 1


@pytest.mark.parametrize("wrapped", [False, True])
def test_ctrl_c_inside_a_c_extension_is_still_an_interrupt(monkeypatch, capsys, wrapped):
    """numba's dispatcher reports a KeyboardInterrupt that lands inside it as a SystemError
    caused by it (seen in CI); the CLI still answers 130 and the resume line, not a trace."""
    import graphcert.cli as cli

    def interrupted(args, common):
        if not wrapped:
            raise KeyboardInterrupt
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError("returned a result with an exception set") from interrupt

    monkeypatch.setattr(cli, "cmd_certify", interrupted)
    assert cli.main(["certify", "--quiet"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted, rerun to resume"


def test_other_errors_keep_their_traceback(monkeypatch):
    """Only interrupts and bad input become one line: a bug still raises."""
    import graphcert.cli as cli

    def broken(args, common):
        raise SystemError("a bug")

    monkeypatch.setattr(cli, "cmd_certify", broken)
    with pytest.raises(SystemError, match="a bug"):
        cli.main(["certify", "--quiet"])

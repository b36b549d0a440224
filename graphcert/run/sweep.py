"""Sweeps over run configurations: each run resumable in its own directory, results collected
into one table of (accuracy, ACR) points and Pareto plots (LRS Fig. 5). Runs execute locally or
as tasks of a `graphcert.sampling.executors.RayExecutor`."""
from __future__ import annotations

import csv
import io
import itertools
from functools import partial
from pathlib import Path
from typing import Callable

from graphcert.run.config import RunConfig
from graphcert.run.pipeline import run_certification
from graphcert.run.reporting import plot_pareto, read_results
from graphcert.run.rundir import model_file_matches, prepare_run_dir, results_not_ours
from graphcert.utils.io import write_text

ATTACKS = ("deletions", "additions", "l2")
CONFIG_FIELDS = ("theta_minus_low", "theta_minus_high", "sigma_min", "sigma_max", "n_samples")
POINT_FIELDS = ["run", "method", "accuracy", "abstain_rate",
                *(f"acr_{attack}" for attack in ATTACKS), *CONFIG_FIELDS]


def result_points(name: str, results: dict) -> list[dict]:
    """One (accuracy, ACR) point per method of a run; collective ACR where it exists."""
    points = []
    config = results["config"]
    for method, entry in results["methods"].items():
        acr = {}
        for attack in ATTACKS:
            curve = entry["curves"].get(attack)
            acr[attack] = None if curve is None else curve["acr_collective"] \
                if curve["acr_collective"] is not None else curve["acr_naive"]
        points.append({"run": name, "method": method, "accuracy": entry["accuracy"],
                       "abstain_rate": entry["abstain_rate"],
                       **{f"acr_{attack}": acr[attack] for attack in ATTACKS},
                       **{key: config.get(key) for key in CONFIG_FIELDS}})
    return points


def run_sweep(runs: dict[str, RunConfig], out_dir: str | Path, *, progress: bool = True,
              log: Callable[[str], None] = print, executor=None) -> list[dict]:
    """Run (or resume) every configuration in `out_dir/<name>` and write the sweep's table
    (`sweep.csv`) and Pareto plots (`pareto_<attack>.png`) as results arrive.

    A run whose `results.json` holds the same configuration is not run again. With a
    `RayExecutor` the runs are Ray tasks (a cluster needs `out_dir` on a shared file system
    for the runs to resume); results come back in order either way.
    """
    out_dir = prepare_run_dir(Path(out_dir).resolve())  # Ray workers: no shared cwd
    names = list(runs)
    task = partial(run_one, out_dir=out_dir, progress=progress and executor is None,
                   log=log if executor is None else _quiet)
    outcomes = map(task, runs.items()) if executor is None else \
        executor.map(task, list(runs.items()))
    points = []
    for i, results in enumerate(outcomes):
        log(f"=== run {i + 1}/{len(runs)}: {names[i]} done")
        points += result_points(names[i], results)
        write_sweep(points, out_dir)
    return points


def run_one(item: tuple[str, RunConfig], out_dir: Path, progress: bool = False,
            log: Callable[[str], None] = print) -> dict:
    """Results of one sweep run: its `results.json` if complete for this configuration and
    the model file in its directory, else a (resumed) `run_certification` in `out_dir/<name>`. An
    unreadable or incomplete results.json is named in the log and the run is redone (the file
    is rewritten atomically at its end)."""
    name, config = item
    done = out_dir / name / "results.json"
    if done.exists():
        try:
            results = read_results(done)
        except ValueError as error:
            log(f"run {name}: {error}; running it again")
        else:
            if not _same_config(results["config"], config):
                log(f"run {name}: {done} holds another configuration; running it again")
            elif results_not_ours(done) is not None:
                log(f"run {name}: {results_not_ours(done)}; running it again")
            elif not model_file_matches(results, out_dir / name):
                log(f"run {name}: {done} was computed with another model file; running it "
                    "again")
            else:
                return results
    return run_certification(config, out_dir / name, progress=progress, log=log)


def _same_config(stored: dict, config: RunConfig) -> bool:
    """Whether a results.json configuration is `config`, read as the current schema reads it
    (earlier names of values, e.g. bounds 'binary', count as their current ones)."""
    try:
        return RunConfig.from_dict(stored).to_dict() == config.to_dict()
    except ValueError:  # a key or value this version no longer has
        return False


def expand_grid(base: dict, grid: dict[str, list],
                source: str = "sweep") -> dict[str, RunConfig]:
    """Named configurations of the cartesian product of `grid` values over `base` settings
    (e.g. ``{"sigma_max": [0.5, 1.0], "mc_seed": [0, 1]}``); names like ``sigma_max=0.5,...``.
    Every configuration is checked before any runs; errors name `source` and the run."""
    if not isinstance(base, dict) or not isinstance(grid, dict):
        raise ValueError(f"{source}: base and grid must be mappings")
    keys = list(grid)
    for key in keys:
        if not isinstance(grid[key], list) or not grid[key]:
            raise ValueError(f"{source}: grid values of {key!r} must be a non-empty list")
    runs = {}
    for values in itertools.product(*(grid[key] for key in keys)):
        name = ",".join(f"{k}={v}" for k, v in zip(keys, values, strict=True)) or "base"
        name = name.replace("/", "_")
        try:
            runs[name] = RunConfig.from_dict({**base, **dict(zip(keys, values, strict=True))})
        except ValueError as error:
            raise ValueError(f"{source}: run {name}: {error}") from None
    return runs


def _quiet(message: str) -> None:
    """Log of a run executing remotely: dropped (its results and files carry the outcome)."""


def write_sweep(points: list[dict], out_dir: Path) -> None:
    """The sweep table as CSV and the accuracy-vs-ACR Pareto plots (each file atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=POINT_FIELDS)
    writer.writeheader()
    writer.writerows(points)
    write_text(out_dir / "sweep.csv", table.getvalue())
    for attack in ATTACKS:
        present = [{**p, "acr": p[f"acr_{attack}"]} for p in points
                   if p[f"acr_{attack}"] is not None]
        if present:
            plot_pareto(present, out_dir / f"pareto_{attack}.png", attack)

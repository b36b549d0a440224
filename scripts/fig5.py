"""Reproduce LRS Fig. 5 (and Fig. 7 / App. B.1, Fig. 9) with sound certificates (issue 15).

For every theta_min in 0.10, 0.15, ..., 0.95 two runs, each resumable in its own directory
(`graphcert.run.sweep.run_one`):

* ``localized_theta<t>_seed<s>``: localized smoothing (5 METIS clusters, theta_plus 0.01,
  theta_minus from theta_min to 0.95 by affinity rank), naive and collective certificates,
  from variance-constrained base certificates (``localized``) and, on the same samples, from
  the exact localized certificate with Holm-corrected vote bounds (``localized_exact``);
* ``baselines_theta<t>_seed<s>``: isotropic S(x, 0.01, theta_min) with SparseSmooth (exact,
  Holm) and variance-constrained smoothing (Fig. 7b), with n_clusters times the localized
  run's samples per distribution, so both sides draw the same TOTAL number of noisy graphs
  (the papers' comparison; ``--per-distribution`` gives the baselines the per-cluster count).

Both runs of a point train the same model (APPNP trained at S(x, 0.01, theta_min), LRS §C.3);
the baseline run reuses the localized run's checkpoint. A few theta values are repeated with
more seeds (split, training and Monte Carlo seed together) to show the spread.

Beside each sound result the summary holds what the LRS reference code's formula would claim
on the same samples (`fig5_overclaim`, NOT a certificate). `summary.csv` (one row per run and
method, kept across code changes), `wall_time.json` per run (every session's wall time),
`tables.md` and the Pareto plots are rewritten as runs finish.

    python scripts/fig5.py --dataset citeseer --scale 0.2            # one fifth of the samples
    python scripts/fig5.py --dataset citeseer --theta-min 0.3 0.5    # a share of the work
    python scripts/fig5.py --dataset citeseer --report-only --figures docs
    python scripts/fig5.py --dataset citeseer --scale 0.2 --kinds localized \
        --baseline-summary docs/fig5_citeseer_summary.csv    # redo the localized runs only
"""
from __future__ import annotations

import argparse
import csv
import datetime
import fcntl
import hashlib
import json
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from fig5_claims import method_claims
from fig5_report import write_report

from graphcert.certificates.bounds import BOUNDS, RENAMED_BOUNDS
from graphcert.run.config import RunConfig
from graphcert.utils.io import atomic_write, write_bytes, write_json

PAPER_THETA_MINS = tuple(round(0.10 + 0.05 * i, 2) for i in range(18))
THETA_PLUS, THETA_MAX, N_CLUSTERS, ALPHA = 0.01, 0.95, 5, 0.01
# per cluster (the reference config's n_samples_eval, n_samples_pre_eval)
N_SAMPLES, N_PRE = 100_000, 1000
SPREAD_THETAS, SPREAD_SEEDS = (0.3, 0.5, 0.7), (0, 1, 2)
KINDS = {"localized": ["localized", "localized_exact"],
         "baselines": ["isotropic", "sparse_smooth"]}
DATASETS = ("citeseer", "cora_ml")
SUMMARY_FIELDS = [
    "dataset", "theta_min", "seed", "method", "run", "n_distributions", "n_samples", "n_pre",
    "statistics", "bounds", "score_temperature", "accuracy", "abstain_rate",
    "acr_deletions_naive", "acr_deletions_collective", "acr_additions_naive",
    "acr_additions_collective", "acr_is_lower_bound",
    "claimed_accuracy", "claimed_acr_deletions_naive", "claimed_acr_deletions_collective",
    "claimed_acr_additions_naive", "claimed_acr_additions_collective",
    "claimed_above_sound", "var_below_variance",
    "run_wall_s", "sampling_s", "certificates_s", "commit", "finished"]


def scaled(count: int, scale: float) -> int:
    """``count * scale`` rounded, at least 1."""
    if not scale > 0:
        raise ValueError(f"scale == {scale}, must be > 0")
    return max(1, round(count * scale))


def run_name(kind: str, theta: float, seed: int) -> str:
    return f"{kind}_theta{theta:.2f}_seed{seed}"


def sweep_points(thetas, spread_thetas=SPREAD_THETAS, seeds=SPREAD_SEEDS
                 ) -> list[tuple[float, int]]:
    """(theta_min, seed) pairs: seed 0 for every theta, the other seeds for the spread thetas
    that are among `thetas` (so a --theta-min share splits the seed runs too)."""
    chosen = [round(float(t), 2) for t in thetas]
    for t in chosen:
        if not 0 <= t <= THETA_MAX:
            raise ValueError(f"theta_min == {t}, must be in [0, {THETA_MAX}]")
    spread = {round(float(t), 2) for t in spread_thetas}
    return [(t, 0) for t in chosen] + [(t, s) for t in chosen if t in spread
                                       for s in seeds if s != 0]


def point_configs(dataset: str, theta: float, seed: int, *, scale: float = 1.0,
                  n_samples: int = N_SAMPLES, n_pre: int = N_PRE, equal_total: bool = True,
                  **settings) -> dict[str, RunConfig]:
    """The localized and the baseline run of one (theta_min, seed) point. `settings` are
    further RunConfig fields (bounds, score_temperature, max_deletions, ...)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset == {dataset!r}, must be one of {DATASETS}")
    per_cluster, pre = scaled(n_samples, scale), scaled(n_pre, scale)
    factor = N_CLUSTERS if equal_total else 1
    common = dict(dataset=dataset, model="appnp", targets="val", n_per_class=20,
                  n_clusters=N_CLUSTERS, theta_plus=THETA_PLUS, theta_minus_low=theta,
                  theta_minus_high=THETA_MAX, alpha=ALPHA, split_seed=seed, train_seed=seed,
                  mc_seed=seed, **settings)
    return {run_name("localized", theta, seed): RunConfig(
                methods=KINDS["localized"], n_samples=per_cluster, n_pre=pre, **common),
            run_name("baselines", theta, seed): RunConfig(
                methods=KINDS["baselines"], n_samples=factor * per_cluster, n_pre=factor * pre,
                **common)}


# ----------------------------------------------------------------------------- running
def share_model(source: Path, target: Path, source_config: RunConfig,
                target_config: RunConfig) -> bool:
    """Copy the trained model of `source` into `target` if both train the same way."""
    model = source / "model.pt"
    if (target / "model.pt").exists() or not model.exists() \
            or source_config.training_key() != target_config.training_key():
        return False
    target.mkdir(parents=True, exist_ok=True)
    write_bytes(target / "model.pt", model.read_bytes())
    return True


def record_session(run_dir: Path, started: str, seconds: float, completed: bool,
                   commit: str) -> float:
    """Append one session to `run_dir/wall_time.json`; returns the run's total wall time."""
    path = run_dir / "wall_time.json"
    record = json.loads(path.read_text()) if path.exists() else {"sessions": []}
    record["sessions"].append({"started": started, "seconds": round(seconds, 2),
                               "completed": completed, "commit": commit})
    record["total_s"] = round(sum(s["seconds"] for s in record["sessions"]), 2)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return record["total_s"]


def timed_run(name: str, config: RunConfig, out_dir: Path, *, progress: bool,
              commit: str) -> dict:
    """`run_one` (loads a finished run, else resumes it) with its wall time recorded in
    `wall_time.json` when it does work: when it rewrites results.json or fails."""
    from graphcert.run.sweep import run_one
    done = out_dir / name / "results.json"
    before = _state(done)
    started, clock, completed = _now(), time.perf_counter(), False
    try:
        results = run_one((name, config), out_dir, progress=progress)
        completed = True
        return results
    finally:
        if not completed or _state(done) != before:
            total = record_session(out_dir / name, started, time.perf_counter() - clock,
                                   completed, commit)
            print(f"{name}: {'done' if completed else 'interrupted'}, {total:.0f} s in all")


def _state(path: Path) -> tuple[int, int] | None:
    """(modification time, size) of a file, None if absent."""
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ----------------------------------------------------------------------------- claims
def run_claims(run_dir: Path, config: RunConfig, results: dict) -> dict:
    """What the reference formula claims for each method of a finished run, cached in
    `run_dir/claims.json` (keyed by the results' hash)."""
    key = hashlib.sha256((run_dir / "results.json").read_bytes()).hexdigest()
    path = run_dir / "claims.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("results_sha256") == key:
            return cached["methods"]
    claims = method_claims(run_dir, config, results)
    write_json(path, {"results_sha256": key, "methods": claims})
    return claims


# ----------------------------------------------------------------------------- summary
def summary_rows(dataset: str, theta: float, seed: int, name: str, results: dict,
                 claims: dict, wall: float | None, commit: str) -> list[dict]:
    """One summary row per method of a finished run."""
    rows = []
    config = results["config"]
    for method, entry in results["methods"].items():
        curves, claim = entry["curves"], claims.get(method, {})
        timings = results.get("timings", {})
        row = {"dataset": dataset, "theta_min": f"{theta:.2f}", "seed": seed,
               "method": method, "run": name,
               "n_distributions": entry["samples"]["n_distributions"],
               "n_samples": entry["samples"]["n_samples"], "n_pre": entry["samples"]["n_pre"],
               "statistics": entry["samples"]["statistics"],
               "bounds": RENAMED_BOUNDS.get(config["bounds"], config["bounds"]),
               "score_temperature": config["score_temperature"],
               "accuracy": entry["accuracy"], "abstain_rate": entry["abstain_rate"],
               "acr_is_lower_bound": any(c["acr_is_lower_bound"] for c in curves.values()),
               "claimed_accuracy": claim.get("accuracy"),
               "claimed_above_sound": claim.get("claimed_above_sound"),
               "var_below_variance": claim.get("var_below_variance"),
               "run_wall_s": wall, "sampling_s": timings.get(f"{method}_sampling"),
               "certificates_s": timings.get(f"{method}_certificates"), "commit": commit,
               "finished": _now()}
        for attack in ("deletions", "additions"):
            for kind in ("naive", "collective"):
                row[f"acr_{attack}_{kind}"] = curves[attack][f"acr_{kind}"]
                row[f"claimed_acr_{attack}_{kind}"] = claim.get(f"acr_{attack}_{kind}")
        rows.append(row)
    return rows


@contextmanager
def locked(path: Path):
    """An exclusive lock on `path.lock` (several --theta-min shares may share an --out)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seed_summary(path: Path, rows: list[dict]) -> int:
    """Add the `rows` (e.g. a stored summary's) whose (run, method) `path` lacks; a run redone
    later replaces them. Returns how many were added."""
    with locked(path):
        present = {(r["run"], r["method"]) for r in read_summary(path)}
        missing = [r for r in rows if (r["run"], r["method"]) not in present]
    if missing:
        merge_summary(path, missing)
    return len(missing)


def read_summary(path: Path) -> list[dict]:
    """The rows of a summary file; bounds stored under an earlier name (`RENAMED_BOUNDS`)
    read as their current name."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["bounds"] = RENAMED_BOUNDS.get(row["bounds"], row["bounds"])
    return rows


def merge_summary(path: Path, rows: list[dict]) -> list[dict]:
    """Replace the rows of the same (run, method) in `path`, keep every other row (results of
    earlier code versions stay until their run is redone); atomic write."""
    with locked(path):
        new = {(r["run"], r["method"]) for r in rows}
        kept = [r for r in read_summary(path) if (r["run"], r["method"]) not in new]
        merged = sorted(kept + [{k: r.get(k) for k in SUMMARY_FIELDS} for r in rows],
                        key=lambda r: (r["run"].split("_")[0], float(r["theta_min"]),
                                       int(r["seed"]), r["method"]))
        with atomic_write(path, "w") as out:
            writer = csv.DictWriter(out, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(merged)
    return merged


# ----------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="citeseer")
    parser.add_argument("--out", help="sweep directory (default runs/fig5/<dataset>)")
    parser.add_argument("--theta-min", type=float, nargs="+", default=list(PAPER_THETA_MINS),
                        help="the theta_min values to run (default: the papers' 18)")
    parser.add_argument("--spread-thetas", type=float, nargs="*", default=list(SPREAD_THETAS),
                        help="theta_min values repeated with --seeds")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SPREAD_SEEDS))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the papers' sample counts (0.2: one fifth)")
    parser.add_argument("--n-samples", type=int, default=N_SAMPLES,
                        help="certification samples per cluster before --scale")
    parser.add_argument("--n-pre", type=int, default=N_PRE,
                        help="prediction samples per cluster before --scale")
    parser.add_argument("--per-distribution", action="store_true",
                        help="baselines get the per-cluster counts instead of equal totals")
    parser.add_argument("--bounds", default="clopper_pearson", choices=BOUNDS)
    parser.add_argument("--score-temperature", type=float, default=0.0,
                        help="0 smooths one-hot predictions, 1 softmax scores (the papers)")
    parser.add_argument("--max-deletions", type=int, default=100)
    parser.add_argument("--max-additions", type=int, default=20)
    parser.add_argument("--relax", action="store_true", help="LP relaxation (the paper's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--report-only", action="store_true",
                        help="only rebuild tables and plots from summary.csv")
    parser.add_argument("--figures", help="also write the Pareto plots into this folder "
                        "as fig5_<dataset>_<attack>.png (e.g. docs)")
    parser.add_argument("--kinds", nargs="+", choices=tuple(KINDS), default=list(KINDS),
                        help="which runs of each point to do (default: both)")
    parser.add_argument("--baseline-summary",
                        help="a stored summary.csv (e.g. docs/fig5_<dataset>_summary.csv): "
                        "its rows of this dataset that summary.csv lacks are added first, so "
                        "the report compares against runs not redone here")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and stop")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def planned_runs(args: argparse.Namespace, kinds=None
                 ) -> list[tuple[float, int, str, RunConfig]]:
    """(theta, seed, name, config) for every run of the `kinds` (default ``args.kinds``),
    localized before baselines per point."""
    kinds = args.kinds if kinds is None else kinds
    settings = dict(bounds=args.bounds, score_temperature=args.score_temperature,
                    max_deletions=args.max_deletions, max_additions=args.max_additions,
                    relax=args.relax)
    return [(theta, seed, name, config)
            for theta, seed in sweep_points(args.theta_min, args.spread_thetas, args.seeds)
            for name, config in point_configs(
                args.dataset, theta, seed, scale=args.scale, n_samples=args.n_samples,
                n_pre=args.n_pre, equal_total=not args.per_distribution, **settings).items()
            if name.split("_")[0] in kinds]


def main(argv=None) -> None:
    args = parse_args(argv)
    out_dir = Path(args.out or f"runs/fig5/{args.dataset}").resolve()
    runs = planned_runs(args)
    if args.baseline_summary:
        stored = [r for r in read_summary(Path(args.baseline_summary))
                  if r["dataset"] == args.dataset]
        if not stored:
            raise SystemExit(f"--baseline-summary {args.baseline_summary}: no rows of "
                             f"dataset {args.dataset}")
        added = seed_summary(out_dir / "summary.csv", stored)
        print(f"{added} stored summary rows added from {args.baseline_summary}")
    if args.dry_run:
        for *_, name, config in runs:
            total = config.n_samples * (N_CLUSTERS if name.startswith("localized") else 1)
            print(f"{name:<30} {','.join(config.methods):<24} {config.n_samples:>8} per "
                  f"distribution, {total:>8} in all")
        return
    if not args.report_only:
        import torch
        torch.set_num_threads(args.threads)
        commit = git_commit()
        localized = {n: c for *_, n, c in planned_runs(args, ["localized"])}
        for theta, seed, name, config in runs:
            if name.startswith("baselines"):
                sibling = run_name("localized", theta, seed)
                share_model(out_dir / sibling, out_dir / name, localized[sibling], config)
            results = timed_run(name, config, out_dir, progress=not args.quiet, commit=commit)
            wall = out_dir / name / "wall_time.json"
            total = json.loads(wall.read_text())["total_s"] if wall.exists() else None
            claims = run_claims(out_dir / name, config, results)
            merge_summary(out_dir / "summary.csv", summary_rows(
                args.dataset, theta, seed, name, results, claims, total, commit))
            write_report(read_summary(out_dir / "summary.csv"), out_dir, args.dataset,
                         args.figures)
    rows = read_summary(out_dir / "summary.csv")
    if not rows:
        raise SystemExit(f"{out_dir / 'summary.csv'}: no results yet; run without "
                         "--report-only first")
    print(write_report(rows, out_dir, args.dataset, args.figures))


if __name__ == "__main__":
    main()

"""Scaling out from the command line: executor flags and `graphcert sweep`.

`add_executor_options` adds ``--executor local|ray``, ``--address`` and ``--num-cpus``;
`executor_from_args` builds the executor (ray is imported only for ``--executor ray``).
`register` adds ``graphcert sweep GRID.yaml``: a YAML mapping with ``base`` (run settings) and
``grid`` (lists of values; their cartesian product are the runs), e.g.

    base: {dataset: citeseer, methods: [localized], n_samples: 2000}
    grid: {theta_minus_high: [0.8, 0.9, 0.95], mc_seed: [0, 1]}
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

__all__ = ["add_executor_options", "executor_from_args", "register"]


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where Monte Carlo chunks / sweep runs execute (default local)")
    parser.add_argument("--address", help="Ray cluster to join (e.g. auto or "
                        "ray://HOST:10001); default: start a local Ray instance")
    parser.add_argument("--num-cpus", type=int, help="CPUs of a local Ray instance")


def executor_from_args(args: argparse.Namespace):
    from graphcert.sampling.executors import make_executor
    return make_executor(args.executor, args.address, args.num_cpus)


def cmd_sweep(args: argparse.Namespace) -> int:
    from graphcert.run.sweep import expand_grid, run_sweep
    spec = yaml.safe_load(args.grid.read_text()) or {}
    if not isinstance(spec, dict) or set(spec) - {"base", "grid"}:
        raise ValueError(f"{args.grid}: a sweep file is a mapping with keys base and grid")
    runs = expand_grid(spec.get("base") or {}, spec.get("grid") or {})
    out = args.out or Path("runs") / f"sweep-{args.grid.stem}"
    print(f"{len(runs)} runs into {out} ({args.executor} executor)")
    with executor_from_args(args) as executor:
        points = run_sweep(runs, out, progress=not args.quiet, executor=executor)
    for point in points:
        acr = {k: point[k] for k in point if k.startswith("acr_") and point[k] is not None}
        print(f"{point['run']:40s} {point['method']:13s} accuracy {point['accuracy']:.3f}  "
              + "  ".join(f"{k} {v:.3f}" for k, v in acr.items()))
    print(f"\ntable: {out / 'sweep.csv'}; plots: {out}/pareto_*.png", file=sys.stdout)
    return 0


def register(commands) -> None:
    """Add `graphcert sweep` to the CLI's subcommands."""
    sweep = commands.add_parser("sweep", help="run a grid of configurations (locally or on "
                                "Ray) into one table and Pareto plots")
    sweep.add_argument("grid", type=Path, help="YAML file with base settings and a grid")
    sweep.add_argument("--out", type=Path, help="sweep directory (default runs/sweep-NAME)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bars")
    sweep.add_argument("--threads", type=int, default=1, help="torch threads per run")
    add_executor_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

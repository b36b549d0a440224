"""`graphcert sweep GRID.yaml`: a grid of certification runs into one table and Pareto plots.

The grid file is a YAML mapping with ``base`` (run settings) and ``grid`` (lists of values;
their cartesian product are the runs), e.g.

    base: {dataset: citeseer, methods: [localized], n_samples: 2000}
    grid: {theta_minus_high: [0.8, 0.9, 0.95], mc_seed: [0, 1]}

The grid file is the positional argument or ``--config``; ``--seed`` sets the seeds of every
run that neither base nor grid sets. Every run's settings are checked before the first run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from graphcert.cli.options import CommonOptions, ExecutorOptions, add_config_flags
from graphcert.run.config import RunConfig
from graphcert.run.schema import add_flags, flag_values, read_yaml

__all__ = ["register"]


def cmd_sweep(args: argparse.Namespace, common: CommonOptions) -> int:
    if args.grid is not None and common.config is not None and args.grid != common.config:
        raise ValueError(f"two grid files given: {args.grid} and --config {common.config}")
    grid_file = args.grid or common.config
    if grid_file is None:
        raise ValueError("no grid file: give GRID.yaml (or --config GRID.yaml)")
    spec = read_yaml(grid_file)
    if set(spec) - {"base", "grid"}:
        raise ValueError(f"{grid_file}: a sweep file is a mapping with keys base and grid, "
                         f"got {sorted(spec)}")
    base, grid = spec.get("base") or {}, spec.get("grid") or {}
    if common.seed is not None and isinstance(base, dict):
        base = {**{name: common.seed for name in RunConfig.seed_fields}, **base}
    executor_options = ExecutorOptions.from_dict(flag_values(args, ExecutorOptions))
    from graphcert.run.sweep import expand_grid, run_sweep
    runs = expand_grid(base, grid, source=str(grid_file))
    out = common.out or Path("runs") / f"sweep-{grid_file.stem}"
    print(f"{len(runs)} runs into {out} ({executor_options.executor} executor)")
    with executor_options.make() as executor:
        points = run_sweep(runs, out, progress=not common.quiet, executor=executor)
    for point in points:
        acr = {k: point[k] for k in point if k.startswith("acr_") and point[k] is not None}
        print(f"{point['run']:40s} {point['method']:13s} accuracy {point['accuracy']:.3f}  "
              + "  ".join(f"{k} {v:.3f}" for k, v in acr.items()))
    print(f"\ntable: {out / 'sweep.csv'}; plots: {out}/pareto_*.png")
    return 0


def register(commands) -> None:
    """Add `graphcert sweep` to the CLI's subcommands.

    Args:
        commands (argparse._SubParsersAction): the subparsers of `build_parser`.
    """
    sweep = commands.add_parser("sweep", help="run a grid of configurations (locally or on "
                                "Ray) into one table and Pareto plots",
                                description=__doc__.split("\n\n")[0] + " --out defaults to "
                                "runs/sweep-NAME.")
    sweep.add_argument("grid", type=Path, nargs="?", help="YAML file with base settings and "
                       "a grid (or --config)")
    add_config_flags(sweep)
    add_flags(sweep, ExecutorOptions)
    sweep.set_defaults(func=cmd_sweep)

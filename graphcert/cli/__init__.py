"""`graphcert` command line: train, certify, report, the image demos and sweeps.

Flags are generated from the typed configuration schemas (`graphcert.run.schema`); every
command takes the common flags ``--config``, ``--out``, ``--seed``, ``--threads`` and
``--quiet`` (`graphcert.cli.options`). Parsing imports no torch: the commands import what
they run, so ``graphcert --help`` answers at once. Configurations are checked completely
before any data is loaded or any model trained; errors are one line on stderr, exit code 2.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from graphcert.cli.options import (
    CommonOptions,
    ExecutorOptions,
    add_config_flags,
    common_options,
    read_config,
)
from graphcert.run.config import RunConfig
from graphcert.run.schema import add_flags, flag_values
from graphcert.utils.validation import shown

__all__ = ["build_parser", "main"]


def _run_dir(common: CommonOptions, config: RunConfig) -> Path:
    """--out, or runs/DATASET-MODEL (with -THREAT_MODEL unless attributes: its models are
    trained on other noise). The configuration checked the dataset name and the model's
    class name, so the default stays inside runs/."""
    if common.out is not None:
        return common.out
    model = config.model.rpartition(":")[2]  # a user's class: its name
    threat = "" if config.threat_model == "attributes" else f"-{config.threat_model}"
    name = f"{config.dataset}-{model}{threat}"
    if Path(name).name != name or name.startswith("."):
        raise ValueError(f"run directory name {name!r} would leave runs/; give --out")
    return Path("runs") / name


def cmd_train(args: argparse.Namespace, common: CommonOptions) -> int:
    config = read_config(RunConfig, args, common)
    from graphcert.data.datasets import graph_split, load_graph
    from graphcert.run.pipeline import prepare_model
    from graphcert.run.rundir import locked, prepare_run_dir
    from graphcert.tasks.graph.training import accuracy
    run_dir = prepare_run_dir(_run_dir(common, config))
    with locked(run_dir):
        data = load_graph(config.dataset)
        idx_train, idx_val, idx_test = graph_split(data, config.n_per_class, config.split_seed)
        model = prepare_model(config, data, idx_train, idx_val, run_dir,
                              progress=not common.quiet)
    print(f"{config.dataset} / {config.model}: validation accuracy "
          f"{accuracy(model, data, idx_val):.3f}, test accuracy "
          f"{accuracy(model, data, idx_test):.3f} (model in {run_dir / 'model.pt'})")
    return 0


def cmd_certify(args: argparse.Namespace, common: CommonOptions) -> int:
    config = read_config(RunConfig, args, common)
    executor_options = ExecutorOptions.from_dict(flag_values(args, ExecutorOptions))
    from graphcert.run.pipeline import run_certification
    from graphcert.run.reporting import results_table, write_reports
    from graphcert.run.rundir import locked, prepare_run_dir
    run_dir = prepare_run_dir(_run_dir(common, config))
    with locked(run_dir), executor_options.make() as executor:
        results = run_certification(config, run_dir, progress=not common.quiet,
                                    executor=executor)
        written = write_reports(results, run_dir)
    print()
    print(results_table(results))
    print(f"\nresults: {run_dir / 'results.json'}, " + ", ".join(str(p) for p in written))
    return 0


def cmd_report(args: argparse.Namespace, common: CommonOptions) -> int:
    from graphcert.run.reporting import report
    if args.run_dir is not None and common.out is not None and args.run_dir != common.out:
        raise ValueError(f"two run directories given: {args.run_dir} and --out {common.out}")
    run_dir = args.run_dir or common.out
    if run_dir is None:  # the run directory certify uses for these settings
        run_dir = _run_dir(common, read_config(RunConfig, args, common))
    table, written = report(run_dir, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
    print(table)
    if written:
        print("\nwritten: " + ", ".join(str(p) for p in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `graphcert` argument parser with every subcommand.

    Returns:
        argparse.ArgumentParser: the parser; each subcommand sets ``func``.
    """
    parser = argparse.ArgumentParser(
        prog="graphcert", description="Collective robustness certificates for GNNs via "
        "localized randomized smoothing.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model (at the minimal noise level)",
                                description="Train a model; --out defaults to "
                                "runs/DATASET-MODEL (runs/DATASET-MODEL-THREAT_MODEL for the "
                                "structure threat models).")
    add_config_flags(train, RunConfig)
    train.set_defaults(func=cmd_train)
    certify = commands.add_parser("certify", help="train if needed, smooth, certify, report",
                                  description="Train if needed, smooth, certify and report; "
                                  "--out defaults to runs/DATASET-MODEL "
                                  "(runs/DATASET-MODEL-THREAT_MODEL for the structure threat "
                                  "models).")
    add_config_flags(certify, RunConfig)
    add_flags(certify, ExecutorOptions)
    certify.set_defaults(func=cmd_certify)
    report = commands.add_parser(
        "report", help="print the table and redraw the plots",
        description="Print a run's table and redraw its CSV and plot. The run directory is "
        "RUN_DIR, --out, or the one certify uses for --config / defaults.")
    report.add_argument("run_dir", type=Path, nargs="?", help="run directory")
    add_config_flags(report)
    report.set_defaults(func=cmd_report)
    from graphcert.cli.images import register
    register(commands)
    from graphcert.cli.sweep import register as register_sweep
    register_sweep(commands)
    return parser


class _WarningLines(logging.Handler):
    """Warnings of graphcert's layers (e.g. statistics set aside) as ``warning: ...`` lines
    on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the `graphcert` command line; errors become a message and an exit status.

    Args:
        argv (list[str], optional): the arguments; default ``sys.argv[1:]``.

    Returns:
        int: the exit status (0 on success, 130 when interrupted).
    """
    args = build_parser().parse_args(argv)
    logger = logging.getLogger("graphcert")
    if not any(isinstance(h, _WarningLines) for h in logger.handlers):
        logger.addHandler(_WarningLines(logging.WARNING))
    try:
        common = common_options(args)
        if args.command != "report":  # every other command runs torch
            import torch
            torch.set_num_threads(common.threads)
        return args.func(args, common)
    except (Exception, KeyboardInterrupt) as error:
        if _caused_by_interrupt(error):
            print("\ninterrupted, rerun to resume", file=sys.stderr)
            return 130
        return _report_error(error)


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether Ctrl-C raised `error`: C extensions (numba's dispatcher, for one) wrap a
    KeyboardInterrupt that arrives inside them in a SystemError whose cause it is."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def _report_error(error: BaseException) -> int:
    """One ``error: ...`` line for bad input (2) and file-system failures (1); anything
    else is a bug and keeps its traceback."""
    if isinstance(error, ValueError):  # DatasetError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    if isinstance(error, OSError):  # disk full, file too large, read-only file system, ...
        where = f"{shown(str(error.filename))}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    raise error


if __name__ == "__main__":
    sys.exit(main())

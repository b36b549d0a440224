"""`graphcert` command line: train, certify, report."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from graphcert.cli.sweep import add_executor_options, executor_from_args
from graphcert.run.config import BOUNDS, TARGETS, RunConfig
from graphcert.run.methods import METHODS


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    defaults = RunConfig()
    parser.add_argument("--config", type=Path, help="YAML file of run settings (flags win)")
    parser.add_argument("--out", type=Path, help="run directory (default runs/DATASET-MODEL)")
    parser.add_argument("--dataset", help="cora_ml, citeseer, an OGB name like ogbn-arxiv or "
                        "planted_categorical (synthetic, categorical attributes) "
                        f"(default {defaults.dataset})")
    parser.add_argument("--model", help=f"appnp or gcn (default {defaults.model})")
    parser.add_argument("--n-layers", type=int, help="GCN depth (the papers also use 6)")
    parser.add_argument("--methods", help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--targets", choices=TARGETS, help="certify validation or test nodes")
    parser.add_argument("--n-clusters", type=int)
    parser.add_argument("--theta-plus", type=float)
    parser.add_argument("--theta-minus-low", type=float,
                        help="deletion probability for the own cluster (and the baselines)")
    parser.add_argument("--theta-minus-high", type=float)
    parser.add_argument("--sigma-min", type=float,
                        help="gaussian method: noise level on the own cluster")
    parser.add_argument("--sigma-max", type=float,
                        help="gaussian method: noise level on the least connected cluster")
    parser.add_argument("--l2-step", type=float, help="gaussian method: l2 radius grid step")
    parser.add_argument("--keep", type=float, help="kary methods: probability of keeping an "
                        "attribute value (own cluster when localized)")
    parser.add_argument("--keep-far", type=float,
                        help="kary_localized: keep probability on the least connected cluster")
    parser.add_argument("--max-hamming", type=int,
                        help="kary methods: largest Hamming budget (changed attribute values)")
    parser.add_argument("--n-samples", type=int, help="Monte Carlo samples per distribution")
    parser.add_argument("--n-pre", type=int, help="pre-samples that fix each candidate class")
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--bounds", choices=BOUNDS)
    parser.add_argument("--score-temperature", type=float,
                        help="variance-constrained methods smooth softmax(logits / T); "
                        "0 = one-hot votes (default 0)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-deletions", type=int)
    parser.add_argument("--max-additions", type=int)
    parser.add_argument("--local-budget", type=int, help="changed bits allowed per node")
    parser.add_argument("--milp-bins", type=int, help="quantize radii into this many bins")
    parser.add_argument("--relax", action="store_true", default=None,
                        help="LP relaxation instead of the exact MILP")
    parser.add_argument("--max-epochs", type=int)
    parser.add_argument("--patience", type=int, help="early-stopping patience (epochs)")
    parser.add_argument("--no-train-noise", dest="train_noise", action="store_false",
                        default=None, help="train on clean attributes")
    parser.add_argument("--seed", type=int, help="seed for split, training and sampling")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the sampler runs in a second thread, "
                        "and more threads than free cores slow torch down severely)")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    overrides = {}
    for field in dataclasses.fields(RunConfig):
        value = getattr(args, field.name, None)
        if value is not None:
            overrides[field.name] = value
    if args.methods is not None:
        overrides["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.n_layers is not None:
        overrides["model_params"] = {"n_layers": args.n_layers}
    if args.seed is not None:
        overrides.update(split_seed=args.seed, train_seed=args.seed, mc_seed=args.seed)
    if args.config is not None:
        return RunConfig.from_yaml(args.config, **overrides)
    return RunConfig.from_dict(overrides)


def _run_dir(args: argparse.Namespace, config: RunConfig) -> Path:
    return args.out or Path("runs") / f"{config.dataset}-{config.model}"


def cmd_train(args: argparse.Namespace) -> int:
    from graphcert.data.datasets import graph_split, load_graph
    from graphcert.run.pipeline import prepare_model
    from graphcert.tasks.graph.training import accuracy
    config = config_from_args(args)
    run_dir = _run_dir(args, config)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = load_graph(config.dataset)
    idx_train, idx_val, idx_test = graph_split(data, config.n_per_class, config.split_seed)
    model = prepare_model(config, data, idx_train, idx_val, run_dir, progress=not args.quiet)
    print(f"{config.dataset} / {config.model}: validation accuracy "
          f"{accuracy(model, data, idx_val):.3f}, test accuracy "
          f"{accuracy(model, data, idx_test):.3f} (model in {run_dir / 'model.pt'})")
    return 0


def cmd_certify(args: argparse.Namespace) -> int:
    from graphcert.run.pipeline import certify
    from graphcert.run.reporting import results_table, write_reports
    config = config_from_args(args)
    run_dir = _run_dir(args, config)
    with executor_from_args(args) as executor:
        results = certify(config, run_dir, progress=not args.quiet, executor=executor)
    written = write_reports(results, run_dir)
    print()
    print(results_table(results))
    print(f"\nresults: {run_dir / 'results.json'}, " + ", ".join(str(p) for p in written))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from graphcert.run.reporting import results_table, write_reports
    path = args.run_dir / "results.json"
    if not path.exists():
        print(f"error: {path} not found; run `graphcert certify --out {args.run_dir}` first",
              file=sys.stderr)
        return 2
    results = json.loads(path.read_text())
    written = write_reports(results, args.run_dir)
    print(results_table(results))
    print("\nwritten: " + ", ".join(str(p) for p in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphcert", description="Collective robustness certificates for GNNs via "
        "localized randomized smoothing.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model (at the minimal noise level)")
    _add_run_options(train)
    train.set_defaults(func=cmd_train)
    certify = commands.add_parser("certify", help="train if needed, smooth, certify, report")
    _add_run_options(certify)
    add_executor_options(certify)
    certify.set_defaults(func=cmd_certify)
    report = commands.add_parser("report", help="print the table and redraw the plots")
    report.add_argument("run_dir", type=Path)
    report.set_defaults(func=cmd_report)
    from graphcert.cli.images import register
    register(commands)
    from graphcert.cli.sweep import register as register_scale
    register_scale(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch
        torch.set_num_threads(args.threads)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

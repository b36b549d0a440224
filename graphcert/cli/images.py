"""`graphcert segment`, `graphcert attribute` and `graphcert multimodal`: the image demos
(docs/theory.md §7).

Registered by `graphcert.cli.build_parser` through :func:`register`; flags come from the demo
configuration schemas (`graphcert.run.demos.configs`), plus the common flags.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from graphcert.cli.options import CommonOptions, add_config_flags, read_config
from graphcert.run.demos.configs import AttributeConfig, MultimodalConfig, SegmentConfig

__all__ = ["register"]


def _fmt(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, list):
        return " ".join(f"{v:.2f}" for v in value)
    return str(value)


def _print_table(rows: list[dict]) -> None:
    keys = list(rows[0])
    cells = [[_fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def _out(common: CommonOptions, name: str) -> Path:
    from graphcert.run.rundir import prepare_run_dir
    return prepare_run_dir(common.out or Path("runs") / name)


def _finish(results: dict, out: Path, config) -> int:
    from graphcert.utils.io import write_json
    write_json(out / "results.json", {"config": config.to_dict(), **results}, default=float)
    _print_table(results["table"])
    print(f"\nwritten: {out / 'results.json'} and PNGs in {out}")
    return 0


def cmd_segment(args: argparse.Namespace, common: CommonOptions) -> int:
    config = read_config(SegmentConfig, args, common)
    from graphcert.run.demos.segment import run
    out = _out(common, "segment")
    return _finish(run(config, out), out, config)


def cmd_attribute(args: argparse.Namespace, common: CommonOptions) -> int:
    config = read_config(AttributeConfig, args, common)
    from graphcert.run.demos.attribute import run
    out = _out(common, "attribute")
    results = run(config, out)
    print(f"certified radius R = sigma * Phi^-1(tau) = {results['radius']:.4f}; "
          "deletion: target-class probability after removing certified-1 pixels, K ascending")
    return _finish(results, out, config)


def cmd_multimodal(args: argparse.Namespace, common: CommonOptions) -> int:
    config = read_config(MultimodalConfig, args, common)
    from graphcert.run.demos.multimodal_run import run
    out = _out(common, "multimodal")
    results = run(config, out)
    print("smoothed by majority vote (no certificate); clean: base model on the full input, "
          "ablated: on one ablated input")
    _print_table(results["summary"])
    print(f"\ncertified region, certified pixel accuracy >= {config.region_level:g}: "
          f"largest r2 for r1 = {results['r'][0]}..{results['r'][-1]} (step {config.r_step})")
    for method, bounds in results["region"].items():
        print(f"  {method:6s} " + " ".join("-" if b is None else str(b) for b in bounds))
    print(f"\ncertified pixel accuracy, F-score, IoU (MMCert k = {results['k']}, "
          f"RA: randomized ablation, k = {sum(results['k'])} pooled)")
    return _finish(results, out, config)


def register(commands) -> None:
    """Add the image subcommands to the `graphcert` subparsers.

    Args:
        commands (argparse._SubParsersAction): the subparsers of `build_parser`.
    """
    for name, config_cls, func, text in (
            ("segment", SegmentConfig, cmd_segment, "train a tiny U-Net on synthetic shapes "
             "and certify it: localized (naive, collective) vs SegCertify* and center "
             "smoothing"),
            ("attribute", AttributeConfig, cmd_attribute, "certified attribution maps of a "
             "small CNN on sklearn digits"),
            ("multimodal", MultimodalConfig, cmd_multimodal, "MMCert on synthetic RGB + depth "
             "road scenes: certified segmentation over (r1, r2) modified pixels vs randomized "
             "ablation")):
        parser = commands.add_parser(name, help=text, description=f"{text[0].upper()}"
                                     f"{text[1:]}; --out defaults to runs/{name}.")
        add_config_flags(parser, config_cls)
        parser.set_defaults(func=func)

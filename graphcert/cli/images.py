"""`graphcert segment`, `graphcert attribute` and `graphcert multimodal`: the image demos
(SPEC §7).

Registered by `graphcert.cli.build_parser` through :func:`register`.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

import torch

__all__ = ["register"]


def _add_config(parser: argparse.ArgumentParser, config_cls) -> None:
    """One flag per dataclass field (tuples as comma-separated lists)."""
    for field in dataclasses.fields(config_cls):
        default = field.default
        flag = "--" + field.name.replace("_", "-")
        if isinstance(default, tuple):
            parser.add_argument(flag, default=",".join(map(str, default)),
                                help=f"comma-separated (default {','.join(map(str, default))})")
        else:
            parser.add_argument(flag, type=type(default), default=default,
                                help=f"default {default}")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (tiny models run fastest on 1)")


def _config(args: argparse.Namespace, config_cls):
    values = {}
    for field in dataclasses.fields(config_cls):
        value = getattr(args, field.name)
        if isinstance(field.default, tuple):
            kind = type(field.default[0])
            value = tuple(kind(v) for v in value.split(",") if v.strip())
        values[field.name] = value
    return config_cls(**values)


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
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))


def _finish(results: dict, out: Path) -> int:
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    _print_table(results["table"])
    print(f"\nwritten: {out / 'results.json'} and PNGs in {out}")
    return 0


def cmd_segment(args: argparse.Namespace) -> int:
    from graphcert.run.demos.segment import SegmentConfig, run
    torch.set_num_threads(args.threads)
    out = args.out or Path("runs") / "segment"
    return _finish(run(_config(args, SegmentConfig), out), out)


def cmd_attribute(args: argparse.Namespace) -> int:
    from graphcert.run.demos.attribute import AttributeConfig, run
    torch.set_num_threads(args.threads)
    out = args.out or Path("runs") / "attribute"
    results = run(_config(args, AttributeConfig), out)
    print(f"certified radius R = sigma * Phi^-1(tau) = {results['radius']:.4f}; "
          "deletion: target-class probability after removing certified-1 pixels, K ascending")
    return _finish(results, out)


def cmd_multimodal(args: argparse.Namespace) -> int:
    from graphcert.run.demos.multimodal_run import MultimodalConfig, run
    torch.set_num_threads(args.threads)
    out = args.out or Path("runs") / "multimodal"
    config = _config(args, MultimodalConfig)
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
    return _finish(results, out)


def register(commands) -> None:
    """Add the image subcommands to the `graphcert` subparsers."""
    from graphcert.run.demos.attribute import AttributeConfig
    from graphcert.run.demos.multimodal_run import MultimodalConfig
    from graphcert.run.demos.segment import SegmentConfig
    segment = commands.add_parser(
        "segment", help="train a tiny U-Net on synthetic shapes and certify it: localized "
        "(naive, collective) vs SegCertify* and center smoothing")
    _add_config(segment, SegmentConfig)
    segment.set_defaults(func=cmd_segment)
    attribute = commands.add_parser(
        "attribute", help="certified attribution maps of a small CNN on sklearn digits")
    _add_config(attribute, AttributeConfig)
    attribute.set_defaults(func=cmd_attribute)
    multimodal = commands.add_parser(
        "multimodal", help="MMCert on synthetic RGB + depth road scenes: certified "
        "segmentation over (r1, r2) modified pixels vs randomized ablation")
    _add_config(multimodal, MultimodalConfig)
    multimodal.set_defaults(func=cmd_multimodal)

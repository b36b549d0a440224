"""Lee et al.'s ImageNet l0 certificates in milliseconds (docs/theory.md §9): certified Hamming
radii for K = 256 at their noise levels, and the thresholds rho_r^{-1}(0.5) their reviewers asked
them to publish (the paper's region computation over all D = 150,528 coordinates took four days).

Lee et al. keep a pixel with probability alpha and otherwise draw one of the other 255 values;
graphcert's ``keep`` draws from all 256 values, so ``keep = 1 - 256 (1 - alpha) / 255``. Their
ImageNet runs use alpha = 0.1, ..., 0.5 (ImageNet_exp/main/eval_scripts in
github.com/guanghelee/neurips19-certificates-of-robustness). Prints Markdown tables:

    python scripts/kary_imagenet_table.py > table.md
"""
from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from graphcert.certificates import kary_hamming_radius, kary_hamming_thresholds

N_VALUES = 256


def keep_from_alpha(alpha: float, n_values: int = N_VALUES) -> float:
    """graphcert's keep for Lee et al.'s alpha = Pr[z_d = x_d]."""
    return 1.0 - n_values * (1.0 - alpha) / (n_values - 1)


def best_time(call, repeats: int) -> tuple[object, float]:
    """(result, fastest wall time in seconds over `repeats` calls)."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    return out, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, nargs="*", default=[0.1, 0.2, 0.3, 0.4, 0.5])
    parser.add_argument("--p-lower", type=float, nargs="*",
                        default=[0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    p = np.asarray(args.p_lower)

    print(f"Certified Hamming radius, K = {N_VALUES} (any D), by p_lower; the time is one call "
          f"for the whole row (best of {args.repeats}).\n")
    print("| alpha (Lee) | keep | " + " | ".join(f"{v:g}" for v in p) + " | time |")
    print("|---" * (p.size + 3) + "|")
    radii = {}
    for alpha in args.alpha:
        keep = keep_from_alpha(alpha)
        radius, seconds = best_time(partial(kary_hamming_radius, p, keep, N_VALUES), args.repeats)
        radii[alpha] = int(radius.max())
        print(f"| {alpha:g} | {keep:.6f} | " + " | ".join(str(r) for r in radius)
              + f" | {1e3 * seconds:.2f} ms |")

    print("\nThresholds p*(r) = rho_r^{-1}(0.5): radius r is certified iff p_lower > p*(r).\n")
    top = max(radii.values()) + 1
    print("| r | " + " | ".join(f"alpha = {a:g}" for a in args.alpha) + " |")
    print("|---" * (len(args.alpha) + 1) + "|")
    tables = {}
    for alpha in args.alpha:
        tables[alpha], seconds = best_time(
            partial(kary_hamming_thresholds, keep_from_alpha(alpha), N_VALUES, top), args.repeats)
    for r in range(top + 1):
        print(f"| {r} | " + " | ".join(f"{tables[a][r]:.15f}" for a in args.alpha) + " |")


if __name__ == "__main__":
    main()

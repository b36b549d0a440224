"""Time of `graphcert --help` and `graphcert COMMAND --help` (target: under 1.5 s each; the
parser imports no torch). Wall and CPU seconds of fresh processes, best of a few rounds.
Run from the repository root:

    python -m benchmarks.cli_help --rounds 5
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

COMMANDS = ([], ["certify"], ["segment"], ["sweep"], ["report"])


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one `python -m graphcert ARGV --help` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphcert", *argv, "--help"], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": os.getcwd()})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'command':24s} {'wall s (best)':>14s} {'cpu s (best)':>13s}")
    for argv in COMMANDS:
        times = [timed(argv) for _ in range(args.rounds)]
        print(f"{' '.join(['graphcert', *argv, '--help']):24s} "
              f"{min(t[0] for t in times):14.3f} {min(t[1] for t in times):13.3f}")


if __name__ == "__main__":
    main()

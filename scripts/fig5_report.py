"""Tables (markdown) and accuracy-vs-ACR Pareto plots of a fig5 sweep's `summary.csv`.

Sound results and the reference formula's claims (NOT certificates, `fig5_overclaim`) are
kept apart: claims are drawn hollow and listed in their own table.
"""
from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from graphcert.certificates.metrics import pareto_front
from graphcert.utils.io import write_figure, write_text

ATTACKS = ("deletions", "additions")
NAMES = {"localized": "localized", "sparse_smooth": "SparseSmooth",
         "isotropic": "isotropic VC"}
# (label, method, certificate kind, claimed?, style)
SERIES = (
    ("localized, collective", "localized", "collective", False, dict(color="C0", marker="o")),
    ("localized, naive", "localized", "naive", False, dict(color="C0", marker="x")),
    ("SparseSmooth", "sparse_smooth", "naive", False, dict(color="C1", marker="*")),
    ("isotropic VC", "isotropic", "naive", False, dict(color="C2", marker="+")),
    ("localized, collective: reference formula (not sound)", "localized", "collective", True,
     dict(color="C0", marker="o")),
    ("isotropic VC: reference formula (not sound)", "isotropic", "naive", True,
     dict(color="C2", marker="s")),
)


def _float(value) -> float | None:
    return None if value in (None, "", "None") else float(value)


def metric(row: dict, attack: str, kind: str, claimed: bool = False) -> float | None:
    """ACR of a summary row; ``kind`` collective falls back to naive where there is none."""
    prefix = "claimed_acr" if claimed else "acr"
    value = _float(row.get(f"{prefix}_{attack}_{kind}"))
    return _float(row.get(f"{prefix}_{attack}_naive")) if value is None else value


def _accuracy(row: dict, claimed: bool) -> float | None:
    return _float(row["claimed_accuracy" if claimed else "accuracy"])


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _by(rows: list[dict], method: str, seed: int = 0) -> dict[str, dict]:
    return {r["theta_min"]: r for r in rows if r["method"] == method and int(r["seed"]) == seed}


def _markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def sound_table(rows: list[dict]) -> str:
    """Seed 0: accuracy and ACR of every method per theta_min (sound certificates)."""
    loc, ss, iso = (_by(rows, m) for m in ("localized", "sparse_smooth", "isotropic"))
    header = ["theta_min", "localized acc", "ACR del naive / collective",
              "ACR add naive / collective", "SparseSmooth acc", "ACR del", "ACR add",
              "isotropic VC acc", "ACR del", "ACR add"]
    body = []
    for theta in sorted(set(loc) | set(ss) | set(iso), key=float):
        cells = [theta]
        if theta in loc:
            r = loc[theta]
            cells += [_cell(_accuracy(r, False), 3)] + [
                f"{_cell(metric(r, a, 'naive'))} / {_cell(metric(r, a, 'collective'))}"
                for a in ATTACKS]
        else:
            cells += ["-"] * 3
        for group in (ss, iso):
            r = group.get(theta)
            cells += ["-"] * 3 if r is None else [_cell(_accuracy(r, False), 3)] + [
                _cell(metric(r, a, "naive")) for a in ATTACKS]
        body.append(cells)
    return _markdown(header, body)


def pareto_table(rows: list[dict], attack: str) -> str:
    """Seed 0: each localized (collective) point against the best ACR a baseline reaches at
    an accuracy at least as high (any theta), the Pareto reading of the paper's Fig. 5."""
    header = ["theta_min", "localized acc", "ACR", "SparseSmooth: best ACR at >= acc (theta)",
              "localized / SparseSmooth", "isotropic VC: best ACR at >= acc (theta)"]
    baselines = [_by(rows, m) for m in ("sparse_smooth", "isotropic")]
    body = []
    for theta, r in sorted(_by(rows, "localized").items(), key=lambda kv: float(kv[0])):
        accuracy, acr = _accuracy(r, False), metric(r, attack, "collective")
        best = [best_at_accuracy(group, attack, accuracy) for group in baselines]
        ratio = "-" if best[0] is None or best[0][0] == 0 else f"{acr / best[0][0]:.2f}"
        body.append([theta, _cell(accuracy, 3), _cell(acr), _best_cell(best[0]), ratio,
                     _best_cell(best[1])])
    return _markdown(header, body)


def _best_cell(best: tuple[float, str] | None) -> str:
    return "none" if best is None else f"{_cell(best[0])} ({best[1]})"


def best_at_accuracy(group: dict[str, dict], attack: str,
                     accuracy: float) -> tuple[float, str] | None:
    """The largest naive ACR, and its theta, among `group`'s points with at least `accuracy`."""
    eligible = [(metric(r, attack, "naive"), theta) for theta, r in group.items()
                if _accuracy(r, False) >= accuracy - 1e-12]
    return max(eligible, key=lambda e: e[0]) if eligible else None


def claims_table(rows: list[dict]) -> str:
    """Seed 0: sound vs the reference formula's claims (collective where computed)."""
    header = ["theta_min", "method", "accuracy sound / claimed", "ACR del sound / claimed",
              "ACR add sound / claimed", "targets with claimed radius > sound"]
    body = []
    for method in ("localized", "isotropic", "sparse_smooth"):
        for theta, r in sorted(_by(rows, method).items(), key=lambda kv: float(kv[0])):
            kind = "collective" if method == "localized" else "naive"
            share = _float(r.get("claimed_above_sound"))
            body.append([theta, NAMES[method] + (" (no correction)" if method ==
                                                  "sparse_smooth" else ""),
                         f"{_cell(_accuracy(r, False), 3)} / {_cell(_accuracy(r, True), 3)}"]
                        + [f"{_cell(metric(r, a, kind))} / {_cell(metric(r, a, kind, True))}"
                           for a in ATTACKS] + ["-" if share is None else f"{share:.0%}"])
    return _markdown(header, body)


def spread_table(rows: list[dict]) -> str:
    """Mean ± standard deviation (min-max) over seeds, for thetas run with several seeds."""
    header = ["theta_min", "method", "seeds", "accuracy", "ACR del", "ACR add"]
    body = []
    for method in ("localized", "sparse_smooth", "isotropic"):
        kind = "collective" if method == "localized" else "naive"
        thetas = sorted({r["theta_min"] for r in rows if r["method"] == method}, key=float)
        for theta in thetas:
            mine = [r for r in rows if r["method"] == method and r["theta_min"] == theta]
            if len(mine) < 2:
                continue
            columns = [[_accuracy(r, False) for r in mine]] + [
                [metric(r, a, kind) for r in mine] for a in ATTACKS]
            body.append([theta, NAMES[method], str(len(mine))] + [_spread(c) for c in columns])
    return _markdown(header, body) if body else "(no theta_min run with several seeds yet)"


def _spread(values: list[float]) -> str:
    return (f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} "
            f"({min(values):.3f}-{max(values):.3f})")


def timing_table(rows: list[dict]) -> str:
    """Wall time of every run (all its sessions: training, sampling, certificates) and the
    throughput of each of its sampling passes (methods sharing a statistics file share one)."""
    header = ["run", "wall s", "methods", "samples drawn", "sampling s", "samples/s"]
    passes: dict[tuple, list[dict]] = {}
    for r in rows:
        passes.setdefault((r["run"], r.get("statistics") or r["method"]), []).append(r)
    body = []
    for (run, _), mine in sorted(passes.items(), key=lambda kv: (
            kv[0][0].split("_")[0], float(kv[1][0]["theta_min"]), int(kv[1][0]["seed"]))):
        r = mine[0]
        drawn = int(r["n_distributions"]) * (int(r["n_samples"]) + int(r["n_pre"]))
        sampling = _float(r.get("sampling_s"))
        body.append([run, _cell(_float(r["run_wall_s"]), 0),
                     " + ".join(NAMES[x["method"]] for x in mine), str(drawn),
                     _cell(sampling, 1), "-" if not sampling else f"{drawn / sampling:.0f}"])
    return _markdown(header, body)


def plot_pareto(rows: list[dict], attack: str, path: Path, title: str) -> None:
    """Accuracy vs ACR (seed 0); each series' Pareto front joined, dominated points faint."""
    figure, ax = plt.subplots(figsize=(5.6, 3.8))
    for label, method, kind, claimed, style in SERIES:
        points = [(_accuracy(r, claimed), metric(r, attack, kind, claimed))
                  for r in _by(rows, method).values()]
        points = [(a, m) for a, m in points if a is not None and m is not None]
        if not points:
            continue
        acc, acr = map(np.asarray, zip(*points, strict=True))
        front = pareto_front(acc, acr)
        faint = np.setdiff1d(np.arange(acc.size), front)
        color = style["color"]
        marks = dict(marker=style["marker"], **(dict(facecolors="none", edgecolors=color)
                                                 if claimed else dict(color=color)))
        ax.scatter(acc[faint], acr[faint], s=18, alpha=0.3, **marks)
        ax.scatter(acc[front], acr[front], s=22, label=label, **marks)
        ax.plot(acc[front], acr[front], linestyle="--" if claimed else "-", color=color,
                linewidth=0.8)
    ax.set_xlabel("accuracy (abstentions count as wrong)")
    ax.set_ylabel(f"ACR ({attack} of attribute bits)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    figure.tight_layout()
    write_figure(path, figure, dpi=90)
    plt.close(figure)


def write_report(rows: list[dict], out_dir: Path, dataset: str,
                 figures: str | None = None) -> str:
    """Write `tables.md` and `pareto_<attack>.png` into `out_dir` (and the plots as
    `fig5_<dataset>_<attack>.png` into `figures`); returns the tables."""
    scale = sorted({int(r["n_samples"]) for r in rows if r["method"] == "localized"})
    title = f"{dataset}, APPNP, {'/'.join(map(str, scale))} samples per cluster"
    text = "\n\n".join([f"## {title}", "### Sound certificates (seed 0)", sound_table(rows),
                        "### Pareto reading: deletions", pareto_table(rows, "deletions"),
                        "### Pareto reading: additions", pareto_table(rows, "additions"),
                        "### Sound vs the reference formula (NOT a certificate)",
                        claims_table(rows), "### Spread over seeds", spread_table(rows),
                        "### Wall time", timing_table(rows)]) + "\n"
    write_text(out_dir / "tables.md", text)
    for attack in ATTACKS:
        plot_pareto(rows, attack, out_dir / f"pareto_{attack}.png", title)
        if figures:
            Path(figures).mkdir(parents=True, exist_ok=True)
            plot_pareto(rows, attack, Path(figures) / f"fig5_{dataset}_{attack}.png", title)
    return text

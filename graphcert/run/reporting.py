"""Results table, CSV and plots of a certification run (docs/theory.md §6 metrics).

Every file is rendered in memory first and then replaced atomically (`graphcert.utils.io`),
so a report that fails leaves the existing files byte-identical. `read_results` checks a
results.json before anything is drawn from it.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import numbers
import os
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from graphcert.run.methods import METHODS
from graphcert.run.rundir import RESULTS_FILE, check_model_file, results_not_ours
from graphcert.utils.io import partial_writes, write_bytes, write_figure
from graphcert.utils.validation import shown

ATTACK_LABELS = {"deletions": "adversarial deletions (bits)",
                 "additions": "adversarial additions (bits)",
                 "edge_deletions": "adversarial edge deletions",
                 "edge_additions": "adversarial edge insertions", "l2": "l2 radius eps",
                 "hamming": "changed attribute values (Hamming)",
                 "nodes": "controlled nodes", "injection": "injected nodes (tau edges each)"}
#: attacks whose budgets are counts (all but the l2 radius)
INTEGER_ATTACKS = ("deletions", "additions", "edge_deletions", "edge_additions", "hamming",
                   "nodes", "injection")


_TOP = {"config": ("dataset", "model", "targets", "alpha"), "dataset": ("n_targets",),
        "clean_accuracy": ("targets", "test"), "methods": ()}
_ENTRY = ("accuracy", "abstain_rate", "curves")
_CURVE = ("budgets", "naive", "collective", "naive_ratio", "n_targets", "acr_naive",
          "acr_collective")


def read_results(path: str | Path) -> dict:
    """The results.json at `path`, checked to hold what the reports read; errors name the
    file, the missing or malformed key and how to rebuild it."""
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} not found; run `graphcert certify --out {path.parent}` "
                         "first") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); rerun `graphcert certify "
                         f"--out {path.parent}` to rebuild it") from None
    check_results(results, str(path))
    return results


def check_results(results, source: str = "results") -> None:
    """ValueError naming `source` and the first key the reports need but do not find, or
    whose value has the wrong type or lies outside its range (accuracies and rates in [0, 1],
    counts in [0, n_targets], budgets increasing, no NaN or infinity)."""
    def need(mapping, keys, where):
        if not isinstance(mapping, dict):
            raise ValueError(f"{source} is incomplete: {where or 'the file'} is not a mapping")
        for key in keys:
            if key not in mapping:
                raise ValueError(f"{source} is incomplete: {where or 'the top level'} has no "
                                 f"key {key!r}")

    def number(value, where, low=0.0, high=math.inf, allow_none=False):
        if allow_none and value is None:
            return
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool)):
            raise ValueError(f"{source} is malformed: {where} == {shown(value)}, expected a "
                             "number")
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{source} is malformed: {where} == {value!r}, expected a "
                             f"finite number in [{low:g}, {high:g}]")

    def count(value, where):
        if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise ValueError(f"{source} is malformed: {where} == {shown(value)}, expected a "
                             "positive integer")

    need(results, _TOP, "")
    for key, keys in _TOP.items():
        need(results[key], keys, key)
    for key in ("dataset", "model", "targets"):
        if not isinstance(results["config"][key], str):
            raise ValueError(f"{source} is malformed: config.{key} == "
                             f"{shown(results['config'][key])}, expected a string")
    number(results["config"]["alpha"], "config.alpha", high=1.0)
    count(results["dataset"]["n_targets"], "dataset.n_targets")
    for key in ("targets", "test"):
        number(results["clean_accuracy"][key], f"clean_accuracy.{key}", high=1.0,
               allow_none=True)  # None: the run trained no model of its own
    for method, entry in results["methods"].items():
        where = f"methods.{method}"
        need(entry, _ENTRY, where)
        for key in ("accuracy", "abstain_rate"):
            number(entry[key], f"{where}.{key}", high=1.0)
        need(entry["curves"], (), f"{where}.curves")
        if not entry["curves"]:
            raise ValueError(f"{source} is incomplete: {where}.curves is empty")
        for attack, curve in entry["curves"].items():
            _check_curve(curve, f"{where}.curves.{attack}", source, need, number, count)


def _check_curve(curve, at: str, source: str, need, number, count) -> None:
    """One certified-accuracy curve: budgets increasing from >= 0, every count in
    [0, n_targets], ACRs finite and >= 0."""
    need(curve, _CURVE, at)
    number(curve["acr_naive"], f"{at}.acr_naive")
    number(curve["acr_collective"], f"{at}.acr_collective", allow_none=True)
    count(curve["n_targets"], f"{at}.n_targets")
    lists = {"budgets": curve["budgets"], "naive": curve["naive"],
             "naive_ratio": curve["naive_ratio"]}
    if curve["collective"] is not None:
        lists["collective"] = curve["collective"]
    if not all(isinstance(v, list) and len(v) == len(curve["budgets"]) > 1
               for v in lists.values()):
        raise ValueError(f"{source} is malformed: {at} needs budgets, naive, naive_ratio "
                         "(and collective) as lists of numbers of one length >= 2")
    for name, values in lists.items():
        high = math.inf if name == "budgets" else curve["n_targets"]
        for i, value in enumerate(values):
            number(value, f"{at}.{name}[{i}]", high=high)
    budgets = curve["budgets"]
    if any(b >= c for b, c in itertools.pairwise(budgets)):
        raise ValueError(f"{source} is malformed: {at}.budgets must increase, got "
                         f"{shown(budgets)}")


def _share(value: float | None) -> str:
    """An accuracy for the table; "n/a" where the run has no model of its own (its methods
    trained theirs)."""
    return "n/a" if value is None else f"{value:.3f}"


def _label(method: str) -> str:
    """The registered method's label (a results.json may name a method no longer registered)."""
    return METHODS[method].label if method in METHODS else method


def _certified_accuracy(curve: dict, kind: str) -> list[float]:
    counts = curve[kind] if curve.get(kind) is not None else curve["naive"]
    return [c / curve["n_targets"] for c in counts]


#: table columns of each attack family on bits: (deletions curve, additions curve, column
#: prefix, flags that extend its budget grid)
_FAMILY_COLUMNS = (("deletions", "additions", "", "--max-deletions / --max-additions"),
                   ("edge_deletions", "edge_additions", "edge ",
                    "--max-edge-deletions / --max-edge-additions"))


def results_table(results: dict, probe_budgets: tuple[int, ...] = (1, 5, 10, 20)) -> str:
    """Plain-text table: accuracy, abstentions, ACR and certified accuracy at a few budgets,
    one block per attack family (attribute bits; edges, docs/theory.md §8; l2 radii; Hamming
    budgets; controlled and injected nodes, §14, §15)."""
    config = results["config"]
    title = (f"{config['dataset']} / {config['model']}: {results['dataset']['n_targets']} "
             f"{config['targets']} targets, clean accuracy "
             f"{_share(results['clean_accuracy']['targets'])} (targets) / "
             f"{_share(results['clean_accuracy']['test'])} (test), alpha = {config['alpha']}")
    table, cut_off = [title], {}
    for deletions, additions, prefix, flags in _FAMILY_COLUMNS:
        rows = [row for method, entry in results["methods"].items()
                if deletions in entry["curves"]
                for row in _budget_rows(method, entry, deletions, additions, probe_budgets)]
        if rows:
            header = ["method", "certificate", "accuracy", "abstain", f"ACR {prefix}del",
                      f"ACR {prefix}add"] + [f"{prefix}del={b}" for b in probe_budgets] + \
                [f"{prefix}add=1"]
            table.append(_aligned(header, rows))
        cut_off[flags] = rows
    l2_rows, hamming_rows, node_rows = [], [], {attack: [] for attack in NODE_PROBES}
    for method, entry in results["methods"].items():
        if "l2" in entry["curves"]:
            l2_rows += _l2_rows(method, entry)
        if "hamming" in entry["curves"]:
            hamming_rows += _hamming_rows(method, entry)
        for attack, probes in NODE_PROBES.items():
            if attack in entry["curves"]:
                node_rows[attack] += _attack_rows(method, entry, attack, list(probes), "-")
    if l2_rows:
        table.append(_attack_table(l2_rows, "ACR l2", [f"eps={e:g}" for e in L2_PROBES]))
    if hamming_rows:
        table.append(_attack_table(hamming_rows, "ACR hamming",
                                   [f"r={b}" for b in HAMMING_PROBES]))
    for attack, rows in node_rows.items():
        if rows:
            table.append(_attack_table(rows, f"ACR {attack}",
                                       [f"{attack}={b}" for b in NODE_PROBES[attack]]))
    cut_off[_FAMILY_COLUMNS[0][3]] = cut_off[_FAMILY_COLUMNS[0][3]] + l2_rows
    cut_off["--max-hamming"] = hamming_rows
    return "\n".join(table + _notes(results, cut_off))


def _budget_rows(method: str, entry: dict, deletions: str, additions: str,
                 probe_budgets: tuple[int, ...]) -> list[list[str]]:
    """Rows (naive, collective) of one method and one family of bit attacks: accuracy,
    abstentions, ACR and certified accuracy at the probe budgets."""
    curves = entry["curves"]
    kinds = ["naive"] + (["collective"] if curves[deletions]["collective"] is not None
                         else [])
    rows = []
    for kind in kinds:
        removed = _certified_accuracy(curves[deletions], kind)
        added = _certified_accuracy(curves[additions], kind)
        probe = [f"{removed[b]:.3f}" if b < len(removed) else "-" for b in probe_budgets]
        rows.append([method, kind, f"{entry['accuracy']:.3f}", f"{entry['abstain_rate']:.3f}",
                     _acr(curves[deletions], kind, ".2f"),
                     _acr(curves[additions], kind, ".2f"), *probe,
                     f"{added[1]:.3f}" if len(added) > 1 else "-"])
    return rows


def _aligned(header: list[str], rows: list[list[str]]) -> str:
    """Header, rule and rows in left-aligned columns."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _acr(curve: dict, kind: str, spec: str) -> str:
    """ACR cell; ``>=`` where the curve is cut off by the budget grid (still certified at
    the largest budget), so the ACR is a lower bound."""
    counts = curve[kind] if curve.get(kind) is not None else curve["naive"]
    return (">=" if counts[-1] > 0 else "") + format(curve[f"acr_{kind}"], spec)


def _notes(results: dict, cut_off: dict[str, list[list[str]]]) -> list[str]:
    """Lines under the table: lower-bound ACRs (`cut_off`: the flags that extend each budget
    grid, with the rows of that grid) and settings a method does not read."""
    notes = []
    flags = [flag for flag, rows in cut_off.items()
             if any(cell.startswith(">=") for row in rows for cell in row)]
    if flags:
        notes.append("note: >= marks an ACR cut off by the budget grid (still certified at "
                     f"the largest budget): a lower bound; raise {' / '.join(flags)} for the "
                     "exact value")
    for method, entry in results["methods"].items():
        ignored = entry.get("ignored_settings") or {}
        if ignored:
            settings = ", ".join(f"{key} = {shown(value)}" for key, value in ignored.items())
            notes.append(f"note: {method} ignores {settings} (not part of its certificate)")
    return notes


L2_PROBES = (0.25, 0.5, 1.0)
HAMMING_PROBES = (1, 2, 5, 10)
#: budgets shown per node-level attack: controlled nodes, injected nodes (docs/nodes.md)
NODE_PROBES = {"nodes": (1, 2, 3, 5), "injection": (5, 10, 20, 30)}


def _l2_rows(method: str, entry: dict) -> list[list[str]]:
    """Rows of a continuous-feature method: ACR and certified accuracy at a few l2 radii
    (the grids run from 0 until nothing is certified)."""
    step = entry["curves"]["l2"]["budgets"][1]
    return _attack_rows(method, entry, "l2", [round(e / step) for e in L2_PROBES], "0.000")


def _hamming_rows(method: str, entry: dict) -> list[list[str]]:
    """Rows of a categorical method: ACR and certified accuracy at a few Hamming budgets
    ("-" beyond the budget grid)."""
    return _attack_rows(method, entry, "hamming", list(HAMMING_PROBES), "-")


def _attack_rows(method: str, entry: dict, attack: str, probes: list[int],
                 beyond: str) -> list[list[str]]:
    """Rows of one attack: per certificate kind, ACR and the accuracy at grid points `probes`."""
    curve = entry["curves"][attack]
    rows = []
    for kind in ["naive"] + (["collective"] if curve["collective"] is not None else []):
        accuracy = _certified_accuracy(curve, kind)
        probe = [f"{accuracy[i]:.3f}" if i < len(accuracy) else beyond for i in probes]
        rows.append([method, kind, f"{entry['accuracy']:.3f}", f"{entry['abstain_rate']:.3f}",
                     _acr(curve, kind, ".3f"), *probe])
    return rows


def _attack_table(rows: list[list[str]], acr: str, probes: list[str]) -> str:
    return _aligned(["method", "certificate", "accuracy", "abstain", acr] + probes, rows)


def csv_text(results: dict) -> str:
    """One row per (method, attack, budget): certified accuracy and ratio, naive/collective."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "attack", "budget", "certified_accuracy_naive",
                     "certified_accuracy_collective", "certified_ratio_naive"])
    for method, entry in results["methods"].items():
        for attack, curve in entry["curves"].items():
            n = curve["n_targets"]
            for i, budget in enumerate(curve["budgets"]):
                collective = curve["collective"]
                writer.writerow([method, attack, budget, curve["naive"][i] / n,
                                 "" if collective is None else collective[i] / n,
                                 curve["naive_ratio"][i] / n])
    return buffer.getvalue()


def certified_accuracy_figure(results: dict) -> Figure:
    """Certified accuracy vs. budget (deletions, additions of bits or edges, l2 radius,
    Hamming budget) for every method."""
    attacks = [a for a in ATTACK_LABELS
               if any(a in entry["curves"] for entry in results["methods"].values())]
    figure = Figure(figsize=(5.5 * len(attacks), 4))
    axes = figure.subplots(1, len(attacks), squeeze=False)[0]
    for ax, attack in zip(axes, attacks, strict=True):
        last, step = 0.0, 1.0
        if attack in INTEGER_ATTACKS:  # budgets count bits, edges or values: integer ticks
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for i, (method, entry) in enumerate(results["methods"].items()):
            if attack not in entry["curves"]:
                continue
            curve = entry["curves"][attack]
            step = curve["budgets"][1] - curve["budgets"][0]
            for kind, style in (("naive", "--"), ("collective", "-")):
                if kind == "collective" and curve["collective"] is None:
                    continue
                accuracy = _certified_accuracy(curve, kind)
                # a budget certifies up to the next grid point: draw steps, not slopes
                ax.step(curve["budgets"], accuracy, style, where="post", color=f"C{i}",
                        label=f"{_label(method)}, {kind}")
                reached = [b for b, a in zip(curve["budgets"], accuracy, strict=True) if a > 0]
                last = max([last, *reached])
        ax.set_xlim(0, last + 2 * step)
        ax.set_xlabel(ATTACK_LABELS[attack])
        ax.set_ylabel("certified accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    config = results["config"]
    figure.suptitle(f"{config['dataset']} / {config['model']}")
    figure.tight_layout()
    return figure


def plot_pareto(points: list[dict], path: Path, attack: str = "deletions") -> None:
    """Accuracy vs. ACR scatter per method with each method's Pareto front (LRS Fig. 5)."""
    from graphcert.certificates.metrics import pareto_front
    figure = Figure(figsize=(6, 4.5))
    ax = figure.subplots()
    methods = sorted({p["method"] for p in points})
    for i, method in enumerate(methods):
        mine = [p for p in points if p["method"] == method]
        acc = [p["accuracy"] for p in mine]
        acr = [p["acr"] for p in mine]
        ax.scatter(acc, acr, color=f"C{i}", s=14, label=method, alpha=0.7)
        front = pareto_front(acc, acr)
        ax.plot([acc[j] for j in front], [acr[j] for j in front], color=f"C{i}")
    ax.set_xlabel("accuracy")
    ax.set_ylabel(f"ACR ({attack})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    write_figure(path, figure, dpi=120)


def report(run_dir: Path, warn: Callable[[str], None] = print) -> tuple[str, list[Path]]:
    """`graphcert report`: the table of `run_dir`'s results.json, and its CSV and plot
    redrawn. Nothing is written unless the results are complete, belong to the model file
    in `run_dir` and render; errors name the file. A results.json that graphcert did not
    write as it is (`graphcert.run.rundir.results_not_ours`) is named through `warn`; so is a
    directory the CSV and plot cannot be written into (the table is still returned, with no
    written paths)."""
    path = run_dir / RESULTS_FILE
    results = read_results(path)
    check_model_file(results, run_dir)
    foreign = results_not_ours(path)
    if foreign is not None:
        warn(f"{foreign}; its values are shown as they are")
    try:
        table = results_table(results)
        rendered = render_reports(results)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as error:
        raise ValueError(f"{path} is malformed ({type(error).__name__}: {error}); rerun "
                         f"`graphcert certify --out {run_dir}` to rebuild it") from None
    if not os.access(run_dir, os.W_OK | os.X_OK):
        warn(f"{run_dir} is not writable: results.csv and certified_accuracy.png not "
             "redrawn")
        return table, []
    return table, save_reports(rendered, run_dir)


def render_reports(results: dict) -> dict[str, bytes]:
    """The CSV and the plot of `results`, rendered in memory (file name -> bytes)."""
    png = io.BytesIO()
    certified_accuracy_figure(results).savefig(png, format="png", dpi=120)
    return {"results.csv": csv_text(results).encode("utf-8"),
            "certified_accuracy.png": png.getvalue()}


def save_reports(rendered: dict[str, bytes], run_dir: Path) -> list[Path]:
    """Replace the files of `render_reports` in `run_dir` (temporary files a killed report
    left are removed first); returns their paths."""
    paths = [run_dir / name for name in rendered]
    for leftover in (p for path in paths for p in partial_writes(path)):
        leftover.unlink()
    for path, data in zip(paths, rendered.values(), strict=True):
        write_bytes(path, data)
    return paths


def write_reports(results: dict, run_dir: Path) -> list[Path]:
    """CSV and plot next to results.json, both rendered before either file is replaced;
    returns the written paths."""
    return save_reports(render_reports(results), run_dir)

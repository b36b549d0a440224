"""Results table, CSV and plots of a certification run (SPEC §6 metrics)."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"localized": "localized smoothing (variance-constrained)",
          "isotropic": "isotropic (variance-constrained)",
          "sparse_smooth": "SparseSmooth (isotropic, exact)"}


def _certified_accuracy(curve: dict, kind: str) -> list[float]:
    counts = curve[kind] if curve.get(kind) is not None else curve["naive"]
    return [c / curve["n_targets"] for c in counts]


def results_table(results: dict, probe_budgets: tuple[int, ...] = (1, 5, 10, 20)) -> str:
    """Plain-text table: accuracy, abstentions, ACR and certified accuracy at a few budgets."""
    header = ["method", "certificate", "accuracy", "abstain", "ACR del", "ACR add"] + \
        [f"del={b}" for b in probe_budgets] + ["add=1"]
    rows = []
    for method, entry in results["methods"].items():
        curves = entry["curves"]
        kinds = ["naive"] + (["collective"] if curves["deletions"]["collective"] is not None
                             else [])
        for kind in kinds:
            deletions = _certified_accuracy(curves["deletions"], kind)
            additions = _certified_accuracy(curves["additions"], kind)
            probe = [f"{deletions[b]:.3f}" if b < len(deletions) else "-"
                     for b in probe_budgets]
            rows.append([method, kind, f"{entry['accuracy']:.3f}",
                         f"{entry['abstain_rate']:.3f}",
                         f"{curves['deletions'][f'acr_{kind}']:.2f}",
                         f"{curves['additions'][f'acr_{kind}']:.2f}", *probe,
                         f"{additions[1]:.3f}" if len(additions) > 1 else "-"])
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths))  # noqa: E731
    config = results["config"]
    title = (f"{config['dataset']} / {config['model']}: {results['dataset']['n_targets']} "
             f"{config['targets']} targets, clean accuracy "
             f"{results['clean_accuracy']['targets']:.3f}, alpha = {config['alpha']}")
    return "\n".join([title, line(header), line(["-" * w for w in widths])] +
                     [line(r) for r in rows])


def write_csv(results: dict, path: Path) -> None:
    """One row per (method, attack, budget): certified accuracy and ratio, naive/collective."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
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


def plot_certified_accuracy(results: dict, path: Path) -> None:
    """Certified accuracy vs. budget, deletions and additions, for every method."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, attack in zip(axes, ("deletions", "additions")):
        for i, (method, entry) in enumerate(results["methods"].items()):
            curve = entry["curves"][attack]
            color = f"C{i}"
            ax.plot(curve["budgets"], _certified_accuracy(curve, "naive"), "--", color=color,
                    label=f"{LABELS.get(method, method)}, naive")
            if curve["collective"] is not None:
                ax.plot(curve["budgets"], _certified_accuracy(curve, "collective"), "-",
                        color=color, label=f"{LABELS.get(method, method)}, collective")
        ax.set_xlabel(f"adversarial {attack} (bits)")
        ax.set_ylabel("certified accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    config = results["config"]
    figure.suptitle(f"{config['dataset']} / {config['model']}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_pareto(points: list[dict], path: Path, attack: str = "deletions") -> None:
    """Accuracy vs. ACR scatter per method with each method's Pareto front (LRS Fig. 5)."""
    from graphcert.metrics import pareto_front
    figure, ax = plt.subplots(figsize=(6, 4.5))
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
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_reports(results: dict, run_dir: Path) -> list[Path]:
    """CSV and plot next to results.json; returns the written paths."""
    csv_path, png_path = run_dir / "results.csv", run_dir / "certified_accuracy.png"
    write_csv(results, csv_path)
    plot_certified_accuracy(results, png_path)
    return [csv_path, png_path]

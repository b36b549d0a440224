"""Tables of docs/nodes.md from the JSON files of scripts/nodes_figures.py.

    python scripts/nodes_report.py results/nodes

Where a file keeps the per-target bounds, the certificates are recomputed with the current
code (naive and collective, docs/theory.md §14, §15); otherwise its stored counts are used.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from graphcert.certificates import hierarchical_certified, injection_certified
from graphcert.certificates._node_budget import (
    hierarchical_collective,
    injection_collective,
    receptive_fields,
)
from graphcert.data.datasets import load_graph

HOPS = {"gcn": 2, "gat": 2, "appnp": 10}


def budgets(record: dict, n_nodes: int) -> list[int]:
    """The run's budgets, and 5% of the graph's nodes injected (Lai et al. 2024's setting)."""
    extra = [round(0.05 * n_nodes)] if record["threat"] == "injection" else []
    return record["budgets"] + extra


def recompute(record: dict, edges: np.ndarray, n_nodes: int) -> tuple[list, list, float]:
    targets = np.asarray(record["targets"])
    correct = np.asarray(record["correct"], dtype=bool)
    p = np.asarray(record["p_lower"])[correct]
    fields = receptive_fields(edges, n_nodes, HOPS[record["model"]], targets[correct])
    noise, naive, collective = record["noise"], [], []
    start = time.perf_counter()
    for b in budgets(record, n_nodes):
        if record["threat"] == "nodes":
            args = (noise["p_select"], b, noise["theta_plus"], noise["theta_minus"], 0, b)
            naive.append(int(hierarchical_certified(p, *args).sum()))
            collective.append(hierarchical_collective(p, fields, *args,
                                                      time_limit=60).collective)
        else:
            args = (noise["p_node"], noise["p_edge"], b, record["tau"])
            naive.append(int(injection_certified(p, *args).sum()))
            collective.append(injection_collective(p, fields, *args, time_limit=60).collective)
    return naive, collective, time.perf_counter() - start


def main() -> None:
    graphs = {}
    rows = []
    for path in sorted(Path(sys.argv[1]).glob("*.json")):
        record = json.loads(path.read_text())
        if record["dataset"] not in graphs:
            data = load_graph(record["dataset"])
            graphs[record["dataset"]] = (data.edge_index.numpy(), data.num_nodes)
        naive, collective, cert_s = record["naive"], record["collective"], None
        if "p_lower" in record:
            naive, collective, cert_s = recompute(record, *graphs[record["dataset"]])
        n = record["n_targets"]
        noise = record["noise"]
        setting = (f"p={noise['p_select']}, θ+={noise['theta_plus']}, θ-={noise['theta_minus']}"
                   if record["threat"] == "nodes" else
                   f"p_n={noise['p_node']}, p_e={noise['p_edge']}, τ={record['tau']}")
        t = record["times"]
        wall = f"{t['train_s']:.0f} + {t['smooth_s']:.0f} + {cert_s or t['certify_s']:.0f}"
        shown = record["budgets"] if cert_s is None else budgets(record, graphs[
            record["dataset"]][1])
        for i, (b, a, c) in enumerate(zip(shown, naive, collective, strict=True)):
            head = (f"{record['dataset']} | {record['model']} | {setting}" if i == 0
                    else " | | ")
            rows.append(f"| {head} | {b} | {a / n:.3f} | {c / n:.3f} | "
                        f"{wall if i == 0 else ''} |")
    print("| dataset | model | noise | budget | naive | collective | "
          "train + smooth + certify (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

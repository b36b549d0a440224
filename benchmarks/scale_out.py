"""Scaling benchmark: localized smoothing on synthetic planted-partition graphs
(docs/theory.md §2-§5).

For each graph size and executor it measures the
noisy samples per second of `montecarlo.smooth`, the peak resident memory of the process
(each measurement runs in a fresh subprocess; for Ray this is the driver, which holds the
statistics, not the workers) and the time of the naive + collective
certificate sweep over deletions; it prints a table and the fitted growth exponent b of each
cost ~ N^b. Executors:

* ``serial``: one core; the local executor without the sampler thread (one worker's speed);
* ``local``: the default local executor (the sampler runs in a second thread);
* ``ray``: Ray tasks on ``--ray-cpus`` local workers (each with its sampler thread).

The Ray speed-up is reported against both local runs; its fraction of ideal is against
``serial``, i.e. against ``--ray-cpus`` times one worker. Example (about 30 minutes on 2 cores):

    python benchmarks/scale_out.py --json scaling.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from queue import Empty

import numpy as np
import torch

N_CLASSES, N_FEATURES, ONES_PER_NODE, DEGREE = 5, 1000, 15, 8


def planted_partition(n_nodes: int, seed: int = 0):
    """Undirected planted-partition graph (80% of edges inside a class) with sparse binary
    attributes (class-specific feature blocks plus noise); never dense. Returns
    (x sparse CSR tensor, edge_index, labels)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n_nodes)
    members = [np.flatnonzero(y == c) for c in range(N_CLASSES)]
    src = rng.integers(0, n_nodes, n_nodes * DEGREE // 2)
    inside = rng.random(src.size) < 0.8
    dst = rng.integers(0, n_nodes, src.size)
    for c in range(N_CLASSES):
        pick = inside & (y[src] == c)
        dst[pick] = rng.choice(members[c], pick.sum())
    keep = src != dst
    edges = np.unique(np.vstack([np.r_[src[keep], dst[keep]], np.r_[dst[keep], src[keep]]]),
                      axis=1)
    block = N_FEATURES // N_CLASSES
    own = rng.random((n_nodes, ONES_PER_NODE)) < 0.6
    cols = np.where(own, y[:, None] * block + rng.integers(0, block, own.shape),
                    rng.integers(0, N_FEATURES, own.shape))
    rows = np.repeat(np.arange(n_nodes), ONES_PER_NODE)
    keys = np.unique(rows * N_FEATURES + cols.ravel())
    crow = np.searchsorted(keys // N_FEATURES, np.arange(n_nodes + 1))
    x = torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(keys % N_FEATURES),
                                torch.ones(keys.size), (n_nodes, N_FEATURES))
    return x, torch.from_numpy(edges), y


def fit_exponent(sizes, costs) -> float:
    """Slope of log(cost) against log(N) (least squares)."""
    return float(np.polyfit(np.log(sizes), np.log(costs), 1)[0])


def measure(n_nodes: int, executor: str, args: dict) -> dict:
    """One benchmark point (run it in a fresh process for a meaningful peak memory)."""
    from gnn_models import APPNPNet, normalized_adjacency
    from graphcert.data.clustering import (
        affinity_ranks,
        cluster_affinity,
        metis_partition,
        noise_schedule,
    )
    from graphcert.noise.binary import LocalizedNoise
    from graphcert.sampling.engine import smooth
    from graphcert.sampling.executors import make_executor
    from graphcert.sampling.monte_carlo import MonteCarloConfig
    from graphcert.tasks.graph.binary import variance_constrained_result
    from graphcert.tasks.graph.surface import AttackSurface
    torch.set_num_threads(1)
    x, edge_index, y = planted_partition(n_nodes, seed=args["seed"])
    adjacency = normalized_adjacency(edge_index, n_nodes)
    torch.manual_seed(0)
    model = APPNPNet(N_FEATURES, N_CLASSES, hidden=32).eval()
    _fit(model, x, adjacency, torch.from_numpy(y), args["epochs"])
    labels = metis_partition(edge_index, n_nodes, args["clusters"])
    ranks = affinity_ranks(cluster_affinity(edge_index, labels, args["clusters"]))
    theta_minus = noise_schedule(ranks, 0.6, 0.95)
    theta_plus = np.full_like(theta_minus, 0.01)
    noise = LocalizedNoise(labels, theta_plus, theta_minus)
    config = MonteCarloConfig(args["n_samples"], args["n_pre"], args["chunk_size"],
                              args["batch_size"], args["n_bins"], seed=args["seed"])
    ray = executor == "ray"
    with make_executor("ray" if ray else "local", num_cpus=args["ray_cpus"] if ray else None) \
            as runner:
        list(runner.map(abs, range(2 * args["ray_cpus"])))  # worker start-up not timed
        started = time.perf_counter()
        stats = smooth(model, x, adjacency, noise, config, progress=False, executor=runner,
                       prefetch=executor != "serial")
        sampling = time.perf_counter() - started
    total = args["clusters"] * (args["n_samples"] + args["n_pre"])
    started = time.perf_counter()
    ones = _ones(x)
    surface = AttackSurface(N_FEATURES - ones, ones)
    result = variance_constrained_result(
        "localized", stats, y, np.arange(n_nodes), theta_plus, theta_minus, surface,
        alpha=0.01, max_deletions=args["max_deletions"], max_additions=0, milp_bins=64,
        relax=True)
    sweep = time.perf_counter() - started
    curve = result.curves["deletions"]
    return {"nodes": n_nodes, "executor": executor, "attribute_ones": int(x._nnz()),
            "workers": args["ray_cpus"] if executor == "ray" else 1,
            "samples_per_s": total / sampling, "sampling_s": sampling,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "sweep_s": sweep, "accuracy": result.accuracy,
            "certified_at_10": curve.collective[min(10, len(curve.collective) - 1)]
            / curve.n_targets}


def _ones(x) -> np.ndarray:
    return np.diff(x.crow_indices().numpy()).astype(np.int64)


def _fit(model, x, adjacency, y, epochs: int) -> None:
    """A few full-batch epochs (the benchmark measures certification, not accuracy)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x, adjacency), y).backward()
        optimizer.step()
    model.eval()


def _child(queue, n_nodes, executor, args) -> None:
    queue.put(measure(n_nodes, executor, args))


def run_isolated(n_nodes: int, executor: str, args: dict) -> dict:
    """`measure` in a fresh spawned process (peak memory of this point only)."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, n_nodes, executor, args))
    process.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"benchmark point N={n_nodes} ({executor}) failed with exit "
                                   f"code {process.exitcode}") from None
    process.join()
    return result


def table(rows: list[dict]) -> str:
    header = ["nodes", "executor", "attr ones", "samples/s", "sampling s", "peak MB",
              "sweep s", "acc", "cert@10"]
    lines = [[str(r["nodes"]), r["executor"], str(r["attribute_ones"]),
              f"{r['samples_per_s']:.1f}", f"{r['sampling_s']:.1f}", f"{r['peak_mb']:.0f}",
              f"{r['sweep_s']:.1f}", f"{r['accuracy']:.3f}", f"{r['certified_at_10']:.3f}"]
             for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=True)]
    fmt = lambda r: "  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True))  # noqa: E731
    out = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in lines]
    for executor in sorted({r["executor"] for r in rows}):
        mine = [r for r in rows if r["executor"] == executor]
        if len(mine) >= 2:
            n = [r["nodes"] for r in mine]
            out.append(f"{executor}: growth exponent in N: time per sample "
                       f"{fit_exponent(n, [1 / r['samples_per_s'] for r in mine]):.2f}, "
                       f"peak memory {fit_exponent(n, [r['peak_mb'] for r in mine]):.2f}, "
                       f"collective sweep {fit_exponent(n, [r['sweep_s'] for r in mine]):.2f}")
    rate = {(r["nodes"], r["executor"]): r["samples_per_s"] for r in rows}
    for r in rows:
        if r["executor"] != "ray":
            continue
        parts = [f"ray speed-up at N={r['nodes']} on {r['workers']} workers:"]
        if (r["nodes"], "serial") in rate:
            speedup = r["samples_per_s"] / rate[r["nodes"], "serial"]
            parts.append(f"{speedup:.2f}x over one core ({speedup / r['workers']:.2f} of "
                         "ideal; target >= 0.6),")
        if (r["nodes"], "local") in rate:
            parts.append(f"{r['samples_per_s'] / rate[r['nodes'], 'local']:.2f}x over the "
                         "default local executor")
        out.append(" ".join(parts).rstrip(","))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 100000, 300000])
    parser.add_argument("--executors", nargs="+", default=["serial", "local", "ray"],
                        choices=["serial", "local", "ray"])
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=400)
    parser.add_argument("--n-pre", type=int, default=40)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--n-bins", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-deletions", type=int, default=40)
    parser.add_argument("--ray-cpus", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows to this file")
    args = vars(parser.parse_args())
    rows = []
    for n_nodes in args["sizes"]:
        for executor in args["executors"]:
            rows.append(run_isolated(n_nodes, executor, args))
            print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if args["json"]:
        with open(args["json"], "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()

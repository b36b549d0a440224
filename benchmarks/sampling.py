"""Throughput of localized smoothing (docs/theory.md §2): noisy samples per second, on a CPU
or a GPU.

CPU (the default): APPNP (untrained: speed does not depend on the weights) on CiteSeer, METIS
clusters, theta_plus 0.01, theta_minus 0.5 to 0.95 by affinity rank. Clean forwards and
certification chunks (`run_chunk`: noise, forward, counting) are timed in interleaved rounds
of the same run, so load changes on the machine hit both alike; the noise overhead is
(chunk - clean) / clean in wall time. The same samples drawn and forwarded in one thread give
the CPU time of the work itself.

GPU (``--device cuda``): samples/s of the whole chunk (`run_chunk`: noise drawn on the device,
forward, counting) and of its parts, for CiteSeer APPNP (sparse binary noise), CiteSeer with
PyG's GAT (the generic disjoint-union contract, dense copies) and a synthetic graph of
ogbn-arxiv's size (169,343 nodes, 2.3M directed edges, 128 continuous features, Gaussian
noise, APPNP). ``--json PATH`` writes every figure. Run from the repository root:

    python -m benchmarks.sampling                                  # CPU, 1 thread
    python -m benchmarks.sampling --device cuda --json gpu.json    # GPU
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np
import torch

from gnn_models import get_model
from gnn_models.batching import BatchedCSR
from graphcert.data.datasets import load_graph
from graphcert.noise.binary import localized_sparse_noise
from graphcert.noise.csr import stacked_csr
from graphcert.noise.gaussian import GraphGaussian
from graphcert.noise.sparse_sampler import SAMPLER_THREADS
from graphcert.sampling.batching import BatchedModel
from graphcert.sampling.chunks import noisy_batches, run_chunk
from graphcert.sampling.devices import resolve_device, torch_generator
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.streams import MAIN, chunk_generator
from graphcert.utils.io import atomic_write

ARXIV_NODES, ARXIV_EDGES, ARXIV_FEATURES, ARXIV_CLASSES = 169_343, 2_315_598, 128, 40


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="copies per batch (default 32 on a CPU, 512 on a GPU)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="samples per measurement (default 4096 on a CPU, 40960 on a GPU)")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--theta-plus", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved CPU timing rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-arxiv", action="store_true",
                        help="GPU: leave out the ogbn-arxiv-sized graph")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    gpu = device.type != "cpu"
    batch = args.batch_size or (512 if gpu else 32)
    samples = args.n_samples or (40960 if gpu else 4096)
    figures = {"device": device_name(device), "torch": torch.__version__,
               "python": platform.python_version(), "threads": args.threads}
    data = load_graph(args.dataset)
    noise = localized_sparse_noise(data.edge_index, data.num_nodes, args.clusters,
                                   args.theta_plus, (0.5, 0.95), seed=args.seed)
    torch.manual_seed(args.seed)
    model = get_model("appnp", data.num_features, data.num_classes).eval()
    if not gpu:
        figures[args.dataset] = cpu_overhead(model, data, noise, batch, samples, args)
    else:
        name = f"{args.dataset}_appnp"
        figures[name] = device_throughput(model.to(device), data.x, data.edge_index, noise,
                                          batch, samples, device, name)
        gat = torch_geometric_gat(data).to(device).eval()
        figures[f"{args.dataset}_gat_union"] = device_throughput(
            gat, data.x, data.edge_index, noise, 64, max(256, samples // 40), device,
            f"{args.dataset}_gat_union")
        if not args.skip_arxiv:
            figures["arxiv_sized_appnp_gaussian"] = arxiv_sized(device, args.seed)
    if args.json:
        with atomic_write(args.json, "w") as out:
            json.dump(figures, out, indent=1)
    return figures


# ----------------------------------------------------------------------------- CPU
def cpu_overhead(model, data, noise, batch: int, samples: int, args) -> dict:
    """Clean forwards vs certification chunks (`run_chunk`) vs the same work in one thread.

    Each round times, back to back, `per_round` clean forward batches (clean copies through
    the same `BatchedModel` call as noisy ones), one main-phase chunk
    of as many samples (noise drawn by the sampler threads while the model runs, statistics
    included: what a certification run does) and the same samples drawn and forwarded one
    after the other in this thread (the work itself, split into noise and forward). The noise
    overhead is (chunk - clean) / clean in wall time; load changes hit all three alike.
    """
    n_nodes, n_features = data.x.shape
    graph = noise.prepare(data.x)
    per_round = max(1, math.ceil(samples / batch / args.rounds))
    forward = BatchedModel(model, data.edge_index, n_nodes)
    repeated = BatchedCSR.repeat(data.x, batch)  # clean copies, as the sampler hands them over
    clean = stacked_csr(repeated.crow, repeated.col, (batch * n_nodes, n_features))
    rng = chunk_generator(args.seed, "main")  # SFC64, as in a run
    wall = {"clean": [], "chunk": []}
    cpu = dict.fromkeys(["clean", "noise", "forward"], 0.0)
    nnz = []

    def sequential(cluster: int) -> None:
        start = time.process_time()
        for z in noisy_batches(noise, graph, cluster, [batch] * per_round, rng, prefetch=False):
            drawn = time.process_time()
            cpu["noise"] += drawn - start
            nnz.append(z._nnz() / batch)
            forward(z, batch)
            start = time.process_time()
            cpu["forward"] += start - drawn

    load_before = os.getloadavg()[0]
    with torch.no_grad():
        forward(clean, batch)  # warm-up
        chunk_seconds(model, graph, data.edge_index, noise, batch, batch, 0)
        for r in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(per_round):
                forward(clean, batch)
            wall["clean"].append(time.perf_counter() - start)
            cpu["clean"] += time.process_time() - start_cpu
            wall["chunk"].append(chunk_seconds(model, graph, data.edge_index, noise, batch,
                                               per_round * batch, r % args.clusters))
            sequential(r % args.clusters)
    done = args.rounds * per_round * batch
    total = {key: sum(times) for key, times in wall.items()}
    rate = {key: done / seconds for key, seconds in total.items()}
    overhead = (total["chunk"] - total["clean"]) / total["clean"]
    per_round_overhead = [(c - k) / k for c, k in zip(wall["chunk"], wall["clean"], strict=True)]
    work = (cpu["noise"] + cpu["forward"] - cpu["clean"]) / cpu["clean"]
    ms = lambda seconds: 1e3 * seconds / (args.rounds * per_round)  # noqa: E731
    print(f"{args.dataset}: N={n_nodes} D={n_features}, {args.clusters} clusters, theta_plus="
          f"{args.theta_plus}, theta_minus 0.5..0.95 by affinity rank; APPNP, batch {batch}, "
          f"{args.rounds} rounds of {per_round * batch} samples, torch threads {args.threads}, "
          f"{os.cpu_count()} cores, sampler threads {SAMPLER_THREADS} + the model's; "
          f"load avg {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"1-bits per copy: clean {graph_nnz(graph)}, noisy {np.mean(nnz):.0f} on average")
    print(f"clean forward          : {ms(total['clean']):6.1f} ms/batch {rate['clean']:7.0f} "
          f"samples/s")
    print(f"certification chunk    : {ms(total['chunk']):6.1f} ms/batch {rate['chunk']:7.0f} "
          f"samples/s  noise overhead {overhead:.2f}x (rounds: "
          f"{' '.join(f'{o:.2f}' for o in per_round_overhead)})")
    print(f"work, one thread (CPU) : noise {ms(cpu['noise']):.1f} ms/batch + noisy forward "
          f"{ms(cpu['forward']):.1f} ms/batch vs clean {ms(cpu['clean']):.1f} ms/batch: "
          f"{work:.2f}x a clean forward on top")
    print(f"SUMMARY {args.dataset} batch {batch}: certification {rate['chunk']:.0f} samples/s, "
          f"clean forward {rate['clean']:.0f}/s: noise overhead {overhead:.2f}x in wall time "
          f"(target <= 1x; rounds {min(per_round_overhead):.2f}-{max(per_round_overhead):.2f}x), "
          f"{work:.2f}x in CPU time")
    return {"samples_per_s_clean": rate["clean"], "samples_per_s_engine": rate["chunk"],
            "batch_size": batch, "samples": done, "overhead": overhead,
            "overhead_per_round": per_round_overhead, "overhead_cpu": work,
            "ms_per_batch": {key: ms(seconds) for key, seconds in total.items()},
            "cpu_ms_per_batch": {key: ms(seconds) for key, seconds in cpu.items()},
            "cores": os.cpu_count(), "sampler_threads": SAMPLER_THREADS}


def chunk_seconds(model, x, edge_index, noise, batch: int, samples: int,
                  output_cluster: int = 0, device: torch.device | None = None) -> float:
    """Wall seconds of one main-phase `run_chunk` of `samples` (sampling, forward, counting)."""
    config = MonteCarloConfig(n_samples=samples, n_pre=1, chunk_size=samples, batch_size=batch)
    candidates = np.zeros(len(noise.labels), dtype=np.int64)
    synchronize(device)
    start = time.perf_counter()
    run_chunk(model, x, edge_index, noise, config, output_cluster, 0, MAIN, candidates)
    synchronize(device)
    return time.perf_counter() - start


def graph_nnz(graph) -> int:
    return int(sum(len(ones) for ones in graph.ones))


# ----------------------------------------------------------------------------- GPU
def device_throughput(model, x, edge_index, noise, batch: int, samples: int,
                      device: torch.device, name: str) -> dict:
    """Samples/s of whole chunks and of their parts (noise alone, forward alone)."""
    x = noise.prepare(x)
    chunk_seconds(model, x, edge_index, noise, batch, batch, device=device)  # warm-up
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    engine = samples / chunk_seconds(model, x, edge_index, noise, batch, samples, device=device)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    prepared = x.to(device)
    generator = torch_generator(chunk_generator(0, "main", 0, 0), device)
    batches = max(2, samples // batch // 4)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(batches):
        z = noise.sample(prepared, 0, batch, generator)
    synchronize(device)
    sampling = batches * batch / (time.perf_counter() - start)
    forward = BatchedModel(model, edge_index, len(noise.labels))
    with torch.no_grad():
        forward(z, batch)
        synchronize(device)
        start = time.perf_counter()
        for _ in range(batches):
            forward(z, batch)
        synchronize(device)
    forwarding = batches * batch / (time.perf_counter() - start)
    figures = {"samples_per_s": engine, "samples_per_s_noise_only": sampling,
               "samples_per_s_forward_only": forwarding, "batch_size": batch,
               "samples": samples, "peak_memory_mib": peak,
               "batching": getattr(model, "batching", "union")}
    print(f"{name:28s}: {engine:9.0f} samples/s (noise alone {sampling:.0f}/s, forward alone "
          f"{forwarding:.0f}/s), batch {batch}, peak {peak or 0:.0f} MiB")
    return figures


def torch_geometric_gat(data) -> torch.nn.Module:
    """PyG's GAT (2 layers, hidden 64): a model the project never saw, batched as a union."""
    from torch_geometric.nn.models import GAT
    torch.manual_seed(0)
    return GAT(data.num_features, 64, 2, data.num_classes)


def arxiv_sized(device: torch.device, seed: int) -> dict:
    """A random graph of ogbn-arxiv's size with Gaussian noise on its continuous features."""
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, ARXIV_NODES, (2, ARXIV_EDGES // 2), generator=generator)
    pairs = pairs[:, pairs[0] != pairs[1]]
    edge_index = torch.cat([pairs, pairs.flip(0)], 1)
    x = torch.randn(ARXIV_NODES, ARXIV_FEATURES, generator=generator)
    labels = torch.randint(0, 5, (ARXIV_NODES,), generator=generator).numpy()
    ranks = np.abs(np.subtract.outer(np.arange(5), np.arange(5)))
    noise = GraphGaussian(labels, 0.25 + 0.75 * ranks / 4)
    torch.manual_seed(seed)
    model = get_model("appnp", ARXIV_FEATURES, ARXIV_CLASSES).to(device).eval()
    return device_throughput(model, x, edge_index, noise, 32, 640, device,
                             "arxiv_sized_appnp_gaussian")


def synchronize(device: torch.device | None) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


if __name__ == "__main__":
    main()

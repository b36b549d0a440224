"""Throughput of localized sparse smoothing (SPEC §2): noisy samples vs clean forward passes.

APPNP (untrained: speed does not depend on the weights) on a bundled graph, METIS clusters,
theta_plus fixed, theta_minus from 0.5 to 0.95 by affinity rank. Clean, noisy and prefetched
noisy batches are timed in interleaved rounds of the same run, so load changes on the machine
hit all three alike. CPU times (this process) are printed too: on a busy machine they show
the cost of the work itself. Run from the repository root:

    python -m benchmarks.sampling --batch-size 32 --n-samples 2048 --dataset citeseer
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

from gnn_models import get_model
from gnn_models.batching import BatchedCSR, normalized_adjacency
from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    noise_schedule,
)
from graphcert.data.datasets import load_graph
from graphcert.noise.binary import LocalizedNoise
from graphcert.sampling.chunks import noisy_batches, run_chunk
from graphcert.sampling.statistics import MonteCarloConfig
from graphcert.sampling.streams import MAIN


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-samples", type=int, default=2048, help="noisy samples per mode")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--theta-plus", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_graph(args.dataset)
    n_nodes, n_features = data.x.shape
    labels = metis_partition(data.edge_index, n_nodes, args.clusters)
    ranks = affinity_ranks(cluster_affinity(data.edge_index, labels, args.clusters))
    noise = LocalizedNoise(labels, noise_schedule(ranks, args.theta_plus, args.theta_plus),
                           noise_schedule(ranks, 0.5, 0.95))
    graph = noise.prepare(data.x)
    torch.manual_seed(args.seed)
    model = get_model("appnp", n_features, data.num_classes).eval()
    adjacency = normalized_adjacency(data.edge_index, n_nodes)  # models accept it, saves a sort
    batch = args.batch_size
    per_round = max(1, math.ceil(args.n_samples / batch / args.rounds))
    clean = BatchedCSR.repeat(data.x, batch)
    rng = np.random.default_rng(args.seed)
    times = dict.fromkeys(["clean", "sample", "forward", "prefetch"], 0.0)
    cpu = dict.fromkeys(["clean", "sample", "forward"], 0.0)
    nnz = []

    def noisy_round(prefetch: bool, round_index: int) -> None:
        cluster = round_index % args.clusters
        sizes = [batch] * per_round
        start, start_cpu = time.perf_counter(), time.process_time()
        for z in noisy_batches(noise, graph, cluster, sizes, rng, prefetch):
            if not prefetch:
                sampled, sampled_cpu = time.perf_counter(), time.process_time()
                times["sample"] += sampled - start
                cpu["sample"] += sampled_cpu - start_cpu
                nnz.append(z.nnz / batch)
            model(z, adjacency)
            if not prefetch:
                start, start_cpu = time.perf_counter(), time.process_time()
                times["forward"] += start - sampled
                cpu["forward"] += start_cpu - sampled_cpu
        if prefetch:
            times["prefetch"] += time.perf_counter() - start

    load_before = os.getloadavg()[0]
    with torch.no_grad():
        model(clean, adjacency)  # warm-up
        noisy_round(False, 0)
        times = dict.fromkeys(times, 0.0)
        cpu = dict.fromkeys(cpu, 0.0)
        nnz.clear()
        for r in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(per_round):
                model(clean, adjacency)
            times["clean"] += time.perf_counter() - start
            cpu["clean"] += time.process_time() - start_cpu
            noisy_round(False, r)
            noisy_round(True, r)
    samples = args.rounds * per_round * batch
    engine = engine_throughput(model, adjacency, noise, graph, batch, samples)
    load_after = os.getloadavg()[0]

    rate = {"clean": samples / times["clean"],
            "noisy": samples / (times["sample"] + times["forward"]),
            "prefetch": samples / times["prefetch"], "engine": engine}
    overhead = (times["sample"] + times["forward"] - times["clean"]) / times["clean"]
    overhead_prefetch = (times["prefetch"] - times["clean"]) / times["clean"]
    overhead_cpu = (cpu["sample"] + cpu["forward"] - cpu["clean"]) / cpu["clean"]
    ms = lambda key, table=times: 1e3 * table[key] / (args.rounds * per_round)  # noqa: E731
    print(f"{args.dataset}: N={n_nodes} D={n_features}, {args.clusters} clusters, theta_plus="
          f"{args.theta_plus}, theta_minus 0.5..0.95 by affinity rank; APPNP, batch {batch}, "
          f"{samples} samples per mode, torch threads {args.threads}, "
          f"load avg {load_before:.1f} -> {load_after:.1f}")
    print(f"1-bits per copy: clean {graph_nnz(graph)}, noisy {np.mean(nnz):.0f} on average")
    print(f"clean forward        : {ms('clean'):7.1f} ms/batch {rate['clean']:7.0f} samples/s")
    print(f"noisy sample+forward : {ms('sample'):7.1f} + {ms('forward'):.1f} ms/batch "
          f"{rate['noisy']:7.0f} samples/s  overhead {overhead:.2f}x")
    print(f"noisy, prefetching   : {ms('prefetch'):7.1f} ms/batch {rate['prefetch']:7.0f} "
          f"samples/s  overhead {overhead_prefetch:.2f}x")
    print(f"engine run_chunk     : {rate['engine']:7.0f} samples/s (statistics included)")
    print(f"CPU time per batch   : clean {ms('clean', cpu):.1f} ms, sample {ms('sample', cpu):.1f}"
          f" ms, noisy forward {ms('forward', cpu):.1f} ms -> "
          f"{samples / (cpu['sample'] + cpu['forward']):.0f} samples per CPU-second, "
          f"overhead {overhead_cpu:.2f}x")
    print(f"SUMMARY {args.dataset} batch {batch}: noisy {rate['noisy']:.0f} samples/s "
          f"(prefetch {rate['prefetch']:.0f}/s, engine {engine:.0f}/s), clean {rate['clean']:.0f}"
          f"/s, noise overhead {overhead:.2f}x (prefetch {overhead_prefetch:.2f}x); "
          f"targets >= 250 samples/s and <= 1x")
    return {**rate, "overhead": overhead, "overhead_prefetch": overhead_prefetch,
            "overhead_cpu": overhead_cpu}


def engine_throughput(model, adjacency, noise, graph, batch: int, samples: int) -> float:
    """Samples/s of one main-phase `run_chunk` (sampling, forward and statistics)."""
    config = MonteCarloConfig(n_samples=samples, n_pre=1, chunk_size=samples, batch_size=batch)
    candidates = np.zeros(graph.n_nodes, dtype=np.int64)
    start = time.perf_counter()
    run_chunk(model, graph, adjacency, noise, config, 0, 0, MAIN, candidates)
    return samples / (time.perf_counter() - start)


def graph_nnz(graph) -> int:
    return int(sum(len(ones) for ones in graph.ones))


if __name__ == "__main__":
    main()

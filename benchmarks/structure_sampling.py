"""Throughput of structure noise (docs/theory.md §8) next to attribute noise (docs/theory.md §2):
noisy graphs per second, sampling only and end to end with the model.

Four noises on a bundled graph, each drawing batches of noisy copies for one output cluster:
attribute noise (SparseSmooth's attribute setting), isotropic and localized structure noise
(graphcert's structure defaults; localized: p_minus from low to high by affinity rank) and
their product (attributes and structure at once). Per noise, two figures: sampling alone
(`noise.sample`), and end to end, one Monte Carlo chunk as `graphcert certify` runs it
(`graphcert.sampling.chunks.run_chunk`: the next batch drawn in a background thread while an
untrained APPNP, as fast as a trained one, classifies the current one; noisy graphs reach it
as disjoint unions whose normalized adjacency it builds once per batch). They are timed in
interleaved rounds, so load changes on the machine hit all of them alike; CPU times of this
process are printed too. Run from the repository root:

    python -m benchmarks.structure_sampling --dataset cora_ml --batch-size 32
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from gnn_models import get_model, normalized_adjacency
from graphcert.data.clustering import affinity_ranks, cluster_affinity, metis_partition
from graphcert.data.datasets import load_graph
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.structure import ProductNoise, StructureNoise, pair_schedule
from graphcert.sampling.chunks import run_chunk
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.streams import PRE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora_ml")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-graphs", type=int, default=1024,
                        help="noisy graphs per noise and round")
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--theta-plus", type=float, default=0.01)
    parser.add_argument("--theta-minus", type=float, default=0.6)
    parser.add_argument("--p-plus", type=float, default=0.001)
    parser.add_argument("--p-minus", type=float, default=0.4)
    parser.add_argument("--p-minus-high", type=float, default=0.9)
    parser.add_argument("--model", default="appnp", help="model of the end-to-end figures")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def noises(args: argparse.Namespace, data) -> dict:
    n_nodes = data.num_nodes
    labels = metis_partition(data.edge_index, n_nodes, args.clusters, seed=args.seed)
    ranks = affinity_ranks(cluster_affinity(data.edge_index, labels, args.clusters))
    attributes = LocalizedNoise.isotropic(n_nodes, args.theta_plus, args.theta_minus)
    isotropic = StructureNoise.isotropic(data.edge_index, n_nodes, args.p_plus, args.p_minus)
    localized = StructureNoise(data.edge_index, labels,
                               pair_schedule(ranks, args.p_plus, args.p_plus),
                               pair_schedule(ranks, args.p_minus, args.p_minus_high))
    return {"attributes": attributes, "structure (isotropic)": isotropic,
            "structure (localized)": localized, "attributes x structure": ProductNoise(
                attributes, StructureNoise.isotropic(data.edge_index, n_nodes, args.p_plus,
                                                     args.p_minus))}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    args = parse_args(argv)
    torch.set_num_threads(1)
    data = load_graph(args.dataset)
    timed = noises(args, data)
    prepared = {name: noise.prepare(data.x) for name, noise in timed.items()}
    model = get_model(args.model, data.x.shape[1], data.num_classes).eval()
    adjacency = normalized_adjacency(data.edge_index, data.num_nodes)
    batches = max(1, args.n_graphs // args.batch_size)
    chunk = MonteCarloConfig(n_samples=1, n_pre=batches * args.batch_size,
                             chunk_size=batches * args.batch_size, batch_size=args.batch_size,
                             n_bins=1, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    runs = {"sampling": lambda name: [timed[name].sample(prepared[name], 0, args.batch_size, rng)
                                      for _ in range(batches)],
            "end to end": lambda name: run_chunk(model, prepared[name], adjacency, timed[name],
                                                 chunk, 0, 0, PRE)}
    wall = {(kind, name): 0.0 for kind in runs for name in timed}
    cpu = dict(wall)
    for name, noise in timed.items():  # warm-up: pair blocks are indexed on first use
        noise.sample(prepared[name], 0, args.batch_size, rng)
    for _ in range(args.rounds):
        for kind, run in runs.items():
            for name in timed:
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                run(name)
                wall[kind, name] += time.perf_counter() - start_wall
                cpu[kind, name] += time.process_time() - start_cpu
    total = args.rounds * batches * args.batch_size
    print(f"{args.dataset}: {data.num_nodes} nodes, {data.edge_index.shape[1] // 2} edges, "
          f"{data.x.shape[1]} attributes; batches of {args.batch_size}, {total} graphs per noise "
          f"and figure; end to end with {args.model}")
    rates = {kind: {} for kind in runs}
    for kind in runs:
        for name in timed:
            rates[kind][name] = total / wall[kind, name]
            print(f"  {kind:10s} {name:24s} {rates[kind][name]:8.0f} graphs/s   "
                  f"({total / cpu[kind, name]:8.0f} per CPU second)")
    return rates


if __name__ == "__main__":
    main()

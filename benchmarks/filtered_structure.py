"""Throughput of heavy structure noise with a filtering base classifier (docs/theory.md §13):
noisy graphs per second, sampling only and end to end with the model.

Cora-ML's defaults are AuditVotes' insertion setting, p_plus 0.2 and p_minus 0.6: about
790,000 inserted pairs per copy. The base classifier is APPNP behind a cosine edge filter on
a learned `EdgeEmbedding` (keep pairs at >= 0.5, add those at >= 0.7), as in
`scripts/structure_table.py`. Two ways to run the same base classifier:

* "noise, then filter": `StructureNoise` draws every pair, the wrapper
  (`graphcert.tasks.graph.denoise.SimilarityFilter`) drops most of them inside the batch
  before message passing;
* "direct": `FilteredStructureNoise` draws only the pairs the filter keeps and the inner
  APPNP runs on them (the same law, tests/noise/test_pair_filter.py).

End to end is one Monte Carlo chunk as `graphcert certify` runs it (`run_chunk`, the next batch
drawn in a background thread). The slow path gets `--slow-graphs` graphs in batches of
`--slow-batch-size` (a batch of 32 unfiltered copies holds 25 million pairs). Run from the
repository root:

    python -m benchmarks.filtered_structure --dataset cora_ml
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from gnn_models import get_model
from graphcert.data.datasets import load_graph
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.chunks import run_chunk
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.sampling.streams import PRE
from graphcert.tasks.graph.denoise import similarity_filter
from graphcert.tasks.graph.edge_embedding import fit_edge_embedding


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora_ml")
    parser.add_argument("--model", default="appnp")
    parser.add_argument("--p-plus", type=float, default=0.2)
    parser.add_argument("--p-minus", type=float, default=0.6)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--always", type=float, default=0.7)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-graphs", type=int, default=1024, help="graphs per direct figure")
    parser.add_argument("--slow-graphs", type=int, default=16,
                        help="graphs per figure of the noise-then-filter path (0: skip it)")
    parser.add_argument("--slow-batch-size", type=int, default=4,
                        help="batch of the noise-then-filter path (millions of pairs per copy)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def timed(run) -> tuple[float, float]:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    torch.set_num_threads(1)
    data = load_graph(args.dataset)
    embedding = fit_edge_embedding(data.x, data.edge_index, seed=args.seed)
    model = similarity_filter(get_model(args.model, data.x.shape[1], data.num_classes),
                              args.threshold, "cosine", always=args.always,
                              num_nodes=data.num_nodes, embedding=embedding).eval()
    structure = StructureNoise.isotropic(data.edge_index, data.num_nodes, args.p_plus,
                                         args.p_minus)
    clock = time.perf_counter()
    inner, direct = model.direct(structure, data.x)
    setup = time.perf_counter() - clock
    rng = np.random.default_rng(args.seed)
    structure.sample(data.x, 0, 1, rng)  # warm-up: pair blocks are indexed on first use
    paths = {"noise, then filter": (model, structure, args.slow_graphs, args.slow_batch_size),
             "direct": (inner, direct, args.n_graphs, args.batch_size)}
    rates = {}
    print(f"{args.dataset}: {data.num_nodes} nodes, {data.edge_index.shape[1] // 2} edges; "
          f"p_plus {args.p_plus}, p_minus {args.p_minus}; filter kept pairs "
          f"{direct.kept_pairs} (found in {setup:.1f} s)")
    for name, (smoothed, noise, graphs, batch_size) in paths.items():
        if graphs == 0:
            continue
        batches = max(1, graphs // batch_size)
        total = batches * batch_size
        prepared = noise.prepare(data.x)
        chunk = MonteCarloConfig(n_samples=1, n_pre=total, chunk_size=total,
                                 batch_size=batch_size, n_bins=1, seed=args.seed)
        sampling = timed(lambda n=noise, p=prepared, b=batches, s=batch_size: [
            n.sample(p, 0, s, rng) for _ in range(b)])
        end_to_end = timed(lambda m=smoothed, n=noise, c=chunk: run_chunk(
            m, data.x, None, n, c, 0, 0, PRE))
        for kind, (wall, cpu) in (("sampling", sampling), ("end to end", end_to_end)):
            rates[f"{kind}, {name}"] = total / wall
            print(f"  {kind:10s} {name:20s} {total / wall:8.1f} graphs/s   "
                  f"({total / cpu:8.1f} per CPU second, {total} graphs, batches of "
                  f"{batch_size})", flush=True)
    return rates


if __name__ == "__main__":
    main()

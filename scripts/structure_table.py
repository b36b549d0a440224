"""Certified accuracy against edge insertions and deletions with denoising base classifiers:
the table of docs/structure.md ("Heavy structure noise with a filtering base classifier").

Rows per dataset and model (APPNP, GCN), noise p_plus 0.2, p_minus 0.6 (AuditVotes' insertion
setting), the test nodes of graphcert's split (20 training and 20 validation nodes per
class), SparseSmooth's certificate with Holm's correction over the targets, alpha 0.01:

* ``plain``: the model on the noisy graph (about a million inserted pairs per copy: far
  fewer samples fit, see ``--plain-samples``);
* ``filter``: the model behind a cosine edge filter on a learned `EdgeEmbedding` (keep pairs
  at >= 0.5, add the pairs at >= 0.7 to every copy), trained and smoothed with the direct
  sampler of the filtered law (docs/theory.md §13);
* ``filter-keep``: the same learned filter adding no pairs (it only drops noisy pairs below
  ``--threshold``), so that nothing of the clean graph enters a copy that the input graph
  did not bring;
* ``filter+abstain``: the ``filter`` classifier, copies abstaining below ``--confidence``
  (docs/theory.md §10);
* ``jaccard``: the model behind a raw Jaccard filter on the bag-of-words features (keep pairs
  at >= ``--jaccard-threshold``), to show what the learned similarity adds.

Resumable: every finished row is appended to ``<out>/rows.jsonl`` and skipped when the
script runs again; trained weights are kept in ``<out>``. Run from the repository root:

    python scripts/structure_table.py --datasets cora_ml citeseer --models appnp gcn
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from gnn_models import get_model
from graphcert.data.datasets import graph_split, load_graph
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.engine import smooth
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.binary import sparse_smooth_result
from graphcert.tasks.graph.denoise import abstain_below, similarity_filter
from graphcert.tasks.graph.edge_embedding import EdgeEmbedding, fit_edge_embedding
from graphcert.tasks.graph.training import train_model

VARIANTS = ("filter", "filter+abstain", "plain", "jaccard", "filter-keep")
ADDED, DELETED = (1, 5, 10, 20, 40), (1, 5, 10, 20)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["cora_ml", "citeseer"])
    parser.add_argument("--models", nargs="+", default=["appnp", "gcn"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--p-plus", type=float, default=0.2)
    parser.add_argument("--p-minus", type=float, default=0.6)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--always", type=float, default=0.7)
    parser.add_argument("--confidence", type=float, default=0.5)
    parser.add_argument("--jaccard-threshold", type=float, default=0.1)
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--n-pre", type=int, default=1000)
    parser.add_argument("--plain-samples", type=int, nargs=2, default=[32, 320],
                        metavar=("N_PRE", "N_SAMPLES"))
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=Path("runs/structure_table"))
    parser.add_argument("--markdown", action="store_true",
                        help="print the finished rows as the table of docs/structure.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = args.out / "rows.jsonl"
    finished = [json.loads(line) for line in rows.open()] if rows.exists() else []
    if args.markdown:
        order = ("plain", "jaccard", "filter-keep", "filter", "filter+abstain")
        finished.sort(key=lambda r: (args.datasets.index(r["dataset"]) if r["dataset"] in
                                     args.datasets else len(args.datasets), r["model"],
                                     order.index(r["variant"])))
        print("\n".join(markdown_row(row) for row in finished))
        return
    done = {(r["dataset"], r["model"], r["variant"]) for r in finished}
    for dataset in args.datasets:
        data = load_graph(dataset)
        idx_train, idx_val, targets = graph_split(data)
        structure = StructureNoise.isotropic(data.edge_index.numpy(), data.num_nodes,
                                             args.p_plus, args.p_minus)
        for name in args.models:
            for variant in args.variants:
                if (dataset, name, variant) in done:
                    continue
                row = run_row(args, data, structure, idx_train, idx_val, targets, name, variant)
                row.update(dataset=dataset, model=name, variant=variant)
                with rows.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


def run_row(args, data, structure, idx_train, idx_val, targets, name: str,
            variant: str) -> dict:
    started = time.perf_counter()
    timings = {}
    if variant == "plain":
        model = trained(args, data, structure, idx_train, idx_val, name, "plain", timings)
        noise, n_pre, n_samples = structure, *args.plain_samples
    else:
        kind = variant if variant in ("jaccard", "filter-keep") else "filter"
        model = trained(args, data, structure, idx_train, idx_val, name, kind, timings)
        model, noise = model.direct(structure, data.x)
        n_pre, n_samples = args.n_pre, args.n_samples
        if variant == "filter+abstain":
            model = abstain_below(model, args.confidence)
    model.eval()
    config = MonteCarloConfig(n_samples, n_pre, seed=0)
    clock = time.perf_counter()
    stats = smooth(model, data.x, data.edge_index, noise, config, progress=False)
    timings["smoothing_s"] = time.perf_counter() - clock
    result = sparse_smooth_result(stats, data.y.numpy(), targets, None, None, alpha=args.alpha,
                                  p_plus=args.p_plus, p_minus=args.p_minus,
                                  max_edge_deletions=max(DELETED),
                                  max_edge_additions=max(ADDED))
    added = result.curves["edge_additions"].accuracy("naive")
    deleted = result.curves["edge_deletions"].accuracy("naive")
    votes = stats.votes[targets].sum(1)
    return {"n_pre": n_pre, "n_samples": n_samples, "alpha": args.alpha,
            "p_plus": args.p_plus, "p_minus": args.p_minus, "n_targets": int(len(targets)),
            "clean_accuracy": result.accuracy,
            "added": {a: float(added[a]) for a in ADDED},
            "deleted": {d: float(deleted[d]) for d in DELETED},
            "abstained_copies": float(1 - votes.sum() / stats.n[targets].sum()),
            "kept_pairs": getattr(noise, "kept_pairs", None),
            "graphs_per_s": (n_pre + n_samples) / timings["smoothing_s"],
            **{k: round(v, 1) for k, v in timings.items()},
            "wall_s": round(time.perf_counter() - started, 1)}


def markdown_row(row: dict) -> str:
    """One line of the docs/structure.md table."""
    samples = "" if row["n_samples"] == 10000 else \
        f" ({row['n_pre']:,} + {row['n_samples']:,} samples)"
    cells = [row["dataset"], row["model"], row["variant"] + samples,
             f"{row['clean_accuracy']:.3f}", *(f"{v:.3f}" for v in row["added"].values()),
             *(f"{v:.3f}" for v in row["deleted"].values()), f"{row['wall_s'] / 60:.1f} min"]
    return "| " + " | ".join(cells) + " |"


def edge_embedding(args, data, timings: dict) -> EdgeEmbedding:
    path = args.out / f"{data.name}_embedding.pt"
    embedding = EdgeEmbedding(data.x.shape[1])
    if path.exists():
        embedding.load_state_dict(torch.load(path, weights_only=True))
        return embedding.eval()
    clock = time.perf_counter()
    embedding = fit_edge_embedding(data.x, data.edge_index)
    timings["embedding_s"] = time.perf_counter() - clock
    torch.save(embedding.state_dict(), path)
    return embedding


def trained(args, data, structure, idx_train, idx_val, name: str, kind: str,
            timings: dict) -> torch.nn.Module:
    """The model (`kind`: "plain", behind the learned "filter", the learned "filter-keep"
    that adds no pairs, or the raw "jaccard" one),
    trained under the noise it is certified with, or loaded from `args.out`."""
    embedding = edge_embedding(args, data, timings) if kind.startswith("filter") else None
    torch.manual_seed(0)
    model = get_model(name, data.x.shape[1], data.num_classes)
    noise = structure
    if kind.startswith("filter"):
        model = similarity_filter(model, args.threshold, "cosine",
                                  always=args.always if kind == "filter" else None,
                                  num_nodes=data.num_nodes, embedding=embedding)
    elif kind == "jaccard":
        model = similarity_filter(model, args.jaccard_threshold, "jaccard")
    if kind != "plain":
        noise = model.direct(structure, data.x)[1]
    path = args.out / f"{data.name}_{name}_{kind}.pt"
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model
    clock = time.perf_counter()
    epochs = (200, 20) if kind == "plain" else (1000, 50)
    result = train_model(model, data, idx_train, idx_val, structure=noise, max_epochs=epochs[0],
                         patience=epochs[1])
    timings["training_s"] = time.perf_counter() - clock
    print(f"trained {name} on {data.name} (validation accuracy {result.val_accuracy:.3f})",
          flush=True)
    torch.save(model.state_dict(), path)
    return model


if __name__ == "__main__":
    main()

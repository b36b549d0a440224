"""Shared fixtures: the bundled graphs, loaded once per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# One torch thread: the suite is timed for a 2-core machine and oversubscribed torch threads
# slow down by an order of magnitude.
torch.set_num_threads(1)

SHARED_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "GRAPHCERT_DATA_MIRROR" not in os.environ and SHARED_MIRROR.is_dir():
    os.environ["GRAPHCERT_DATA_MIRROR"] = str(SHARED_MIRROR)


DEVICES = [pytest.param("cpu"),
           pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                         reason="no CUDA device"))]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each device there is: the CPU always, CUDA where torch sees one."""
    return torch.device(request.param)


@pytest.fixture(scope="session")
def cora():
    from graphcert.data.datasets import load_graph
    return load_graph("cora_ml")


@pytest.fixture(scope="session")
def citeseer():
    from graphcert.data.datasets import load_graph
    return load_graph("citeseer")


def write_learnable_ogb(root, n_nodes: int = 240, n_classes: int = 4, seed: int = 0):
    """A small ogbn-arxiv-shaped graph in OGB's raw layout that a GNN can learn: features are
    class means plus noise, edges mostly inside a class; returns the folder's root."""
    import numpy as np

    from graphcert.data.ogb import dataset_folder, write_ogb_layout
    rng = np.random.default_rng(seed)
    y = np.arange(n_nodes) % n_classes
    x = (2.0 * np.eye(n_classes, 8)[y] + rng.normal(size=(n_nodes, 8))).astype(np.float32)
    src = rng.integers(0, n_nodes, 4 * n_nodes)
    same = rng.random(src.size) < 0.9
    dst = np.where(same, (src + n_classes * rng.integers(1, 5, src.size)) % n_nodes,
                   rng.integers(0, n_nodes, src.size))
    order = rng.permutation(n_nodes)
    split_idx = {"train": order[:n_nodes // 2], "valid": order[n_nodes // 2:3 * n_nodes // 4],
                 "test": order[3 * n_nodes // 4:]}
    write_ogb_layout(dataset_folder("ogbn-arxiv", root), "ogbn-arxiv", x,
                     np.vstack([src, dst]), y, split_idx,
                     node_year=rng.integers(2010, 2020, n_nodes))
    return root


@pytest.fixture(scope="session")
def ogb_root(tmp_path_factory):
    """Root of a learnable ogbn-arxiv miniature (see `write_learnable_ogb`)."""
    return write_learnable_ogb(tmp_path_factory.mktemp("ogb"))

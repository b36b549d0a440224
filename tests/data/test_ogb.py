"""OGB datasets: a miniature in OGB's on-disk layout loads through ogb's own code path."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest
import torch
from filelock import FileLock

from graphcert.data.datasets import graph_split, load_graph
from graphcert.data.files import DatasetError
from graphcert.data.ogb import dataset_folder, load_ogb_graph, write_ogb_layout

N, D, CLASSES = 50, 6, 40


def miniature(root, seed: int = 0):
    """An ogbn-arxiv-shaped graph (directed edges, a self loop, a duplicate) written to disk."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)).astype(np.float32)
    edges = np.vstack([np.arange(N), (np.arange(N) + 1) % N])  # a directed cycle
    edges = np.hstack([edges, [[0, 3], [3, 0]], [[5], [5]], edges[:, :2]])
    y = rng.integers(0, CLASSES, N)
    order = rng.permutation(N)
    split_idx = {"train": order[:25], "valid": order[25:40], "test": order[40:]}
    write_ogb_layout(dataset_folder("ogbn-arxiv", root), "ogbn-arxiv", x, edges, y, split_idx,
                     node_year=rng.integers(2010, 2020, N))
    return x, edges, y, split_idx


def test_miniature_round_trip(tmp_path, monkeypatch):
    x, edges, y, split_idx = miniature(tmp_path)
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("ogb prompted on stdin"))
    for _ in range(2):  # first load processes the raw files, the second reads the cache
        data = load_graph("ogbn-arxiv", root=tmp_path)
        assert data.name == "ogbn-arxiv" and data.num_classes == CLASSES
        assert data.x.dtype == torch.float32 and torch.equal(data.x, torch.from_numpy(x))
        assert data.y.dtype == torch.long and torch.equal(data.y, torch.from_numpy(y))
        expected = {(int(a), int(b)) for a, b in edges.T if a != b}
        expected |= {(b, a) for a, b in expected}
        assert data.edge_index.shape[1] == len(expected)
        assert set(map(tuple, data.edge_index.T.tolist())) == expected
        key = data.edge_index[0] * N + data.edge_index[1]
        assert torch.all(key[1:] > key[:-1])  # coalesced: sorted, no duplicates
        for name, idx in zip(("train", "valid", "test"), graph_split(data), strict=True):
            np.testing.assert_array_equal(idx, split_idx[name])
        assert torch.equal(torch.nonzero(data.val_mask).ravel(),
                           torch.from_numpy(np.sort(split_idx["valid"])))
    assert (tmp_path / "ogbn_arxiv" / "processed" / "geometric_data_processed.pt").exists()


def test_weights_only_stays_on_for_other_files(tmp_path):
    miniature(tmp_path)
    load_ogb_graph("ogbn-arxiv", root=tmp_path)
    from torch_geometric.data.data import DataEdgeAttr
    assert DataEdgeAttr not in torch.serialization.get_safe_globals()
    with pytest.raises(Exception, match="weights_only|Unsupported global"):
        torch.load(tmp_path / "ogbn_arxiv" / "processed" / "geometric_data_processed.pt")


def test_env_root(tmp_path, monkeypatch):
    miniature(tmp_path)
    monkeypatch.setenv("GRAPHCERT_DATA", str(tmp_path))
    assert load_graph("ogbn-arxiv").num_nodes == N


def test_mirror_copy(tmp_path, monkeypatch):
    miniature(tmp_path / "mirror")
    monkeypatch.setenv("GRAPHCERT_DATA_MIRROR", str(tmp_path / "mirror"))
    assert load_graph("ogbn-arxiv", root=tmp_path / "data").num_nodes == N
    assert (tmp_path / "data" / "ogbn_arxiv" / "RELEASE_v1.txt").exists()


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="supported: .*ogbn-arxiv"):
        load_graph("ogbn-nonsense", root=tmp_path)
    with pytest.raises(DatasetError, match="multiclass"):
        load_graph("ogbn-proteins", root=tmp_path)
    monkeypatch.delenv("GRAPHCERT_DATA_MIRROR", raising=False)
    with pytest.raises(DatasetError, match="PygNodePropPredDataset"):
        load_ogb_graph("ogbn-arxiv", root=tmp_path, download=False)
    miniature(tmp_path)
    (tmp_path / "ogbn_arxiv" / "RELEASE_v1.txt").unlink()
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("ogb prompted on stdin"))
    with pytest.raises(DatasetError, match="RELEASE_v1.txt"):
        load_graph("ogbn-arxiv", root=tmp_path)
    with pytest.raises(ValueError, match="node_year"):
        write_ogb_layout(tmp_path / "x", "ogbn-arxiv", np.zeros((2, 1)), np.zeros((2, 0)),
                         np.zeros(2), {"train": [0], "valid": [1], "test": []})


def _load_in_child(root, start, results):
    from ogb.nodeproppred import PygNodePropPredDataset  # noqa: F401 (slow first import)
    start.wait()  # start together, so the processes race for the raw files
    try:
        results.put(load_ogb_graph("ogbn-arxiv", root=root).num_nodes)
    except Exception as error:  # reported to the parent, which fails the test
        results.put(repr(error))


def test_concurrent_first_loads(tmp_path):
    """Runs of a sweep load the dataset at once. Without the lock one process read another's
    half-written processed file, and this test failed 1 run in 3 (the next test checks the
    lock deterministically). Spawned, not forked: the test process may run Ray's threads."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    starts = [context.Barrier(3) for _ in range(2)]  # kept alive until the children start
    children = []
    for trial, start in enumerate(starts):
        miniature(tmp_path / str(trial), seed=trial)
        children += [context.Process(target=_load_in_child,
                                     args=(tmp_path / str(trial), start, results))
                     for _ in range(3)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=300) for _ in children]
    for child in children:
        child.join()
    assert outcomes == [N] * len(children)


def test_load_waits_for_the_folder_lock(tmp_path):
    miniature(tmp_path)
    done = threading.Event()
    with FileLock(tmp_path / "ogbn_arxiv.lock"):  # another process is processing the files
        loader = threading.Thread(target=lambda: (load_ogb_graph("ogbn-arxiv", root=tmp_path),
                                                  done.set()))
        loader.start()
        assert not done.wait(1.0)
        assert not (tmp_path / "ogbn_arxiv" / "processed").exists()
    loader.join(60)
    assert done.is_set()


def test_truncated_processed_file(tmp_path, monkeypatch):
    miniature(tmp_path)
    load_ogb_graph("ogbn-arxiv", root=tmp_path)
    processed = tmp_path / "ogbn_arxiv" / "processed" / "geometric_data_processed.pt"
    monkeypatch.setattr("builtins.input", lambda *a: pytest.fail("ogb prompted on stdin"))
    for size in (0, processed.stat().st_size // 2):  # EOFError, then a zip reader error
        processed.write_bytes(processed.read_bytes()[:size])
        with pytest.raises(DatasetError, match="delete .*processed to process the raw files"):
            load_ogb_graph("ogbn-arxiv", root=tmp_path)


def test_interrupted_mirror_copy_is_redone(tmp_path, monkeypatch):
    miniature(tmp_path / "mirror")
    monkeypatch.setenv("GRAPHCERT_DATA_MIRROR", str(tmp_path / "mirror"))
    partial = tmp_path / "data" / "ogbn_arxiv.partial"
    (partial / "raw").mkdir(parents=True)  # what a copy killed half-way leaves
    (partial / "RELEASE_v1.txt").write_text("")
    assert load_graph("ogbn-arxiv", root=tmp_path / "data").num_nodes == N
    assert not partial.exists()

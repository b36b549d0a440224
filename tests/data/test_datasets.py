"""Dataset loading: counts, verification, error paths, pickle-free reading, splits."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphcert.data import datasets
from graphcert.data.datasets import fetch, load_graph, load_npz_graph, registry, split
from graphcert.data.files import DatasetError

REGISTRY = registry()
MIRROR = Path(os.environ.get("GRAPHCERT_DATA_MIRROR", ""))


@pytest.mark.parametrize("name", ["cora_ml", "citeseer"])
def test_standardized_counts_match_the_table(name, request):
    data = request.getfixturevalue("cora" if name == "cora_ml" else "citeseer")
    expected = REGISTRY[name]["standardized"]
    assert data.num_nodes == expected["num_nodes"]
    assert data.edge_index.shape[1] == 2 * expected["num_undirected_edges"]
    assert int(data.x.sum()) == expected["num_attribute_ones"]
    assert data.x.shape[1] == expected["num_features"]
    assert data.num_classes == expected["num_classes"] == int(data.y.max()) + 1
    assert data.name == name
    assert data.x.dtype == torch.float32 and set(data.x.unique().tolist()) == {0.0, 1.0}
    assert data.y.dtype == torch.long


def test_edge_index_is_symmetric_coalesced_without_self_loops(cora):
    src, dst = cora.edge_index
    assert not (src == dst).any()
    keys = (src * cora.num_nodes + dst).numpy()
    assert np.all(np.diff(keys) > 0), "edges must be sorted and unique (coalesced)"
    reverse = set((dst * cora.num_nodes + src).tolist())
    assert reverse == set(keys.tolist())


def test_graph_is_connected(citeseer):
    adjacency = sp.coo_matrix((np.ones(citeseer.edge_index.shape[1]),
                               citeseer.edge_index.numpy()),
                              shape=(citeseer.num_nodes,) * 2)
    n_components, _ = sp.csgraph.connected_components(adjacency, directed=False)
    assert n_components == 1


def _write_graph(path: Path, n: int = 6, extra: dict | None = None, **overrides) -> None:
    adjacency = sp.csr_matrix(np.eye(n, k=1) * 2.5 + np.eye(n))  # weighted, self loops
    attributes = sp.csr_matrix(np.arange(n * 4).reshape(n, 4) % 3)
    arrays = {}
    for key, matrix in (("adj_matrix", adjacency), ("attr_matrix", attributes)):
        arrays.update({f"{key}.data": matrix.data, f"{key}.indices": matrix.indices,
                       f"{key}.indptr": matrix.indptr, f"{key}.shape": np.array(matrix.shape)})
    arrays["labels"] = np.arange(n) % 2
    arrays.update(extra or {})
    arrays.update(overrides)
    np.savez(path, **arrays)


def test_reads_a_file_with_pickled_keys_without_unpickling(tmp_path):
    path = tmp_path / "graph.npz"
    _write_graph(path, extra={"metadata": np.array([{"evil": 1}], dtype=object)})
    data = load_npz_graph(path)
    assert data.num_nodes == 6
    assert data.edge_index.shape[1] == 10  # a path of 6 nodes, both directions
    assert set(data.x.unique().tolist()) == {0.0, 1.0}


def test_required_key_stored_as_pickle_is_refused(tmp_path):
    path = tmp_path / "graph.npz"
    _write_graph(path, labels=np.array([0, 1, 0, 1, 0, 1], dtype=object))
    with pytest.raises(DatasetError, match="without unpickling"):
        load_npz_graph(path)


def test_non_graph_and_truncated_files_give_clear_errors(tmp_path):
    not_graph = tmp_path / "other.npz"
    np.savez(not_graph, weights=np.zeros(3))
    with pytest.raises(DatasetError, match="not a graph"):
        load_npz_graph(not_graph)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((MIRROR / "cora_ml.npz").read_bytes()[:5000])
    with pytest.raises(DatasetError, match="truncated"):
        load_npz_graph(truncated)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(DatasetError):
        load_npz_graph(text)


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(DatasetError, match="cora_ml"):
        load_graph("cora")


def test_fetch_copies_from_the_mirror_and_verifies(tmp_path):
    path = fetch("citeseer", root=tmp_path)
    assert path == tmp_path / "citeseer.npz"
    assert datasets.sha256sum(path) == REGISTRY["citeseer"]["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["citeseer.npz"]


def test_existing_file_with_wrong_checksum_is_an_error(tmp_path):
    damaged = tmp_path / "cora_ml.npz"
    content = bytearray((MIRROR / "cora_ml.npz").read_bytes())
    content[1000] ^= 0xFF
    damaged.write_bytes(bytes(content))
    with pytest.raises(DatasetError, match="checksum mismatch.*delete it"):
        load_graph("cora_ml", root=tmp_path)


def test_bad_mirror_copy_leaves_nothing_behind(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cora_ml.npz").write_bytes(b"not the real file")
    monkeypatch.setenv("GRAPHCERT_DATA_MIRROR", str(mirror))
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="checksum mismatch"):
        fetch("cora_ml", root=root)
    assert list(root.iterdir()) == []
    monkeypatch.setenv("GRAPHCERT_DATA_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="not in GRAPHCERT_DATA_MIRROR"):
        fetch("cora_ml", root=root)
    assert list(root.iterdir()) == []


def test_download_path_when_no_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHCERT_DATA_MIRROR", raising=False)
    payload = (MIRROR / "citeseer.npz").read_bytes()
    requested = []

    def fake_urlopen(url, timeout):
        requested.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(datasets.urllib.request, "urlopen", fake_urlopen)
    data = load_graph("citeseer", root=tmp_path)
    assert requested == [REGISTRY["citeseer"]["url"]]
    assert data.num_nodes == REGISTRY["citeseer"]["standardized"]["num_nodes"]

    def offline(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", offline)
    other = tmp_path / "other"
    with pytest.raises(DatasetError, match="could not download.*GRAPHCERT_DATA_MIRROR"):
        fetch("cora_ml", root=other)
    assert list(other.iterdir()) == []


def test_environment_variable_sets_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHCERT_DATA", str(tmp_path))
    assert fetch("citeseer") == tmp_path / "citeseer.npz"


def test_split_sizes_disjointness_and_determinism(cora):
    labels = cora.y.numpy()
    idx_train, idx_val, idx_test = split(cora.y, n_per_class=20, seed=3)
    assert len(idx_train) == len(idx_val) == 20 * cora.num_classes
    assert len(idx_test) == cora.num_nodes - 40 * cora.num_classes
    assert np.bincount(labels[idx_train]).tolist() == [20] * cora.num_classes
    assert np.bincount(labels[idx_val]).tolist() == [20] * cora.num_classes
    union = np.concatenate([idx_train, idx_val, idx_test])
    assert len(np.unique(union)) == cora.num_nodes
    again = split(labels, n_per_class=20, seed=3)
    assert all(np.array_equal(a, b)
               for a, b in zip((idx_train, idx_val, idx_test), again, strict=True))
    other = split(labels, n_per_class=20, seed=4)
    assert not np.array_equal(idx_train, other[0])


def test_split_refuses_small_classes():
    labels = np.array([0] * 50 + [1] * 39)
    with pytest.raises(ValueError, match="class 1 has 39 nodes"):
        split(labels, n_per_class=20)

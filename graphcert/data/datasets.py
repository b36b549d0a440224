"""Graph datasets: locate, fetch, verify and standardize (docs/theory.md §1).

`load_graph` serves the registered SparseGraph files (Cora-ML, CiteSeer); `load_npz_graph`
reads any file in the same layout; `split` draws the papers' stratified split.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from torch_geometric.data import Data

from graphcert.data.files import DatasetError, data_dir, sha256sum, writable_data_dir
from graphcert.data.planted import SYNTHETIC_GRAPHS
from graphcert.utils.io import file_mode
from graphcert.utils.validation import check_positive_int, shown

__all__ = ["DatasetError", "check_dataset_name", "data_dir", "fetch", "graph_split",
           "load_graph", "load_npz_graph", "read_sparse_graph", "registry", "sha256sum",
           "split", "standardize"]

REGISTRY_PATH = Path(__file__).with_name("registry.json")  # package data
_CSR_PARTS = ("data", "indices", "indptr", "shape")


def registry() -> dict[str, dict]:
    """The registered datasets (file, sha256, url, expected standardized counts).

    Returns:
        dict[str, dict]: entries by dataset name.
    """
    return json.loads(REGISTRY_PATH.read_text())


#: What a dataset name may look like: it becomes part of the run directory's name.
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check_dataset_name(name: str, key: str = "name") -> str:
    """`name` if it names a registered file, a generated graph or an OGB node dataset
    (``ogbn-*``); checked before any path is made from it.

    Args:
        name (str): the dataset's name.
        key (str): how the message names the argument.

    Returns:
        str: ``name``.
    """
    if not isinstance(name, str) or not DATASET_NAME.match(name) or not (
            name in registry() or name in SYNTHETIC_GRAPHS or name.startswith("ogbn-")):
        raise DatasetError(f"{key} == {shown(name)} is not a dataset; known datasets: "
                           f"{sorted(registry())} (files), {sorted(SYNTHETIC_GRAPHS)} "
                           "(generated) and OGB node datasets ('ogbn-arxiv', 'ogbn-products', "
                           "...)")
    return name


def fetch(name: str, root: str | os.PathLike | None = None) -> Path:
    """Path of the verified data file of dataset `name`, copying or downloading it if missing.

    A missing file comes from $GRAPHCERT_DATA_MIRROR when set, else from the registry URL.
    The copy is written to a temporary file, verified by sha256 and only then renamed into
    place, so nothing half-written is ever left behind.

    Args:
        name (str): a registered dataset.
        root (str or os.PathLike, optional): the data directory (`data_dir`).

    Returns:
        Path: the verified file.
    """
    entry = _registry_entry(name)
    directory = data_dir(root)
    target = directory / entry["file"]
    if not target.exists():
        writable_data_dir(directory)
        _fetch_into(entry, target)
    actual = sha256sum(target)
    if actual != entry["sha256"]:
        raise DatasetError(
            f"checksum mismatch for {target}: sha256 is {actual}, expected {entry['sha256']}. "
            f"The file is corrupt or not the registered one; delete it and call "
            f"load_graph({name!r}) again to fetch a fresh copy")
    return target


def _registry_entry(name: str) -> dict:
    entries = registry()
    if name not in entries:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {sorted(entries)} (files), "
                           f"{sorted(SYNTHETIC_GRAPHS)} (generated) and OGB node datasets "
                           "('ogbn-arxiv', 'ogbn-products', ...)")
    return entries[name]


def _fetch_into(entry: dict, target: Path) -> None:
    mirror = os.environ.get("GRAPHCERT_DATA_MIRROR")
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                        dir=target.parent)
    os.fchmod(handle, file_mode(target))  # the umask's mode, not mkstemp's 0600
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if mirror:
            source = Path(mirror) / entry["file"]
            if not source.exists():
                raise DatasetError(
                    f"{entry['file']} is not in GRAPHCERT_DATA_MIRROR={mirror}; unset the "
                    f"variable to download it from {entry['url']}, or place the file there")
            shutil.copyfile(source, tmp)
            origin = str(source)
        else:
            origin = entry["url"]
            try:
                with urllib.request.urlopen(origin, timeout=60) as response, \
                        open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out)
            except OSError as error:
                raise DatasetError(
                    f"could not download {entry['file']} from {origin} ({error}); download it "
                    f"by hand into {target.parent}, or set GRAPHCERT_DATA_MIRROR to a folder "
                    "that holds it") from error
        actual = sha256sum(tmp)
        if actual != entry["sha256"]:
            raise DatasetError(
                f"checksum mismatch for {entry['file']} from {origin}: sha256 is {actual}, "
                f"expected {entry['sha256']}; the source holds a different or damaged file")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_graph(name: str, root: str | os.PathLike | None = None) -> Data:
    """Load a registered dataset, standardized (docs/theory.md §1), as a torch_geometric `Data`.

    Returns `x` (float 0/1, N x D), `edge_index` (both directions, coalesced, no self loops),
    `y` (long), with `num_classes` and `name` set. ``ogbn-*`` names are OGB datasets with
    continuous features and their official split (`graphcert.data.ogb.load_ogb_graph`).
    ``planted_categorical`` is generated (`graphcert.data.planted`: categorical attributes,
    one-hot, with ``n_values``).

    Args:
        name (str): the dataset's name.
        root (str or os.PathLike, optional): the data directory (`data_dir`).

    Returns:
        Data: the standardized graph.
    """
    check_dataset_name(name)
    if name in SYNTHETIC_GRAPHS:
        return SYNTHETIC_GRAPHS[name]()
    if name.startswith("ogbn-"):
        from graphcert.data.ogb import load_ogb_graph
        return load_ogb_graph(name, root)
    data = load_npz_graph(fetch(name, root))
    data.name = name
    return data


def load_npz_graph(path: str | os.PathLike) -> Data:
    """Read a SparseGraph `.npz` (never unpickling anything) and standardize it.

    Args:
        path (str or os.PathLike): the .npz file.

    Returns:
        Data: ``x`` float32 (N, D), ``edge_index`` (2, E), ``y`` (N,), ``num_classes``, ``name``.
    """
    adjacency, attributes, labels = read_sparse_graph(path)
    adjacency, attributes, labels = standardize(adjacency, attributes, labels)
    coo = adjacency.tocoo()
    edge_index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    order = torch.argsort(edge_index[0] * adjacency.shape[0] + edge_index[1])
    return Data(
        x=torch.from_numpy(attributes.toarray().astype(np.float32)),
        edge_index=edge_index[:, order].contiguous(),
        y=torch.from_numpy(labels.astype(np.int64)),
        num_classes=int(labels.max()) + 1,
        name=Path(path).stem,
    )


def read_sparse_graph(path: str | os.PathLike) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Raw adjacency, attributes and labels of a SparseGraph `.npz` file.

    Args:
        path (str or os.PathLike): the .npz file.

    Returns:
        tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]: adjacency (N, N), attributes (N, D),
        labels (N,).
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [f"{m}.{p}" for m in ("adj_matrix", "attr_matrix") for p in _CSR_PARTS
                       if f"{m}.{p}" not in archive.files] + \
                      (["labels"] if "labels" not in archive.files else [])
            if missing:
                raise DatasetError(
                    f"{path} is not a graph in the SparseGraph layout: missing keys {missing}")
            adjacency = _csr(archive, "adj_matrix")
            attributes = _csr(archive, "attr_matrix")
            labels = np.asarray(archive["labels"])
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DatasetError(f"{path} is not a readable .npz archive (truncated or not a "
                           f"graph file): {error}") from error
    except ValueError as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{path} could not be read without unpickling: {error}") from error
    n = adjacency.shape[0]
    if adjacency.shape != (n, n) or attributes.shape[0] != n or labels.shape != (n,):
        raise DatasetError(
            f"{path}: inconsistent shapes (adjacency {adjacency.shape}, attributes "
            f"{attributes.shape}, labels {labels.shape})")
    if labels.min() < 0:
        raise DatasetError(f"{path}: negative class labels")
    return adjacency, attributes, labels


def _csr(archive, prefix: str) -> sp.csr_matrix:
    parts = {p: archive[f"{prefix}.{p}"] for p in _CSR_PARTS}
    try:
        return sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]),
                             shape=tuple(int(s) for s in parts["shape"]))
    except ValueError as error:
        raise DatasetError(f"malformed {prefix} CSR arrays: {error}") from error


def standardize(adjacency: sp.spmatrix, attributes: sp.spmatrix, labels: np.ndarray
                ) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Unweighted, undirected, no self loops, largest connected component, binary attributes.

    Args:
        adjacency (sp.spmatrix): adjacency, shape (N, N).
        attributes (sp.spmatrix): attributes, shape (N, D).
        labels (np.ndarray): labels, shape (N,).

    Returns:
        tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]: adjacency (M, M), binary attributes
        (M, D) and classes 0..C-1 (M,) of the M nodes of the largest component.
    """
    adjacency = sp.csr_matrix(adjacency, dtype=np.float32)
    adjacency = ((adjacency + adjacency.T) != 0).astype(np.float32).tocsr()
    adjacency.setdiag(0)
    adjacency.eliminate_zeros()
    _, component = connected_components(adjacency, directed=False)
    largest = np.flatnonzero(component == np.bincount(component).argmax())
    adjacency = adjacency[largest][:, largest].tocsr()
    attributes = (sp.csr_matrix(attributes)[largest] != 0).astype(np.float32).tocsr()
    labels = np.asarray(labels)[largest]
    _, labels = np.unique(labels, return_inverse=True)  # contiguous classes 0..C-1
    return adjacency, attributes, labels


def split(y, n_per_class: int = 20, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified split of the nodes by their classes `y`: `n_per_class` train and validation
    nodes per class, the rest test.

    Deterministic for a seed; the three index arrays are sorted and disjoint.

    Args:
        y (array_like or Tensor): class of every node, shape (N,).
        n_per_class (int): training and validation nodes per class.
        seed (int): seed of the split.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: train, validation and test node ids.
    """
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) < 2 * n_per_class:
            raise ValueError(
                f"class {c} has {len(members)} nodes, fewer than the {2 * n_per_class} needed "
                f"for {n_per_class} training and {n_per_class} validation nodes")
        members = rng.permutation(members)
        train.append(members[:n_per_class])
        val.append(members[n_per_class:2 * n_per_class])
    idx_train = np.sort(np.concatenate(train))
    idx_val = np.sort(np.concatenate(val))
    rest = np.ones(len(y), dtype=bool)
    rest[idx_train] = rest[idx_val] = False
    return idx_train, idx_val, np.flatnonzero(rest)


def graph_split(data: Data, n_per_class: int = 20, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dataset's official split if it has one (OGB), else `split` of its labels.

    Args:
        data (Data): the graph, ``y`` (N,) and maybe ``split_idx``.
        n_per_class (int): training and validation nodes per class.
        seed (int): seed of the split.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: train, validation and test node ids.
    """
    if hasattr(data, "split_idx"):
        return tuple(data.split_idx[key].numpy() for key in ("train", "valid", "test"))
    return split(data.y, n_per_class, seed)

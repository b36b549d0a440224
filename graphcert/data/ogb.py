"""OGB node property datasets (``ogbn-*``) through the ``ogb`` package, with official splits.

`load_ogb_graph` returns the same standardized `Data` as `graphcert.data.datasets.load_graph`
(undirected, coalesced, no self loops, 1-D long labels) except that features stay
continuous and no component is dropped: the official split indexes the original nodes and
is attached as ``data.split_idx`` and ``train_mask`` / ``val_mask`` / ``test_mask``.

`write_ogb_layout` writes a graph in OGB's raw on-disk layout (what ogb's download unpacks),
so a miniature dataset goes through exactly the code path of a real download.
"""
from __future__ import annotations

import os
import shutil
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from filelock import FileLock
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from graphcert.data.files import DatasetError, data_dir, writable_data_dir

__all__ = ["dataset_folder", "load_ogb_graph", "supported_datasets", "write_ogb_layout"]

SPLITS = ("train", "valid", "test")


@lru_cache(maxsize=1)
def _master() -> pd.DataFrame:
    from ogb.nodeproppred import dataset_pyg
    path = Path(dataset_pyg.__file__).with_name("master.csv")
    return pd.read_csv(path, index_col=0, keep_default_na=False)


def supported_datasets() -> list[str]:
    """The ogbn names with one multiclass label per node on a homogeneous graph.

    Returns:
        list[str]: sorted names.
    """
    master = _master()
    return sorted(name for name in master.columns
                  if master[name]["task type"] == "multiclass classification"
                  and master[name]["num tasks"] == "1" and master[name]["is hetero"] == "False")


def _meta(name: str) -> pd.Series:
    supported = supported_datasets()
    if name not in supported:
        known = list(_master().columns)
        reason = "is not an OGB node property dataset" if name not in known else \
            "is not single-label multiclass node classification on a homogeneous graph"
        raise DatasetError(f"{name!r} {reason}; supported: {supported}")
    return _master()[name]


def dataset_folder(name: str, root: str | os.PathLike | None = None) -> Path:
    """Folder ogb uses for `name` under the data directory (e.g. ``<root>/ogbn_arxiv``).

    Args:
        name (str): an ogbn dataset.
        root (str or os.PathLike, optional): the data directory.

    Returns:
        Path: the folder.
    """
    _meta(name)
    return data_dir(root) / name.replace("-", "_")


def load_ogb_graph(name: str, root: str | os.PathLike | None = None, *,
                   download: bool = True) -> Data:
    """Load an ``ogbn-*`` dataset from the data directory (docs/theory.md §1 conventions).

    The folder is `dataset_folder(name, root)`. If it is missing it is copied from
    ``$GRAPHCERT_DATA_MIRROR/<folder>`` when that exists, else (``download=True``) ogb downloads
    it. Safe to call from many processes at once (a lock file ``<folder>.lock`` beside the
    folder). Returns ``x`` (float32, continuous), ``edge_index``, ``y`` (long, -1 for
    unlabeled nodes), ``num_classes``, ``name``, ``split_idx`` and the three split masks.

    Args:
        name (str): an ogbn dataset.
        root (str or os.PathLike, optional): the data directory.
        download (bool): let ogb download a missing dataset.

    Returns:
        Data: the graph, ``x`` float32 (N, D).
    """
    meta = _meta(name)
    folder = dataset_folder(name, root)
    writable_data_dir(folder.parent)  # the lock file is written there
    # ogb downloads, unpacks and processes a dataset in place, with no guard against another
    # process doing the same (runs of a sweep on Ray workers all load it at once): one would
    # read the other's half-written processed file. A lock file beside the folder serializes
    # everything that may write into it; loading an already processed dataset is quick.
    with FileLock(folder.parent / f"{folder.name}.lock"):
        downloading = not _provide(name, folder, meta, download)
        marker = folder / f"RELEASE_v{meta['version']}.txt"
        if not downloading and not marker.exists():
            # ogb would stop and ask on stdin whether to delete the folder; decide here.
            raise DatasetError(
                f"{folder} has no {marker.name}: it is incomplete or from another OGB "
                f"release. Delete the folder and load {name!r} again to download the "
                "current release (or restore the release marker if the files are the "
                "current release)")
        dataset, split_idx = _ogb_dataset(name, folder, downloading)
    return _standardize(dataset[0], split_idx, name, int(meta["num classes"]))


def _provide(name: str, folder: Path, meta: pd.Series, download: bool) -> bool:
    """Make sure `folder` exists, from the mirror if possible; False if ogb must download it."""
    if folder.exists():
        return True
    mirror = os.environ.get("GRAPHCERT_DATA_MIRROR")
    if mirror and (Path(mirror) / folder.name).is_dir():
        partial = folder.with_name(f"{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)  # left by a copy that was interrupted
        shutil.copytree(Path(mirror) / folder.name, partial)
        partial.rename(folder)  # the folder appears complete or not at all
        return True
    if not download:
        raise DatasetError(
            f"{name} not found in {folder}. Download it with `python -c \"from "
            f"ogb.nodeproppred import PygNodePropPredDataset as D; D('{name}', "
            f"root='{folder.parent}')\"`, or unzip {meta['url']} there as {folder.name}/")
    return False


def _ogb_dataset(name: str, folder: Path, downloading: bool):
    from ogb.nodeproppred import PygNodePropPredDataset
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    # ogb 1.3.6 reads its processed file with a bare torch.load, which torch >= 2.6 runs with
    # weights_only=True; that refuses the three PyG storage classes the file is built from.
    # We keep weights_only=True and allowlist exactly these classes, and only while ogb loads
    # this dataset (the context restores the allowlist on exit). Nothing else is unpickled:
    # raw files are CSV, and the split files are CSV or a tensor dict.
    try:
        with torch.serialization.safe_globals([DataEdgeAttr, DataTensorAttr, GlobalStorage]), \
                warnings.catch_warnings():  # ogb wraps read-only pandas arrays; it only reads
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            dataset = PygNodePropPredDataset(name, root=str(folder.parent))
            split_idx = dataset.get_idx_split()
    except EOFError as error:
        if downloading:  # ogb asked on stdin (a download over 1 GB needs a yes)
            raise DatasetError(
                f"ogb asks for confirmation before downloading {name}; run the download once "
                f"interactively: python -c \"from ogb.nodeproppred import "
                f"PygNodePropPredDataset as D; D('{name}', root='{folder.parent}')\"") from error
        raise _unreadable(name, folder, error) from error
    except (OSError, RuntimeError) as error:
        raise _unreadable(name, folder, error) from error
    return dataset, split_idx


def _unreadable(name: str, folder: Path, error: Exception) -> DatasetError:
    return DatasetError(
        f"could not load {name} from {folder}: {error!r}. If a processing run was interrupted, "
        f"delete {folder / 'processed'} to process the raw files again; otherwise delete "
        f"{folder} to download the dataset again")


def _standardize(raw: Data, split_idx: dict, name: str, num_classes: int) -> Data:
    n = int(raw.num_nodes)
    edge_index, _ = remove_self_loops(raw.edge_index.long())
    edge_index = coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)
    y = raw.y.reshape(n, -1)[:, 0]
    if y.is_floating_point():  # unlabeled nodes are NaN (ogbn-papers100M)
        y = torch.where(torch.isnan(y), -1.0, y)
    data = Data(x=raw.x.float(), edge_index=edge_index, y=y.long(), num_classes=num_classes,
                name=name)
    data.split_idx = {key: torch.as_tensor(split_idx[key]).long() for key in SPLITS}
    for key, mask in zip(SPLITS, ("train_mask", "val_mask", "test_mask"), strict=True):
        flags = torch.zeros(n, dtype=torch.bool)
        flags[data.split_idx[key]] = True
        data[mask] = flags
    return data


def write_ogb_layout(folder: str | os.PathLike, name: str, x: np.ndarray,
                     edge_index: np.ndarray, y: np.ndarray, split_idx: dict[str, np.ndarray],
                     **node_files: np.ndarray) -> Path:
    """Write a graph in the raw layout ogb unpacks for `name` into `folder` (CSV, gzip).

    ``node_files`` are extra per-node columns the dataset declares (e.g. ``node_year`` for
    ogbn-arxiv). Writes ``raw/``, ``split/<split>/`` and the release marker; ogb processes
    it on first load, as after a real download.

    Args:
        folder (str or os.PathLike): the dataset folder.
        name (str): an ogbn dataset.
        x (np.ndarray): features, shape (N, D).
        edge_index (np.ndarray): edges, shape (2, E).
        y (np.ndarray): labels, shape (N,).
        split_idx (dict[str, np.ndarray]): node ids per split.
        **node_files (np.ndarray): extra per-node columns, (N, ...).

    Returns:
        Path: ``folder``.
    """
    meta = _meta(name)
    folder = Path(folder)
    declared = [] if meta["additional node files"] == "None" else \
        meta["additional node files"].split(",")
    missing = sorted(set(declared) - set(node_files))
    if missing:
        raise ValueError(f"{name} declares extra node files {declared}; missing {missing}")
    if meta["binary"] == "True":
        raise ValueError(f"{name} uses ogb's binary layout; only CSV layouts are written")
    (folder / "raw").mkdir(parents=True, exist_ok=True)
    split_dir = folder / "split" / meta["split"]
    split_dir.mkdir(parents=True, exist_ok=True)
    edges = np.asarray(edge_index).T
    tables = {"raw/edge": edges, "raw/num-node-list": [[len(x)]],
              "raw/num-edge-list": [[len(edges)]], "raw/node-feat": np.asarray(x),
              "raw/node-label": np.asarray(y).reshape(-1, 1),
              **{f"raw/{key}": np.asarray(v).reshape(len(x), -1)
                 for key, v in node_files.items()},
              **{f"split/{meta['split']}/{key}": np.asarray(split_idx[key]).reshape(-1, 1)
                 for key in SPLITS}}
    for stem, table in tables.items():
        pd.DataFrame(table).to_csv(folder / f"{stem}.csv.gz", header=False, index=False,
                                   compression="gzip")
    (folder / f"RELEASE_v{meta['version']}.txt").write_text(f"{name} miniature\n")
    return folder

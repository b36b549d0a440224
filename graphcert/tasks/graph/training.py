"""Training of node classifiers with early stopping and optional smoothing noise
(docs/theory.md §2, §8, §9).

Models are trained full-batch with Adam. With a noise set (sparsity-aware bit flips
`theta_plus` / `theta_minus`, Gaussian `sigma`, or K-ary `keep` on categorical attributes),
every epoch sees a fresh noisy copy of the attributes, and with `structure` (a structure
noise) a fresh noisy graph, so a model can be trained on the noise it will be certified with.
Checkpoints are plain state dicts loaded with `weights_only=True`. Any
``forward(x, edge_index)`` model trains: attributes and graph reach it as its batching
contract says (`graphcert.sampling.batching`: sparse attributes only if it declares
``sparse_input``, its ``prepare_graph`` applied to the graph).
"""
from __future__ import annotations

import copy
import io
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from tqdm.auto import tqdm

from gnn_models import model_input
from graphcert.noise.binary import flip_bits
from graphcert.noise.kary import KaryNoise, categorical_n_values
from graphcert.noise.pair_filter import FilteredStructureNoise
from graphcert.noise.structure import StructureNoise
from graphcert.sampling.batching import model_device
from graphcert.utils.io import write_bytes
from graphcert.utils.validation import check_probability


def set_seed(seed: int) -> None:
    """Seed Python, numpy and torch for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def model_inputs(model: torch.nn.Module, x: Tensor,
                 edge_index: Tensor) -> tuple[Tensor, Tensor]:
    """`x` and the graph in the form `model` takes them whole: sparse CSR attributes where it
    declares ``sparse_input`` and at most 10% are nonzero (`gnn_models.model_input`), else
    dense; the graph through its ``prepare_graph`` if it has one (the normalized adjacency
    of APPNP and GCN)."""
    if getattr(model, "sparse_input", False):
        x = model_input(x)
    elif x.layout != torch.strided:
        x = x.to_dense()
    return x, model_graph(model, edge_index, x.shape[0])


def model_graph(model: torch.nn.Module, edge_index: Tensor, num_nodes: int) -> Tensor:
    """The graph as `model` takes it: through its ``prepare_graph`` if it has one."""
    prepare = getattr(model, "prepare_graph", None)
    return edge_index if prepare is None else prepare(edge_index, num_nodes)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: Data, index) -> float:
    """Clean accuracy of `model` on the nodes `index` (evaluation mode), on its device."""
    model.eval()
    device = model_device(model)
    x, graph = model_inputs(model, data.x.to(device), data.edge_index.to(device))
    prediction = model(x, graph).argmax(-1).cpu()
    index = torch.as_tensor(index)
    return (prediction[index] == data.y[index]).float().mean().item()


@dataclass
class TrainResult:
    """Outcome of `train_model`: best epoch, its validation figures and the loss history."""
    best_epoch: int
    val_loss: float
    val_accuracy: float
    history: list[tuple[float, float]] = field(default_factory=list)


def train_model(model: torch.nn.Module, data: Data, idx_train, idx_val, *, lr: float = 1e-3,
                weight_decay: float = 1e-3, max_epochs: int = 3000, patience: int = 50,
                theta_plus=None, theta_minus=None, sigma: float | None = None,
                keep: float | None = None, structure: StructureNoise | None = None,
                seed: int = 0, progress: bool = False) -> TrainResult:
    """Train in place with Adam; stop when validation loss has not improved for `patience`
    epochs and restore the best weights. Noise (if given) is applied during training only:
    sparsity-aware bit flips (`theta_plus`, `theta_minus`), Gaussian noise (`sigma`) or
    isotropic K-ary noise keeping each categorical value with probability `keep` (docs/theory.md §9;
    `data.n_values` gives the alphabets of the one-hot `data.x`, as `KaryNoise` reads them)
    on the attributes, and a noisy graph drawn from `structure` (its first output cluster's
    distribution; docs/theory.md §8; a `FilteredStructureNoise` draws the graphs a
    pair-local filter leaves, docs/theory.md §13) every epoch; validation uses the clean
    graph. `progress` shows a bar over the epochs with the losses and the best epoch so far."""
    if (theta_plus is None) != (theta_minus is None):
        raise ValueError("give both theta_plus and theta_minus for noisy training, or neither")
    if sigma is not None and (theta_plus is not None or not sigma > 0):
        raise ValueError("sigma must be positive and excludes theta_plus / theta_minus")
    if keep is not None and (theta_plus is not None or sigma is not None):
        raise ValueError("keep (K-ary noise) excludes theta_plus / theta_minus and sigma")
    if structure is not None and (not isinstance(structure, (StructureNoise,
                                                            FilteredStructureNoise))
                                  or structure.n_nodes != data.num_nodes):
        raise ValueError(f"structure must be a StructureNoise or FilteredStructureNoise on the "
                         f"{data.num_nodes} nodes of the graph, got {type(structure).__name__} "
                         f"{getattr(structure, 'n_nodes', '')}".rstrip())
    set_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    graphs = np.random.default_rng(seed)
    idx_train, idx_val = torch.as_tensor(idx_train), torch.as_tensor(idx_val)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    clean_x, adjacency = model_inputs(model, data.x, data.edge_index)
    training_input = _training_input(model, data, clean_x, adjacency, generator,
                                     theta_plus=theta_plus, theta_minus=theta_minus,
                                     sigma=sigma, keep=keep, seed=seed)
    best_loss, best_epoch, best_state = float("inf"), -1, None
    history = []
    with tqdm(range(max_epochs), desc="training", unit="epoch", disable=not progress,
              leave=False) as epochs:
        for epoch in epochs:
            model.train()
            graph = adjacency if structure is None else model_graph(
                model, structure.sample_edges(0, 1, graphs), data.num_nodes)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(training_input(), graph)[idx_train],
                                   data.y[idx_train])
            loss.backward()
            optimizer.step()
            val_loss = _validation_loss(model, clean_x, adjacency, data.y, idx_val)
            history.append((loss.item(), val_loss))
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= patience:
                break
            epochs.set_postfix(loss=f"{history[-1][0]:.3f}", val_loss=f"{val_loss:.3f}",
                               best_epoch=best_epoch, refresh=False)
    model.load_state_dict(best_state)
    return TrainResult(best_epoch, best_loss, accuracy(model, data, idx_val), history)


def _training_input(model: torch.nn.Module, data: Data, clean_x: Tensor, adjacency: Tensor,
                    generator: torch.Generator, *, theta_plus, theta_minus,
                    sigma: float | None, keep: float | None,
                    seed: int) -> Callable[[], Tensor]:
    """The attributes of each training epoch (a fresh noisy copy when a noise is given), in
    the layout `model` takes (`model_inputs`)."""
    if theta_plus is not None:
        return lambda: model_inputs(
            model, flip_bits(data.x, theta_plus, theta_minus, generator), adjacency)[0]
    if sigma is not None:
        return lambda: data.x + sigma * torch.randn(data.x.shape, generator=generator)
    if keep is not None:
        n_values = categorical_n_values(data)
        if n_values is None:
            raise ValueError("keep (K-ary training noise) needs categorical attributes: a "
                             "one-hot data.x with data.n_values, e.g. planted_categorical")
        noise = KaryNoise.isotropic(data.num_nodes, check_probability(keep, "keep"), n_values)
        categorical, rng = noise.prepare(data.x), np.random.default_rng(seed)
        return lambda: model_inputs(model, noise.sample(categorical, 0, 1, rng), adjacency)[0]
    return lambda: clean_x


@torch.no_grad()
def _validation_loss(model: torch.nn.Module, x: Tensor, adjacency: Tensor, y: Tensor,
                     idx_val: Tensor) -> float:
    model.eval()
    return F.cross_entropy(model(x, adjacency)[idx_val], y[idx_val]).item()


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike, **meta) -> None:
    """Save the state dict plus plain metadata (str/int/float/list) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # in memory first: torch reports a full disk in its own words
    torch.save({"state_dict": model.state_dict(), "meta": meta}, buffer)
    write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, model: torch.nn.Module | None = None
                    ) -> tuple[dict, dict]:
    """Load (state_dict, meta) with `weights_only=True`; fill `model` when given."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if model is not None:
        model.load_state_dict(payload["state_dict"])
    return payload["state_dict"], payload["meta"]

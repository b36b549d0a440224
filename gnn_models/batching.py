"""Helpers shared by the models: sparse-aware first layer and batch folding.

``normalized_adjacency(edge_index, num_nodes)`` (its own docstring stays as it is: the code
fingerprints of the models, `graphcert.sampling.code_fingerprint`, hash it):

Args:
    edge_index (LongTensor): edges, shape (2, E).
    num_nodes (int): number of nodes N.

Returns:
    Tensor: the symmetrically normalized adjacency with self loops, sparse CSR (N, N),
    row = target, column = source.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor

from gnn_models._csr import self_looped_pattern, symmetric_values


def normalized_adjacency(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Symmetrically normalized adjacency with self loops, as a (target x source) CSR tensor:
    torch_geometric's ``gcn_norm`` (self loops replaced by one per node) in CSR form.

    Models accept its result in place of `edge_index`; computing it once and reusing it saves
    its cost on every forward pass (Monte Carlo runs thousands of them). On the CPU the
    pattern comes from a counting sort by target (`gnn_models._csr`; timings in
    docs/benchmarks.md), the same tensor bit for bit; repeated edges, which ``gcn_norm`` sums,
    take torch_geometric's way.

    Args:
        edge_index (LongTensor): edges, shape (2, E).
        num_nodes (int): N.

    Returns:
        Tensor: sparse CSR (N, N), row = target, column = source.
    """
    if edge_index.device.type == "cpu" and edge_index.dtype == torch.int64 \
            and edge_index.dim() == 2 and edge_index.shape[0] == 2:
        source, target = edge_index.numpy()
        crow, columns, usable = self_looped_pattern(source, target, num_nodes)
        if usable:
            degree = torch.from_numpy(np.diff(crow)).to(torch.get_default_dtype())
            scale = degree.pow_(-0.5)  # degree >= 1 (the self loop): gcn_norm's operation
            values = symmetric_values(crow, columns, scale.numpy())
            with _sparse_csr_quietly():
                return torch.sparse_csr_tensor(torch.from_numpy(crow),
                                               torch.from_numpy(columns),
                                               torch.from_numpy(values),
                                               size=(num_nodes, num_nodes))
    edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    with _sparse_csr_quietly():
        return to_torch_csr_tensor(edge_index.flip(0), weight, size=(num_nodes, num_nodes))


def model_input(x: Tensor) -> Tensor:
    """(N, D) `x` in the layout the first layer multiplies fastest: sparse CSR when at most 10%
    of the entries are nonzero (bag-of-words attributes), else dense (continuous features,
    whose CSR product is slower than the dense one; docs/benchmarks.md).

    Args:
        x (Tensor): node features, shape (N, D); a sparse tensor is returned as it is.

    Returns:
        Tensor: ``x``, dense or sparse CSR.
    """
    if x.layout != torch.strided:
        return x
    if torch.count_nonzero(x) > 0.1 * x.numel():
        return x
    with _sparse_csr_quietly():
        return x.to_sparse_csr()


@contextmanager
def _sparse_csr_quietly() -> Iterator[None]:
    """torch warns that sparse CSR is beta; the models rely on it deliberately."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly")
        yield


def propagation_matrix(edge_index: Tensor, num_nodes: int) -> Tensor:
    """`edge_index` itself if it is already a `normalized_adjacency` (sparse CSR), else that."""
    if edge_index.layout == torch.sparse_csr:
        if edge_index.shape != (num_nodes, num_nodes):
            raise ValueError(f"adjacency of shape {tuple(edge_index.shape)} does not match "
                             f"{num_nodes} nodes")
        return edge_index
    return normalized_adjacency(edge_index, num_nodes)


@dataclass(frozen=True)
class BatchedCSR:
    """B binary (N, D) matrices stacked row-wise: the CSR pattern (row pointers `crow`, sorted
    column indices `col`) of a (B * N, D) matrix whose stored values are all 1.

    The models accept it wherever a (B, N, D) input is allowed. It is what the Monte Carlo
    sampler produces: no COO -> CSR conversion, no value array, and the first layer becomes
    an embedding-bag sum (faster than a CSR product, identical result; docs/benchmarks.md).
    """

    crow: Tensor
    col: Tensor
    shape: torch.Size

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"shape must be (B, N, D) with positive sizes, got {self.shape}")
        if self.crow.dtype != self.col.dtype or self.crow.dtype not in (torch.int32, torch.int64):
            raise ValueError("crow and col must share an int32 or int64 dtype")
        rows = self.shape[0] * self.shape[1]
        if self.crow.shape != (rows + 1,) or self.col.shape != (int(self.crow[-1]),):
            raise ValueError(f"crow must have {rows + 1} entries and col crow[-1] entries")
        object.__setattr__(self, "shape", torch.Size(self.shape))

    @property
    def nnz(self) -> int:
        return self.col.numel()

    @property
    def device(self) -> torch.device:
        return self.col.device

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "BatchedCSR":
        """The same copies on `device`."""
        return BatchedCSR(self.crow.to(device, non_blocking=non_blocking),
                          self.col.to(device, non_blocking=non_blocking), self.shape)

    @classmethod
    def repeat(cls, x: Tensor, batch_size: int) -> "BatchedCSR":
        """`batch_size` identical copies of the binary (N, D) matrix `x` (dense or sparse), with
        int32 indices whenever they fit (as the sampler produces)."""
        single = (x if x.layout == torch.sparse_csr else x.to_sparse_csr()).to(torch.float32)
        if not torch.all(single.values() == 1):
            raise ValueError("BatchedCSR holds binary matrices: stored values must be 1")
        fits = max(single._nnz() * batch_size, x.shape[0] * batch_size, x.shape[1]) < 2**31
        dtype = torch.int32 if fits else torch.int64
        crow, col = single.crow_indices().to(dtype), single.col_indices().to(dtype)
        offsets = torch.arange(batch_size, dtype=dtype, device=crow.device) * crow[-1]
        crow = torch.cat([(crow[:-1] + offsets[:, None]).reshape(-1), crow[-1:] * batch_size])
        return cls(crow, col.repeat(batch_size), torch.Size((batch_size, *x.shape)))

    def to_sparse_csr(self) -> Tensor:
        """The stacked copies as a (B * N, D) sparse CSR tensor of ones."""
        batch, nodes, features = self.shape
        ones = torch.ones(self.nnz, device=self.device)
        return torch.sparse_csr_tensor(self.crow, self.col, ones, (batch * nodes, features),
                                       check_invariants=False)

    def to_sparse_coo(self) -> Tensor:
        """The same copies as a coalesced (B, N, D) sparse COO tensor."""
        batch, nodes, _ = self.shape
        rows = torch.repeat_interleave(torch.arange(batch * nodes, device=self.device),
                                       self.crow.long().diff())
        index = torch.stack([rows // nodes, rows % nodes, self.col.long()])
        return torch.sparse_coo_tensor(index, torch.ones(self.nnz, device=self.device), self.shape,
                                       is_coalesced=True)

    def to_dense(self) -> Tensor:
        return self.to_sparse_csr().to_dense().view(self.shape)


def linear_input(x: Tensor | BatchedCSR, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T (+ bias) for dense or sparse `x` of shape (N, D) or (B, N, D).

    Sparse inputs (COO, or CSR for 2-D) are multiplied in CSR form, which is faster than COO
    on CPU (docs/benchmarks.md). A `BatchedCSR` (binary) is an embedding-bag sum of the rows of
    weight.T picked by each row's columns, in column order: the CSR product's arithmetic.
    """
    if isinstance(x, BatchedCSR):
        out = F.embedding_bag(x.col, weight.t().contiguous(), x.crow[:-1], mode="sum")
        out = out.view(*x.shape[:-1], -1)
    elif x.layout == torch.sparse_csr:
        out = x @ weight.t()
    elif not x.is_sparse:
        out = x @ weight.t()
    else:
        shape = x.shape
        x = x if x.is_coalesced() else x.coalesce()
        index = x.indices()
        if x.dim() == 3:
            index = torch.stack([index[0] * shape[1] + index[1], index[2]])
        flat = torch.sparse_coo_tensor(index, x.values(), (index_rows(shape), shape[-1]),
                                       is_coalesced=True)
        out = (flat.to_sparse_csr() @ weight.t()).view(*shape[:-1], -1)
    if bias is None:
        return out
    return out.add_(bias) if not torch.is_grad_enabled() else out + bias  # out is fresh


def folded_mlp(x: BatchedCSR, lin1: torch.nn.Linear, lin2: torch.nn.Linear,
               block_rows: int | None = None) -> Tensor:
    """``lin2(relu(lin1(x)))`` of every copy, written straight into the folded (N, B * C)
    layout of `fold`; inference only (no autograd, no dropout).

    Rows go through in blocks of about `block_rows` (default 8192 on the CPU, 2^20 on an
    accelerator): whole copies at a time when they fit, else row blocks of one copy. On the
    CPU the (rows, hidden) activations then stay in cache instead of one (B * N, hidden)
    tensor (256 MB for 20 copies of 100k nodes); on a GPU few large blocks mean few launches.
    """
    batch, nodes, _ = x.shape
    if block_rows is None:
        block_rows = 8192 if x.device.type == "cpu" else 2**20
    classes = lin2.out_features
    out = torch.empty(nodes, batch, classes, device=x.device)
    w1, w2 = lin1.weight.t().contiguous(), lin2.weight.t()  # w2 as F.linear passes it
    copies = max(1, block_rows // nodes) if x.device.type != "cpu" else 1
    rows_per_block = min(nodes, block_rows)
    for first_copy in range(0, batch, copies):
        last_copy = min(batch, first_copy + copies)
        for start in range(0, nodes, rows_per_block):
            stop = min(nodes, start + rows_per_block)
            if last_copy - first_copy > 1:  # whole copies: start == 0, stop == nodes
                rows = x.crow[first_copy * nodes: last_copy * nodes + 1]
            else:
                rows = x.crow[first_copy * nodes + start: first_copy * nodes + stop + 1]
            first = rows[0]
            h = F.embedding_bag(x.col[first:rows[-1]], w1, rows[:-1] - first, mode="sum")
            h = torch.addmm(lin2.bias, h.add_(lin1.bias).relu_(), w2)
            out[start:stop, first_copy:last_copy] = h.view(last_copy - first_copy, stop - start,
                                                           classes).transpose(0, 1)
    return out.view(nodes, batch * classes)


def index_rows(shape: torch.Size) -> int:
    """Rows of the 2-D view of a (N, D) or (B, N, D) tensor."""
    return shape[0] * shape[1] if len(shape) == 3 else shape[0]


def fold(h: Tensor) -> Tensor:
    """(B, N, F) -> (N, B * F), so one sparse product propagates every copy."""
    return h.permute(1, 0, 2).reshape(h.shape[1], -1)


def unfold(h: Tensor, batch: int) -> Tensor:
    """(N, B * F) -> (B, N, F), the inverse of `fold`."""
    return h.reshape(h.shape[0], batch, -1).permute(1, 0, 2)


def node_count(x: Tensor | BatchedCSR) -> int:
    return x.shape[-2]

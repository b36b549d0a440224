"""Sparse CSR tensors of ones: how every graph noise hands over its binary copies."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor

__all__ = ["quiet_sparse_csr", "stacked_csr"]

_ONES: dict[torch.device, Tensor] = {}


def stacked_csr(crow: Tensor, col: Tensor, shape: tuple[int, int],
                values: Tensor | None = None) -> Tensor:
    """A sparse CSR tensor with the given pattern, of ones unless `values` are given; ones are
    a view of one shared buffer per device, so building it allocates nothing per batch.

    Args:
        crow (Tensor): row pointers, shape (rows + 1,).
        col (Tensor): column indices, shape (nnz,).
        shape (tuple[int, int]): (rows, columns).
        values (Tensor, optional): values, shape (nnz,); default ones.

    Returns:
        Tensor: sparse CSR tensor of ``shape`` on ``col``'s device.
    """
    if values is None:
        buffer = _ONES.get(col.device)
        if buffer is None or buffer.numel() < col.numel():
            size = max(col.numel(), 2 * (0 if buffer is None else buffer.numel()))
            buffer = _ONES[col.device] = torch.ones(size, device=col.device)
        values = buffer[:col.numel()]
    with quiet_sparse_csr():
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


@contextmanager
def quiet_sparse_csr() -> Iterator[None]:
    """Silence torch's "sparse CSR is in beta" warning: CSR is used deliberately.

    Yields:
        None: inside the block the warning is ignored.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        yield

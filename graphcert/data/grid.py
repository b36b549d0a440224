"""Grid partitions of images: the pixel counterpart of METIS clusters (docs/theory.md §7, LRS §7.1).

Pixels are the nodes (outputs), a ``rows x cols`` partition of the image into cells plays the
role of the clusters, and the Chebyshev distance between cells replaces graph affinity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphcert.utils.validation import check_positive_int

__all__ = ["GridPartition", "chebyshev_distances"]


@dataclass(frozen=True)
class GridPartition:
    """A ``rows x cols`` partition of an ``height x width`` image into near-equal cells.

    Cell (i, j) has index ``i * cols + j`` and covers rows ``[i*H//rows, (i+1)*H//rows)`` and
    columns ``[j*W//cols, (j+1)*W//cols)``.

    Args:
        height (int): image height H.
        width (int): image width W.
        rows (int): cell rows.
        cols (int): cell columns.
    """

    height: int
    width: int
    rows: int = 1
    cols: int = 1
    row_edges: np.ndarray = field(init=False, repr=False, compare=False)
    col_edges: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("height", "width", "rows", "cols"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        if self.rows > self.height or self.cols > self.width:
            raise ValueError(f"grid {self.rows} x {self.cols} is larger than the image "
                             f"{self.height} x {self.width}")
        object.__setattr__(self, "row_edges", np.arange(self.rows + 1) * self.height // self.rows)
        object.__setattr__(self, "col_edges", np.arange(self.cols + 1) * self.width // self.cols)

    @property
    def n_cells(self) -> int:
        """Number of cells C = rows * cols."""
        return self.rows * self.cols

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W)."""
        return self.height, self.width

    def cell_map(self) -> np.ndarray:
        """(H, W) cell index of every pixel.

        Returns:
            np.ndarray: int64 (H, W).
        """
        row_cell = np.searchsorted(self.row_edges, np.arange(self.height), side="right") - 1
        col_cell = np.searchsorted(self.col_edges, np.arange(self.width), side="right") - 1
        return row_cell[:, None] * self.cols + col_cell[None, :]

    @property
    def labels(self) -> np.ndarray:
        """(H * W,) cell of every pixel in row-major order: the outputs' groups
        (docs/theory.md §5)."""
        return self.cell_map().ravel()

    def cell_slices(self, cell: int) -> tuple[slice, slice]:
        """Row and column slices of one cell.

        Args:
            cell (int): the cell's index.

        Returns:
            tuple[slice, slice]: rows and columns.
        """
        if not 0 <= cell < self.n_cells:
            raise ValueError(f"cell {cell} out of range for {self.n_cells} cells")
        i, j = divmod(int(cell), self.cols)
        return (slice(int(self.row_edges[i]), int(self.row_edges[i + 1])),
                slice(int(self.col_edges[j]), int(self.col_edges[j + 1])))


def chebyshev_distances(rows: int, cols: int) -> np.ndarray:
    """(C, C) Chebyshev distances ``max(|i - k|, |j - l|)`` between the cells of a grid.

    Args:
        rows (int): cell rows.
        cols (int): cell columns.

    Returns:
        np.ndarray: int64 (C, C), C = rows * cols.
    """
    rows, cols = check_positive_int(rows, "rows"), check_positive_int(cols, "cols")
    i, j = np.divmod(np.arange(rows * cols), cols)
    return np.maximum(np.abs(i[:, None] - i[None, :]), np.abs(j[:, None] - j[None, :]))

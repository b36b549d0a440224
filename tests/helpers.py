"""Helpers several test modules share: a hand-written GNN, the exact Neyman-Pearson fill, and
a localized noise setting that covers every branch of the binary samplers."""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.utils import scatter

# Localized binary noise on 30 nodes in 3 clusters; rows: output cluster, columns: input
# cluster. Covers a + m < 1, > 1 and == 1 (0.25 + 0.75), thinning (rows with different
# theta_plus), and probabilities 0, 0.5, 0.9, 1.
N_NODES, N_FEATURES = 30, 24
LABELS = np.repeat([0, 1, 2], 10)
THETA_PLUS = np.array([[0.05, 0.20, 0.50],
                       [0.90, 0.25, 0.00],
                       [1.00, 1.00, 1.00]])
THETA_MINUS = np.array([[0.30, 0.95, 0.70],
                        [0.40, 0.75, 1.00],
                        [0.00, 0.30, 0.60]])


class TwoLayer(torch.nn.Module):
    """A hand-written message-passing model: MLP, then the mean over each node's neighbours."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 8):
        super().__init__()
        self.lin1 = torch.nn.Linear(in_features, hidden)
        self.lin2 = torch.nn.Linear(hidden, num_classes)

    def forward(self, x, edge_index):
        h = torch.relu(self.lin1(x))
        h = h + scatter(h[edge_index[0]], edge_index[1], 0, dim_size=x.shape[0], reduce="mean")
        return self.lin2(h)


def exact_np_fill(masses, p):
    """Neyman-Pearson worst case over single outcomes (no merging), in exact arithmetic:
    fill x-mass p into the outcomes (Pr_x, Pr_x') by increasing Pr_x' / Pr_x."""
    cells = sorted((m for m in masses if m[0] > 0), key=lambda m: m[1] / m[0])
    acc_x, acc_xp = 0 * p, 0 * p
    for px, pxp in cells:
        if acc_x + px >= p:
            return acc_xp + (p - acc_x) * pxp / px
        acc_x, acc_xp = acc_x + px, acc_xp + pxp
    return acc_xp

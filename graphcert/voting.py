"""Deterministic certificates by hash-divided voting, no sampling (docs/voting.md,
docs/theory.md §12).

::

    import graphcert.voting as voting
    division = voting.divide_graph(data, n_groups=30, division="edge", seed=0)
    voting.train(model, data, division, idx_train, idx_val)      # base classifier
    cert = voting.certify(model, data, n_groups=30, division="edge", targets=idx_test, seed=0)
    cert.prediction                        # voted class per target
    cert.radius                            # edge insertions + deletions certified per target
    cert.certified_accuracy(data.y, range(21))
    cert.collective_accuracy(data.y, range(21))   # all targets attacked by one edge set

The division depends only on the graph and the seed; the base classifier is any
``forward(x, edge_index) -> (N, C)`` model that accepts isolated nodes.
"""
from __future__ import annotations

import numpy as np
import torch

from graphcert.noise.division import DIVISIONS, Division, divide
from graphcert.tasks.graph.api import _targets
from graphcert.tasks.graph.voting import (
    VotingCertificate,
    group_votes,
    message_passing_hops,
    train_on_subgraphs,
)
from graphcert.utils.validation import check_choice, check_int

__all__ = ["DIVISIONS", "Division", "VotingCertificate", "certify", "divide_graph", "train"]


def divide_graph(data, n_groups: int = 30, division: str = "edge", seed: int = 0) -> Division:
    """The T subgraphs of `data` (a torch_geometric ``Data``) under `division`
    (``"edge"``, ``"node"`` or ``"feature"``), keyed by `seed`.

    Args:
        data (Data): the graph.
        n_groups (int): number of subgraphs T.
        division (str): ``"edge"``, ``"node"`` or ``"feature"``.
        seed (int): hash seed.

    Returns:
        Division: the subgraphs.
    """
    return divide(data.edge_index.cpu().numpy(), data.num_nodes, n_groups, division, seed,
                  n_features=data.x.shape[1])


def train(model: torch.nn.Module, data, division: Division, idx_train, idx_val, **options):
    """Train `model` on the subgraphs of `division` (`train_on_subgraphs`; options: lr,
    weight_decay, max_epochs, patience, seed).

    Args:
        model (torch.nn.Module): the model, trained in place.
        data (Data): the graph with ``x`` and ``y``.
        division (Division): the subgraphs.
        idx_train (array_like): training nodes.
        idx_val (array_like): validation nodes.
        **options: keywords of `train_on_subgraphs`.

    Returns:
        TrainResult: best epoch, validation loss and accuracy, loss history.
    """
    return train_on_subgraphs(model, data, division, idx_train, idx_val, **options)


def certify(model: torch.nn.Module, data, n_groups: int = 30, division: str = "edge",
            targets=None, seed: int = 0, hops: int | None = None) -> VotingCertificate:
    """Vote of `model` over the `n_groups` subgraphs of `data` and its certificates, for the
    nodes `targets` (default: all).

    Steps: divide the graph (the same `seed` gives the same subgraphs), classify every node in
    every subgraph (T forward passes, batched as disjoint unions), count the votes, then the
    radius floor(m* / k) per target (docs/theory.md §12). `hops` is the model's receptive
    field for the collective certificate (default: read from GCN / APPNP models).

    Args:
        model (torch.nn.Module): the base classifier, ``forward(x, edge_index)``.
        data (Data): the graph, ``x`` (N, D) and ``edge_index`` (2, E).
        n_groups (int): number of subgraphs T >= 2.
        division (str): ``"edge"``, ``"node"`` or ``"feature"``.
        targets (array_like, optional): node ids or a bool mask (N,); default all nodes.
        seed (int): hash seed.
        hops (int, optional): the model's receptive field.

    Returns:
        VotingCertificate: the certificates.
    """
    n_groups = check_int(n_groups, "n_groups", "[2, inf)")                 # 0. check
    check_choice(division, "division", DIVISIONS)
    targets = _targets(targets, data.num_nodes)
    hops = message_passing_hops(model) if hops is None else check_int(hops, "hops", "[0, inf)")
    n_classes = int(getattr(data, "num_classes", None) or int(data.y.max()) + 1)
    parts = divide_graph(data, n_groups, division, seed)                   # 1. subgraphs
    votes = group_votes(model, data, parts)                                # 2. T votes
    n_classes = max(n_classes, int(votes.max()) + 1)
    return VotingCertificate.from_votes(np.asarray(votes), n_classes,      # 3. certificates
                                        targets, parts, hops)

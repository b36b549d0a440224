"""Voting over hash-divided subgraphs: run and train a node classifier on the T subgraphs of a
`graphcert.noise.division.Division` and certify its majority vote (docs/theory.md §12).

The T subgraphs reach the model as one disjoint union per batch of groups (copy i of node v is
node i N + v), so T forward passes cost a few large sparse products, for any
``forward(x, edge_index) -> (N, C)`` model that treats a disjoint union as separate graphs
(message passing does; a layer that mixes all nodes, such as global attention or a
graph-wide normalization, does not and must not be used here).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from graphcert.certificates.voting import (
    CollectiveVoting,
    certified_radius,
    vote_counts,
    vote_margin,
    voted_class,
)
from graphcert.noise.division import Division
from graphcert.sampling.batching import model_device
from graphcert.tasks.graph.results import Curve, MethodResult, joint_grid
from graphcert.tasks.graph.training import TrainResult, model_inputs, set_seed
from graphcert.utils.validation import check_int, check_real

__all__ = ["VotingCertificate", "group_votes", "message_passing_hops", "subgraph_union",
           "train_on_subgraphs", "voting_result"]

#: Entries of a batch's attribute matrix (nonzeros if sparse): bounds the groups per call.
MAX_BATCH_ENTRIES = 5e7


def message_passing_hops(model: torch.nn.Module) -> int | None:
    """K, the hops a node's output reads (GCN, GAT: their layers; APPNP: its propagation
    steps), or the model's own ``message_passing_hops`` attribute; None if unknown.

    Args:
        model (torch.nn.Module): the base classifier.

    Returns:
        int or None: K.
    """
    hops = getattr(model, "message_passing_hops", None)
    if hops is not None:
        return check_int(hops, "model.message_passing_hops", "[0, inf)")
    if hasattr(model, "convs"):  # gnn_models.GCN, gnn_models.GAT
        return len(model.convs)
    prop = getattr(model, "prop", None)  # gnn_models.APPNPNet
    return int(prop.K) if prop is not None and hasattr(prop, "K") else None


def subgraph_union(division: Division, x: Tensor, groups) -> tuple[Tensor, Tensor]:
    """The subgraphs `groups` as one disjoint union: attributes (len(groups) N, D) sparse COO
    (columns of other groups dropped for the feature division) and edge_index (2, E').

    Args:
        division (Division): the subgraphs.
        x (Tensor): node features, (N, D).
        groups (Sequence[int]): the subgraphs to join.

    Returns:
        tuple[Tensor, Tensor]: features (len(groups) * N, D) and edges (2, E').
    """
    n = division.n_nodes
    x = x.detach().cpu()
    x = (x.to_sparse() if x.layout == torch.strided else x.to_sparse_coo()).coalesce()
    (rows, cols), values = x.indices(), x.values()
    xs, edges, vals = [], [], []
    for i, t in enumerate(groups):
        keep = slice(None) if division.feature_group is None else \
            torch.from_numpy(division.feature_group)[cols] == t
        xs.append(torch.stack([rows[keep] + i * n, cols[keep]]))
        vals.append(values[keep])
        edges.append(torch.from_numpy(division.subgraph_edges(t)) + i * n)
    with warnings.catch_warnings():  # torch's notes on sparse tensors, not about this input
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly")
        x_union = torch.sparse_coo_tensor(torch.cat(xs, 1), torch.cat(vals),
                                          (len(groups) * n, x.shape[1])).coalesce()
    return x_union, torch.cat(edges, 1)


def _batches(division: Division, x: Tensor, model: torch.nn.Module) -> list[list[int]]:
    """Groups per model call, so that one batch's attributes stay below MAX_BATCH_ENTRIES."""
    per_copy = int((x != 0).sum()) if getattr(model, "sparse_input", False) else x.numel()
    size = max(1, min(division.n_groups, int(MAX_BATCH_ENTRIES // max(per_copy, 1))))
    groups = list(range(division.n_groups))
    return [groups[i:i + size] for i in range(0, len(groups), size)]


def _logits(model: torch.nn.Module, division: Division, x: Tensor, groups) -> Tensor:
    """Logits (len(groups), N, C) of `model` on the subgraphs `groups`; a model that fails or
    returns non-finite values there gets a clear error."""
    try:
        inputs, graph = _prepared(model, division, x, groups)
        out = model(inputs, graph)
    except Exception as error:  # noqa: BLE001 (re-raised with the context a user needs)
        raise ValueError(
            f"the model failed on the {division.kind}-hashed subgraphs {list(groups)[:3]}...: "
            f"each keeps all {division.n_nodes} nodes but only about 1/{division.n_groups} of "
            f"the edges, so many nodes are isolated; the model must accept isolated nodes "
            f"(e.g. add self-loops). {type(error).__name__}: {error}") from error
    expected = (len(groups) * division.n_nodes,)
    if out.dim() != 2 or tuple(out.shape[:1]) != expected:
        raise ValueError(f"the model must return logits (N, C) = ({expected[0]}, C) for the "
                         f"union of {len(groups)} subgraphs, got {tuple(out.shape)}")
    if not torch.isfinite(out).all():
        raise ValueError(f"the model returned NaN or inf on the {division.kind}-hashed "
                         "subgraphs, whose many isolated nodes have degree 0: the model must "
                         "handle isolated nodes (e.g. add self-loops before normalizing)")
    return out.view(len(groups), division.n_nodes, -1)


@torch.no_grad()
def group_votes(model: torch.nn.Module, data, division: Division) -> np.ndarray:
    """Class of every node in every subgraph: int64 (T, N); the model in eval mode.

    Args:
        model (torch.nn.Module): the base classifier.
        data (Data): the graph, ``x`` (N, D).
        division (Division): the subgraphs.

    Returns:
        np.ndarray: int64 (T, N).
    """
    model.eval()
    return np.concatenate([_logits(model, division, data.x, groups).argmax(-1).cpu().numpy()
                           for groups in _batches(division, data.x, model)])


def train_on_subgraphs(model: torch.nn.Module, data, division: Division, idx_train, idx_val,
                       *, lr: float = 1e-2, weight_decay: float = 5e-4, max_epochs: int = 500,
                       patience: int = 20, groups_per_step: int = 5,
                       seed: int = 0) -> TrainResult:
    """Train `model` in place as the base classifier of the vote.

    An epoch visits the T subgraphs in batches of `groups_per_step` (fixed batches, shuffled
    order), one Adam step on the cross-entropy of the training nodes per batch; early stopping
    on the mean cross-entropy of the validation nodes over all T subgraphs (eval mode), the
    best weights restored. Returns the best epoch, its validation loss, the voted validation
    accuracy and the (training, validation) loss history.

    Args:
        model (torch.nn.Module): the model, trained in place.
        data (Data): the graph with ``x`` and ``y``.
        division (Division): the subgraphs.
        idx_train (array_like): training nodes.
        idx_val (array_like): validation nodes.
        lr (float): Adam learning rate.
        weight_decay (float): Adam weight decay.
        max_epochs (int): most epochs.
        patience (int): epochs without improvement before stopping.
        groups_per_step (int): subgraphs per Adam step.
        seed (int): seed of the weights and the order.

    Returns:
        TrainResult: best epoch, validation loss and accuracy, loss history.
    """
    check_real(lr, "lr", "(0, inf)")
    check_real(weight_decay, "weight_decay", "[0, inf)")
    max_epochs = check_int(max_epochs, "max_epochs", "[1, inf)")
    patience = check_int(patience, "patience", "[1, inf)")
    groups_per_step = check_int(groups_per_step, "groups_per_step", "[1, inf)")
    set_seed(seed)
    order = np.random.default_rng(seed)
    idx_train = torch.as_tensor(np.asarray(idx_train), dtype=torch.long)
    idx_val = torch.as_tensor(np.asarray(idx_val), dtype=torch.long)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    groups = list(range(division.n_groups))
    steps = [groups[i:i + groups_per_step] for i in range(0, len(groups), groups_per_step)]
    with torch.no_grad():  # a model that cannot take the subgraphs fails here, clearly
        _logits(model.eval(), division, data.x, steps[0][:1])
    train_inputs = [_prepared(model, division, data.x, step) for step in steps]
    val_batches = _batches(division, data.x, model)
    val_inputs = [_prepared(model, division, data.x, batch) for batch in val_batches]
    best_loss, best_epoch, best_state, history = float("inf"), -1, None, []
    for epoch in range(max_epochs):
        model.train()
        losses = []
        for i in order.permutation(len(steps)):
            optimizer.zero_grad()
            loss = _loss(model, train_inputs[i], data.y, idx_train, len(steps[i]),
                         division.n_nodes)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                _loss(model, inputs, data.y, idx_val, len(batch), division.n_nodes).item()
                * len(batch) for inputs, batch in zip(val_inputs, val_batches, strict=True)
            ) / division.n_groups
        history.append((float(np.mean(losses)), val_loss))
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    votes = group_votes(model, data, division)
    counts = vote_counts(votes[:, idx_val.numpy()], max(2, int(votes.max()) + 1))
    val_accuracy = float((voted_class(counts) == data.y[idx_val].numpy()).mean())
    return TrainResult(best_epoch, best_loss, val_accuracy, history)


def _prepared(model, division, x, groups) -> tuple[Tensor, Tensor]:
    """The union of the subgraphs `groups` as `model` takes it: sparse CSR attributes if it
    declares ``sparse_input``, else dense; the graph through its ``prepare_graph``."""
    x_union, edges = subgraph_union(division, x, groups)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        x_union = x_union.to_sparse_csr() if getattr(model, "sparse_input", False) else \
            x_union.to_dense()
    device = model_device(model)
    return model_inputs(model, x_union.to(device), edges.to(device))


def _loss(model, inputs, y, index, n_copies: int, n_nodes: int) -> Tensor:
    """Mean cross-entropy of the nodes `index` over the `n_copies` subgraphs of a union."""
    logits = model(*inputs)
    rows = (index[None, :] + n_nodes * torch.arange(n_copies)[:, None]).ravel()
    return F.cross_entropy(logits[rows.to(logits.device)],
                           y[index].repeat(n_copies).to(logits.device))


@dataclass
class VotingCertificate:
    """Deterministic certificates of a majority vote over hash-divided subgraphs.

    Args:
        targets: (n,) node ids.
        counts: (n, C) votes per class.
        prediction: (n,) voted class, ties to the smaller index.
        margin: (n,) m*, the votes that may change (docs/theory.md §12).
        radius: (n,) edge insertions and deletions certified, floor(m* / k) with k the votes
            one edge change moves (edge hashing 1, node hashing 2, feature hashing T).
        attribute_radius: (n,) flipped attribute bits certified (feature hashing: m*).
        division: the subgraphs.
        hops: the model's receptive field in hops (None if unknown: no collective count).
    """
    targets: np.ndarray
    counts: np.ndarray
    prediction: np.ndarray
    margin: np.ndarray
    radius: np.ndarray
    attribute_radius: np.ndarray
    division: Division
    hops: int | None

    @classmethod
    def from_votes(cls, votes: np.ndarray, n_classes: int, targets: np.ndarray,
                   division: Division, hops: int | None) -> VotingCertificate:
        """From the subgraph votes (T, N) of every node.

        Args:
            votes (np.ndarray): class per subgraph and node, (T, N).
            n_classes (int): number of classes C.
            targets (np.ndarray): target node ids, (n,).
            division (Division): the subgraphs.
            hops (int, optional): the model's receptive field.

        Returns:
            VotingCertificate: the certificates.
        """
        counts = vote_counts(votes[:, targets], n_classes)
        margin = vote_margin(counts)
        return cls(targets, counts, voted_class(counts), margin,
                   certified_radius(margin, division.votes_per_edge_change),
                   certified_radius(margin, division.votes_per_attribute_change),
                   division, hops)

    def certified_accuracy(self, y, budgets) -> np.ndarray:
        """Share of targets classified correctly with radius >= r, per edge budget r.

        Args:
            y (array_like or Tensor): labels of all nodes, (N,).
            budgets (Iterable[int]): edge budgets, (B,).

        Returns:
            np.ndarray: float64 (B,).
        """
        correct = self._correct(y)
        return np.array([(correct & (self.radius >= r)).mean() for r in budgets])

    def collective(self, y, time_limit: float = 30.0) -> CollectiveVoting:
        """The collective certificate of the correctly classified targets (edge hashing).

        Args:
            y (array_like or Tensor): labels of all nodes, (N,).
            time_limit (float): seconds per program (HiGHS).

        Returns:
            CollectiveVoting: the certifier.
        """
        if self.division.kind != "edge":
            raise ValueError(f"the collective certificate needs division 'edge', got "
                             f"{self.division.kind!r}")
        if self.hops is None:
            raise ValueError("the collective certificate needs the model's receptive field: "
                             "pass hops=K (message-passing layers) to certify")
        return CollectiveVoting(self.division.edge_index, self.division.edge_group,
                                self.division.n_nodes, self.division.n_groups, self.hops,
                                self.targets, self.margin, self._correct(y), time_limit)

    def collective_accuracy(self, y, budgets, time_limit: float = 30.0) -> np.ndarray:
        """Share of targets that stay correct under any single attack of r edge changes on
        all targets together, per budget r (a sound lower bound).

        Args:
            y (array_like or Tensor): labels of all nodes, (N,).
            budgets (Iterable[int]): edge budgets, (B,).
            time_limit (float): seconds per program.

        Returns:
            np.ndarray: float64 (B,).
        """
        counts = self.collective(y, time_limit).certified_counts(budgets)
        return counts / self.targets.size

    def _correct(self, y) -> np.ndarray:
        y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
        return self.prediction == y[self.targets]


def voting_result(method: str, cert: VotingCertificate, y, max_additions: int,
                  max_deletions: int, time_limit: float = 30.0) -> MethodResult:
    """The rows of results.json for a voting certificate: the radius holds against any mix
    of insertions and deletions, so the ``edge_additions`` and ``edge_deletions`` curves both
    read it at r, and the grid ``joint_edges`` at a + d; collective counts (edge hashing with
    known hops) beside the naive ones.

    Args:
        method (str): the method's name.
        cert (VotingCertificate): the certificates.
        y (array_like or Tensor): labels of all nodes, (N,).
        max_additions (int): largest edge insertions.
        max_deletions (int): largest edge deletions.
        time_limit (float): seconds per collective program.

    Returns:
        MethodResult: predictions, the two edge curves and the ``joint_edges`` grid.
    """
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    correct = cert.prediction == y[cert.targets]
    budgets = np.arange(max_additions + max_deletions + 1)
    naive = [int((correct & (cert.radius >= r)).sum()) for r in budgets]
    certified = [int((cert.radius >= r).sum()) for r in budgets]
    collective = None
    if cert.division.kind == "edge" and cert.hops is not None:
        collective = cert.collective(y, time_limit).certified_counts(budgets).tolist()
    n = int(cert.targets.size)
    result = MethodResult(method, cert.prediction, correct, np.zeros(n, dtype=bool))
    for name, top in (("edge_additions", max_additions), ("edge_deletions", max_deletions)):
        result.curves[name] = Curve(budgets[:top + 1].tolist(), naive[:top + 1],
                                    None if collective is None else collective[:top + 1],
                                    certified[:top + 1], n)

    def grid(counts):
        return [[counts[a + d] for d in range(max_deletions + 1)]
                for a in range(max_additions + 1)]
    result.extra["joint_edges"] = joint_grid(range(max_additions + 1), range(max_deletions + 1),
                                             grid(naive), None if collective is None
                                             else grid(collective), n)
    return result

"""The attacks a certificate of `graphcert.certify` answers, and their budgets
(docs/theory.md §1, §8, §9).

An attack names what the adversary changes; ``cert.robust(attack, budget)`` asks whether each
target's smoothed prediction stays the same under every such change within ``budget``:

=================== ========================== =============================================
attack              budget                     the adversary may
=================== ========================== =============================================
``"additions"``     int a, or a pair (a, d)    add a attribute bits (and delete d)
``"deletions"``     int d, or a pair (a, d)    delete d attribute bits (and add a)
``"attributes"``    a pair (a, d)              add a and delete d attribute bits
``"edge_additions"`` int a, or a pair (a, d)   insert a edges (and delete d)
``"edge_deletions"`` int d, or a pair (a, d)   delete d edges (and insert a)
``"edges"``         a pair (a, d)              insert a and delete d edges
``"attributes_and_edges"`` ((a, d), (ea, ed))  add a and delete d attribute bits, insert ea
                                               and delete ed edges, all at once
``"hamming"``       int r                      change r categorical attribute values
``"l2"``            float eps >= 0             move the features by l2 norm at most eps
``"nodes"``         int r                      control r nodes: change their attribute bits,
                                               within the per-node bit budget the
                                               certificate was built with (§14)
``"injection"``     int rho, or a pair         inject rho nodes with at most tau edges each
                    (rho, tau)                 (tau: the certificate's unless given, §15)
=================== ========================== =============================================

A pair budget always means (additions, deletions) of the attack's kind, attribute bits or
edges: the joint region of both directions. Each noise covers the kinds it smooths: attribute
noise "attributes", structure noise "edges", joint noise both, K-ary noise "hamming", Gaussian
noise "l2", hierarchical noise "nodes", node / edge deletion noise "injection"; joint noise
also answers "attributes_and_edges". Asking a certificate about an
attack its noise does not cover is an error.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphcert.utils.validation import (
    check_choice,
    check_index_array,
    check_int,
    check_node_labels,
    check_real,
)

__all__ = ["ATTACKS", "KIND_ATTACKS", "AnswersAttacks", "AnswersFromRadius", "attack_budget",
           "covered_kinds"]

#: attack -> (kind, direction); direction None: the attack takes the whole budget of its kind
ATTACKS = {"additions": ("attributes", "additions"), "deletions": ("attributes", "deletions"),
           "attributes": ("attributes", None),
           "edge_additions": ("edges", "additions"), "edge_deletions": ("edges", "deletions"),
           "edges": ("edges", None), "attributes_and_edges": ("joint", None),
           "hamming": ("hamming", None), "l2": ("l2", None), "nodes": ("nodes", None),
           "injection": ("injection", None)}
#: attack names per kind ("joint": attribute bits and edges together, under joint noise)
KIND_ATTACKS = {kind: tuple(name for name, (of, _) in ATTACKS.items() if of == kind)
                for kind in ("attributes", "edges", "joint", "hamming", "l2", "nodes",
                             "injection")}


def attack_budget(attack: str, budget, kinds: Sequence[str]
                  ) -> tuple[str, tuple[int, int] | int | float]:
    """The kind of `attack` and its budget: (additions, deletions) for attribute bits and
    edges, (additions, deletions, edge additions, edge deletions) for both, an int for
    "hamming" and "nodes", an int or (rho, tau) for "injection", a float for "l2" (the
    table of the module docstring).

    Args:
        attack: one of `ATTACKS`.
        budget: an int (a float radius for "l2"), an (additions, deletions) pair, or two
            pairs for "attributes_and_edges".
        kinds: the kinds the certificate covers ("attributes", "edges", "hamming", "l2",
            "nodes", "injection"); another kind is an error.

    Returns:
        tuple[str, tuple[int, int] | int | float]: the kind and the checked budget.
    """
    check_choice(attack, "attack", tuple(ATTACKS))
    kind, direction = ATTACKS[attack]
    covered = set(kinds) >= {"attributes", "edges"} if kind == "joint" else kind in kinds
    if not covered:
        answered = [name for kind_ in covered_kinds(kinds) for name in KIND_ATTACKS[kind_]]
        raise ValueError(f"attack {attack!r} is not covered by this certificate: its noise "
                         f"smooths {' and '.join(kinds)}, so it answers {answered}; build the "
                         f"noise that smooths what {attack!r} changes to certify it")
    if kind == "l2":
        return kind, check_real(budget, "budget", "[0, inf)")
    if kind in ("hamming", "nodes"):
        return kind, check_int(budget, "budget", "[0, inf)")
    if kind == "injection":
        if isinstance(budget, (tuple, list, np.ndarray)):
            if len(budget) != 2:
                raise ValueError(f"attack 'injection' takes rho or a (rho, tau) pair as "
                                 f"budget, got {budget!r}")
            return kind, (check_int(budget[0], "budget[0] (rho)", "[0, inf)"),
                          check_int(budget[1], "budget[1] (tau)", "[0, inf)"))
        return kind, check_int(budget, "budget", "[0, inf)")
    if kind == "joint":
        if not isinstance(budget, (tuple, list)) or len(budget) != 2:
            raise ValueError(f"attack 'attributes_and_edges' takes two (additions, deletions) "
                             f"pairs as budget, attributes then edges, got {budget!r}")
        return kind, _pair(budget[0], "budget[0]") + _pair(budget[1], "budget[1]")
    if isinstance(budget, (tuple, list, np.ndarray)):
        return kind, _pair(budget, "budget")
    if direction is None:
        raise ValueError(f"attack {attack!r} takes an (additions, deletions) pair as budget, "
                         f"got {budget!r}")
    budget = check_int(budget, "budget", "[0, inf)")
    return kind, (budget, 0) if direction == "additions" else (0, budget)


def covered_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The attack kinds answered by a certificate whose noise smooths `kinds`: those, and
    "joint" when attribute bits and edges are smoothed together.

    Args:
        kinds (Sequence[str]): the kinds the noise smooths.

    Returns:
        tuple[str, ...]: the kinds answered.
    """
    joint = ("joint",) if set(kinds) >= {"attributes", "edges"} else ()
    return tuple(kinds) + joint


def _pair(budget, name: str) -> tuple[int, int]:
    """An (additions, deletions) pair of whole numbers >= 0."""
    if not isinstance(budget, (tuple, list, np.ndarray)) or len(budget) != 2:
        raise ValueError(f"{name} must be an (additions, deletions) pair, got {budget!r}")
    return (check_int(budget[0], f"{name}[0] (additions)", "[0, inf)"),
            check_int(budget[1], f"{name}[1] (deletions)", "[0, inf)"))


class AnswersAttacks:
    """What every certificate of `graphcert.certify` answers, whatever its family.

    A subclass sets ``targets`` (the certified nodes), ``prediction`` (the smoothed class per
    target, -1 where it abstains) and ``kinds`` (the attack kinds its noise covers), and
    implements ``_robust(kind, budget)`` for a checked budget of `attack_budget`.
    """

    targets: np.ndarray
    prediction: np.ndarray
    kinds: tuple[str, ...]

    @property
    def attacks(self) -> tuple[str, ...]:
        """The attack names `robust` answers."""
        return tuple(name for kind in covered_kinds(self.kinds) for name in KIND_ATTACKS[kind])

    def robust(self, attack: str, budget) -> np.ndarray:
        """Per target: True where the smoothed prediction is certified to stay the same under
        every perturbation of `attack` within `budget`, False where it is not or where the
        smoothed classifier abstains (the table of `graphcert.tasks.graph.attacks`).

        Args:
            attack (str): one of `ATTACKS`.
            budget: its budget (the table of `graphcert.tasks.graph.attacks`).

        Returns:
            bool array of shape (len(targets),).
        """
        kind, amount = attack_budget(attack, budget, self.kinds)
        return self._robust(kind, amount) & (self.prediction >= 0)

    def correct(self, y) -> np.ndarray:
        """Targets whose smoothed prediction is their label `y[target]` (never abstaining);
        `y` holds the labels of all nodes.

        Args:
            y (array_like or Tensor): labels of all nodes, shape (N,).

        Returns:
            np.ndarray: bool (T,).
        """
        stats = getattr(self, "stats", None)
        if stats is not None:
            return self.prediction == check_node_labels(y, len(stats.labels))[self.targets]
        labels = check_node_labels(y, len(y))  # no statistics kept: at least every target
        check_index_array(self.targets, "targets", len(labels))
        return self.prediction == labels[self.targets]

    def certified_accuracy(self, y, attack: str, budgets) -> np.ndarray:
        """Share of the targets correct and `robust` at each budget of `budgets` (abstentions
        count as wrong, docs/theory.md §6).

        Args:
            y (array_like or Tensor): labels of all nodes, shape (N,).
            attack (str): one of `ATTACKS`.
            budgets (Iterable): budgets of `attack`, (B,).

        Returns:
            np.ndarray: float64 (B,).
        """
        correct = self.correct(y)
        return np.array([np.mean(correct & self.robust(attack, budget)) for budget in budgets])

    def _robust(self, kind: str, budget) -> np.ndarray:
        raise NotImplementedError


class AnswersFromRadius(AnswersAttacks):
    """A certificate with one radius per target (``base``, a
    `graphcert.certificates.BaseCertificate`): the variance-constrained and the Gaussian
    families."""

    @property
    def prediction(self) -> np.ndarray:
        """Smoothed class of each target, -1 where it abstains, int64 (T,)."""
        return np.where(self.base.abstained, -1, self.base.predicted)

    @property
    def radius(self) -> np.ndarray:
        """Radius eta of each target (docs/theory.md §3, §4), float64 (T,), ``-inf`` where it
        abstains."""
        return self.base.eta

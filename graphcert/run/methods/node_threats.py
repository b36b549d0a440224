"""Node-level threat models on the command line (docs/theory.md §14, §15; docs/nodes.md):
``--threat-model nodes --methods hierarchical`` and ``--threat-model injection --methods
injection``.

Each method trains its own model under its noise (`train_under_noise`; cached in the run
directory as ``model_<method>.pt`` with its settings, or ``--weights``: a model that takes
D + 1 inputs for hierarchical noise, the selection indicator last), then certifies it with
the one call `graphcert.certify` (statistics in ``stats_<method>.npz``, resumable): the same
certificate, counts and predictions as the one call on the same seeds. Curves: ``nodes``
(0 .. max_nodes controlled nodes) and ``injection`` (0 .. max_injected injected nodes with
``tau`` edges each), naive and collective.
"""
from __future__ import annotations

import json
import time
from abc import abstractmethod
from pathlib import Path

from graphcert.run.methods.base import CertificationInputs, DeterministicMethod

__all__ = ["Hierarchical", "Injection"]

_TRAINING = ("dataset", "model", "model_params", "split_seed", "n_per_class", "train_seed",
             "lr", "weight_decay", "max_epochs", "patience")


class _NodeThreat(DeterministicMethod):
    """Train under the noise, certify with `graphcert.certify`, one curve per budget."""

    attack: str  # the attack of the certificate and the name of the curve
    noise_fields: tuple[str, ...]  # the config fields of the noise (the training key)

    @abstractmethod
    def noise(self, config, data):
        """The smoothing noise, built from `config` for `data`.

        Args:
            config (RunConfig): the run's settings.
            data (Data): the graph.

        Returns:
            HierarchicalSparseNoise or NodeEdgeDeletionNoise: the noise.
        """

    @abstractmethod
    def budgets(self, config) -> list[int]:
        """The budgets of the curve, 0 first.

        Args:
            config (RunConfig): the run's settings.

        Returns:
            list[int]: numbers of nodes.
        """

    @abstractmethod
    def certify_options(self, config) -> dict:
        """The per-node budget keywords of `graphcert.certify`.

        Args:
            config (RunConfig): the run's settings.

        Returns:
            dict: keyword -> value.
        """

    def run(self, config, data, idx_train, idx_val, inputs: CertificationInputs, run_dir,
            log):
        from graphcert.tasks.graph.api import certify
        from graphcert.tasks.graph.results import Curve, MethodResult
        if self.attack == "nodes" and config.max_nodes > data.num_nodes:  # r <= N
            raise ValueError(f"max_nodes == {config.max_nodes}, must be in [1, num_nodes="
                             f"{data.num_nodes}] for {config.dataset}")
        noise = self.noise(config, data)
        model = self._model(config, data, noise, idx_train, idx_val, Path(run_dir), log)
        clock = time.perf_counter()
        statistics = f"stats_{self.name}.npz"
        cert = certify(model, data, noise, inputs.targets, n_pre=config.n_pre,
                       n_samples=config.n_samples, alpha=config.alpha, seed=config.mc_seed,
                       device=config.device, batch_size=config.batch_size,
                       chunk_size=config.chunk_size, checkpoint=Path(run_dir) / statistics,
                       **self.certify_options(config))
        sampling = time.perf_counter() - clock
        budgets = self.budgets(config)
        counts = cert.node_threat_result(inputs.y, budgets)
        certified = [int(cert.robust(self.attack, b).sum()) for b in budgets]
        correct = cert.correct(inputs.y)
        abstained = cert.prediction < 0
        curve = Curve(budgets, counts.naive, counts.collective, certified, len(cert.targets))
        result = MethodResult(self.name, cert.prediction, correct, abstained,
                              {self.attack: curve})
        return result, {"n_pre": config.n_pre, "n_samples": config.n_samples,
                        "batch_size": config.batch_size, "statistics": statistics,
                        "hops": cert.hops, "sampling_seconds": sampling,
                        "noise": noise.describe(), **self.certify_options(config)}

    def _model(self, config, data, noise, idx_train, idx_val, run_dir: Path, log):
        """`config.weights`, or the model trained under `noise` (cached in the run directory
        with the settings it was trained with)."""
        import torch

        from graphcert.run.models import build_model
        from graphcert.tasks.graph.node_threats import train_under_noise
        from graphcert.tasks.graph.voting import message_passing_hops
        torch.manual_seed(config.train_seed)
        in_features = data.x.shape[1] + int(getattr(noise, "indicator", False))
        model = build_model(config.model, in_features, data.num_classes,
                            **config.model_params)
        if message_passing_hops(model) is None:  # the collective certificate's fields
            raise ValueError(f"{self.name}: the receptive field of model {config.model!r} is "
                             "unknown; give the class a message_passing_hops attribute (its "
                             "message-passing steps)")
        if config.weights is not None:
            try:
                model.load_state_dict(torch.load(config.weights, map_location="cpu",
                                                 weights_only=True))
            except RuntimeError as error:
                raise ValueError(f"weights {config.weights} do not fit model {config.model} "
                                 f"with {in_features} inputs ({self.name}): {error}") from error
            return model.eval()
        key = json.dumps({k: getattr(config, k) for k in _TRAINING + self.noise_fields},
                         sort_keys=True)

        def train() -> str:
            loss = train_under_noise(model, data, noise, idx_train, idx_val, lr=config.lr,
                                     weight_decay=config.weight_decay,
                                     max_epochs=config.max_epochs, patience=config.patience,
                                     seed=config.train_seed)
            return (f"trained {config.model} under its noise in {{seconds}}s "
                    f"(validation loss {loss:.3f})")

        return self.cached_model(model, run_dir, key, train, log,
                                 "the model trained under its noise")


class Hierarchical(_NodeThreat):
    """Hierarchical smoothing against r controlled nodes (docs/theory.md §14): rows selected
    with ``p_select``, their bits flipped with ``theta_plus`` / ``theta_minus_low``, the
    selection as an extra input column."""

    name = "hierarchical"
    label = "hierarchical (controlled nodes)"
    features = "binary"
    threat_models = ("nodes",)
    attack = "nodes"
    noise_fields = ("p_select", "theta_plus", "theta_minus_low")
    fields = frozenset({"threat_model", "max_nodes", "node_bit_additions",
                        "node_bit_deletions", *noise_fields})

    def noise(self, config, data):
        from graphcert.tasks.graph.node_threats import hierarchical_noise
        return hierarchical_noise(data, config.p_select, theta_plus=config.theta_plus,
                                  theta_minus=config.theta_minus_low)

    def budgets(self, config) -> list[int]:
        return list(range(config.max_nodes + 1))

    def certify_options(self, config) -> dict:
        return {"bits_per_node": (config.node_bit_additions, config.node_bit_deletions)}


class Injection(_NodeThreat):
    """Node-aware bi-smoothing against rho injected nodes with ``tau`` edges each
    (docs/theory.md §15): nodes deleted with ``p_node``, edges with ``p_edge``."""

    name = "injection"
    label = "node / edge deletion (injected nodes)"
    features = "continuous"
    threat_models = ("injection",)
    attack = "injection"
    noise_fields = ("p_node", "p_edge")
    fields = frozenset({"threat_model", "tau", "max_injected", *noise_fields})

    def noise(self, config, data):
        from graphcert.tasks.graph.node_threats import injection_noise
        return injection_noise(data, config.p_node, config.p_edge)

    def budgets(self, config) -> list[int]:
        return list(range(config.max_injected + 1))

    def certify_options(self, config) -> dict:
        return {"tau": config.tau}

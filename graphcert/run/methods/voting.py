"""Voting over hash-divided subgraphs (docs/voting.md): no sampling; one base classifier per
division, trained on its T subgraphs and cached in the run directory as
``model_<method>.pt`` with the settings it was trained with."""
from __future__ import annotations

import json
from pathlib import Path

from graphcert.run.methods.base import CertificationInputs, DeterministicMethod

__all__ = ["Voting"]


class Voting(DeterministicMethod):
    """Majority vote over the ``n_groups`` subgraphs of one hash division; certifies edge
    insertions and deletions (``edge``: one vote per change, ``node``: two).

    Args:
        division (str): ``"edge"`` or ``"node"`` hashing.
    """

    features = "continuous"  # any real features: the vote needs none of the binary noise
    threat_models = ("structure",)
    fields = frozenset({"threat_model", "n_groups", "hash_seed", "max_edge_deletions",
                        "max_edge_additions"})

    def __init__(self, division: str):
        self.division = division
        self.name = f"voting_{division}"
        self.label = f"{division} voting"

    def run(self, config, data, idx_train, idx_val, inputs: CertificationInputs, run_dir,
            log):
        import graphcert.voting as voting
        from graphcert.tasks.graph.voting import voting_result
        division = voting.divide_graph(data, config.n_groups, self.division, config.hash_seed)
        model = self._model(config, data, division, idx_train, idx_val, Path(run_dir), log)
        cert = voting.certify(model, data, config.n_groups, self.division, inputs.targets,
                              config.hash_seed)
        result = voting_result(self.name, cert, inputs.y, config.max_edge_additions,
                               config.max_edge_deletions)
        return result, {"division": self.division, "n_groups": config.n_groups,
                        "hash_seed": config.hash_seed, "hops": cert.hops,
                        "votes_per_edge_change": division.votes_per_edge_change}

    def _model(self, config, data, division, idx_train, idx_val, run_dir: Path, log):
        """The base classifier: `config.weights` if given, else trained on the subgraphs
        (or loaded from the run directory when trained with the same settings)."""
        import torch

        from graphcert.run.models import build_model
        from graphcert.tasks.graph.voting import train_on_subgraphs
        torch.manual_seed(config.train_seed)
        model = build_model(config.model, data.x.shape[1], data.num_classes,
                            **config.model_params)
        if config.weights is not None:
            model.load_state_dict(torch.load(config.weights, map_location="cpu",
                                             weights_only=True))
            return model.eval()
        key = json.dumps({**{k: getattr(config, k) for k in (
            "dataset", "model", "model_params", "split_seed", "n_per_class", "train_seed", "lr",
            "weight_decay", "max_epochs", "patience", "n_groups", "hash_seed")},
            "division": self.division}, sort_keys=True)
        def train() -> str:
            trained = train_on_subgraphs(model, data, division, idx_train, idx_val,
                                         lr=config.lr, weight_decay=config.weight_decay,
                                         max_epochs=config.max_epochs,
                                         patience=config.patience, seed=config.train_seed)
            return (f"trained {config.model} on {config.n_groups} subgraphs in "
                    f"{{seconds}}s (best epoch {trained.best_epoch}, voted validation "
                    f"accuracy {trained.val_accuracy:.3f})")

        return self.cached_model(model, run_dir, key, train, log, "the base classifier")

"""Configuration of a certification run: one typed schema (`graphcert.run.schema`) serves the
flags, YAML files and the ``config`` saved in results.json.

Creating a `RunConfig` checks every value and the model's parameters, so a run fails before it
loads data or trains.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from graphcert.certificates.bounds import BOUNDS, RENAMED_BOUNDS
from graphcert.run.methods import METHODS
from graphcert.run.methods.threats import ALL_THREAT_MODELS, THREAT_MODELS, fields_not_read
from graphcert.run.schema import Schema, option
from graphcert.utils.validation import check_choice

__all__ = ["TARGETS", "THREAT_MODELS", "RunConfig"]

TARGETS = ("val", "test")
SEEDS = "[0, 4294967295]"  # 32-bit seeds: METIS (pymetis) and numpy's legacy seeding take no more
DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_MODEL_ARGUMENTS = ("in_features", "num_classes")  # given by the data, not by model_params
_TRAINING_FIELDS = ("dataset", "model", "model_params", "split_seed", "n_per_class",
                    "train_seed", "lr", "weight_decay", "max_epochs", "patience", "train_noise",
                    "theta_plus", "theta_minus_low")
_STRUCTURE_TRAINING_FIELDS = ("threat_model", "p_plus", "p_minus")  # with edges threatened
#: the denoising step is part of the trained model (docs/theory.md §13); abstention is not
#: (it only acts when certifying) but is part of the scores' fingerprint
_DENOISE_FIELDS = ("denoise", "filter_similarity", "filter_threshold", "filter_always",
                   "top_k")
DENOISERS = ("none", "similarity", "top_k")
SIMILARITIES = ("jaccard", "cosine", "learned")


def _registered_methods() -> tuple[str, ...]:
    return tuple(METHODS)


@dataclass
class RunConfig(Schema):
    """Everything that determines a run's results; defaults follow the papers (LRS §7.2, C.3)
    except the sample counts, which are sized for a laptop-scale first run.

    Args:
        **fields: one keyword per field below, each documented by its ``help`` (the text of
            ``graphcert certify --help``, with its default and constraint).
    """

    seed_fields = ("split_seed", "train_seed", "mc_seed")

    dataset: str = option("cora_ml", help="cora_ml, citeseer, an OGB name like ogbn-arxiv or "
                          "planted_categorical (synthetic, categorical attributes)")
    model: str = option("appnp", help="registered model (appnp, gat, gcn) or your own "
                        "torch.nn.Module with forward(x, edge_index): path/to/file.py:ClassName or "
                        "package.module:ClassName, built as ClassName(in_features, "
                        "num_classes, **model_params) (graphcert.run.models)")
    model_params: dict = option(
        {}, help="keyword arguments of the model",
        keys={"n_layers": (int, "GCN depth (the papers also use 6)"),
              "hidden": (int, "hidden units"), "dropout": (float, "dropout probability")})
    weights: str | None = option(None, help="state dict of the model to certify (torch.save of "
                                 "model.state_dict()); without it the model is trained")
    device: str = option("cpu", help="where noise is drawn and the model runs: cpu, cuda, "
                         "cuda:N or auto (CUDA when available)")
    methods: list[str] = option(["localized", "sparse_smooth"], choices=_registered_methods,
                                help="smoothing methods to certify")
    threat_model: str = option("attributes", choices=ALL_THREAT_MODELS,
                               help="what the adversary changes: attribute bits, edges "
                               "(structure: insertions and deletions) or both (docs/theory.md §8; "
                               "binary methods); nodes: controlled nodes (method hierarchical, "
                               "§14); injection: injected nodes (method injection, §15)")
    targets: str = option("val", choices=TARGETS, help="certify validation or test nodes")
    split_seed: int = option(0, interval=SEEDS, help="seed of the train/validation split")
    n_per_class: int = option(20, interval="[1, inf)",
                              help="training (and validation) nodes per class")
    # training (the papers: Adam 1e-3 / 1e-3, trained at the minimal noise level)
    train_seed: int = option(0, interval=SEEDS, help="seed of the training")
    lr: float = option(1e-3, interval="(0, inf)", help="Adam learning rate")
    weight_decay: float = option(1e-3, interval="[0, inf)", help="Adam weight decay")
    max_epochs: int = option(3000, interval="[1, inf)", help="training epochs at most")
    patience: int = option(50, interval="[0, inf)", help="early-stopping patience (epochs)")
    train_noise: bool = option(True, help="train at the minimal noise level (else clean)")
    # smoothing distributions (docs/theory.md §2)
    n_clusters: int = option(5, interval="[1, inf)", help="METIS clusters of localized smoothing")
    theta_plus: float = option(0.01, interval="[0, 1]", help="probability of adding a bit")
    theta_minus_low: float = option(0.6, interval="[0, 1]",
                                    help="deletion probability for the own "
                                    "cluster (and the isotropic baselines)")
    theta_minus_high: float = option(0.95, interval="[0, 1]", help="deletion probability for the "
                                     "least connected cluster")
    # structure noise (threat models structure and both, docs/theory.md §8): SparseSmooth's graph
    # setting
    p_plus: float = option(0.001, interval="[0, 1]",
                           help="structure noise: probability of adding an absent edge")
    p_minus: float = option(0.4, interval="[0, 1]",
                            help="structure noise: probability of deleting an edge next to the "
                            "own cluster (and for the isotropic methods)")
    p_minus_high: float = option(0.9, interval="[0, 1]",
                                 help="structure noise: probability of deleting an edge "
                                 "between the least connected clusters")
    # localized Gaussian smoothing of continuous features ("gaussian", docs/theory.md §2, §4): sigma
    # by affinity rank, certified accuracy on l2 radii 0, l2_step, ... (radii quantized into
    # milp_bins per cluster, default 64, for the collective LP/MILP)
    sigma_min: float = option(0.25, interval="(0, inf)",
                              help="gaussian method: noise level on the own cluster")
    sigma_max: float = option(1.0, interval="(0, inf)",
                              help="gaussian method: noise level on the least connected "
                              "cluster")
    l2_step: float = option(0.05, interval="(0, inf)",
                            help="gaussian method: l2 radius grid step")
    # K-ary noise on categorical attributes ("kary", "kary_localized", docs/theory.md §9): keep a
    # value with probability keep (isotropic; own cluster when localized) down to keep_far (least
    # connected cluster), else redraw it uniformly; certified accuracy on Hamming budgets
    # 0..max_hamming (changed attribute values)
    keep: float = option(0.5, interval="[0, 1]",
                         help="kary methods: probability of keeping an attribute value "
                         "(own cluster when localized)")
    keep_far: float = option(0.1, interval="[0, 1]",
                             help="kary_localized: keep probability on the least connected "
                             "cluster")
    max_hamming: int = option(20, interval="[1, inf)",
                              help="kary methods: largest Hamming budget (changed attribute "
                              "values) certified")
    # node-level threat models (docs/theory.md §14, §15; methods hierarchical, injection): the
    # model is trained under the method's noise
    p_select: float = option(0.81, interval="(0, 1]",
                             help="hierarchical: probability that a node's row is noised "
                             "(theta_plus / theta_minus_low flip its bits)")
    node_bit_additions: int = option(0, interval="[0, inf)",
                                     help="hierarchical: bits each controlled node adds")
    node_bit_deletions: int = option(1, interval="[0, inf)",
                                     help="hierarchical: bits each controlled node deletes")
    max_nodes: int = option(5, interval="[1, inf)",
                            help="hierarchical: largest number of controlled nodes certified")
    p_node: float = option(0.8, interval="[0, 1)", help="injection: node deletion probability")
    p_edge: float = option(0.9, interval="[0, 1)", help="injection: edge deletion probability")
    tau: int = option(6, interval="[0, inf)", help="injection: edges per injected node")
    max_injected: int = option(30, interval="[1, inf)",
                               help="injection: largest number of injected nodes certified")
    # Monte Carlo (docs/theory.md §3, §4)
    n_pre: int = option(200, interval="[1, inf)", help="pre-samples that fix each candidate class")
    n_samples: int = option(2000, interval="[1, inf)", help="Monte Carlo samples per distribution")
    alpha: float = option(0.01, interval="(0, 1)",
                          help="significance level of the certificates")
    bounds: str = option("clopper_pearson", choices=BOUNDS, renamed=RENAMED_BOUNDS,
                         help="confidence bounds of the variance-constrained methods")
    # scores smoothed by the variance-constrained methods: softmax(logits / T); T = 0 smooths
    # one-hot predictions (vote frequencies). Any T is sound (gnn_models.temperature).
    score_temperature: float = option(0.0, interval="[0, inf)",
                                      help="variance-constrained methods smooth "
                                      "softmax(logits / T); 0 = one-hot votes")
    batch_size: int = option(32, interval="[1, inf)", help="noisy graphs per model call")
    chunk_size: int = option(500, interval="[1, inf)", help="samples per checkpointed chunk")
    n_bins: int = option(1000, interval="[1, inf)",
                         help="score histogram bins, kept only for bounds: dkw")
    mc_seed: int = option(0, interval=SEEDS, help="seed of the Monte Carlo sampling")
    # collective certificate (docs/theory.md §5)
    max_deletions: int = option(100, interval="[1, inf)", help="largest deletion budget certified")
    max_additions: int = option(20, interval="[1, inf)", help="largest addition budget certified")
    max_edge_deletions: int = option(50, interval="[1, inf)",
                                     help="largest edge deletion budget certified")
    max_edge_additions: int = option(10, interval="[1, inf)",
                                     help="largest edge addition budget certified")
    # voting over hash-divided subgraphs (voting_edge, voting_node; docs/voting.md)
    n_groups: int = option(30, interval="[2, inf)",
                           help="voting methods: subgraphs the graph is hashed into (T)")
    hash_seed: int = option(0, interval=SEEDS,
                            help="voting methods: key of the hash division")
    local_budget: int | None = option(None, interval="[0, inf)",
                                      help="changed bits allowed per node "
                                      "(variance-constrained methods)")
    milp_bins: int | None = option(None, interval="[1, inf)",
                                   help="quantize radii into this many bins "
                                   "(gaussian: 64 if none)")
    relax: bool = option(False, help="LP relaxation instead of the exact MILP")
    # base classifier: a denoising step before the model and abstention after it
    # (docs/theory.md §10, §13); both are part of the model that is certified
    denoise: str = option("none", choices=DENOISERS,
                          help="edge filter before the model: similarity (drop edges whose "
                          "endpoints are dissimilar) or top_k (each node's most similar edges)")
    filter_similarity: str = option("jaccard", choices=SIMILARITIES,
                                    help="similarity of the denoiser: jaccard (binary "
                                    "features), cosine, or learned (cosine of an embedding "
                                    "trained to predict the clean edges)")
    filter_threshold: float = option(0.5, interval="(0, 1]",
                                     help="denoise similarity: keep pairs at or above it")
    filter_always: float | None = option(None, interval="(0, 1]",
                                         help="denoise similarity: add the pairs at or above "
                                         "it to every noisy graph")
    top_k: int = option(5, interval="[1, inf)", help="denoise top_k: edges kept per node")
    abstain_below: float | None = option(None, interval="(0, 1)",
                                         help="noisy copies abstain where their top softmax "
                                         "probability is below it (must exceed 1/C)")

    def check(self) -> None:
        if not self.sigma_min <= self.sigma_max:
            raise ValueError(f"sigma_min == {self.sigma_min} > sigma_max == {self.sigma_max}, "
                             "need sigma_min <= sigma_max")
        if self.bounds == "clopper_pearson" and self.score_temperature != 0:
            raise ValueError("bounds 'clopper_pearson' need one-hot scores (score_temperature "
                             "0); use 'dkw' or 'bernstein' for softmax scores")
        fields = self.method_fields()
        for low, high in (("theta_minus_low", "theta_minus_high"), ("p_minus", "p_minus_high")):
            if high in fields and getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} == {getattr(self, low)} > {high} == "
                                 f"{getattr(self, high)}: the own cluster gets the lowest "
                                 f"deletion probability, need {low} <= {high}")
        if "keep_far" in fields and self.keep_far > self.keep:
            raise ValueError(f"keep_far == {self.keep_far} > keep == {self.keep}: the own "
                             "cluster gets the least noise (the highest keep), need "
                             "keep_far <= keep")
        if self.filter_always is not None and self.filter_always < self.filter_threshold:
            raise ValueError(f"filter_always == {self.filter_always} < filter_threshold == "
                             f"{self.filter_threshold}: pairs added to every graph must also "
                             "pass the filter, need filter_always >= filter_threshold")
        unable = [name for name in self.methods
                  if self.threat_model not in METHODS[name].threat_models]
        if unable:
            able = [name for name, method in METHODS.items()
                    if self.threat_model in method.threat_models]
            raise ValueError(f"threat_model == {self.threat_model!r} is not certified by "
                             f"{unable}; methods that certify it: {', '.join(able)}")
        if not DEVICE.match(self.device):
            raise ValueError(f"device == {self.device!r}, must be 'cpu', 'cuda', 'cuda:N' or "
                             "'auto'")
        toy = check_model_params(self.model, self.model_params)
        if self.threat_model == "injection":
            from graphcert.noise.injection import require_edge_input
            require_edge_input(toy)
        from graphcert.data.datasets import check_dataset_name
        check_dataset_name(self.dataset, "dataset")
        if self.weights is not None:
            check_weights_file(self.weights)
        from graphcert.sampling.monte_carlo import MonteCarloConfig
        MonteCarloConfig(self.n_samples, self.n_pre, self.chunk_size, self.batch_size,
                         self.n_bins, self.mc_seed)  # the chunk count, before any work

    def fields_read(self, method: str) -> frozenset[str]:
        """The fields `method` reads under this threat model.

        Args:
            method (str): a registered method.

        Returns:
            frozenset[str]: field names.
        """
        return METHODS[method].fields - fields_not_read(self.threat_model)

    def method_fields(self) -> frozenset[str]:
        """The fields the requested methods read.

        Returns:
            frozenset[str]: field names.
        """
        return frozenset().union(*(self.fields_read(name) for name in self.methods))

    def ignored_fields(self, method: str) -> dict:
        """Method settings changed from their defaults that `method` does not read (e.g.
        local_budget for SparseSmooth, p_plus under threat_model attributes): reported next
        to its results.

        Args:
            method (str): a registered method.

        Returns:
            dict: field name -> value.
        """
        shared = frozenset().union(*(m.fields for m in METHODS.values()))
        defaults = self.defaults()
        return {name: getattr(self, name) for name in sorted(shared - self.fields_read(method))
                if getattr(self, name) != defaults[name]}

    def training_key(self) -> dict:
        """The fields a trained model depends on (to refuse a stale checkpoint); the
        structure noise counts only when edges are threatened (models are trained on it).

        Returns:
            dict: field name -> value.
        """
        fields = _TRAINING_FIELDS + (_STRUCTURE_TRAINING_FIELDS
                                     if self.threat_model in ("structure", "both") else ())
        if self.denoise != "none":
            fields += _DENOISE_FIELDS
        return {k: getattr(self, k) for k in fields}


def check_weights_file(weights: str) -> None:
    """`weights` names a non-empty file (its contents are read with the model,
    `graphcert.run.pipeline.read_weights`)."""
    path = Path(weights)
    if not path.exists():
        raise ValueError(f"weights == {weights!r}: file not found")
    if not path.is_file():
        raise ValueError(f"weights == {weights!r} is a directory, expected a state dict file "
                         "(torch.save(model.state_dict(), path))")
    if path.stat().st_size == 0:
        raise ValueError(f"weights == {weights!r} is an empty file, expected a state dict")


def check_model_params(model: str, params: dict):
    """`model` is registered or a user's class (`graphcert.run.models`) and accepts `params`
    (built once at toy size to check values); returns that toy model."""
    from gnn_models import MODELS
    from graphcert.run.models import is_model_spec, model_class
    cls = model_class(model) if is_model_spec(model) else \
        MODELS[check_choice(model.lower(), "model", sorted(MODELS))]
    accepted = [name for name, p in inspect.signature(cls).parameters.items()
                if name not in _MODEL_ARGUMENTS
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model_params {unknown} are not parameters of model {model!r} "
                         f"({cls.__name__}), which accepts {', '.join(accepted)}")
    try:
        return cls(1, 2, **params)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_params == {params} are invalid for model {model!r}: "
                         f"{error}") from None

"""Configuration of a certification run (flags, YAML files and the saved results share it)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from graphcert.run.methods import METHODS

TARGETS = ("val", "test")
BOUNDS = ("dkw", "bernstein", "binary")


@dataclass
class RunConfig:
    """Everything that determines a run's results; defaults follow the papers (LRS §7.2, C.3)
    except the sample counts, which are sized for a laptop-scale first run."""

    dataset: str = "cora_ml"
    model: str = "appnp"
    model_params: dict = field(default_factory=dict)
    methods: list[str] = field(default_factory=lambda: ["localized", "sparse_smooth"])
    targets: str = "val"
    split_seed: int = 0
    n_per_class: int = 20
    # training (the papers: Adam 1e-3 / 1e-3, trained at the minimal noise level)
    train_seed: int = 0
    lr: float = 1e-3
    weight_decay: float = 1e-3
    max_epochs: int = 3000
    patience: int = 50
    train_noise: bool = True
    # smoothing distributions (SPEC §2)
    n_clusters: int = 5
    theta_plus: float = 0.01
    theta_minus_low: float = 0.6
    theta_minus_high: float = 0.95
    # localized Gaussian smoothing of continuous features ("gaussian", SPEC §2, §4): sigma by
    # affinity rank, certified accuracy on l2 radii 0, l2_step, ... (radii quantized into
    # milp_bins per cluster, default 64, for the collective LP/MILP)
    sigma_min: float = 0.25
    sigma_max: float = 1.0
    l2_step: float = 0.05
    # K-ary noise on categorical attributes ("kary", "kary_localized", SPEC §9): keep a value
    # with probability keep (isotropic; own cluster when localized) down to keep_far (least
    # connected cluster), else redraw it uniformly; certified accuracy on Hamming budgets
    # 0..max_hamming (changed attribute values)
    keep: float = 0.5
    keep_far: float = 0.1
    max_hamming: int = 20
    # Monte Carlo (SPEC §3, §4)
    n_pre: int = 200
    n_samples: int = 2000
    alpha: float = 0.01
    bounds: str = "binary"
    # scores smoothed by the variance-constrained methods: softmax(logits / T); T = 0 smooths
    # one-hot predictions (vote frequencies). Any T is sound (gnn_models.temperature).
    score_temperature: float = 0.0
    batch_size: int = 32
    chunk_size: int = 500
    n_bins: int = 1000  # score histogram bins, kept only for bounds: dkw (SPEC §4)
    mc_seed: int = 0
    # collective certificate (SPEC §5)
    max_deletions: int = 100
    max_additions: int = 20
    local_budget: int | None = None
    milp_bins: int | None = None
    relax: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.methods) - set(METHODS)
        if unknown or not self.methods:
            raise ValueError(f"methods must be a non-empty subset of {tuple(METHODS)}, got "
                             f"{self.methods}")
        if self.targets not in TARGETS:
            raise ValueError(f"targets must be one of {TARGETS}, got {self.targets!r}")
        if self.bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {BOUNDS}, got {self.bounds!r}")
        for name in ("theta_plus", "theta_minus_low", "theta_minus_high", "alpha", "keep",
                     "keep_far"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        for name in ("max_deletions", "max_additions", "max_hamming"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (a budget), got {getattr(self, name)}")
        if not (0 < self.sigma_min <= self.sigma_max < float("inf")):
            raise ValueError(f"need 0 < sigma_min <= sigma_max < inf, got {self.sigma_min}, "
                             f"{self.sigma_max}")
        if not self.l2_step > 0:
            raise ValueError(f"l2_step must be positive, got {self.l2_step}")
        if not self.score_temperature >= 0:
            raise ValueError(f"score_temperature must be >= 0, got {self.score_temperature}")
        if self.bounds == "binary" and self.score_temperature != 0:
            raise ValueError("bounds 'binary' need one-hot scores (score_temperature 0); use "
                             "'dkw' or 'bernstein' for softmax scores")
        if self.local_budget is not None and self.local_budget < 0:
            raise ValueError(f"local_budget must be >= 0, got {self.local_budget}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def training_key(self) -> dict:
        """The fields a trained model depends on (to refuse a stale checkpoint)."""
        keys = ("dataset", "model", "model_params", "split_seed", "n_per_class", "train_seed",
                "lr", "weight_decay", "max_epochs", "patience", "train_noise", "theta_plus",
                "theta_minus_low")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides) -> "RunConfig":
        """Read a YAML mapping of field names; `overrides` (e.g. from flags) win."""
        values = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path}: a run configuration must be a YAML mapping")
        return cls.from_dict({**values, **overrides})

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown configuration keys {sorted(unknown)}; known: "
                             f"{sorted(names)}")
        return cls(**values)

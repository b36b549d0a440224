"""What a smoothing method of `graphcert certify` declares (registry: `graphcert.run.methods`).

A method is one object: its name and report label, the features it needs, its noise, how it
is sampled (score transform, score histogram, batch cap), its certificate, and the config
fields (CLI flags) it reads. The pipeline only talks to methods through this interface.
Heavy modules (torch, the tasks layer) are imported inside the methods, so that reading the
registry (CLI help, config validation) stays cheap.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from graphcert.sampling.statistics import SmoothingStats
    from graphcert.tasks.graph.results import MethodResult
    from graphcert.tasks.graph.surface import AttackSurface

__all__ = ["CertificationInputs", "DeterministicMethod", "SmoothingMethod"]


@dataclass(frozen=True)
class CertificationInputs:
    """What the certificates read besides the statistics: true labels of all nodes, the target
    nodes, and what the adversary can flip (`AttackSurface`).

    Args:
        y (np.ndarray): labels of all nodes, (N,).
        targets (np.ndarray): target node ids, (T,).
        surface (AttackSurface): what the adversary can flip.
    """

    y: np.ndarray
    targets: np.ndarray
    surface: AttackSurface


class SmoothingMethod(ABC):
    """One smoothing method: noise, sampling settings, certificate, labels, config fields.

    ``config`` is always a `graphcert.run.config.RunConfig` (not annotated: the config module
    reads this registry) and ``data`` the loaded graph (`torch_geometric.data.Data`).

    Methods whose noise (`describe()`) and score temperature agree share one statistics file,
    sampled once (`graphcert.run.pipeline.sampling_plans`).
    """

    name: ClassVar[str]
    label: ClassVar[str]  # legend label of the plots
    features: ClassVar[str]  # "binary": 0/1 attributes only; "continuous": any real features
    noise_name: ClassVar[str]  # names the statistics file, stats_<noise_name>[_T<T>].npz
    fields: ClassVar[frozenset[str]]  # the RunConfig fields (CLI flags) the method reads
    #: the config's threat_model values it certifies (`graphcert.run.methods.threats`)
    threat_models: ClassVar[tuple[str, ...]] = ("attributes",)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @abstractmethod
    def noise(self, config, data) -> Any:
        """The smoothing distribution (a `graphcert.noise.base.SmoothingNoise`).

        Args:
            config (RunConfig): the run's settings.
            data (Data): the graph.

        Returns:
            Any: the noise.
        """

    def temperature(self, config) -> float | None:
        """Scores smoothed: softmax(logits / T); 0 = one-hot votes; None = softmax(logits).

        Args:
            config (RunConfig): the run's settings.

        Returns:
            float or None: the temperature T.
        """
        return None

    def needs_histogram(self, config) -> bool:
        """Whether the certificate reads the score histogram (config.n_bins bins,
        docs/theory.md §3.2); without it the statistics keep one bin, not N x n_bins counts.

        Args:
            config (RunConfig): the run's settings.

        Returns:
            bool: whether to keep the histogram.
        """
        return False

    def batch_size(self, config, data) -> int:
        """Noisy copies per model call (a method may cap config.batch_size, e.g. for memory).

        Args:
            config (RunConfig): the run's settings.
            data (Data): the graph.

        Returns:
            int: the batch size.
        """
        return config.batch_size

    @abstractmethod
    def evaluate(self, config, stats: SmoothingStats, noise,
                 inputs: CertificationInputs) -> MethodResult:
        """Certificates and certified-accuracy curves of the targets (graphcert.tasks.graph).

        Args:
            config (RunConfig): the run's settings.
            stats (SmoothingStats): the Monte Carlo statistics of `noise`.
            noise: the noise of `noise(config, data)`.
            inputs (CertificationInputs): labels, targets and attack surface.

        Returns:
            MethodResult: predictions and curves.
        """

    @abstractmethod
    def describe_samples(self, noise) -> dict:
        """The noise parameters recorded under results.json's methods.<name>.samples.

        Args:
            noise: the method's noise.

        Returns:
            dict: JSON-ready parameters.
        """


class DeterministicMethod(ABC):
    """A method without Monte Carlo (the voting certificates): it trains its own base
    classifier if it needs one and certifies the targets directly.

    It declares ``name``, ``label``, ``features``, ``fields`` and ``threat_models`` as a
    `SmoothingMethod` does; the pipeline calls `run` after the sampled methods.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    features: ClassVar[str]
    fields: ClassVar[frozenset[str]]
    threat_models: ClassVar[tuple[str, ...]] = ("attributes",)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def cached_model(self, model, run_dir, key: str, train, log, loaded: str):
        """`model` with the weights of ``run_dir/model_<name>.pt`` if that file was trained
        with `key`, else trained by ``train()`` (which returns the line to log, ``{seconds}``
        standing for the training time) and saved.
        A file trained with other settings is an error, never overwritten.

        Args:
            model (torch.nn.Module): the model to fill.
            run_dir (str or os.PathLike): the run directory.
            key (str): the training key the file must match.
            train (Callable[[], str]): trains ``model``, returns the line to log.
            log (Callable[[str], None]): the run's log.
            loaded (str): what the log calls the loaded model.

        Returns:
            torch.nn.Module: ``model`` in eval mode.
        """
        import time

        from graphcert.tasks.graph.training import load_checkpoint, save_checkpoint
        path = Path(run_dir) / f"model_{self.name}.pt"
        if path.exists():
            state, meta = load_checkpoint(path)
            if meta.get("training_key") != key:
                raise ValueError(f"{path} was trained with other settings; use another --out "
                                 "directory or delete it to train again")
            model.load_state_dict(state)
            log(f"[{self.name}] loaded {loaded} from {path}")
            return model.eval()
        started = time.perf_counter()
        line = train()
        seconds = f"{time.perf_counter() - started:.1f}"
        log(f"[{self.name}] {line.replace('{seconds}', seconds)}")
        save_checkpoint(model, path, training_key=key)
        return model.eval()

    @abstractmethod
    def run(self, config, data, idx_train, idx_val, inputs: CertificationInputs, run_dir,
            log) -> tuple[MethodResult, dict]:
        """(certificates and curves of the targets, what results.json records under
        methods.<name>.samples: the settings in place of sample counts).

        Args:
            config (RunConfig): the run's settings.
            data (Data): the graph.
            idx_train (np.ndarray): training nodes.
            idx_val (np.ndarray): validation nodes.
            inputs (CertificationInputs): labels, targets and attack surface.
            run_dir (str or os.PathLike): the run directory.
            log (Callable[[str], None]): the run's log.

        Returns:
            tuple[MethodResult, dict]: the result and its samples entry.
        """

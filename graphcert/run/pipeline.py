"""End-to-end certification run: data, model, clusters, smoothing, certificates, results.

Every expensive step is resumable from the run directory: the trained model (`model.pt`),
the Monte Carlo statistics of each noise (`stats_<noise>[_T<temperature>].npz`, saved after
every chunk, shared by the methods that smooth the same scores under the same noise) and
the results (`results.json`, `results.csv`, `certified_accuracy.png`); `graphcert.run.rundir`
says when each file is reused.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from gnn_models import ScaledLogits
from graphcert.certificates.bounds import check_bonferroni_alpha
from graphcert.data.datasets import graph_split, load_graph
from graphcert.noise.kary import categorical_n_values
from graphcert.run.config import RunConfig
from graphcert.run.denoise import abstaining, check_abstention, denoised
from graphcert.run.methods import (
    METHODS,
    CertificationInputs,
    DeterministicMethod,
    SmoothingMethod,
)
from graphcert.run.methods.threats import training_structure
from graphcert.run.models import build_model
from graphcert.run.rundir import (
    MODEL_FILE,
    file_fingerprint,
    locked,
    prepare_run_dir,
    write_results,
)
from graphcert.sampling.devices import resolve_device
from graphcert.sampling.engine import smooth
from graphcert.sampling.fingerprint import scores_fingerprint
from graphcert.sampling.model_checks import check_model_tensors
from graphcert.sampling.monte_carlo import MonteCarloConfig
from graphcert.tasks.graph.denoise import direct_path
from graphcert.tasks.graph.surface import AttackSurface
from graphcert.tasks.graph.training import (
    accuracy,
    load_checkpoint,
    save_checkpoint,
    train_model,
)


def prepare_model(config: RunConfig, data, idx_train, idx_val, run_dir: Path,
                  log: Callable[[str], None] = print, progress: bool = False
                  ) -> torch.nn.Module:
    """Train the model, or load it from `run_dir/model.pt` if trained with the same settings
    (`progress`: a bar over the training epochs), or from the state dict `config.weights`."""
    check_abstention(config, data.num_classes)
    torch.manual_seed(config.train_seed)
    model = build_model(config.model, data.x.shape[1], data.num_classes, **config.model_params)
    check_model_tensors(model, f"model {config.model!r}")
    if config.weights is not None:
        try:
            model.load_state_dict(read_weights(config.weights))
        except RuntimeError as error:  # missing keys, other shapes
            raise ValueError(f"weights {config.weights} do not fit model {config.model}: "
                             f"{error}") from error
        check_model_tensors(model, f"model {config.model!r} with weights {config.weights}")
        log(f"loaded the weights of {config.model} from {config.weights}")
        return abstaining(config, denoised(config, data, model).eval())
    path = run_dir / MODEL_FILE
    key = config.training_key()  # the bit-flip probabilities are among its fields
    if categorical_n_values(data) is not None:  # categorical attributes: K-ary noise at keep
        key["train_keep"] = config.keep
    elif not has_binary_features(data):  # continuous features: Gaussian noise at sigma_min
        key["train_sigma"] = config.sigma_min
    key = json.dumps(key, sort_keys=True)
    if path.exists():
        state, meta = _read_model(path)
        if meta.get("training_key") != key:
            raise ValueError(f"{path} was trained with other settings "
                             f"({_differences(meta.get('training_key'), key)}); use another "
                             "--out directory: this one's statistics and results belong to "
                             "that model")
        model = denoised(config, data, model, fit=False)
        model.load_state_dict(state)
        log(f"loaded trained model from {path}")
        return abstaining(config, model.eval())
    started = time.perf_counter()
    model = denoised(config, data, model)
    result = train_model(model, data, idx_train, idx_val, lr=config.lr,
                         weight_decay=config.weight_decay, max_epochs=config.max_epochs,
                         patience=config.patience, seed=config.train_seed,
                         progress=progress, **training_noise(config, data, model))
    log(f"trained {config.model} in {time.perf_counter() - started:.1f}s "
        f"(best epoch {result.best_epoch}, validation accuracy {result.val_accuracy:.3f})")
    save_checkpoint(model, path, training_key=key)
    return abstaining(config, model.eval())


def read_weights(path: str) -> dict:
    """The state dict in file `path`, loaded without running code from it
    (``weights_only=True``), or a one-line ValueError naming the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"weights {path}: file not found") from None
    except IsADirectoryError:
        raise ValueError(f"weights {path} is a directory, expected a state dict file") from None
    except pickle.UnpicklingError as error:  # weights_only refused a class or function
        found = re.search(r"unsupported GLOBAL (\S+)|Unsupported global: GLOBAL (\S+)",
                          str(error))
        what = f" ({next(g for g in found.groups() if g)})" if found else ""
        raise ValueError(f"weights {path} holds objects other than tensors{what}, which are "
                         "not loaded: a state dict holds tensors only") from None
    except Exception as error:  # not a torch file, truncated, empty: torch raises many kinds
        raise ValueError(f"weights {path} is not a file torch.save wrote "
                         f"({type(error).__name__}); expected torch.save(model.state_dict(), "
                         "path)") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and
                                              isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise ValueError(f"weights {path} holds a {type(state).__name__}, expected a state "
                         "dict (names to tensors: torch.save(model.state_dict(), path))")
    return state


def training_noise(config: RunConfig, data, model: torch.nn.Module | None = None) -> dict:
    """The noise of `train_model` at the methods' minimal noise level (the papers train
    there): K-ary noise keeping values with probability ``keep`` on categorical attributes
    (docs/theory.md §9), bit flips with theta_plus / theta_minus_low on other binary
    attributes (docs/theory.md §2), Gaussian noise with sigma_min on continuous ones, unless
    only edges are threatened; with a structure threat model, noisy graphs with p_plus /
    p_minus (docs/theory.md §8), drawn filtered where `model` filters edges pair by pair
    (the same law, docs/theory.md §13); none with train_noise off."""
    if not config.train_noise:
        return {}
    if config.threat_model == "structure":
        noise = {}
    elif categorical_n_values(data) is not None:
        noise = {"keep": config.keep}
    elif has_binary_features(data):
        noise = {"theta_plus": config.theta_plus, "theta_minus": config.theta_minus_low}
    else:
        noise = {"sigma": config.sigma_min}
    structure = training_structure(config, data)
    if structure is not None and model is not None:
        structure = direct_path(model, structure, data.x)[1]
    return noise if structure is None else {**noise, "structure": structure}


def _model_fingerprints(config: RunConfig, run_dir: Path, trained: bool) -> dict[str, str]:
    """The fingerprint of ``--weights``, else of the run's trained ``model.pt`` (none when the
    run trains no model of its own)."""
    if config.weights is not None:
        return {"weights": file_fingerprint(config.weights)}
    return {MODEL_FILE: file_fingerprint(run_dir / MODEL_FILE)} if trained else {}


def _read_model(path: Path) -> tuple[dict, dict]:
    """(state dict, metadata) of a saved model, or a ValueError that says how to recover."""
    try:
        state, meta = load_checkpoint(path)
    except Exception as error:  # a truncated or foreign file: torch raises many kinds
        raise ValueError(f"{path} is truncated or unreadable ({type(error).__name__}); it "
                         "holds this run's trained model: delete it and rerun to train it "
                         "again with the same settings") from None
    if not isinstance(meta, dict) or not isinstance(state, dict):
        raise ValueError(f"{path} is not a graphcert model checkpoint; delete it and rerun "
                         "to train the model again")
    return state, meta


def _differences(saved: str | None, wanted: str) -> str:
    """The training settings that differ between two training keys, for error messages."""
    try:
        old = json.loads(saved)
    except (TypeError, ValueError):
        return "no readable training settings"
    new = json.loads(wanted)
    changed = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
               if old.get(k) != new.get(k)]
    return ", ".join(changed)


@dataclass
class SamplingPlan:
    """One statistics file: a noise and a score temperature, and the methods that read it.

    Methods with the same noise (`describe()`) and temperature see the same samples, so they
    are sampled once (isotropic at temperature 0 and SparseSmooth share their votes).
    """

    noise: Any
    temperature: float | None  # softmax(logits / T) scores; None: softmax(logits)
    methods: list[SmoothingMethod]
    mc: MonteCarloConfig

    @property
    def checkpoint(self) -> str:
        """File name of the statistics in the run directory."""
        suffix = "" if self.temperature is None else f"_T{self.temperature:g}"
        return f"stats_{self.methods[0].noise_name}{suffix}.npz"


def sampling_plans(config: RunConfig, data, mc: MonteCarloConfig) -> list[SamplingPlan]:
    """The requested methods (in registry order) grouped by noise and score temperature; each
    plan's Monte Carlo settings serve all its methods: the score histogram is kept only if one
    of them reads it (docs/theory.md §3.2; otherwise one bin instead of N x n_bins counts), and the
    batch is the smallest any of them allows."""
    plans: dict[tuple, SamplingPlan] = {}
    for method in (METHODS[name] for name in METHODS if name in config.methods
                   and isinstance(METHODS[name], SmoothingMethod)):
        noise = method.noise(config, data)
        temperature = method.temperature(config)
        temperature = None if temperature == 1 else temperature  # softmax(logits / 1)
        key = (json.dumps(noise.describe(), sort_keys=True), temperature)
        plans.setdefault(key, SamplingPlan(noise, temperature, [], mc)).methods.append(method)
    for plan in plans.values():
        histogram = any(method.needs_histogram(config) for method in plan.methods)
        plan.mc = dataclasses.replace(
            mc, n_bins=mc.n_bins if histogram else 1,
            batch_size=min(method.batch_size(config, data) for method in plan.methods))
    names = [plan.checkpoint for plan in plans.values()]
    if len(set(names)) != len(names):
        raise ValueError(f"two sampling plans would share a statistics file: {names}; give "
                         "the methods distinct noise_name values")
    return list(plans.values())


def has_binary_features(data) -> bool:
    """True if every attribute is 0 or 1 (the binary threat model, docs/theory.md §1)."""
    return bool(torch.all((data.x == 0) | (data.x == 1)))


def run_certification(config: RunConfig, run_dir: str | os.PathLike, *,
                      progress: bool = True, log: Callable[[str], None] = print,
                      executor=None) -> dict:
    """Run (or resume) a certification and write its results; returns the results dict.

    ``executor`` (`graphcert.sampling.executors`) runs the Monte Carlo chunks (default: locally)."""
    run_dir = prepare_run_dir(run_dir)
    with locked(run_dir):
        return _run_certification(config, run_dir, progress, log, executor)


def _run_certification(config: RunConfig, run_dir: Path, progress: bool,
                       log: Callable[[str], None], executor) -> dict:
    """`run_certification` in a prepared and locked run directory."""
    timings = {}
    started = time.perf_counter()
    data = load_graph(config.dataset)
    binary_methods = sorted(name for name in config.methods
                            if METHODS[name].features == "binary")
    if binary_methods and not has_binary_features(data):
        raise ValueError(f"{config.dataset} has continuous features; {binary_methods} need "
                         "binary attributes: use --methods gaussian (localized Gaussian, l2)")
    idx_train, idx_val, idx_test = graph_split(data, config.n_per_class, config.split_seed)
    targets = idx_val if config.targets == "val" else idx_test
    check_bonferroni_alpha(config.alpha, len(targets))
    mc = MonteCarloConfig(n_samples=config.n_samples, n_pre=config.n_pre,
                          chunk_size=config.chunk_size, batch_size=config.batch_size,
                          n_bins=config.n_bins, seed=config.mc_seed)
    plans = sampling_plans(config, data, mc)  # noises built (and checked) before training
    device = resolve_device(config.device)
    # the sampled methods smooth the run's model; the deterministic ones (voting, node
    # threats) train or load their own, so a run of only those trains none here
    if plans:
        model = prepare_model(config, data, idx_train, idx_val, run_dir, log,
                              progress).to(device)
    else:
        check_abstention(config, data.num_classes)
        model = None
    timings["training"] = time.perf_counter() - started
    y = data.y.numpy()
    surface = AttackSurface.from_attributes(data.x.numpy(), config.local_budget)
    results = {"config": config.to_dict(),
               "dataset": {"name": config.dataset, "num_nodes": data.num_nodes,
                           "num_features": data.x.shape[1], "num_classes": data.num_classes,
                           "n_targets": int(len(targets))},
               "clean_accuracy": {"targets": None, "test": None} if model is None else
               {"targets": accuracy(model, data, targets),
                "test": accuracy(model, data, idx_test)},
               "fingerprints": _model_fingerprints(config, run_dir, model is not None),
               "environment": {"python": platform.python_version(),
                               "torch": torch.__version__, "threads": torch.get_num_threads(),
                               "device": str(device)},
               "methods": {}, "timings": timings}
    inputs = CertificationInputs(y, targets, surface)
    for plan in plans:
        log(f"[{', '.join(method.name for method in plan.methods)}] sampling "
            f"{plan.noise.n_clusters} x ({mc.n_pre} + {mc.n_samples}) noisy graphs")
        clock = time.perf_counter()
        scored = model if plan.temperature is None else \
            ScaledLogits(model, plan.temperature).eval()
        fingerprint = scores_fingerprint(scored, data.x, data.edge_index)
        results["fingerprints"][plan.checkpoint] = fingerprint
        smoothed, noise = direct_path(model, plan.noise, data.x)  # filtered law, same scores
        if plan.temperature is not None:
            smoothed = ScaledLogits(smoothed, plan.temperature).eval()
        stats = smooth(smoothed, data.x, data.edge_index, noise, plan.mc,
                       checkpoint=run_dir / plan.checkpoint, fingerprint=fingerprint,
                       progress=progress, executor=executor)
        sampling_time = time.perf_counter() - clock
        for method in plan.methods:
            timings[f"{method.name}_sampling"] = sampling_time
            clock = time.perf_counter()
            result = method.evaluate(config, stats, plan.noise, inputs)
            timings[f"{method.name}_certificates"] = time.perf_counter() - clock
            entry = result.to_dict()
            entry["ignored_settings"] = config.ignored_fields(method.name)
            entry["samples"] = {"n_pre": mc.n_pre, "n_samples": mc.n_samples,
                                "batch_size": plan.mc.batch_size, "n_bins": plan.mc.n_bins,
                                "n_distributions": plan.noise.n_clusters,
                                "statistics": plan.checkpoint,
                                **method.describe_samples(plan.noise)}
            results["methods"][method.name] = entry
    for method in (METHODS[name] for name in METHODS if name in config.methods
                   and isinstance(METHODS[name], DeterministicMethod)):
        clock = time.perf_counter()
        result, settings = method.run(config, data, idx_train, idx_val, inputs, run_dir, log)
        timings[f"{method.name}_certificates"] = time.perf_counter() - clock
        entry = result.to_dict()
        entry["ignored_settings"] = config.ignored_fields(method.name)
        entry["samples"] = settings
        results["methods"][method.name] = entry
    results["methods"] = {name: results["methods"][name] for name in METHODS
                          if name in results["methods"]}
    timings["total"] = time.perf_counter() - started
    write_results(results, run_dir)
    return results

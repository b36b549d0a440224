"""End-to-end certification run: data, model, clusters, smoothing, certificates, results.

Every expensive step is resumable from the run directory: the trained model (`model.pt`),
each method's Monte Carlo statistics (`stats_<method>.npz`, saved after every chunk) and
the results (`results.json`, `results.csv`, `certified_accuracy.png`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gnn_models import ScaledLogits, get_model, normalized_adjacency
from graphcert.data.clustering import (
    affinity_ranks,
    cluster_affinity,
    metis_partition,
    noise_schedule,
)
from graphcert.data.datasets import graph_split, load_graph
from graphcert.noise.binary import LocalizedNoise
from graphcert.noise.gaussian import localized_graph_gaussian
from graphcert.run.config import BINARY_METHODS, RunConfig
from graphcert.sampling.batching import batch_for_memory
from graphcert.sampling.engine import smooth
from graphcert.sampling.statistics import MonteCarloConfig
from graphcert.tasks.graph.evaluation import (
    AttackSurface,
    MethodResult,
    sparse_smooth_result,
    variance_constrained_result,
)
from graphcert.tasks.graph.gaussian import gaussian_result
from graphcert.tasks.graph.training import accuracy, load_checkpoint, save_checkpoint, train_model


def prepare_model(config: RunConfig, data, idx_train, idx_val, run_dir: Path,
                  log: Callable[[str], None] = print, progress: bool = False
                  ) -> torch.nn.Module:
    """Train the model, or load it from `run_dir/model.pt` if trained with the same settings
    (`progress`: a bar over the training epochs)."""
    torch.manual_seed(config.train_seed)
    model = get_model(config.model, data.x.shape[1], data.num_classes, **config.model_params)
    path = run_dir / "model.pt"
    binary = has_binary_features(data)
    key = config.training_key()
    if not binary:  # continuous features train with Gaussian noise at sigma_min
        key["train_sigma"] = config.sigma_min
    key = json.dumps(key, sort_keys=True)
    if path.exists():
        _, meta = load_checkpoint(path)
        if meta.get("training_key") != key:
            raise ValueError(f"{path} was trained with other settings; use another --out "
                             "directory or delete the file to retrain")
        load_checkpoint(path, model)
        log(f"loaded trained model from {path}")
        return model.eval()
    noise = {} if not config.train_noise else \
        dict(theta_plus=config.theta_plus, theta_minus=config.theta_minus_low) if binary else \
        dict(sigma=config.sigma_min)
    started = time.perf_counter()
    result = train_model(model, data, idx_train, idx_val, lr=config.lr,
                         weight_decay=config.weight_decay, max_epochs=config.max_epochs,
                         patience=config.patience, seed=config.train_seed,
                         progress=progress, **noise)
    log(f"trained {config.model} in {time.perf_counter() - started:.1f}s "
        f"(best epoch {result.best_epoch}, validation accuracy {result.val_accuracy:.3f})")
    save_checkpoint(model, path, training_key=key)
    return model.eval()


def smoothing_distributions(config: RunConfig, data) -> dict[str, tuple]:
    """(noise, theta_plus matrix, theta_minus matrix) for each requested method (SPEC §2);
    the Gaussian method has no thetas (its noise carries the sigma matrix)."""
    distributions = {}
    if "gaussian" in config.methods:
        noise = localized_graph_gaussian(data.edge_index, data.num_nodes, config.n_clusters,
                                         config.sigma_min, config.sigma_max,
                                         seed=config.split_seed)
        distributions["gaussian"] = (noise, None, None)
    if "localized" in config.methods:
        labels = metis_partition(data.edge_index, data.num_nodes, config.n_clusters,
                                 seed=config.split_seed)
        ranks = affinity_ranks(cluster_affinity(data.edge_index, labels, config.n_clusters))
        theta_minus = noise_schedule(ranks, config.theta_minus_low, config.theta_minus_high)
        theta_plus = np.full_like(theta_minus, config.theta_plus)
        distributions["localized"] = (LocalizedNoise(labels, theta_plus, theta_minus),
                                      theta_plus, theta_minus)
    for method in ("isotropic", "sparse_smooth"):
        if method in config.methods:
            noise = LocalizedNoise.isotropic(data.num_nodes, config.theta_plus,
                                             config.theta_minus_low)
            distributions[method] = (noise, noise.theta_plus, noise.theta_minus)
    return distributions


def has_binary_features(data) -> bool:
    """True if every attribute is 0 or 1 (the binary threat model, SPEC §1)."""
    return bool(torch.all((data.x == 0) | (data.x == 1)))


def certify(config: RunConfig, run_dir: str | os.PathLike, *, progress: bool = True,
            log: Callable[[str], None] = print, executor=None) -> dict:
    """Run (or resume) a certification and write its results; returns the results dict.

    ``executor`` (`graphcert.sampling.executors`) runs the Monte Carlo chunks (default: locally)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.perf_counter()
    data = load_graph(config.dataset)
    binary_methods = sorted(set(config.methods) & set(BINARY_METHODS))
    if binary_methods and not has_binary_features(data):
        raise ValueError(f"{config.dataset} has continuous features; {binary_methods} need "
                         "binary attributes: use --methods gaussian (localized Gaussian, l2)")
    idx_train, idx_val, idx_test = graph_split(data, config.n_per_class, config.split_seed)
    targets = idx_val if config.targets == "val" else idx_test
    model = prepare_model(config, data, idx_train, idx_val, run_dir, log, progress)
    timings["training"] = time.perf_counter() - started
    adjacency = normalized_adjacency(data.edge_index, data.num_nodes)
    y = data.y.numpy()
    surface = AttackSurface.from_attributes(data.x.numpy(), config.local_budget)
    results = {"config": config.to_dict(),
               "dataset": {"name": config.dataset, "num_nodes": data.num_nodes,
                           "num_features": data.x.shape[1], "num_classes": data.num_classes,
                           "n_targets": int(len(targets))},
               "clean_accuracy": {"targets": accuracy(model, data, targets),
                                  "test": accuracy(model, data, idx_test)},
               "environment": {"python": platform.python_version(),
                               "torch": torch.__version__, "threads": torch.get_num_threads()},
               "methods": {}, "timings": timings}
    mc = MonteCarloConfig(n_samples=config.n_samples, n_pre=config.n_pre,
                          chunk_size=config.chunk_size, batch_size=config.batch_size,
                          n_bins=config.n_bins, seed=config.mc_seed)
    for method, (noise, theta_plus, theta_minus) in smoothing_distributions(config,
                                                                            data).items():
        log(f"[{method}] sampling {noise.n_clusters} x ({mc.n_pre} + {mc.n_samples}) "
            "noisy graphs")
        clock = time.perf_counter()
        scored, checkpoint = model, run_dir / f"stats_{method}.npz"
        method_mc = _method_sampling(method, config, mc, data)
        if method in ("localized", "isotropic") and config.score_temperature != 1:
            scored = ScaledLogits(model, config.score_temperature).eval()
            checkpoint = run_dir / f"stats_{method}_T{config.score_temperature:g}.npz"
        stats = smooth(scored, data.x, adjacency, noise, method_mc, checkpoint=checkpoint,
                       progress=progress, executor=executor)
        timings[f"{method}_sampling"] = time.perf_counter() - clock
        clock = time.perf_counter()
        result = _certify_method(method, config, stats, y, targets, theta_plus, theta_minus,
                                 surface, noise)
        timings[f"{method}_certificates"] = time.perf_counter() - clock
        entry = result.to_dict()
        entry["samples"] = {"n_pre": mc.n_pre, "n_samples": mc.n_samples,
                            "batch_size": method_mc.batch_size, "n_bins": method_mc.n_bins,
                            "n_distributions": noise.n_clusters}
        entry["samples"].update(
            {"sigma": noise.sigma.tolist()} if method == "gaussian" else
            {"theta_plus": np.asarray(theta_plus).tolist(),
             "theta_minus": np.asarray(theta_minus).tolist()})
        results["methods"][method] = entry
    timings["total"] = time.perf_counter() - started
    write_json(run_dir / "results.json", results)
    return results


def _method_sampling(method: str, config: RunConfig, mc: MonteCarloConfig,
                     data) -> MonteCarloConfig:
    """The Monte Carlo settings of one method. Only the DKW bounds read the score histogram
    (SPEC §4); the other certificates need votes and sums, so their statistics keep one bin
    instead of N x n_bins counts. Dense Gaussian batches are capped by `batch_for_memory`."""
    if method == "gaussian":
        batch = batch_for_memory(mc.batch_size, data.num_nodes, data.x.shape[1])
        return dataclasses.replace(mc, n_bins=1, batch_size=batch)
    if method in ("localized", "isotropic") and config.bounds == "dkw":
        return mc
    return dataclasses.replace(mc, n_bins=1)


def _certify_method(method: str, config: RunConfig, stats, y, targets, theta_plus,
                    theta_minus, surface: AttackSurface, noise) -> MethodResult:
    if method == "gaussian":
        return gaussian_result(stats, noise, y, targets, alpha=config.alpha,
                               step=config.l2_step, relax=config.relax,
                               n_bins=config.milp_bins or 64)
    if method == "sparse_smooth":
        return sparse_smooth_result(stats, y, targets, config.theta_plus,
                                    config.theta_minus_low, alpha=config.alpha,
                                    max_deletions=config.max_deletions,
                                    max_additions=config.max_additions)
    return variance_constrained_result(
        method, stats, y, targets, theta_plus, theta_minus, surface, alpha=config.alpha,
        bounds=config.bounds, max_deletions=config.max_deletions,
        max_additions=config.max_additions, n_bins=config.milp_bins, relax=config.relax)


def write_json(path: Path, payload: dict) -> None:
    """Atomic JSON write (temporary file, then rename)."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(handle, "w") as out:
        json.dump(payload, out, indent=1)
    os.replace(tmp, path)

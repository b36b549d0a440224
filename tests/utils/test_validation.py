"""The one validation module (sklearn-style messages) and the inputs the library used to
accept silently: float ids and labels, ranks out of range, empty segmentations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcert.certificates import ablation_delta
from graphcert.data.clustering import (
    cluster_affinity,
    metis_partition,
    noise_schedule,
    rank_schedule,
    undirected_edges,
)
from graphcert.noise.gaussian import GraphGaussian
from graphcert.tasks.image.multimodal import segmentation_scores
from graphcert.utils.validation import (
    check_bool_array,
    check_choice,
    check_finite,
    check_index_array,
    check_int,
    check_nonnegative_integers,
    check_positive_int,
    check_probabilities,
    check_probability,
    check_real,
)


@pytest.mark.parametrize("call, message", [
    (lambda: check_real(0.0, "alpha", "(0, 1)"), r"^alpha == 0.0, must be in \(0, 1\)$"),
    (lambda: check_real(float("nan"), "alpha", "(0, 1)"), r"^alpha == nan, must be in"),
    (lambda: check_real(-1, "sigma", "(0, inf)"), r"^sigma == -1.0, must be > 0 \(positive\)$"),
    (lambda: check_real([0.5, 2.0], "p", "[0, 1]"),
     r"^p must lie in \[0, 1\], got 2.0 in array of shape \(2,\)$"),
    (lambda: check_real("0.1", "alpha", "(0, 1)"), r"^alpha must be numeric, got str '0.1'$"),
    (lambda: check_real(True, "alpha"), r"alpha must be numeric"),
    (lambda: check_real(3, "beta", "[1, 2]"), r"^beta == 3.0, must be in \[1, 2\]$"),
    (lambda: check_real(0.5, "tau", "[0.6, inf)"), r"^tau == 0.5, must be >= 0.6$"),
    (lambda: check_int(2.5, "n_samples"), r"^n_samples == 2.5, must be a whole number$"),
    (lambda: check_int(True, "n_samples"), r"must be a whole number, got bool True"),
    (lambda: check_int("3", "n_samples"), r"must be a whole number, got str '3'"),
    (lambda: check_positive_int(0, "batch_size"), r"^batch_size == 0, must be >= 1$"),
    (lambda: check_int(-1, "seed", "[0, inf)"), r"^seed == -1, must be >= 0 \(non-negative\)$"),
    (lambda: check_probability(1.5, "low"), r"^low == 1.5, must be a probability in \[0, 1\]$"),
    (lambda: check_probability([0.5], "low"), r"low must be a probability \(a scalar"),
    (lambda: check_probabilities([0.2, np.nan], "theta"), r"theta contains NaN"),
    (lambda: check_nonnegative_integers([1, -2], "n"),
     r"^n must be >= 0 \(non-negative\), got -2$"),
    (lambda: check_nonnegative_integers([1.5], "n"), r"n must be whole numbers"),
    (lambda: check_index_array([0, 1.0], "labels", 3),
     r"^labels must hold integer ids, got dtype float64$"),
    (lambda: check_index_array([0, 3], "labels", 3), r"^labels must lie in \[0, 3\), got 3$"),
    (lambda: check_index_array([[0]], "labels", 3, ndim=1), r"labels must be 1-D"),
    (lambda: check_bool_array([1, 0], "certified"), r"certified must be boolean"),
    (lambda: check_bool_array(np.zeros(0, bool), "certified"), r"at least one evaluated"),
    (lambda: check_finite([1.0, np.inf], "budgets"), r"budgets must be finite.*got inf"),
    (lambda: check_choice("ray2", "executor", ("local", "ray")),
     r"^executor must be one of \('local', 'ray'\), got 'ray2'$"),
])
def test_messages_name_the_parameter_the_bound_and_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_checks_return_clean_values():
    assert check_real(np.float32(0.5), "a", "(0, 1)") == 0.5
    assert isinstance(check_real(1, "a"), float)
    np.testing.assert_array_equal(check_real([1, 2], "a", "[1, 2]"), [1.0, 2.0])
    assert check_int(3.0, "n") == 3 and isinstance(check_int(np.int64(4), "n"), int)
    assert check_index_array(torch.tensor([2, 0]), "labels", 3).dtype == np.int64
    assert check_index_array(np.zeros((2, 0)), "edge_index", 5).shape == (2, 0)  # no edges
    assert check_real(np.inf, "eps", "[0, inf]") == np.inf
    with pytest.raises(ValueError):
        check_real(np.inf, "eps", "[0, inf)")


# ----------------------------------------------------------------------------- silent inputs
EDGES = np.array([[0, 1, 2, 3], [1, 2, 3, 0]])


@pytest.mark.parametrize("call", [
    lambda: metis_partition(EDGES + 0.4, 4, 2),
    lambda: metis_partition(torch.tensor(EDGES, dtype=torch.float32), 4, 2),
    lambda: undirected_edges(EDGES.astype(float) + 0.5, 4),
    lambda: cluster_affinity(EDGES, np.array([0.0, 0.7, 1.2, 1.0]), 2),
    lambda: cluster_affinity(EDGES.astype(float), np.array([0, 0, 1, 1]), 2),
    lambda: GraphGaussian(np.array([0.0, 1.5]), np.ones((2, 2))),
    lambda: ablation_delta((5.5, 4), (2, 2), (1, 0)),
    lambda: ablation_delta((5, 4), (2, 2), (1.5, 0)),
    lambda: metis_partition(EDGES, 4, 2.5),
])
def test_float_ids_labels_and_counts_are_errors_not_truncated(call):
    with pytest.raises(ValueError, match="integer|whole"):
        call()


def test_whole_float_counts_still_work_and_int_ids_are_unchanged():
    assert ablation_delta((5.0, 4), (2, 2), (1, 0)) == ablation_delta((5, 4), (2, 2), (1, 0))
    affinity = cluster_affinity(EDGES, np.array([0, 0, 1, 1]), 2)
    np.testing.assert_array_equal(affinity, [[1, 2], [2, 1]])


@pytest.mark.parametrize("ranks", [np.array([[0, 2], [1, 0]]), np.array([[0, -1], [1, 0]]),
                                   np.array([[0.0, 0.5], [1.0, 0.0]])])
def test_schedules_reject_ranks_out_of_range(ranks):
    with pytest.raises(ValueError, match="ranks"):
        noise_schedule(ranks, 0.5, 0.9)
    with pytest.raises(ValueError, match="ranks"):
        rank_schedule(ranks, 0.5, 0.9)


def test_noise_schedule_must_not_decrease():
    with pytest.raises(ValueError, match=r"low == 0.9 > high == 0.5"):
        noise_schedule(np.array([[0, 1], [1, 0]]), 0.9, 0.5)
    np.testing.assert_allclose(noise_schedule(np.array([[0, 1], [1, 0]]), 0.5, 0.5), 0.5)


@pytest.mark.parametrize("predicted, certified, target, message", [
    ([], [], [], "at least one pixel"),
    ([0, 1], [True, True], [0, 2], r"target must lie in \[0, 2\)"),
    ([0, 1.0], [True, True], [0, 1], "integer"),
    ([0, 1], [True], [0, 1], "pixels"),
    ([0, 1], [1, 1], [0, 1], "boolean"),
])
def test_segmentation_scores_reject_empty_and_bad_input(predicted, certified, target, message):
    with pytest.raises(ValueError, match=message):
        segmentation_scores(np.array(predicted), np.array(certified), np.array(target), 2)

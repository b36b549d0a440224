"""`CollectiveCertifier.naive_outputs`: the naive certificate per output, the same decision as
a certifier of that output alone, and summing to `naive`; on random instances with infinite
radii, abstentions, quantized radii, local budgets and pair units."""
from __future__ import annotations

import numpy as np
import pytest

from graphcert.certificates.collective import CollectiveCertifier, PairUnits


def instance(seed: int, structure: bool):
    rng = np.random.default_rng(seed)
    n_groups, n_units, n_outputs = 3, 8, 25
    eta = rng.choice([-np.inf, 0.0, 0.3, 0.8, 1.5, 3.0, np.inf], n_outputs)
    eta = np.where(rng.random(n_outputs) < 0.5, rng.uniform(0.01, 4, n_outputs), eta)
    kwargs = dict(eta=eta, out_group=rng.integers(0, n_groups, n_outputs),
                  w_plus=rng.uniform(0.1, 2, (n_groups, n_groups)),
                  w_minus=rng.uniform(0.05, 1, (n_groups, n_groups)),
                  cap_plus=rng.integers(0, 4, n_units), cap_minus=rng.integers(0, 4, n_units),
                  unit_group=rng.integers(0, n_groups, n_units),
                  local_budget=rng.choice([None, 2]))
    kwargs["w_plus"][0, 1] = np.inf  # one infinite weight
    if structure:
        labels = rng.integers(0, n_groups, 10)
        edges = np.array([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]])
        n_pairs = n_groups * (n_groups + 1) // 2
        kwargs["structure"] = PairUnits.from_graph(edges, labels,
                                                   rng.uniform(0.1, 1, (n_groups, n_pairs)),
                                                   rng.uniform(0.1, 1, (n_groups, n_pairs)))
    return kwargs


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("milp_bins", [None, 3])
def test_naive_outputs_decide_each_output_as_a_certifier_of_it_alone(seed, milp_bins):
    kwargs = instance(seed, structure=seed % 2 == 1)
    targets = np.random.default_rng(seed).random(kwargs["eta"].size) < 0.8
    certifier = CollectiveCertifier(**kwargs, targets=targets, milp_bins=milp_bins)
    budget_grid = [(0, 0, 0, 0), (1, 0, 0, 0), (0, 2, 0, 0), (2, 3, 0, 0)]
    if "structure" in kwargs:
        budget_grid += [(0, 0, 1, 0), (0, 1, 1, 2), (1, 1, 0, 3)]
    for budgets in budget_grid:
        mask = certifier.naive_outputs(*budgets)
        assert mask.shape == kwargs["eta"].shape
        assert mask.sum() == certifier.naive(*budgets)
        assert not np.any(mask & ~targets) and not np.any(mask & ~(kwargs["eta"] > 0))
        alone = [CollectiveCertifier(**kwargs, targets=np.arange(targets.size) == n,
                                     milp_bins=milp_bins).naive(*budgets) == 1
                 if targets[n] else False for n in range(targets.size)]
        if milp_bins is None:  # quantization depends on the other outputs of the group
            assert mask.tolist() == alone, budgets
        else:
            assert not np.any(mask & ~np.array(alone))  # rounding down never certifies more
    # every output certified at budget 0 unless it abstains or is not targeted
    assert np.array_equal(certifier.naive_outputs(0, 0), targets & (kwargs["eta"] > 0))


def test_no_certifiable_output():
    certifier = CollectiveCertifier(np.array([-np.inf, 0.0]), np.zeros(2, int), np.ones((1, 1)),
                                    np.ones((1, 1)), [2], [2])
    assert certifier.naive_outputs(1, 1).tolist() == [False, False]

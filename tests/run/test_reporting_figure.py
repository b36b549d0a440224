"""The certified-accuracy figure: integer budgets get integer ticks."""
from __future__ import annotations

import numpy as np

from graphcert.run.config import RunConfig
from graphcert.run.reporting import certified_accuracy_figure


def curve(budgets: list, counts: list[int], n: int = 10) -> dict:
    return {"budgets": budgets, "naive": counts, "collective": counts, "naive_ratio": counts,
            "n_targets": n}


def test_integer_budgets_get_integer_ticks():
    config = RunConfig(methods=["localized"]).to_dict()
    curves = {"edge_additions": curve([0, 1], [6, 2]),  # the axis runs to 3: steps of 0.25
              "deletions": curve(list(range(4)), [8, 6, 3, 0]),
              "l2": curve([0.0, 0.5], [6, 2])}         # the same span, continuous
    results = {"config": config, "methods": {"localized": {"curves": curves}}}
    figure = certified_accuracy_figure(results)
    ticks = {ax.get_xlabel(): ax.get_xticks() for ax in figure.axes}
    integer = [t for label, t in ticks.items() if "l2" not in label]
    assert len(integer) == 2
    for values in integer:
        assert len(values) >= 2 and np.all(values == np.round(values)), values
    continuous = next(t for label, t in ticks.items() if "l2" in label)
    assert np.any(continuous != np.round(continuous))  # the check above can fail

"""Shared fixtures: the bundled graphs, loaded once per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# One torch thread: the suite is timed for a 2-core machine and oversubscribed torch threads
# slow down by an order of magnitude.
torch.set_num_threads(1)

SHARED_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "GRAPHCERT_DATA_MIRROR" not in os.environ and SHARED_MIRROR.is_dir():
    os.environ["GRAPHCERT_DATA_MIRROR"] = str(SHARED_MIRROR)


@pytest.fixture(scope="session")
def cora():
    from graphcert.datasets import load_graph
    return load_graph("cora_ml")


@pytest.fixture(scope="session")
def citeseer():
    from graphcert.datasets import load_graph
    return load_graph("citeseer")

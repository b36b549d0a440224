"""Fixtures of the command-line tests."""
import pytest

import graphcert.run.pipeline as pipeline


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a command loads data, trains or runs a demo."""
    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the settings were checked")
    monkeypatch.setattr(pipeline, "load_graph", forbidden)
    monkeypatch.setattr(pipeline, "train_model", forbidden)
    import graphcert.run.demos.segment as segment
    monkeypatch.setattr(segment, "train", forbidden)

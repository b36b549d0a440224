"""A model's code is part of its fingerprint: statistics of one model are never reused for
another, whether its weights, its code (the class, what it calls in the user's files, a
library's version), or a private or dict attribute changed; what cannot be described is
resampled with a warning that names the model."""
from __future__ import annotations

import importlib.util
import logging
import sys
import textwrap
from pathlib import Path

import torch

from graphcert.sampling.code_fingerprint import code_digest, is_library_module

NET = textwrap.dedent("""
    import torch
    import {helpers} as helpers

    SCALE = {scale}

    def squash(z):
        return helpers.shift(z) * SCALE

    class Net(torch.nn.Module):
        def __init__(self, in_features, num_classes):
            super().__init__()
            self.lin = torch.nn.Linear(in_features, num_classes)

        def forward(self, x, edge_index):
            # a comment
            return {body}
""")
HELPERS = "def shift(z):\n    return z + {shift}\n"


def load(path: Path, name: str):
    """Import `path` as a fresh module `name` (what `graphcert.run.models` does)."""
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def net_class(tmp_path, scale="2.0", body="squash(self.lin(x))", shift="1.0",
              comment=""):
    helpers = f"graphcert_test_helpers_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{helpers}.py").write_text(HELPERS.format(shift=shift) + comment)
    (tmp_path / "net.py").write_text(NET.format(helpers=helpers, scale=scale, body=body)
                                     + comment)
    sys.path.insert(0, str(tmp_path))
    try:
        load(tmp_path / f"{helpers}.py", helpers)
        return load(tmp_path / "net.py", "graphcert_test_net").Net
    finally:
        sys.path.remove(str(tmp_path))


def test_code_digest_follows_what_the_code_computes(tmp_path):
    base = code_digest(net_class(tmp_path))
    assert code_digest(net_class(tmp_path)) == base  # the same code, loaded again
    assert code_digest(net_class(tmp_path, comment="\n# only a comment\n")) == base
    changed = {"forward": net_class(tmp_path, body="-squash(self.lin(x))"),
               "a global constant": net_class(tmp_path, scale="-2.0"),
               "a helper in another user file": net_class(tmp_path, shift="2.0")}
    digests = {what: code_digest(cls) for what, cls in changed.items()}
    assert base not in digests.values() and len(set(digests.values())) == 3, digests


def test_library_code_is_identified_by_module_version_and_source():
    from torch_geometric.nn import GCNConv
    assert is_library_module("torch.nn.modules.linear")
    assert is_library_module("torch_geometric.nn.conv.gcn_conv")
    assert not is_library_module("graphcert.sampling.fingerprint")  # this checkout
    assert code_digest(GCNConv) == code_digest(GCNConv)
    assert code_digest(GCNConv) != code_digest(torch.nn.Linear)


# ----------------------------------------------------------------------- model attributes
class Scaled(torch.nn.Module):
    """A model whose output depends on a private number, a dict and a hook-free buffer."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(10, 3)
        self._scale = 1.0
        self.offsets = {"bias": 0.0}

    def forward(self, x, edge_index):
        return self._scale * self.lin(x.to_dense()) + self.offsets["bias"]


def fingerprint(model) -> str:
    from graphcert.sampling.fingerprint import scores_fingerprint
    return scores_fingerprint(model, torch.ones(4, 10), None)


def test_private_dict_and_hook_state_change_the_fingerprint():
    base = fingerprint(Scaled())
    assert fingerprint(Scaled()) == base
    private, nested, hooked, attribute = Scaled(), Scaled(), Scaled(), Scaled()
    private._scale = -1.0
    nested.offsets["bias"] = 5.0
    hooked.register_forward_hook(lambda module, inputs, output: -output)
    attribute.extra = [torch.zeros(2), {"a": (1, 2)}]
    others = [fingerprint(m) for m in (private, nested, hooked, attribute)]
    assert base not in others and len(set(others)) == 4
    unhooked = Scaled()
    handle = unhooked.register_forward_hook(lambda module, inputs, output: -output)
    handle.remove()
    assert fingerprint(unhooked) == base


def test_an_attribute_that_cannot_be_described_is_resampled_with_a_warning(caplog):
    model = Scaled()
    model._generator = torch.Generator()  # state no fingerprint can describe
    with caplog.at_level(logging.WARNING, logger="graphcert.sampling"):
        first, second = fingerprint(model), fingerprint(model)
    assert first != second  # never matched: statistics are sampled afresh
    message = caplog.records[-1].getMessage()
    assert "test_faults_fingerprint.Scaled" in message and "_generator" in message
    assert "never reused" in message


def test_a_docstring_is_not_code_but_a_returned_string_is(tmp_path):
    """Rewording a docstring keeps the statistics of a model reusable; the same text as a
    value the function computes with is code."""
    source = ("def label(z):\n    {doc}\n    return {value}\n")

    def digest(doc, value, name):
        path = tmp_path / f"{name}.py"
        path.write_text(source.format(doc=doc, value=value))
        return code_digest(load(path, f"graphcert_test_doc_{name}").label)

    base = digest('"""The label."""', "'a'", "base")
    assert digest('"""The label of z, reworded."""', "'a'", "reworded") == base
    assert digest("", "'a'", "none") == base  # no docstring at all
    assert digest('"""The label."""', "'b'", "value") != base
    assert digest("", "'The label.'", "as_value") != base

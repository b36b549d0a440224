"""A model's code is part of its fingerprint: statistics of one model are never reused for
another, whether its weights, its code (the class, what it calls in the user's files, a
library's version), or a private or dict attribute changed; what cannot be described is
resampled with a warning that names the model."""
from __future__ import annotations

import importlib.util
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

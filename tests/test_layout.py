"""The package layout: layers along the data flow, no import cycles, numpy-only certificates.

Every import is counted, including those inside functions (a hidden cycle is still a cycle).
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

# Layer of every top-level part of graphcert; a module may import only from its own layer or
# the layers before it. The public faces (datasets, clustering, stats, collective) sit in the
# layer of the modules they re-export; the package root exports the documented entry points.
LAYERS = {
    "graphcert.utils": 0,
    "graphcert.data": 1, "graphcert.datasets": 1, "graphcert.clustering": 1,
    "graphcert.noise": 2,
    "graphcert.sampling": 3,
    "graphcert.certificates": 4, "graphcert.stats": 4, "graphcert.collective": 4,
    "graphcert.tasks": 5, "graphcert.voting": 5,
    "graphcert.run": 6,
    "graphcert.cli": 7,
    "graphcert": 8,
}
NO_GNN_MODELS_BELOW = LAYERS["graphcert.sampling"]  # noise and earlier never import gnn_models


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in ("graphcert", "gnn_models")
           for p in sorted((ROOT / package).rglob("*.py"))}


def imported_modules(name: str) -> set[str]:
    """Project modules imported anywhere in module `name` (top level or inside functions)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import a.b.c` where c is an attribute
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(name: str) -> int | None:
    if not name.startswith("graphcert"):
        return None
    best = max((prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")),
               key=len)
    return LAYERS[best]


GRAPH = nx.DiGraph([(name, target) for name in MODULES for target in imported_modules(name)])
GRAPH.add_nodes_from(MODULES)


def test_every_graphcert_module_has_a_layer():
    assert all(layer(name) is not None for name in MODULES if name.startswith("graphcert"))


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(GRAPH))
    assert cycles == [], f"import cycles: {cycles}"


def test_layers_import_only_earlier_layers():
    wrong = [(source, target) for source, target in GRAPH.edges
             if source.startswith("graphcert") and target.startswith("graphcert")
             and layer(target) > layer(source)]
    assert wrong == [], f"imports from a later layer: {wrong}"


def test_gnn_models_is_independent_of_graphcert():
    assert [(s, t) for s, t in GRAPH.edges if s.startswith("gnn_models")
            and t.startswith("graphcert")] == []
    low = [(s, t) for s, t in GRAPH.edges if t.startswith("gnn_models")
           and s.startswith("graphcert") and layer(s) < NO_GNN_MODELS_BELOW]
    assert low == [], f"the noise layer and below must not import gnn_models: {low}"


def test_layer_checks_catch_a_violation():
    """The checks above can fail: a deliberate upward import and a cycle are found."""
    graph = GRAPH.copy()
    graph.add_edge("graphcert.certificates.bounds", "graphcert.run.pipeline")
    graph.add_edge("graphcert.run.pipeline", "graphcert.certificates.bounds")
    assert layer("graphcert.run.pipeline") > layer("graphcert.certificates.bounds")
    assert any("graphcert.certificates.bounds" in c for c in nx.simple_cycles(graph))


CERTIFICATE_MODULES = sorted(name for name in MODULES
                             if layer(name) == LAYERS["graphcert.certificates"])


def test_certificates_import_with_torch_blocked():
    """The certificate layer is numpy/scipy only: it imports with torch made unimportable."""
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "torch_geometric", "gnn_models"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        for name in {CERTIFICATE_MODULES!r}:
            importlib.import_module(name)
        assert not any(m.split(".")[0] == "torch" for m in sys.modules)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


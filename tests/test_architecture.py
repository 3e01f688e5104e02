"""The package's layering (ARCH_PLAN / issue 12), checked on every module's direct imports.

Each module of ``lda_tf`` is parsed with :mod:`ast`; every ``import lda_tf...`` and
``from lda_tf... import ...`` in it, at module level or inside a function, is a direct import.
A module's *component* is the first name below ``lda_tf`` (``lda_tf.loa.model`` -> ``loa``,
``lda_tf.math`` -> ``math``). The rules:

- ``nn/``, ``loa/`` and ``cnn/`` know no imaging problem and nothing above them;
- ``mri/`` and ``cs/`` (the measurement models) know neither the network nor training;
- ``training/`` knows the network, not the measurement models, the data or the experiments;
- ``math``, ``checks`` and ``measurement`` import no other part of ``lda_tf`` than each other;
- the core components never import the root package ``lda_tf`` (it re-exports ``loa`` and ``mri``,
  so it would hide an upward import);
- no import cycle between components.

``recipes/`` and ``papers/`` are named in the rules whether or not they exist yet.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "lda_tf"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

ABOVE_THE_NETWORK = {"mri", "cs", "data", "training", "recipes", "papers"}
FORBIDDEN = {
    "nn": ABOVE_THE_NETWORK | {"loa"},
    "loa": ABOVE_THE_NETWORK,
    "cnn": ABOVE_THE_NETWORK,
    "mri": {"loa", "training", "data", "recipes", "papers"},
    "cs": {"loa", "training", "data", "recipes", "papers"},
    "training": {"mri", "cs", "data", "recipes", "papers"},
}
FOUNDATION = {"math", "checks", "measurement", "determinism", "runtime"}  # may import each other only
CORE = set(FORBIDDEN) | FOUNDATION


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The ``lda_tf`` modules an ``ImportFrom`` names: ``from lda_tf.a import b`` is ``lda_tf.a.b``
    where that is a module, else ``lda_tf.a``; relative imports are resolved against ``module``."""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base != PACKAGE and not base.startswith(PACKAGE + "."):
        return []
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def direct_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {
                alias.name
                for alias in node.names
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + ".")
            }
        elif isinstance(node, ast.ImportFrom):
            imported |= set(resolve(module, node))
    return imported


def component(module: str) -> str | None:
    """``loa`` for ``lda_tf.loa.model``; None for the root package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


IMPORTS = {module: direct_imports(module) for module in MODULES}


def test_the_walk_sees_imports_inside_functions_and_from_the_root():
    source = "def f():\n    from lda_tf import metrics\n    import lda_tf.loa.model\n"
    node = ast.parse(source)
    found = set()
    for item in ast.walk(node):
        if isinstance(item, ast.ImportFrom):
            found |= set(resolve("lda_tf.evaluation", item))
        elif isinstance(item, ast.Import):
            found |= {alias.name for alias in item.names}
    assert found == {"lda_tf.metrics", "lda_tf.loa.model"}
    assert "lda_tf.measurement" in IMPORTS["lda_tf.loa.model"]


@pytest.mark.parametrize("layer", sorted(CORE))
def test_no_upward_import(layer):
    violations = []
    for module, imported in IMPORTS.items():
        if component(module) != layer:
            continue
        for target in sorted(imported):
            other = component(target)
            if other is None:
                violations.append(f"{module} imports the root package {target} (import the submodule)")
            elif other == layer:
                continue
            elif layer in FOUNDATION and other not in FOUNDATION:
                violations.append(f"{module} imports {target}: {layer} may import only {sorted(FOUNDATION)}")
            elif other in FORBIDDEN.get(layer, set()):
                violations.append(f"{module} imports {target}: {layer}/ must not import {other}/")
    assert not violations, "\n".join(violations)


def test_no_import_cycle_between_components():
    graph: dict[str, set[str]] = {}
    for module, imported in IMPORTS.items():
        source = component(module)
        if source is None:
            continue
        for target in imported:
            other = component(target)
            if other is not None and other != source:
                graph.setdefault(source, set()).add(other)

    def cycle_from(start: str) -> list[str] | None:
        """A path ``start -> ... -> start`` if there is one (depth-first, each node once)."""
        parent: dict[str, str] = {}
        stack = [start]
        while stack:
            node = stack.pop()
            for successor in sorted(graph.get(node, ())):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1] + [start]
                if successor not in parent:
                    parent[successor] = node
                    stack.append(successor)
        return None

    cycles = {}  # one report per set of components
    for cycle in filter(None, map(cycle_from, sorted(graph))):
        cycles.setdefault(frozenset(cycle), " -> ".join(cycle))
    cycles = set(cycles.values())
    assert not cycles, "import cycles between components:\n" + "\n".join(sorted(cycles))

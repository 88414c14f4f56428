"""The core's import graph: no circles between modules, and no import that runs up the layers.

Read from the source with :mod:`ast` (nothing is imported). Every ``import`` counts, at module level
or inside a function (both run), except those under ``if TYPE_CHECKING:`` (they never run: they
name types for annotations). A new module must be placed in a layer below, or this test fails.

The layers, bottom to top; a module may import from its own layer and the ones below it:

1. **foundation**: errors, the plugin contracts and hook specs, small utilities. Imports nothing
   of CapFence's above it.
2. **call values**: what a call is (``CallView``), its lossless encoding, what was decided (``Decision``).
3. **policy**: the compiled policy, its loader, matchers and evaluator (pure: no audit, no plugins).
4. **audit**: the stores, records, chain, readers.
5. **plugin registry**: builds the plugin manager and collects what plugins register (``capfence.plugins``).
6. **call path**: the gate, the runtime, approvals, ``CapFenceTool``: what runs for each tool call.
7. **built-ins, offline tools, test kit**: the built-in plugin (it registers pieces of every layer),
   replay / lint / suggest / cases, ``capfence.testing``.
8. **front ends**: the ``capfence`` command and the web console.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "capfence_core" / "capfence"

LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundation",
        [
            "capfence",
            "capfence.errors",
            "capfence.durations",
            "capfence.lazy",
            "capfence.contracts",
            "capfence.hookspecs",
            "capfence.plugins.isolation",
            "capfence.audit.compactjson",
            "capfence.approvals.signatures",
            "capfence.policy.spec",
            "capfence.policy.paths",
            "capfence.policy.saferegex",
            "capfence.policy.tlds",
            "capfence.policy.snapshot",
            "capfence.starter",
            # packages whose __init__ only documents the folder
            "capfence.audit",
            "capfence.approvals",
            "capfence.call",
            "capfence.offline",
            "capfence.policy",
            "capfence.web",
        ],
    ),
    ("call values", ["capfence.call.decision", "capfence.call.canonical", "capfence.call.view"]),
    ("policy", ["capfence.policy.*"]),
    ("audit", ["capfence.audit.*"]),
    ("plugin registry", ["capfence.plugins"]),
    ("call path", ["capfence.call.*", "capfence.approvals.*"]),
    (
        "built-ins, offline tools, test kit",
        ["capfence.plugins.builtin", "capfence.offline.*", "capfence.testing"],
    ),
    ("front ends", ["capfence.cli", "capfence.cli.*", "capfence.web.*"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index of the first layer with a pattern naming ``module`` (exact names before globs)."""
    for exact in (True, False):
        for index, (_, patterns) in enumerate(LAYERS):
            for pattern in patterns:
                is_glob = any(c in pattern for c in "*?[")
                if exact != is_glob and fnmatchcase(module, pattern):
                    return index
    raise LookupError(module)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The CapFence modules one import statement loads (``from pkg import mod`` is the module ``pkg.mod``)."""
    known = modules()
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if node.level:
        base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    found = {f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known}
    if len(found) < len(node.names) and source in known:
        found.add(source)
    return found


@cache
def imports(module: str) -> frozenset[str]:
    """The CapFence modules ``module`` imports at run time (anywhere in it, outside ``if TYPE_CHECKING:``)."""
    path = modules()[module]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update(_imported(module, path, node))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return frozenset(found)


def graph() -> dict[str, frozenset[str]]:
    return {module: imports(module) for module in modules()}


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """Every import circle, as the modules on it (Tarjan's strongly connected components of size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            connect(module)
    return found


def upward(edges: dict[str, frozenset[str]], module: str) -> list[str]:
    """The imports of ``module`` that run up the layers, each with its layer's name."""
    own = layer_of(module)
    return sorted(
        f"{target} ({LAYERS[layer_of(target)][0]})" for target in edges[module] if layer_of(target) > own
    )


def test_the_graph_is_read() -> None:
    """The reader finds imports of every form (a guard against a test that passes because it sees nothing)."""
    assert "capfence.call.decision" in imports("capfence.policy.engine")  # from x import Name
    assert "capfence.call.limiting" in imports("capfence.call.runtime")  # from capfence.call import limiting
    assert "capfence.plugins.isolation" in imports("capfence.cli.group")  # inside a function
    assert "capfence.approvals.requests" not in imports("capfence.contracts")  # under TYPE_CHECKING only
    assert sum(len(targets) for targets in graph().values()) > 300


def test_every_module_has_a_layer() -> None:
    unplaced = []
    for module in modules():
        try:
            layer_of(module)
        except LookupError:
            unplaced.append(module)
    assert unplaced == [], f"place these modules in a layer of {__name__}.LAYERS"


def test_no_import_circles() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_import_runs_up_the_layers(module: str) -> None:
    assert upward(graph(), module) == [], (
        f"{module} ({LAYERS[layer_of(module)][0]}) imports from a layer above it"
    )


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    """On a made-up graph: the errors module importing the runtime runs up the layers and closes a circle."""
    edges = {
        "capfence.errors": frozenset({"capfence.call.runtime"}),
        "capfence.call.runtime": frozenset({"capfence.errors", "capfence.call.view"}),
        "capfence.call.view": frozenset(),
    }
    assert cycles(edges) == [["capfence.call.runtime", "capfence.errors"]]
    assert upward(edges, "capfence.errors") == ["capfence.call.runtime (call path)"]
    assert upward(edges, "capfence.call.runtime") == []

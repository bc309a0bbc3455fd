"""Imports in src/qscale run one way: no cycle, and no import upward in the package order of docs/design.md.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy import hides a cycle
from Python's import system, not from the design. Importing a package's submodule is not counted as an
import of the package's __init__ (Python runs it, but a package re-exporting its own submodules is no cycle).
The order is read from docs/design.md ("### Import direction"), so the page and the check cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import qscale

DESIGN = Path(__file__).resolve().parents[1] / "docs" / "design.md"


def package_order(text: str) -> dict[str, int]:
    """{top-level package: tier} from the first fenced block after the "### Import direction" heading."""
    section = text.split("### Import direction", 1)[1]
    block = section.split("```", 2)[1]
    order: dict[str, int] = {}
    for line in block.splitlines():
        m = re.match(r"\s*(\d+)\s+(.+)$", line)
        if m:
            for name in m.group(2).split():
                order[name] = int(m.group(1))
    return order


def top_package(module: str) -> str:
    """`qscale.llm.quant.job` -> `llm`; the package's own __init__ (`qscale`) -> `qscale`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `root` (the folder of `package`)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is one of `modules` (`pkg.mod.attr` -> `pkg.mod`)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of `modules` that `module` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")
                if not is_package:
                    anchor.pop()
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import mod` imports the submodule pkg.mod; `from mod import name` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            known = _known(target, modules)
            if known is not None and known != module:
                found.add(known)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_names(root, package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None when the graph is acyclic (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def order_violations(graph: dict[str, set[str]], order: dict[str, int]) -> list[str]:
    """`importer -> imported` for every import of another package that is not on a strictly lower tier (and for
    every module whose package is missing from the order)."""
    bad = []
    for importer, targets in sorted(graph.items()):
        mine = top_package(importer)
        if mine not in order:
            bad.append(f"{importer}: package {mine!r} is not in the order of docs/design.md")
            continue
        for target in sorted(targets):
            theirs = top_package(target)
            if theirs != mine and order.get(theirs, 10**9) >= order[mine]:
                bad.append(f"{importer} -> {target}")
    return bad


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(Path(qscale.__file__).parent, "qscale")


def test_no_import_cycle_in_qscale(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_upward_import_in_the_package_order_of_the_design_page(graph):
    order = package_order(DESIGN.read_text(encoding="utf-8"))
    ranks = [order[p] for p in ("cli", "study", "coproc", "algorithms", "primitives", "quantum", "errors")]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    assert order_violations(graph, order) == []


def test_graph_covers_every_module(graph):
    assert "qscale.cli" in graph and "qscale.llm.quant.qubo" in graph
    assert "qscale.llm.quant.block" in graph["qscale.llm.quant.refine"]


# The checks above must be able to fail: the same functions on small synthetic packages.


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(root, "pkg")


def test_find_cycle_reports_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_hidden_imports_are_counted(tmp_path):
    graph = _package(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "",
            "sub/low.py": "def f():\n    from pkg.sub import high\n",  # inside a function, `from pkg import mod`
            "sub/high.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .mid import X\n",
            "sub/mid.py": "from ..sub.low import f\nimport pkg.other\n",  # relative import
            "other.py": "",
        },
    )
    assert graph["pkg.sub.low"] == {"pkg.sub.high"}
    assert graph["pkg.sub.high"] == {"pkg.sub.mid"}
    assert graph["pkg.sub.mid"] == {"pkg.sub.low", "pkg.other"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.sub.low", "pkg.sub.high", "pkg.sub.mid"}


def test_order_violations_are_reported():
    order = package_order("### Import direction\n\n```\n3  cli\n2  algorithms qnn\n1  quantum\n0  errors\n```\n")
    assert order == {"cli": 3, "algorithms": 2, "qnn": 2, "quantum": 1, "errors": 0}
    graph = {
        "qscale.quantum.x": {"qscale.algorithms.y", "qscale.errors"},  # upward
        "qscale.algorithms.y": {"qscale.qnn.z", "qscale.quantum.x", "qscale.algorithms.w"},  # same tier: refused
        "qscale.cli.app": {"qscale.algorithms.y", "qscale.quantum.x"},
        "qscale.grid.site": set(),  # not in the order
    }
    assert order_violations(graph, order) == [
        "qscale.algorithms.y -> qscale.qnn.z",
        "qscale.grid.site: package 'grid' is not in the order of docs/design.md",
        "qscale.quantum.x -> qscale.algorithms.y",
    ]

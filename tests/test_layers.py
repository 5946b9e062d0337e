"""DESIGN's layers, read from the code: imports point one way, and none closes a circle.

    hawatch/ (the CLI and `hawatch serve`) -> collector/, dashboard/ (and what those use)
    dashboard/ -> analytics/ -> store/
    collector/ -> store/
    simulator/ -> nothing else of the product
    store/ imports none of the others; nothing imports hawatch/'s modules

Every product module's imports are read with `ast` (those inside functions too: a lazy import
is still a dependency), mapped to the layer of the folder they live in, and checked against
LAYERS. An import cycle among modules fails with the modules that form it, whatever their
layers. `from package import name` counts as a dependency on the package's __init__ (it runs
first and its namespace is read) and, when `name` is a module, on that module too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# repository folder -> the package it installs as (setup.py's package_dir)
FOLDERS = {
    "store": "hawatch.store",
    "collector": "hawatch.collector",
    "analytics": "hawatch.analytics",
    "dashboard": "hawatch.dashboard",
    "simulator": "hawatch.simulator",
    "hawatch": "hawatch",
}

# layer -> the layers it may import (besides itself)
LAYERS: dict[str, frozenset[str]] = {
    "hawatch": frozenset({"collector", "dashboard", "analytics", "store", "simulator"}),
    "dashboard": frozenset({"analytics", "store"}),
    "analytics": frozenset({"store"}),
    "collector": frozenset({"store"}),
    "simulator": frozenset(),
    "store": frozenset(),
}

# packages that must not import the rest of their layer either: the syslog listener child
# runs collector/syslog/ alone and must never load the database code
SELF_CONTAINED = ("hawatch.collector.syslog",)


def product_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file, for every module of the product folders."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            name = ".".join([package, *(p for p in parts if p != "__init__")])
            found[name] = path
    return found


def layer(module: str) -> str:
    """The layer a dotted name belongs to: its folder (hawatch/ for the CLI's modules)."""
    for folder, package in FOLDERS.items():
        if folder != "hawatch" and (module == package or module.startswith(package + ".")):
            return folder
    return "hawatch"


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a (possibly relative) `from ... import` names."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The hawatch.* names `module` imports, anywhere in its file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, path.name == "__init__.py")
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules)
    return {
        name
        for name in found
        if (name == "hawatch" or name.startswith("hawatch.")) and name != module
    }


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = product_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def against_layers(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points against LAYERS or out of a SELF_CONTAINED package."""
    found = []
    for module, targets in sorted(graph.items()):
        mine = layer(module)
        for target in sorted(targets):
            theirs = layer(target)
            if theirs != mine and theirs not in LAYERS[mine]:
                allowed = ", ".join(sorted(LAYERS[mine])) or "nothing else"
                found.append(f"{module} -> {target}: {mine}/ may import {allowed}")
            for package in SELF_CONTAINED:
                inside = module == package or module.startswith(package + ".")
                if inside and not (target == package or target.startswith(package + ".")):
                    found.append(f"{module} -> {target}: {package} imports nothing outside it")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in graph:
                    continue  # not a module file (the C extension)
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    arrows = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "cycle: " + "; ".join(arrows)


def test_imports_point_the_way_design_says() -> None:
    graph = import_graph()
    assert len(graph) > 100 and graph["hawatch.cli"], "the product's modules were not found"
    problems = against_layers(graph)
    assert not problems, "imports against DESIGN's layers:\n" + "\n".join(problems)


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(c, graph) for c in found)


def test_the_checks_see_lazy_imports_wrong_arrows_and_cycles(tmp_path: Path) -> None:
    """The checks themselves, on a small tree: an import inside a function that points
    against the layers, a relative one, and a cycle of three modules."""
    files = {
        "store/__init__.py": "",
        "store/db.py": "def f():\n    from hawatch.collector import ingest\n",
        "collector/__init__.py": "",
        "collector/ingest.py": "from .writer import x\n",
        "collector/writer.py": "import hawatch.collector.pairing\nx = 1\n",
        "collector/pairing.py": "from hawatch.collector import ingest\n",
        "collector/syslog/__init__.py": "",
        "collector/syslog/udp.py": "from hawatch.store import db\n",
        "hawatch/__init__.py": "",
        "hawatch/cli.py": "from hawatch.collector.ingest import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for folder in ("analytics", "dashboard", "simulator"):
        (tmp_path / folder).mkdir()
    graph = import_graph(tmp_path)
    assert against_layers(graph) == [
        "hawatch.collector.syslog.udp -> hawatch.store: hawatch.collector.syslog imports"
        " nothing outside it",
        "hawatch.collector.syslog.udp -> hawatch.store.db: hawatch.collector.syslog imports"
        " nothing outside it",
        "hawatch.store.db -> hawatch.collector: store/ may import nothing else",
        "hawatch.store.db -> hawatch.collector.ingest: store/ may import nothing else",
    ]
    assert cycles(graph) == [
        ["hawatch.collector.ingest", "hawatch.collector.pairing", "hawatch.collector.writer"]
    ]

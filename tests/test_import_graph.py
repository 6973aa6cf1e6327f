"""The package's import graph: no cycles, and every arrow points down the layers.

Imports inside functions count too: a lazy import keeps ``--help`` fast, it must not hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "invrender"

# Lowest first. A module may import its own layer or lower ones. The utilities and the config
# schema sit at the bottom; variant selection registers the integrators, so it sits with them.
LAYERS = [
    {"invrender", "errors", "files", "faults", "losses", "llvm", "progress", "config"},
    {"data", "geometry", "texturing", "integrators", "export", "scene", "variant"},
    {"pipelines"},
    {"run", "report"},
    {"batch"},
    {"cli"},
]


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """module -> the invrender modules it imports (a package's ``__init__`` for ``from pkg``)."""
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [owner(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in mods else owner(base))
            graph[mod].update(t for t in targets if t and t != mod)
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "invrender"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module}: no layer; add its folder to LAYERS in this test")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def test_cycle_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{mod} -> {target}"
        for mod, targets in import_graph().items()
        for target in targets
        if _layer(target) > _layer(mod)
    ]
    assert upward == []


# Modules that nothing imports by name and that still run: the console script's group, the
# pipelines and integrator plugins their registries import by name, and the scripts Blender runs
# in its own Python.
ENTRY_POINTS = {
    "invrender.cli.main",
    "invrender.cli.__main__",
    "invrender.integrators.edge_sampling",
    "invrender.integrators.reparam",
    *(f"invrender.pipelines.{n}" for n in ("material", "lighting", "geometry", "joint")),
    *(f"invrender.export.blender_{n}" for n in ("build", "inspect", "render", "relight")),
}


def test_nothing_in_the_package_is_for_tests_only() -> None:
    """Every module is imported by another one of the package, or is an entry point."""
    graph = import_graph()
    imported = {t for targets in graph.values() for t in targets}
    packages = {m for m in graph if _modules()[m].name == "__init__.py"}
    unused = sorted(set(graph) - imported - ENTRY_POINTS - packages)
    assert unused == []


def test_run_folder_names_live_in_one_module() -> None:
    """A run folder's file names, as file names (a literal with an extension, or one joined to a
    path with ``/``), appear only in run/folder.py; config keys of the same spelling are fine."""
    from invrender.run.folder import RunFolder

    names = {getattr(RunFolder, a) for a in dir(RunFolder) if a.isupper() and not a.startswith("_")}
    assert {"summary.json", "metrics.csv", "config.resolved.yaml", "checkpoints"} <= names
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path in (PACKAGE / "run" / "folder.py", PACKAGE / "batch" / "layout.py"):
            continue  # the run folder's names; the batch folder's (its report.html is its own)
        tree = ast.parse(path.read_text())
        joined = {
            id(side)
            for node in ast.walk(tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            for side in (node.left, node.right)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            name = node.value.strip().rstrip("/")
            if name in names and ("." in name or id(node) in joined):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert found == []

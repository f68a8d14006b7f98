"""The rule of dependencies (CONTRIBUTING.md): each layer imports only the layers above it, function-level
imports included, a model package reaches another only through its public ``__init__``, and no modules import
each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "musicstyle"
BASE = {"errors", "settings"}
MODELS = ["velocity", "dynamics", "classifier", "chords", "tokens"]
ALLOWED = {
    "core": {"core", "errors"},
    "data": BASE | {"core", "data"},
    "training": BASE | {"core", "data", "training"},
    **{m: BASE | {"core", "data", "training", *MODELS} for m in MODELS},
}


def _is_module(parts: tuple[str, ...]) -> bool:
    path = PACKAGE.parent.joinpath(*parts)
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports(path: Path, text: str | None = None) -> set[tuple[str, ...]]:
    """Every module of the package that the module at ``path`` imports, as dotted parts below ``musicstyle``."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = here[:-1]  # a module's relative imports start from its package, as do an __init__'s
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            parts = base + tuple(filter(None, (node.module or "").split(".")))
            # `from X import name`: the module X.name when there is one, else an attribute of X
            names = [parts + (a.name,) if _is_module(parts + (a.name,)) else parts for a in node.names]
        elif isinstance(node, ast.Import):
            names = [tuple(a.name.split(".")) for a in node.names]
        else:
            continue
        found |= {n[1:] for n in names if n and n[0] == "musicstyle"}
    return {n for n in found if n}


LAYERED = sorted(p for layer in ALLOWED for p in (PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_layer_imports_only_the_layers_above_it(path):
    layer = path.relative_to(PACKAGE).parts[0]
    wrong = {".".join(n) for n in imports(path) if n[0] not in ALLOWED[layer]}
    assert not wrong, f"{layer} may import only {sorted(ALLOWED[layer])}"


@pytest.mark.parametrize("path", [p for p in LAYERED if p.relative_to(PACKAGE).parts[0] in MODELS],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_model_package_reaches_another_only_through_its_public_init(path):
    layer = path.relative_to(PACKAGE).parts[0]
    deep = {".".join(n) for n in imports(path) if n[0] in MODELS and n[0] != layer and len(n) > 1
            and (PACKAGE / n[0] / f"{n[1]}.py").exists()}
    assert not deep, f"{layer} reaches into another model package's modules"


def test_the_import_reader_sees_relative_function_level_and_attribute_imports():
    text = ("from .midi import read_midi\nfrom .. import __version__\nimport numpy\n"
            "def f():\n    from ..data.groups import recording_group\n    from .. import velocity\n"
            "    import musicstyle.tokens.data\n")
    assert imports(PACKAGE / "core" / "roll.py", text) == {("core", "midi"), ("data", "groups"), ("velocity",),
                                                          ("tokens", "data")}
    assert imports(PACKAGE / "core" / "__init__.py", "from .midi import read_midi\n") == {("core", "midi")}


def _module_name(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def import_cycles(graph: dict[tuple, set[tuple]]) -> list[list[str]]:
    """The strongly connected groups of more than one module in ``graph`` (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(".".join(member) or "musicstyle")
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle_function_level_imports_included():
    graph = {_module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}
    assert import_cycles(graph) == []
    assert import_cycles({("a",): {("b",)}, ("b",): {("c",)}, ("c",): {("a",)}, ("d",): {("a",)}}) == [["a", "b", "c"]]

"""Every third-party module the package imports (function-level imports included) is declared in
pyproject.toml's dependencies, not left to arrive through another package's."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_top_levels(package: Path) -> set[str]:
    """Top-level names of the absolute imports in every module under ``package``."""
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """The distributions pyproject.toml lists as dependencies (not extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_canonical(re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0]) for req in project["dependencies"]}


def test_every_third_party_import_is_a_declared_dependency():
    modules = imported_top_levels(ROOT / "musicstyle") - set(sys.stdlib_module_names) - {"musicstyle", "__future__"}
    providers = metadata.packages_distributions()
    undeclared = {m: providers.get(m, ["?"]) for m in modules
                  if not {_canonical(d) for d in providers.get(m, [])} & declared()}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_scan_sees_function_level_imports(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    import requests\n    from platformdirs import user_cache_dir\n")
    assert imported_top_levels(tmp_path) == {"requests", "platformdirs"}

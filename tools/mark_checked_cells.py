"""Tag the cells whose stored (full-mode) outputs quick mode reproduces, so nbval compares exactly those.

    python tools/mark_checked_cells.py notebooks/NN_x.ipynb [...]

The committed notebooks hold full-mode outputs; `make test` runs them in quick mode under nbval's
lax mode (``--nbval-lax``), which compares only the cells tagged ``nbval-check-output``. This tool
runs nbval in quick mode without lax on each notebook as stored (with the project's sanitizer),
reads which code cells' outputs matched, and sets the tag on exactly those cells that have an
output and no ``# NBVAL_IGNORE_OUTPUT`` (removing it elsewhere). Run it after storing full-mode
outputs (``make course STORE=1``). A cell that raises is reported and the notebook left as it was.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TAG = "nbval-check-output"


def cell_results(path: Path) -> dict[int, str]:
    """nbval's verdict on each code cell of a notebook, run in quick mode: ``passed``, ``failed`` or ``error``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        env = {**os.environ, "MUSICSTYLE_QUICK": "1"}
        subprocess.run([sys.executable, "-m", "pytest", "--nbval", str(path), "--nbval-sanitize-with",
                        str(ROOT / "tests" / "nbval_sanitize.cfg"), "--nbval-cell-timeout", "900", "-q",
                        "-p", "no:cacheprovider", f"--junitxml={report}"], env=env, cwd=ROOT, check=False)
        out = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            if not name.startswith("Cell "):
                continue
            failure = case.find("failure")
            kind = "passed"
            if failure is not None:
                kind = "failed" if "mismatch" in (failure.get("message", "") + (failure.text or "")).lower() else "error"
            elif case.find("error") is not None:
                kind = "error"
            out[int(name.split()[1])] = kind
        return out


def mark(path: Path) -> tuple[int, int]:
    """Tag one notebook's reproducible cells; ``(tagged, code cells)``. Raises on a cell that errors."""
    results = cell_results(path)
    errors = [n for n, kind in results.items() if kind == "error"]
    if errors:
        raise SystemExit(f"{path}: cells {errors} raised in quick mode; fix them first")
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = 0
    for n, cell in enumerate(code):
        tags = [t for t in cell.metadata.get("tags", []) if t != TAG]
        ignored = cell.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT")
        if results.get(n) == "passed" and cell.get("outputs") and not ignored:
            tags.append(TAG)
            tagged += 1
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    nbformat.write(nb, path)
    return tagged, len(code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.notebooks:
        tagged, total = mark(path.resolve())
        print(f"{path}: {tagged} of {total} code cells compared by nbval", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

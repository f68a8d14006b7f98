"""Run the whole course in full mode, one kernel at a time, and print what each notebook cost.

    python tools/run_course.py [--store] [notebooks/NN_x.ipynb ...]      (make course)

Every notebook in ``notebooks/`` (or those named) runs top to bottom with ``MUSICSTYLE_QUICK`` unset
(full mode), from a temporary copy of the notebooks folder unless ``--store`` writes the outputs back
(scrubbed as ``tools/execute_notebooks.py`` does). Stored runs are recorded in ``notebooks/course_run.json``
(with every notebook, the whole JSON line; with some, their rows replace the old ones and their names join
``rerun``), and the index's table of times is rewritten from it; ``tests/test_stored_notebooks.py`` reads both.
The kernel's resident memory (plus the private memory of its child processes) is sampled every 0.2 s. The last line printed is one JSON object:
``{"notebooks": [{"name", "seconds", "peak_rss_mb", "ok", "error"?}, ...], "total_seconds": ...}``.
A benchmark, not a test: it trains the models for real and takes tens of minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).parent))
from execute_notebooks import scrub  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class PeakMemory:
    """Samples the resident memory of a process and its children in a thread; ``peak_mb`` the largest."""

    def __init__(self, pid: int, every: float = 0.2):
        self.process, self.every, self.peak_mb = psutil.Process(pid), every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                # the kernel's resident memory, plus what its children (forked parse workers) hold of
                # their own: their shared copy-on-write pages are the kernel's, counted once
                rss = self.process.memory_info().rss
                rss += sum(c.memory_full_info().uss for c in self.process.children(recursive=True))
                self.peak_mb = max(self.peak_mb, rss / 2**20)
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb, 1)


def run_one(path: Path, timeout: int) -> dict:
    """Execute one notebook in full mode in its own kernel; its figures, and the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    row = {"name": path.name}
    t0 = time.perf_counter()
    with client.setup_kernel():
        memory = PeakMemory(client.km.provisioner.pid if client.km.provisioner else client.km.kernel.pid)
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            row["ok"] = True
        except Exception as err:  # a failing cell: reported, the course goes on
            row["ok"], row["error"] = False, f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}"
        finally:
            row["peak_rss_mb"] = memory.stop()
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return {**row, "_nb": nb}


RUN = ROOT / "notebooks" / "course_run.json"
INDEX = ROOT / "notebooks" / "00_index.ipynb"
INDEX_ROW = re.compile(r"^(\| \[(?P<name>[^\]]+)\]\(.*\| )[\d.]+ (?:min|s), [\d.]+ GB \|$")


def merged_run(old: dict | None, rows: list[dict], whole: bool) -> dict:
    """The course record after storing ``rows``: a whole run replaces it; a partial one replaces its rows."""
    if whole or old is None:
        return {"notebooks": rows, "total_seconds": round(sum(r["seconds"] for r in rows), 1)}
    new = {r["name"]: r for r in rows}
    merged = [new.pop(r["name"], r) for r in old["notebooks"]] + list(new.values())
    rerun = sorted(set(old.get("rerun", [])) | {r["name"] for r in rows})
    return {"notebooks": merged, "total_seconds": round(sum(r["seconds"] for r in merged), 1), "rerun": rerun}


def shown_time(seconds: float) -> str:
    """A notebook's time as the index shows it: seconds under a minute, else minutes to a tenth."""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def index_with_times(source: str, run: dict) -> str:
    """The index's markdown with each notebook's row showing its time and peak memory from ``run``."""
    figures = {r["name"][: -len(".ipynb")]: r for r in run["notebooks"]}

    def line(text: str) -> str:
        m = INDEX_ROW.match(text)
        if not m or m["name"] not in figures:
            return text
        r = figures[m["name"]]
        return f"{m[1]}{shown_time(r['seconds'])}, {r['peak_rss_mb'] / 1024:.2f} GB |"

    return "\n".join(line(t) for t in source.split("\n"))


def record(rows: list[dict], whole: bool) -> None:
    """Write the stored run into ``notebooks/course_run.json`` and the index's table.

    Only notebooks that ran through are recorded (their outputs alone were stored); a whole run with a
    failure is recorded as a partial one.
    """
    whole = whole and all(r["ok"] for r in rows)
    rows = [r for r in rows if r["ok"]]
    if not rows:
        return
    run = merged_run(json.loads(RUN.read_text()) if RUN.exists() else None, rows, whole)
    RUN.write_text(json.dumps(run) + "\n")
    index = nbformat.read(INDEX, as_version=4)
    for cell in index.cells:
        if cell.cell_type == "markdown":
            cell.source = index_with_times(cell.source, run)
    nbformat.write(index, INDEX)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb in order")
    parser.add_argument("--store", action="store_true", help="write the executed outputs back into the notebooks")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    os.environ.pop("MUSICSTYLE_QUICK", None)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    rows, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            work = path if args.store else Path(shutil.copytree(path.parent, Path(tmp) / "notebooks", dirs_exist_ok=True)) / path.name
            row = run_one(work, args.timeout)
            nb = row.pop("_nb")
            if args.store and row["ok"]:
                scrub(nb)
                nbformat.write(nb, path)
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    line = json.dumps({"notebooks": rows, "total_seconds": round(time.perf_counter() - t0, 1)})
    if args.store:
        record(rows, whole=not args.notebooks)
    print(line)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

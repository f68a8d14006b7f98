"""What a reader sees: the stored notebooks are the full run, small, and the index's times are measured.

The committed notebooks hold full-mode outputs (``make course STORE=1``); nbval's lax mode compares the
cells that quick mode reproduces (tagged by ``tools/mark_checked_cells.py``). ``notebooks/course_run.json``
is the JSON line of the ``make course`` run whose outputs are stored.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN = json.loads((ROOT / "notebooks" / "course_run.json").read_text())
sys.path.insert(0, str(ROOT / "tools"))
from execute_notebooks import WIDGET, WIDGET_NOTE, is_progress_bar, scrub  # noqa: E402
from run_course import index_with_times, merged_run, shown_time  # noqa: E402


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if code_cells(p)], ids=lambda p: p.name)
def test_stored_outputs_are_the_full_run(path):
    cells = code_cells(path)
    assert "mode: full" in output_text(cells[0])
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in cells)  # nbval compares something


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if code_cells(p)], ids=lambda p: p.name)
def test_no_stored_output_is_a_closed_progress_bar(path):
    # JupyterLab removes the trainer's bars when each epoch ends; stored, each showed "0%|"
    assert not [o for c in code_cells(path) for o in c.outputs if is_progress_bar(o)]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if code_cells(p)], ids=lambda p: p.name)
def test_no_stored_output_is_a_widget_that_cannot_show_without_its_kernel(path):
    assert not [o for c in code_cells(path) for o in c.outputs if WIDGET in o.get("data", {})]


def test_scrub_drops_progress_bars_says_where_a_widget_was_and_joins_the_lines_around_them():
    def widget(text):
        return nbformat.v4.new_output("display_data", {WIDGET: {"model_id": "x", "version_major": 2}, "text/plain": text})

    lines = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in ("epoch 1 loss 3\n", "epoch 2 loss 2\n")]
    bar = widget("jazz improved epoch 2/40:   0%|          | 0/12 [00:00<?, ?batch/s]")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[lines[0], bar, lines[1], widget("VBox(children=())")])])
    scrub(nb)
    assert [o.output_type for o in nb.cells[0].outputs] == ["stream", "display_data"]
    assert nb.cells[0].outputs[0].text == "epoch 1 loss 3\nepoch 2 loss 2\n"
    assert nb.cells[0].outputs[1].data == {"text/plain": WIDGET_NOTE}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_notebooks_are_at_most_3_mb(path):
    assert path.stat().st_size <= 3 * 2**20


def test_the_stored_run_passed_within_the_course_budget():
    names = {r["name"] for r in RUN["notebooks"]}
    assert names == {p.name for p in NOTEBOOKS}
    assert all(r["ok"] for r in RUN["notebooks"])
    assert RUN["total_seconds"] <= 1800
    assert all(r["peak_rss_mb"] <= 1536 for r in RUN["notebooks"])  # each kernel within Binder's memory


def test_the_index_shows_the_measured_times():
    index = "".join(c.source for c in nbformat.read(ROOT / "notebooks" / "00_index.ipynb", as_version=4).cells)
    for r in RUN["notebooks"]:
        if r["name"] == "00_index.ipynb":
            continue
        row = next(line for line in index.splitlines() if f"[{r['name'][:-6]}]" in line)
        shown = re.search(r"\| ([\d.]+ (?:min|s)), ([\d.]+) GB \|", row)
        assert shown, row
        assert shown.group(1) == shown_time(r["seconds"])
        assert float(shown.group(2)) == round(r["peak_rss_mb"] / 1024, 2)


def test_a_notebook_stored_alone_replaces_its_row_and_is_listed_as_rerun():
    old = {"notebooks": [{"name": "a.ipynb", "seconds": 10.0, "peak_rss_mb": 100.0, "ok": True},
                         {"name": "b.ipynb", "seconds": 20.0, "peak_rss_mb": 200.0, "ok": True}], "total_seconds": 30.0}
    again = {"name": "b.ipynb", "seconds": 5.5, "peak_rss_mb": 300.0, "ok": True}
    run = merged_run(old, [again], whole=False)
    assert [r["name"] for r in run["notebooks"]] == ["a.ipynb", "b.ipynb"]
    assert run["notebooks"][1] == again and run["total_seconds"] == 15.5 and run["rerun"] == ["b.ipynb"]
    assert "rerun" not in merged_run(run, old["notebooks"], whole=True)  # a whole run starts the record afresh


def test_the_index_table_is_rewritten_from_the_run_and_nothing_else_changes():
    source = ("Intro 1.0 min, 2.00 GB |\n| notebook | teaches | time |\n|---|---|---|\n"
              "| [a](a.ipynb) | reading | 9.9 min, 9.99 GB |\n| [c](c.ipynb) | other | 1.0 min, 1.00 GB |")
    run = {"notebooks": [{"name": "a.ipynb", "seconds": 43.7, "peak_rss_mb": 1034.0, "ok": True}]}
    lines = index_with_times(source, run).split("\n")
    assert lines[3] == "| [a](a.ipynb) | reading | 44 s, 1.01 GB |"  # under a minute in seconds
    again = index_with_times("\n".join(lines), {"notebooks": [{**run["notebooks"][0], "seconds": 90.0}]}).split("\n")
    assert again[3] == "| [a](a.ipynb) | reading | 1.5 min, 1.01 GB |"  # a row in seconds is rewritten too
    assert lines[:3] + lines[4:] == source.split("\n")[:3] + source.split("\n")[4:]

"""Execute notebooks in place in quick mode and scrub their metadata, ready to commit for nbval.

    python tools/execute_notebooks.py notebooks/01_data_exploration.ipynb [...]

Runs each notebook top to bottom with MUSICSTYLE_QUICK=1 (unless --full), from the notebooks
folder, stores the outputs, and removes what changes from run to run without meaning
(execution timings, widget state, kernel versions) and the training progress bars, which JupyterLab
removes once each epoch ends (the trainer's bars are ``leave=False``; their epoch lines stay). A widget
cannot be stored without its kernel (JupyterLab would show "Error displaying widget: model not found"), so
its output becomes a line saying that running the cell shows it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


WIDGET = "application/vnd.jupyter.widget-view+json"
PROGRESS_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")  # tqdm's text: "label:  40%|####  | 4/10 [00:02<00:03, ...]"


def is_progress_bar(out) -> bool:
    """Whether an output is a tqdm progress-bar widget (whose stored text is the bar as first drawn)."""
    data = out.get("data", {})
    return WIDGET in data and bool(PROGRESS_BAR.search("".join(data.get("text/plain", ""))))


#: What a stored widget output says instead (the live widget needs its kernel).
WIDGET_NOTE = "[an interactive widget: run this cell to use it (a saved notebook cannot keep a live widget)]"


def stored_widget_note(out):
    """A widget's output as stored: the note :data:`WIDGET_NOTE`; any other output as it is."""
    if WIDGET not in out.get("data", {}):
        return out
    return nbformat.v4.new_output("display_data", {"text/plain": WIDGET_NOTE})


def merged_streams(outputs: list) -> list:
    """Consecutive outputs of one stream joined into one, as JupyterLab shows and saves them."""
    out = []
    for o in outputs:
        if out and o.get("output_type") == "stream" and out[-1].get("output_type") == "stream" and o.name == out[-1].name:
            out[-1].text += o.text
        else:
            out.append(o)
    return out


def scrub(nb) -> None:
    """Keep what a reader of the run sees: no timings, widget state, kernel versions or closed progress bars."""
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.get("cell_type") == "code":
            outputs = [stored_widget_note(out) for out in cell.get("outputs", []) if not is_progress_bar(out)]
            cell.outputs = merged_streams(outputs)
            for out in cell.outputs:
                out.get("metadata", {}).pop("execution", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--full", action="store_true", help="full mode instead of quick mode")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args()
    os.environ["MUSICSTYLE_QUICK"] = "0" if args.full else "1"
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        scrub(nb)
        nbformat.write(nb, path)
        print(f"executed {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Figures and the data table of the note-token LSTM.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

import numpy as np

from ..tokens import Elements, select_tracks


def _axes(ax, figsize: tuple):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_elements(e: Elements, count: int = 24, ax=None):
    """The first music21 elements of a file as a piano roll, each labelled with its tutorial token.

    Taught in ``notebooks/06_note_lstm.ipynb``: the tokenization read against the notes.

    Args:
        e: a file's element table (:func:`musicstyle.tokens.elements`).
        count: elements drawn.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes.
    """
    ax = _axes(ax, (12, 4.5))
    e = select_tracks(e)
    order = np.argsort(e.offset, kind="stable")[:count]
    for k, i in enumerate(order):
        ps = e.pitches[e.start[i] : e.start[i + 1]]
        color = "tab:orange" if len(ps) > 1 else "tab:blue"
        for p in ps:
            ax.broken_barh([(e.offset[i], max(e.duration[i], 0.05))], (p - 0.4, 0.8), color=color, alpha=0.8)
        ax.annotate(str(e.token[i]), (e.offset[i], ps.max() + 1 + 2.2 * (k % 3)), fontsize=8, rotation=0, color=color)
    ax.set_xlabel("quarter notes (music21 offsets)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{e.name}: first {len(order)} tokens (blue: note, orange: chord as normal-order pitch classes)")
    return ax


def plot_decoding(stats: dict, ax=None):
    """Bars of the longest run and the distinct share of each decoding's sample.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        stats: ``{label: musicstyle.tokens.run_stats(tokens)}``.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes.
    """
    ax = _axes(ax, (10, 3.5))
    labels = list(stats)
    x = np.arange(len(labels))
    runs = [stats[k]["longest_run"] for k in labels]
    share = [100 * stats[k]["distinct_share"] for k in labels]
    ax.bar(x - 0.2, runs, 0.4, label="longest run of one token", color="tab:red")
    ax.bar(x + 0.2, share, 0.4, label="distinct tokens (%)", color="tab:green")
    ax.axhline(8, color="tab:red", ls="--", lw=1)
    ax.axhline(25, color="tab:green", ls="--", lw=1)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xticks(x, labels)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("500 generated tokens per decoding (dashed: the bars to pass, run <= 8 and >= 25% distinct)")
    return ax


def data_table(genres=("classical", "pop", "jazz"), generated: int = 500) -> list[dict]:
    """The source's table for the shipped models, read from their metadata (no TensorFlow).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genres: one row per genre's shipped model.
        generated: the "tokens generated" column.

    Returns:
        Rows of genre, files used (train/validation/test), input tokens, vocabulary size and
        tokens generated.
    """
    from ..training.modelfile import read_metadata
    from ..training.shipped import pretrained_path

    rows = []
    for g in genres:
        meta = read_metadata(pretrained_path(f"tokens_{g}.keras"))
        rows.append({"genre": g, "files used": "/".join(str(meta["files"][k]) for k in ("train", "validation", "test")),
                     "input tokens": meta["input_tokens"], "vocabulary": len(meta["vocabulary"]), "tokens generated": generated})
    return rows

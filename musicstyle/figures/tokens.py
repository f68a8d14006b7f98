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
    ax = _axes(ax, (12, 5))
    e = select_tracks(e)
    order = np.argsort(e.offset, kind="stable")[:count]
    chords = [e.pitches[e.start[i] : e.start[i + 1]] for i in order]
    for i, ps in zip(order, chords):
        for p in ps:
            ax.broken_barh([(e.offset[i], max(e.duration[i], 0.05))], (p - 0.4, 0.8),
                           color="tab:orange" if len(ps) > 1 else "tab:blue", alpha=0.8)
    if len(order):  # the labels in one row above the notes, upright, each nudged right of the one before
        low, top = min(ps.min() for ps in chords), max(ps.max() for ps in chords)
        span = e.offset[order[-1]] + e.duration[order[-1]] - e.offset[order[0]]
        row, gap, last = top + 3, 0.018 * max(span, 1.0), -np.inf
        for i, ps in zip(order, chords):
            color = "tab:orange" if len(ps) > 1 else "tab:blue"
            x = last = max(e.offset[i], last + gap)
            ax.plot([e.offset[i], x], [ps.max() + 0.5, row - 0.3], color=color, lw=0.5, ls=":")
            ax.text(x, row, str(e.token[i]), fontsize=8, rotation=90, color=color, va="bottom", ha="center")
        ax.set_ylim(low - 2, row + 0.4 * (row - low))  # room for the labels
    ax.set_xlabel("quarter notes (music21 offsets)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(f"{e.name}: first {len(order)} tokens (blue: note, orange: chord as normal-order pitch classes)")
    return ax


def plot_decoding(stats: dict, tokens: int = 500):
    """Two panels: the longest run of one token and the share of distinct tokens in each decoding's sample.

    Taught in ``notebooks/06_note_lstm.ipynb``. A bar is green where it passes its bar (a run of at most 8,
    at least 25% distinct tokens), red where it fails, with its value written on it; dashed lines mark the bars.

    Args:
        stats: ``{label: musicstyle.tokens.run_stats(tokens)}``.
        tokens: tokens in each sample (for the title).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, (runs_ax, share_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    labels = list(stats)
    runs = [stats[k]["longest_run"] for k in labels]
    shares = [100 * stats[k]["distinct_share"] for k in labels]
    for ax, values, passes, fmt in ((runs_ax, runs, [r <= 8 for r in runs], "{:.0f}"),
                                    (share_ax, shares, [v >= 25 for v in shares], "{:.1f}%")):
        bars = ax.bar(labels, values, color=["tab:green" if ok else "tab:red" for ok in passes])
        ax.bar_label(bars, [fmt.format(v) for v in values], fontsize=8, padding=2)
    runs_ax.axhline(8, color="black", ls="--", lw=1)
    runs_ax.set_yscale("log")
    runs_ax.set_ylim(0.8, max(runs) * 2.5)
    ticks = [1, 2, 5, 8, 20, 100, 500]
    runs_ax.set_yticks(ticks, [str(t) for t in ticks])
    runs_ax.minorticks_off()
    runs_ax.set(ylabel="tokens in a row (log scale)", title="longest run of one token (pass: at most 8)")
    share_ax.axhline(25, color="black", ls="--", lw=1)
    share_ax.set(ylim=(0, 100), ylabel="% of the tokens", title="distinct tokens (pass: at least 25%)")
    fig.suptitle(f"{tokens} generated tokens per decoding (green: passes, red: fails)")
    fig.tight_layout()
    return fig


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

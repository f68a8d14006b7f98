"""Figures of the course; every function takes ``ax=None`` and returns the axes it drew on.

Heat maps are taught in ``notebooks/01_data_exploration.ipynb`` (the paper's Figure III.1),
pedal histograms in ``notebooks/05_pedal_analysis.ipynb`` (Figure V.3).
"""

from __future__ import annotations

import numpy as np

from ..core.roll import Layout, Roll


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def heatmap(matrix: np.ndarray, layout: Layout, title: str = "", ax=None, start: int = 0, steps: int | None = None, cmap="viridis", vmax=None):
    """One matrix as an image: time steps down the vertical axis, columns (keys, pedals) across."""
    ax = _axes(ax)
    stop = matrix.shape[0] if steps is None else min(matrix.shape[0], start + steps)
    ax.imshow(matrix[start:stop], aspect="auto", interpolation="nearest", cmap=cmap, vmin=0, vmax=vmax, origin="upper",
              extent=(-0.5, matrix.shape[1] - 0.5, stop - 0.5, start - 0.5))
    # a tick at every C; the pedal columns (a few pixels wide) share one tick, "ped"
    ticks = [i for i, p in enumerate(range(layout.low, layout.high + 1)) if p % 12 == 0]
    labels = [f"C{(layout.low + i) // 12 - 1}" for i in ticks]
    if layout.pedals:
        ticks.append(layout.keys + (len(layout.pedals) - 1) / 2)
        labels.append("ped")
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlabel("key (MIDI pitch) and pedal columns")
    ax.set_ylabel("time step")
    ax.set_title(title)
    return ax


def roll_figure(roll: Roll, title: str = "", start: int = 0, steps: int = 512):
    """The paper's Figure III.1: chords (held), velocity and onsets side by side."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.5), sharey=True)
    heatmap(roll.held, roll.layout, "chords (held)", axes[0], start, steps, cmap="gray_r", vmax=1)
    heatmap(roll.velocity, roll.layout, "velocity", axes[1], start, steps, vmax=127)
    heatmap(roll.onset, roll.layout, "onsets", axes[2], start, steps, cmap="gray_r", vmax=1)
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def compare_velocity(true: np.ndarray, other: np.ndarray, layout: Layout, titles=("true velocity", "transferred velocity"), start: int = 0, steps: int = 512):
    """Two velocity matrices side by side with one colour scale (the paper's Figure V.1)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    heatmap(true, layout, titles[0], axes[0], start, steps, vmax=127)
    heatmap(other, layout, titles[1], axes[1], start, steps, vmax=127)
    axes[1].set_ylabel("")
    fig.tight_layout()
    return fig


def histograms(samples: dict[str, np.ndarray], bins, xlabel: str, ax=None, density: bool = True):
    """Overlaid step histograms, one per label (for example velocity or pedal length per genre)."""
    ax = _axes(ax)
    for label, values in samples.items():
        ax.hist(np.asarray(values), bins=bins, histtype="step", linewidth=1.5, density=density, label=f"{label} (n={len(values):,})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    ax.legend()
    return ax

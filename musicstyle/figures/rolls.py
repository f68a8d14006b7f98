"""Heat maps and note plots: a one-panel plot takes ``ax=None`` and returns the axes it drew on; a
figure of several panels (:func:`roll_figure`, :func:`before_after`) returns the figure.

Heat maps are taught in ``notebooks/01_data_exploration.ipynb`` (the paper's Figure III.1), the
before/after views of a transfer in ``notebooks/02_velocity_cnn.ipynb``, pedal histograms in
``notebooks/05_pedal_analysis.ipynb`` (Figure V.3).
"""

from __future__ import annotations

import numpy as np

from ..core.roll import Layout, Roll
from ..errors import MusicstyleError


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


#: Colour scale of every velocity map; time steps without a strike stay white.
VELOCITY_CMAP = "viridis"
#: Names of the pedal controllers a layout may hold, for the axis label.
PEDAL_NAMES = {64: "sustain", 66: "sostenuto", 67: "soft"}


def heatmap(matrix: np.ndarray, layout: Layout, title: str = "", ax=None, start: int = 0, steps: int | None = None, cmap="viridis", vmax=None,
            colorbar: str | None = None, span: int | None = None):
    """One matrix as an image: time steps down the vertical axis, columns (keys, pedals) across.

    Taught in ``notebooks/01_data_exploration.ipynb``. A panel too short to give every step a pixel row
    (at 72 dots per inch) merges runs of steps into one row holding their largest value, so that a note
    struck at one step never falls between the rows drawn. Pedal columns are drawn in grey on their own
    scale (the deepest press mid-grey, apart from black notes), outside the keys' colour scale and colour bar.

    Args:
        matrix: (steps, columns) values, 0 where nothing happens (drawn white).
        layout: the columns' layout (keys, then pedals).
        title: the panel's title.
        ax: matplotlib axes (None: a new figure).
        start: first time step drawn.
        steps: time steps drawn (None: to the end).
        cmap: colour map.
        vmax: top of the colour scale (None: the largest value).
        colorbar: label of a colour bar beside the panel (None: no colour bar).
        span: time steps the panel's height spans (None: the steps drawn; more when it shares its
            vertical axis with a longer panel).

    Returns:
        The axes.
    """
    import matplotlib

    if np.ndim(matrix) != 2 or np.shape(matrix)[1] != layout.columns:
        raise MusicstyleError("matrix", f"has shape {np.shape(matrix)}; the layout has {layout.columns} columns "
                              f"(keys {layout.low}-{layout.high}, then {len(layout.pedals)} pedals)")
    ax = _axes(ax)
    stop = matrix.shape[0] if steps is None else min(matrix.shape[0], start + steps)
    pixels = ax.get_position().height * ax.figure.get_figheight() * 72
    merged = max(1, int(np.ceil(max(span or 0, stop - start) / max(pixels, 1.0))))  # steps per row drawn
    shown = _rows_merged(np.asarray(matrix[start:stop]), merged)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="white")
    bottom = start + len(shown) * merged - 0.5
    keys = shown[:, : layout.keys]
    image = ax.imshow(np.ma.masked_equal(keys, 0), aspect="auto", interpolation="nearest", cmap=colours, vmin=0,
                      vmax=vmax if vmax is not None else max(int(keys.max(initial=0)), 1),
                      origin="upper", extent=(-0.5, layout.keys - 0.5, bottom, start - 0.5))
    if layout.pedals:  # grey, on their own scale: a pedal's depth is not what the keys' colour bar measures
        greys = matplotlib.colormaps["Greys"].with_extremes(bad="white")
        deepest = max(int(shown[:, layout.keys :].max(initial=0)), 1)  # drawn mid-grey, apart from the black notes
        ax.imshow(np.ma.masked_equal(shown[:, layout.keys :], 0), aspect="auto", interpolation="nearest", cmap=greys,
                  vmin=0, vmax=deepest / 0.55,
                  origin="upper", extent=(layout.keys - 0.5, layout.columns - 0.5, bottom, start - 0.5))
        ax.set_xlim(-0.5, layout.columns - 0.5)
    ax.set_ylim(start + max(span or 0, stop - start) - 0.5, start - 0.5)
    # a tick at every C; the pedal columns (a few pixels wide, right of a line) share one tick, "pedals"
    ticks = [i for i, p in enumerate(range(layout.low, layout.high + 1)) if p % 12 == 0]
    labels = [f"C{(layout.low + i) // 12 - 1}" for i in ticks]
    if layout.pedals:
        ax.axvline(layout.keys - 0.5, color="0.6", lw=0.8)
        ticks.append(layout.keys + (len(layout.pedals) - 1) / 2)
        labels.append("ped.")
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    pedals = ", ".join(PEDAL_NAMES.get(n, f"CC{n}") for n in layout.pedals)
    ax.set_xlabel(f"key (MIDI pitch), then pedals in grey ({pedals})" if layout.pedals else "key (MIDI pitch)")
    ax.set_ylabel("time step (8 per beat)")
    ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=colorbar, fraction=0.08, pad=0.02)
    return ax


def _rows_merged(matrix: np.ndarray, k: int) -> np.ndarray:
    """``matrix`` with each run of ``k`` rows merged into one row holding their largest value."""
    if k == 1:
        return matrix
    padded = np.concatenate([matrix, np.zeros((-len(matrix) % k, *matrix.shape[1:]), matrix.dtype)])
    return padded.reshape(-1, k, *matrix.shape[1:]).max(axis=1)


def roll_figure(roll: Roll, title: str = "", start: int = 0, steps: int = 512):
    """The paper's Figure III.1: chords (held), velocity (with its colour bar) and onsets side by side.

    Taught in ``notebooks/01_data_exploration.ipynb``.

    Args:
        roll: the piano roll.
        title: the figure's title.
        start: first time step drawn.
        steps: time steps drawn.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), sharey=True, layout="constrained")
    heatmap(roll.held, roll.layout, "chords (held)", axes[0], start, steps, cmap="gray_r", vmax=1)
    heatmap(roll.velocity, roll.layout, "velocity (at each strike)", axes[1], start, steps, cmap=VELOCITY_CMAP, vmax=127, colorbar="velocity")
    heatmap(roll.onset, roll.layout, "onsets", axes[2], start, steps, cmap="gray_r", vmax=1)
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.suptitle(title)
    return fig


def velocity_over_time(performances: dict, ax=None, start_s: float = 0.0, seconds: float = 12.0, pair: bool = False):
    """Velocity against time, one mark per note, of one or more performances overlaid.

    With ``pair`` (two performances of the same notes, before and after transfer) a thin line joins
    each note's two velocities, so the change is read note by note. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        performances: label -> :class:`~musicstyle.core.midi.Performance`, drawn in order (first grey).
        ax: matplotlib axes (None: a new figure).
        start_s: start of the window, in seconds.
        seconds: length of the window.
        pair: join note i of the first performance to note i of the second.

    Returns:
        The axes.
    """
    ax = _axes(ax)
    styles = [dict(marker="o", s=22, facecolors="none", edgecolors="0.45", linewidths=1.0),
              dict(marker="o", s=18, color="tab:red"), dict(marker="^", s=18, color="tab:blue")]
    shown = []
    for (label, perf), style in zip(performances.items(), styles):
        t = perf.seconds(perf.notes["start"])
        keep = (t >= start_s) & (t < start_s + seconds)
        shown.append((t, keep, perf.notes["velocity"].astype(float)))
        n = int(keep.sum())
        ax.scatter(t[keep], shown[-1][2][keep], label=f"{label} ({n} note{'s' * (n != 1)})", zorder=3, **style)
    if pair and len(shown) == 2 and len(shown[0][0]) == len(shown[1][0]):
        (t, keep, v0), (_, _, v1) = shown
        ax.vlines(t[keep], v0[keep], v1[keep], color="tab:red", alpha=0.35, lw=0.8, zorder=2)
    ax.set_xlim(start_s - seconds / 100, start_s + seconds)  # a margin: the first note is at the window's start
    ax.set_ylim(0, 134)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("velocity (1-127)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncols=len(shown), framealpha=0.9)
    return ax


def velocity_difference(before, after, ax=None, start_s: float = 0.0, seconds: float = 12.0):
    """After minus before velocity of every note (same notes), as stems: red louder, blue softer.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        before: the original :class:`~musicstyle.core.midi.Performance`.
        after: the same notes with new velocities.
        ax: matplotlib axes (None: a new figure).
        start_s: start of the window, in seconds.
        seconds: length of the window.

    Returns:
        The axes.
    """
    ax = _axes(ax)
    t = before.seconds(before.notes["start"])
    diff = after.notes["velocity"].astype(float) - before.notes["velocity"].astype(float)
    keep = (t >= start_s) & (t < start_s + seconds)
    ax.vlines(t[keep], 0, diff[keep], colors=np.where(diff[keep] > 0, "tab:red", "tab:blue"), lw=1.2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlim(start_s - seconds / 100, start_s + seconds)
    top = max(10.0, float(np.abs(diff[keep]).max()) if keep.any() else 10.0)
    ax.set_ylim(-top * 1.1, top * 1.1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("velocity change")
    ax.set_title(f"change per note (after - before): mean {diff.mean():+.1f}, "
                 f"spread (sd) {before.notes['velocity'].std():.1f} -> {after.notes['velocity'].std():.1f} over the piece", fontsize=9)
    ax.grid(alpha=0.3)
    return ax


def before_after(before, after, titles=("original", "after"), same_notes: bool = True, seconds: float = 12.0,
                 width: float = 12.0):
    """What changed, at a glance: velocity heat maps with a colour bar, velocity against time of both, the difference.

    Starts at the first key strike. ``same_notes`` (velocity transfer) pairs the notes and adds the
    difference panel; without it (new music) the two performances are overlaid only.
    Taught in ``notebooks/02_velocity_cnn.ipynb`` and used by the widget (notebook 07).

    Args:
        before: the original :class:`~musicstyle.core.midi.Performance`.
        after: the result.
        titles: labels of before and after.
        same_notes: the two share their notes (only velocities differ).
        seconds: length of the time window of the lower panels.
        width: the figure's width in inches (its height follows).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from ..core.roll import PAPER, piano_roll

    a, b = (piano_roll(p, PAPER, require_notes=False) for p in (before, after))
    start = int(a.onset[:, : PAPER.keys].any(axis=1).argmax())
    first_s = float(before.seconds(before.notes["start"]).min()) if len(before.notes) else 0.0
    rows = [3, 2.2, 1.5] if same_notes else [3, 2.2]
    fig = plt.figure(figsize=(width, 3.2 * sum(rows) / 2.6 * (0.5 + width / 24)), layout="constrained")
    grid = fig.add_gridspec(len(rows), 2, height_ratios=rows)
    maps = [fig.add_subplot(grid[0, 0])]
    maps.append(fig.add_subplot(grid[0, 1], sharey=maps[0] if same_notes else None))  # new music starts at its own step
    second = start if same_notes else int(b.onset[:, : PAPER.keys].any(axis=1).argmax())
    span = min(512, max(a.steps - start, b.steps - second))  # both panels span the longer window, at one scale
    heatmap(a.velocity, PAPER, f"{titles[0]}: velocity", maps[0], start, 512, cmap=VELOCITY_CMAP, vmax=127, span=span)
    heatmap(b.velocity, PAPER, f"{titles[1]}: velocity", maps[1], second, 512, cmap=VELOCITY_CMAP, vmax=127, span=span)
    maps[1].set_ylabel("")
    fig.colorbar(maps[1].images[0], ax=maps, label="velocity", fraction=0.05, pad=0.02)
    line = fig.add_subplot(grid[1, :])
    velocity_over_time({titles[0]: before, titles[1]: after}, line, first_s, seconds, pair=same_notes)
    line.set_title(f"velocity of each note, the {seconds:.0f} s from the first note (heat maps above: up to 64 beats from it)"
                   + ("; lines join a note's two velocities" if same_notes else ""), fontsize=9)
    if same_notes:
        velocity_difference(before, after, fig.add_subplot(grid[2, :], sharex=line), first_s, seconds)
    return fig


def histograms(samples: dict[str, np.ndarray], bins, xlabel: str, ax=None, density: bool = True, log: bool = False):
    """Overlaid step histograms, one per label (for example velocity or pedal length per genre), with room above
    the bars for the legend.

    Taught in ``notebooks/01_data_exploration.ipynb`` and ``notebooks/05_pedal_analysis.ipynb``.

    Args:
        samples: label -> values.
        bins: bin edges (or a count; with ``log``, the number of bins spaced evenly in log between the
            smallest and largest positive value).
        xlabel: the horizontal axis' label.
        ax: matplotlib axes (None: a new figure).
        density: normalise each histogram to unit area (on a linear axis).
        log: a log axis, each bar the share of the label's values in its bin, so that bins of equal width in
            log compare (a density over log-spaced bins would make the short bins tower).

    Returns:
        The axes.
    """
    ax = _axes(ax)
    if log and np.ndim(bins) == 0:
        values = np.concatenate([np.asarray(v, float) for v in samples.values()])
        values = values[values > 0]
        bins = np.geomspace(values.min(), values.max(), int(bins) + 1)
    for label, values in samples.items():
        values = np.asarray(values)
        weights = np.full(len(values), 1 / max(len(values), 1)) if log else None
        ax.hist(values, bins=bins, histtype="step", linewidth=1.5, density=density and not log, weights=weights,
                label=f"{label} (n={len(values):,})")
    if log:
        ax.set_xscale("log")
    room = 1.1 + 0.12 * len(samples)  # above the bars, for a legend line per label
    ax.set_ylim(0, room * max((p.get_xy()[:, 1].max() for p in ax.patches), default=1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share per bin" if log else "density" if density else "count")
    ax.legend()
    return ax

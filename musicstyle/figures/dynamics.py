"""Figures and tables of the dynamics judge ("did the style move?").

Taught in ``notebooks/02b_did_the_style_move.ipynb``.
"""

from __future__ import annotations

import numpy as np

from ..dynamics import as_dynamics


def plot_sequences(sequences: dict, onsets: int = 160, start: int = 0, ax=None):
    """Standardised velocity sequences over onsets, one line each.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        sequences: label -> :class:`musicstyle.dynamics.Dynamics` (or MIDI bytes, a Performance).
        onsets: onsets drawn.
        start: first onset drawn.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 3.5))
    for label, d in sequences.items():
        z = as_dynamics(d).z[start : start + onsets]
        ax.plot(np.arange(start, start + len(z)), z, lw=1.0, label=label)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel("onset (in order; chord notes low to high)")
    ax.set_ylabel("velocity, standardised per piece")
    ax.legend(fontsize=8, loc="upper right")
    return ax


def _pct(x) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


#: The rows of :func:`table`: label and where each discriminator's figure is.
_ROWS = (
    ("real pieces judged correctly", ("discriminator_accuracy",)),
    ("  real classical -> classical", ("real_classical_judged_classical",)),
    ("  real jazz -> jazz", ("real_jazz_judged_jazz",)),
    ("control: classical model on classical -> classical", ("classical_to_jazz", "control_share")),
    ("control: jazz model on jazz -> jazz", ("jazz_to_classical", "control_share")),
    ("shuffled within piece, judged as its genre", ("shuffled_accuracy",)),
    ("jazz pieces judged classical: before", ("jazz_to_classical", "share_before")),
    ("  after transfer by the classical model", ("jazz_to_classical", "moved_share")),
    ("classical pieces judged jazz: before", ("classical_to_jazz", "share_before")),
    ("  after transfer by the jazz model", ("classical_to_jazz", "moved_share")),
    ("texture alone (no model) -> classical", ("jazz_to_classical", "texture_alone_share")),
    ("texture alone (no model) -> jazz", ("classical_to_jazz", "texture_alone_share")),
)


def _get(figures: dict, keys: tuple):
    for k in keys:
        figures = figures[k]
    return figures


def table(result: dict) -> str:
    """The figures of ``evaluate transfer`` as aligned text, one column per discriminator.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result.

    Returns:
        The table (the trusted judge first).
    """
    cols = {result["trusted"] + " (trusted)": result, **result.get("others", {})}
    width = max(len(label) for label, _ in _ROWS)
    lines = [" " * width + "  " + "  ".join(f"{c:>16}" for c in cols)]
    for label, keys in _ROWS:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{_pct(_get(f, keys)):>16}" for f in cols.values()))
    return "\n".join(lines)


def observation_table(result: dict) -> str:
    """The paper's observations from ``evaluate transfer`` as aligned text.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result.

    Returns:
        One line per set of velocities (real, own model, transfer, shuffled of each genre).
    """
    obs = result["observations"]
    lines = [f"{'velocities':<24}{'top-note emphasis (z)':>24}{'(velocity units)':>18}{'onset jump (z)':>16}"]
    for label, o in obs.items():
        cells = [o["top_emphasis_z"], o["top_emphasis_velocity"], o["onset_jump_z"]]
        lines.append(f"{label:<24}" + "".join(f"{('-' if c is None else f'{c:.3f}'):>{w}}" for c, w in zip(cells, (24, 18, 16))))
    return "\n".join(lines)

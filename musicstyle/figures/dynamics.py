"""Figures and tables of the dynamics judge ("did the style move?").

Taught in ``notebooks/02b_did_the_style_move.ipynb``.
"""

from __future__ import annotations

import numpy as np

from ..dynamics import as_dynamics
from ..dynamics.evaluate import VERSIONS
from . import clip_name


def plot_sequences(sequences: dict, onsets: int = 160, start: int = 0, title: str = ""):
    """Standardised velocity sequences over onsets, one panel each; the first is drawn in grey behind the others.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        sequences: label -> :class:`musicstyle.dynamics.Dynamics` (or MIDI bytes, a Performance); the first
            (the piece as played) is the reference drawn behind every other panel.
        onsets: onsets drawn.
        start: first onset drawn.
        title: the figure's title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(sequences), 1, figsize=(10, 1.5 + 1.25 * len(sequences)), sharex=True, sharey=True,
                             squeeze=False)
    zs = {label: as_dynamics(d).z[start : start + onsets] for label, d in sequences.items()}
    (first, reference), colours = next(iter(zs.items())), plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (ax, (label, z)) in enumerate(zip(axes[:, 0], zs.items())):
        if k:
            ax.plot(np.arange(start, start + len(reference)), reference, lw=0.8, color="0.75", label=first)
        ax.plot(np.arange(start, start + len(z)), z, lw=1.0, color=colours[k % len(colours)], label=label)
        ax.axhline(0, color="0.6", lw=0.5)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[-1, 0].set_xlabel("onset (in order; chord notes low to high)")
    fig.supylabel("velocity, standardised per piece", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
    ("classical texture on the jazz model -> classical", ("jazz_to_classical", "texture_on_source_model_share")),
    ("jazz texture on the classical model -> jazz", ("classical_to_jazz", "texture_on_source_model_share")),
    ("texture alone (no model) -> classical", ("jazz_to_classical", "texture_alone_share")),
    ("texture alone (no model) -> jazz", ("classical_to_jazz", "texture_alone_share")),
    ("jazz's own velocities shuffled -> classical", ("jazz_to_classical", "shuffled_share")),
    ("classical's own velocities shuffled -> jazz", ("classical_to_jazz", "shuffled_share")),
)


def _get(figures: dict, keys: tuple):
    for k in keys:
        figures = figures.get(k) if isinstance(figures, dict) else None
    return figures


def table(result: dict) -> str:
    """The figures of ``evaluate transfer`` as aligned text, one column per discriminator.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result.

    Returns:
        The table, the trusted judge first (marked ``*``); each column as wide as its judge's name,
        so that five judges fit a notebook's output area.
    """
    return _columns({result["trusted"] + "*": result, **result.get("others", {})}, "(* the trusted judge)")


def _columns(cols: dict, corner: str) -> str:
    """The rows of :data:`_ROWS`, one column of figures per entry of ``cols`` (headed by its key)."""
    widths = [max(len(c), len(_pct(0))) for c in cols]
    width = max(len(label) for label, _ in _ROWS)
    lines = [f"{corner:<{width}}" + "".join(f"  {c:>{w}}" for c, w in zip(cols, widths))]
    for label, keys in _ROWS:
        lines.append(f"{label:<{width}}" + "".join(f"  {_pct(_get(f, keys)):>{w}}" for f, w in zip(cols.values(), widths)))
    return "\n".join(lines)


def group_table(result: dict) -> str:
    """The trusted judge's figures on each recording-source group from ``evaluate transfer --by-group``.

    Printed by ``musicstyle evaluate transfer --by-group``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result with ``by_group``.

    Returns:
        The rows of :func:`table`, one column per group (its piece count beside its name).
    """
    return _columns({f"{g} ({f['pieces']})": f for g, f in result["by_group"].items()}, "")


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


#: The column head of each of :data:`musicstyle.dynamics.evaluate.VERSIONS` in :func:`per_piece_table`.
_VERSION_HEADS = {"real": "real", "own": "own model", "transfer": "transfer", "texture_alone": "texture",
                  "texture_on_source_model": "on source", "shuffled": "shuffled"}


def per_piece_table(result: dict, width: int = 32) -> str:
    """The trusted judge's verdict on each piece from ``evaluate transfer --per-piece``, as aligned text.

    Printed by ``musicstyle evaluate transfer --per-piece``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result with ``per_piece``.
        width: characters of a piece's name shown (longer names keep their end).

    Returns:
        One row per piece: its genre, then the outcome judged as played, on its own genre's model,
        transferred, for the texture alone, the texture on its own model and its velocities shuffled,
        and P(target) after transfer.
    """
    heads = ("genre", *(_VERSION_HEADS[v] for v in VERSIONS))
    lines = [f"{'piece':<{width}}" + "".join(f"{h:>11}" for h in heads) + f"{'P(target)':>11}"]
    for p in result["per_piece"]:
        cells = (p["genre"], *(p.get(v, "-") for v in VERSIONS))
        lines.append(f"{clip_name(p['name'], width):<{width}}" + "".join(f"{c:>11}" for c in cells) + f"{p['p_target_after']:>11.3f}")
    return "\n".join(lines)


def routes_table(result: dict) -> str:
    """The trusted judge's verdict on each velocity route, as aligned text.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        result: :func:`musicstyle.dynamics.evaluate_transfer`'s result (with ``routes``).

    Returns:
        One line per route, both directions: moved to the target genre, control (own genre kept) and
        the route's draw on the source model's mean judged as the target ("on source").
    """
    directions = (("jazz_to_classical", "jazz -> classical"), ("classical_to_jazz", "classical -> jazz"))
    names = list(dict.fromkeys(n for key, _ in directions for n in result[key].get("routes", {})))
    head = f"{'route':<10}" + "".join(f"{label + ': moved':>26}{'control':>10}{'on source':>11}" for _, label in directions)
    lines = [head]
    for n in names:
        cells = []
        for key, _ in directions:
            r = result[key]["routes"].get(n, {})
            cells.append(f"{_pct(r.get('moved_share')):>26}{_pct(r.get('control_share')):>10}"
                         f"{_pct(r.get('drawn_on_source_model_share')):>11}")
        lines.append(f"{n:<10}" + "".join(cells))
    return "\n".join(lines)


def plot_relations(groups: dict, ax=None):
    """What the relations judge hears: each attribute's mean correlation with the velocities, per group.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        groups: label -> list of :class:`musicstyle.dynamics.Dynamics` (built with their notes).
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes (one group of bars per attribute of :data:`musicstyle.dynamics.ATTRIBUTES`).
    """
    from ..dynamics import ATTRIBUTES, RELATIONS, relations_of

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(11, 3.8))
    cols = [RELATIONS.index(f"corr_{a}") for a in ATTRIBUTES]
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(ATTRIBUTES))
    for i, (label, pieces) in enumerate(groups.items()):
        mean = np.mean([relations_of(d)[cols] for d in pieces], axis=0)
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, mean, width, label=label)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xticks(x, [a.replace("_", " ") for a in ATTRIBUTES], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("correlation with velocity (z)")
    ax.legend(fontsize=8)
    return ax


def plot_stretches(versions: dict, ax=None):
    """Where in a piece the judge hears each genre: P(jazz) and P(classical) of every stretch it reads.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        versions: label -> :func:`musicstyle.dynamics.stretch_probabilities` of one version of a piece.
        ax: the axes to draw on (default: a new figure).

    Returns:
        The axes: per version, P(jazz) above the middle line and P(classical) below it, one filled step per
        stretch over the time of its notes (what is left is P(unrelated)); a version's outline thins on a
        long piece, where its steps are narrow.
    """
    from matplotlib.colors import to_rgba

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(11, 3.2))
    for i, (label, rows) in enumerate(versions.items()):
        if not rows:  # a version with no stretch (no note) draws nothing
            continue
        colour = f"C{i}"
        edges = [r["start_s"] for r in rows] + [rows[-1]["end_s"]]
        style = dict(baseline=0, fill=True, facecolor=to_rgba(colour, 0.22), edgecolor=colour,
                     lw=1.6 if len(rows) <= 40 else 0.8)
        ax.stairs([r["jazz"] for r in rows], edges, label=label, **style)
        ax.stairs([-r["classical"] for r in rows], edges, **style)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([-1, -0.5, 0, 0.5, 1], ["1 classical", "0.5", "0", "0.5", "1 jazz"])
    ax.set_xlabel("time (s), one step per stretch the judge reads")
    ax.set_ylabel("probability")
    ax.legend(fontsize=8, title="P(jazz) above,\nP(classical) below", title_fontsize=8, loc="center left",
              bbox_to_anchor=(1.01, 0.5))
    return ax

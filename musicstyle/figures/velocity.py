"""Figures of the velocity models, and the ``transfer`` command's files (MIDI, heat map, audio).

Taught in ``notebooks/02_velocity_cnn.ipynb``. The command lives here, above the velocity package,
because it draws: :mod:`musicstyle.velocity` itself never imports a figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..core.inputs import input_file
from ..core.midi import Performance, read_midi
from ..core.outputs import MIDI, output_file, plot_suffixes
from ..data import GENRES
from ..errors import MusicstyleError
from . import clip_name
from .rolls import before_after


#: What the columns of the tables of ``evaluate velocity`` mean (printed under the last).
LEGEND = textwrap.fill(
    "RMSE, MAE, within, (mean) and level are in velocity units (1-127). r: Pearson r over every note. within, "
    "within r: the RMSE and r once each piece's own mean is taken from truth and prediction (how well notes are "
    "told apart, whatever the level; (mean): the training mean's within). ratio: RMSE over the training mean's "
    "(the mean_baseline row; below 1 is better). level: the mean prediction minus the mean velocity.", 100)


def evaluation_table(result: dict) -> str:
    """The figures of ``evaluate velocity`` as aligned text: per genre, one row per model and baseline.

    Printed by ``musicstyle evaluate velocity``; ``notebooks/02_velocity_cnn.ipynb`` shows the same figures.

    Args:
        result: :func:`musicstyle.velocity.evaluate`'s result (with each genre's ``figures``).

    Returns:
        The table; ``ratio`` is each row's RMSE over the training mean's. Each piece left out is named
        under its genre's rows, with the reason.
    """
    lines = []
    for genre, r in _genres(result):
        if not r.get("figures"):
            lines.append(f"{genre}: no pieces")
        else:
            flat = f" ({r['no_dynamics']} with one velocity for every note)" if r.get("no_dynamics") else ""
            lines.append(f"{genre}: {r['pieces']} pieces{flat}, {r['onsets']:,} onsets")
            lines.append(f"  {'model':<20}{'RMSE':>8}{'MAE':>8}{'r':>8}{'within':>8}{'within r':>10}{'ratio':>8}")
        for name, f in r.get("figures", {}).items():
            ratio = f["rmse"] / r["rmse_mean_baseline"] if r["rmse_mean_baseline"] else float("nan")
            lines.append(f"  {name:<20}{f['rmse']:>8.2f}{f['mae']:>8.2f}{f['pearson_r']:>8.3f}{f['within_piece_rmse']:>8.2f}"
                         f"{f['within_piece_r']:>10.3f}{ratio:>8.3f}")
        lines += [f"  left out {name}: {reason}" for name, reason in r.get("left_out", {}).items()]
    return "\n".join(lines)


def _genres(result: dict):
    """(genre, figures) of each genre in an ``evaluate velocity`` result."""
    return [(genre, result[genre]) for genre in GENRES if genre in result]


def group_table(result: dict) -> str:
    """The main model's figures on each recording-source group from ``evaluate velocity --by-group``, per genre.

    Printed by ``musicstyle evaluate velocity --by-group``.

    Args:
        result: :func:`musicstyle.velocity.evaluate`'s result with ``by_group=True``.

    Returns:
        One row per group: pieces, onsets, the main model's RMSE, the training mean's, their ratio,
        Pearson r, within-piece RMSE (the mean's), within-piece r and the level error.
    """
    lines = []
    for genre, r in _genres(result):
        if "by_group" not in r:
            continue
        lines.append(f"{genre}, by recording-source group:")
        lines.append(f"  {'group':<11}{'pieces':>7}{'onsets':>9}{'RMSE':>8}{'mean':>8}{'ratio':>8}{'r':>8}"
                     f"{'within':>8}{'(mean)':>8}{'within r':>10}{'level':>8}")
        for g, f in r["by_group"].items():
            lines.append(f"  {g:<11}{f['pieces']:>7}{f['onsets']:>9,}{f['rmse']:>8.2f}{f['rmse_mean_baseline']:>8.2f}"
                         f"{f['rmse_ratio']:>8.3f}{f['pearson_r']:>8.3f}{f['within_piece_rmse']:>8.2f}"
                         f"{f['within_piece_rmse_mean_baseline']:>8.2f}{f['within_piece_r']:>10.3f}{f['level_error']:>+8.1f}")
    return "\n".join(lines)


def per_piece_table(result: dict, width: int = 40) -> str:
    """Each piece's figures from ``evaluate velocity --per-piece`` as aligned text, per genre.

    Printed by ``musicstyle evaluate velocity --per-piece``.

    Args:
        result: :func:`musicstyle.velocity.evaluate`'s result with ``per_piece=True``.
        width: characters of a piece's name shown (longer names keep their end).

    Returns:
        One row per piece: onsets, the main model's RMSE, the training mean's, the level error
        (mean prediction minus mean velocity), within-piece RMSE and r.
    """
    lines = []
    for genre, r in _genres(result):
        if "per_piece" not in r:
            continue
        lines.append(f"{genre}, piece by piece:")
        lines.append(f"  {'piece':<{width}}{'onsets':>8}{'RMSE':>8}{'mean':>8}{'level':>8}{'within':>8}{'within r':>10}")
        for p in r["per_piece"]:
            lines.append(f"  {clip_name(p['name'], width):<{width}}{p['onsets']:>8,}{p['rmse']:>8.2f}{p['rmse_mean_baseline']:>8.2f}"
                         f"{p['level_error']:>+8.1f}{p['within_piece_rmse']:>8.2f}{p['within_piece_r']:>10.3f}")
    return "\n".join(lines)


def draw_dilations(dilations=(1, 2, 4), kernel: int = 2, causal: bool = True, ax=None, width: int = 16):
    """The paper's Figure IV.1: stacked dilated convolutions and the inputs one output step sees.

    Every layer's nodes are drawn as dots; the lines trace what the last output node depends on.
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        dilations: dilation of each layer, bottom up.
        kernel: kernel size of every layer.
        causal: outputs see the past only (else both sides).
        ax: matplotlib axes (None: a new figure).
        width: time steps drawn.

    Returns:
        The axes.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3))
    layers = len(dilations) + 1
    for level in range(layers):
        ax.scatter(range(width), [level] * width, s=18, c="lightgray", zorder=2)
    target = {width - 1 if causal else width // 2}
    for level in range(layers - 1, 0, -1):
        d = dilations[level - 1]
        offsets = [-(kernel - 1 - i) * d for i in range(kernel)] if causal else [(i - (kernel - 1) // 2) * d for i in range(kernel)]
        below = set()
        for t in target:
            for o in offsets:
                if 0 <= t + o < width:
                    ax.plot([t, t + o], [level, level - 1], color="tab:blue", lw=1, zorder=1)
                    below.add(t + o)
        ax.scatter(sorted(target), [level] * len(target), s=30, c="tab:blue", zorder=3)
        target = below
    ax.scatter(sorted(target), [0] * len(target), s=30, c="tab:orange", zorder=3, label="inputs the top output sees")
    ax.set_yticks(range(layers))
    ax.set_yticklabels(["input"] + [f"dilation {d}" for d in dilations])
    ax.set_ylim(-0.9, layers - 0.6)
    ax.legend(loc="lower left", fontsize=8, frameon=False, bbox_to_anchor=(0, -0.02), handletextpad=0.2)
    ax.set_xlabel("time step")
    side = "past only (causal)" if causal else "both sides"
    ax.set_title(f"kernel {kernel}, dilations {', '.join(map(str, dilations))}, {side}: receptive field {len(target)} steps")
    return ax


def transfer_figure(before: Performance, after: Performance, titles=("original", "transferred")):
    """What a velocity transfer changed: heat maps with a colour bar, each note's velocity before and after, the difference.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        before: the original performance.
        after: the transferred one (the same notes).
        titles: labels of before and after.

    Returns:
        The matplotlib figure.
    """
    return before_after(before, after, titles, same_notes=True)


def transfer_outputs(src, output, wav=None, plot=None, inputs=()) -> tuple:
    """The files :func:`transfer_to_files` writes, checked (:func:`musicstyle.core.outputs.output_file`).

    Args:
        src: the input MIDI file.
        output, wav, plot: the MIDI, audio (or None) and figure (or None) to write.
        inputs: the other files the same run reads (several inputs into one folder).

    Returns:
        ``(output, wav, plot)`` as paths (None where not asked for). Raises :class:`MusicstyleError`
        for an ending its writer does not know, a folder, ``src`` itself or one of ``inputs``.
    """
    reads = (src, *inputs)
    return (output_file(output, MIDI, inputs=reads),
            output_file(wav, (".wav",), "--wav", inputs=reads) if wav else None,
            output_file(plot, plot_suffixes(), "--plot", inputs=reads) if plot else None)


def transfer_to_files(src, genre: str, output, arch: str = "improved", texture: bool = True, seed: int = 0,
                      wav=None, seconds: float | None = None, plot=None, route: str | None = None, model_file=None) -> dict:
    """``musicstyle transfer``: a piece with a genre's velocities, and optionally its heat map and audio.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        src: the MIDI file (None: the bundled default piece, Maple Leaf Rag).
        genre: the target genre.
        output: the MIDI file to write.
        arch: the shipped model's architecture.
        texture: add a draw of the genre's texture (see :func:`musicstyle.velocity.transfer_bytes`).
        seed: the draw's seed.
        wav: also write audio of the result here.
        seconds: length of the audio (None: the whole piece).
        plot: also write the before/after figure here (PNG, see :func:`transfer_figure`).
        route: one of :data:`musicstyle.velocity.ROUTES` (None: decided by ``texture``).
        model_file: a velocity model file of ``genre`` to write with (None: the shipped one of ``arch``).

    Returns:
        What was written: ``midi``, ``model_file`` (the model that wrote it: ``NAME (shipped)``, or the
        ``model_file`` given), ``notes`` (count),
        ``velocity`` (mean and standard deviation before and after), and ``plot`` / ``wav`` (with ``audio_backend``, fluidsynth or plain) when asked for. Every
        output is checked before any work (:func:`musicstyle.core.outputs.output_file`): never over ``src``,
        and of a kind its writer knows.
    """
    from .. import velocity
    from ..data.examples import default_piece

    src = default_piece() if src is None else input_file(src)
    dest, wav, plot = transfer_outputs(src, output, wav, plot, inputs=() if model_file is None else (model_file,))
    if seconds is not None and seconds <= 0:
        raise MusicstyleError("--seconds", f"must be > 0 (got {seconds:g})")
    data = src.read_bytes()
    before = read_midi(data, name=str(src))  # bad input fails here, before any model loads
    model, meta = velocity.load(genre, arch) if model_file is None else velocity.load_file(model_file)
    if meta.get("genre") != genre:
        raise MusicstyleError(model_file, f"holds a {meta.get('genre')} velocity model: give --to {meta.get('genre')} "
                                          f"(not {genre})")
    arch = meta.get("arch", arch)
    out = velocity.transfer_bytes(model, data, str(src), meta, texture=texture, seed=seed, route=route)
    after = read_midi(out, name=str(dest))
    # the figure and the audio are made before any file is written: one that fails leaves every output as it was
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        which = Path(model_file).name if model_file else f"{arch} model"
        fig = transfer_figure(before, after, ("original", f"to {genre} ({which})"))
    if wav:
        from ..core import audio

        samples = audio.render(after, seconds)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    from ..training.shipped import described, pretrained_path

    shipped = None if model_file else pretrained_path(velocity.pretrained_name(genre, arch))
    written = {"midi": str(dest), "model_file": described(model_file or shipped),
               "notes": len(before.notes),
               "velocity": {side: {"mean": float(v.mean()), "std": float(v.std())}
                            for side, v in (("before", before.notes["velocity"]), ("after", after.notes["velocity"]))}}
    if plot:
        plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot, dpi=110)
        written["plot"] = str(plot)
    if wav:
        wav.parent.mkdir(parents=True, exist_ok=True)
        audio.write_wav(wav, samples)
        written["wav"] = str(wav)
        written["audio_backend"] = audio.backend()  # as explore gives it
    return written

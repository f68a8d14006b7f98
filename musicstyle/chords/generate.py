"""Generation: a genre's music started from a piece's style vector, written as MIDI, and did it transfer?

Taught in ``notebooks/04_lstm_generation.ipynb`` (and the pedalling of generated music in
``notebooks/05_pedal_analysis.ipynb``).
"""

from __future__ import annotations

import numpy as np

from ..core.inputs import input_file
from ..core.midi import as_performance, read_midi, write_events
from ..core.outputs import MIDI, output_file
from ..core.roll import PAPER, Layout
from ..errors import MusicstyleError
from ..settings import check_positive, check_seed
from .data import matrix
from .model import GENRES, generator_of, shipped_generator, shipped_name


def generate(genre: str, style, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0, model=None,
             meta: dict | None = None) -> np.ndarray:
    """Music of one genre from a style vector. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        genre: ``classical`` or ``jazz`` (its shipped LSTM, unless ``model`` is given).
        style: (50,) style vector (:func:`musicstyle.classifier.style_vector`).
        seconds: length of the music.
        temperature: > 0; higher samples more freely.
        seed: the sampling seed (the same seed gives the same music).
        model, meta: another LSTM and its metadata (traced anew on each call).

    Returns:
        (steps, 2C) uint8 held+onset matrix.
    """
    seconds, temperature = check_positive(seconds, "seconds"), check_positive(temperature, "temperature")
    seed = check_seed(seed)
    style = np.asarray(style, np.float32)
    if style.ndim != 1:
        raise MusicstyleError("style", f"must be one style vector, a 1-d array (got shape {style.shape})")
    if (model is None) != (meta is None):  # else the shipped LSTM would play under another's metadata, or none
        raise MusicstyleError("model", "give an LSTM and its metadata together: model, meta = chords.load(FILE)")
    gen, meta = shipped_generator(genre) if model is None else (generator_of(model), meta)
    if model is not None and meta.get("genre", genre) != genre:
        raise MusicstyleError(genre, f"the LSTM given plays {meta['genre']}, not {genre}")
    width = next(int(i.shape[-1]) for i in gen.model.inputs if i.name == "style")
    if len(style) != width:
        raise MusicstyleError("style", f"has {len(style)} values; this LSTM starts from {width} (classifier.style_vector)")
    steps = max(1, int(round(seconds * meta["steps_per_second"])))
    return gen.sample(style, steps, temperature, seed)


def to_midi(m: np.ndarray, layout: Layout = PAPER, steps_per_second: float = 16.0, velocity: int = 64,
            ticks_per_quarter: int = 480) -> bytes:
    """A format-0 MIDI file from a held+onset matrix. Taught in ``notebooks/04_lstm_generation.ipynb``.

    A key sounds from a step where it is struck (or starts to be held) until it stops being held or
    is struck again. Velocity: ``velocity`` for every note, +12 for the highest note of each onset
    (the melody voice, louder in both genres' performances), clipped 1-127. Pedal columns become
    controller changes (127 on press, 0 on release).

    Args:
        m: (steps, 2C) matrix.
        layout: its columns.
        steps_per_second: tempo: steps of ``1/steps_per_beat`` quarter each.
        velocity: the notes' velocity.
        ticks_per_quarter: the file's resolution.

    Returns:
        The MIDI bytes.
    """
    m = np.asarray(m)
    cols = layout.columns
    held, onset = m[:, :cols] > 0, m[:, cols:] > 0
    tps = ticks_per_quarter // layout.steps_per_beat
    events = []  # (tick, order, bytes): offs before ons at the same tick
    prev = np.vstack([np.zeros((1, cols), bool), held[:-1]])
    struck = held & (onset | ~prev)
    keys = struck[:, : layout.keys]
    top = np.where(keys.any(1), layout.keys - 1 - np.argmax(keys[:, ::-1], 1), -1)
    padded = np.vstack([np.zeros((1, cols), bool), held, np.zeros((1, cols), bool)])
    for col in range(cols):
        h = padded[:, col]
        strikes = np.flatnonzero(struck[:, col])
        ends = np.flatnonzero(h[:-1] & ~h[1:])  # step after the last held step, in matrix steps
        for s in strikes:
            e = ends[np.searchsorted(ends, s, side="right")] if len(ends) else len(held)
            nxt = strikes[np.searchsorted(strikes, s, side="right")] if s != strikes[-1] else e
            e = min(e, nxt)
            if col < layout.keys:
                pitch = layout.low + col
                v = int(np.clip(velocity + (12 if top[s] == col else 0), 1, 127))
                events.append((int(s) * tps, 1, bytes([0x90, pitch, v])))
                events.append((int(e) * tps, 0, bytes([0x80, pitch, 0])))
            else:
                number = layout.pedals[col - layout.keys]
                events.append((int(s) * tps, 1, bytes([0xB0, number, 127])))
                events.append((int(e) * tps, 0, bytes([0xB0, number, 0])))
    return write_events(events, ticks_per_quarter, int(round(1e6 * layout.steps_per_beat / steps_per_second)))


def inspired_bytes(data, name: str, genre: str, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0,
                   dynamics: bool = True, model_file=None) -> bytes:
    """New music of a genre started from a piece's style vector. Taught in ``notebooks/04_lstm_generation.ipynb``.

    The LSTM writes which keys and pedals are down; with ``dynamics`` the genre's shipped velocity
    CNN (``musicstyle.velocity``, notebook 02) then sets how hard each note is struck, else (or if
    that model is missing or finds no note) the rule of :func:`to_midi`.

    Args:
        data: MIDI bytes, a path or a Performance.
        name: the piece's name (in error messages).
        genre: the genre to write.
        seconds, temperature, seed: as for :func:`generate`.
        dynamics: let the velocity model strike the notes.
        model_file: a chords .keras file of ``genre`` that writes instead of the shipped LSTM.

    Returns:
        The new MIDI bytes.
    """
    from .. import classifier

    perf = as_performance(data, name)
    lstm = genre if model_file is None else str(model_file)
    _, meta = shipped_generator(lstm)
    if meta.get("genre") != genre:
        raise MusicstyleError(model_file, f"holds a {meta.get('genre')} LSTM: give --genre {meta.get('genre')} (not {genre})")
    m = generate(lstm, classifier.style_vector(perf), seconds, temperature, seed)
    out = to_midi(m, Layout.from_dict(meta["layout"]), meta["steps_per_second"], meta["velocity_median"])
    if dynamics and m[:, : PAPER.keys].any():
        try:
            from .. import velocity

            vmodel, vmeta = velocity.load(genre)
            out = velocity.transfer_bytes(vmodel, out, f"{name} ({genre}, generated)", vmeta)
        except (ImportError, MusicstyleError):
            pass
    return out


def generate_file(source, out, genre: str, seconds: float = 30.0, temperature: float = 1.0, seed: int = 0,
                  model_file=None) -> dict:
    """``musicstyle generate``: :func:`inspired_bytes` from one file to another.

    Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        source: the MIDI file whose style vector starts the LSTM.
        out: the MIDI file to write.
        genre, temperature, seed: as for :func:`generate`.
        seconds: in (0, 600].
        model_file: a chords .keras file of ``genre`` (None: the shipped LSTM).

    Returns:
        ``midi`` (the file written), ``genre``, ``model_file`` (the LSTM's file: ``NAME (shipped)``, or the path),
        ``inspired_by``,
        ``seconds`` and ``bytes``.
    """
    src = input_file(source)
    if check_positive(seconds, "seconds") > 600:
        raise MusicstyleError("seconds", "must be at most 600")
    check_positive(temperature, "temperature")
    check_seed(seed)
    out = output_file(out, MIDI, inputs=(src,) if model_file is None else (src, model_file))
    data = inspired_bytes(read_midi(src), src.stem, genre, seconds, temperature, seed, model_file=model_file)  # errors name the file
    try:
        read_midi(data, name=str(out))
    except MusicstyleError:
        raise MusicstyleError(out, f"the {genre} LSTM wrote no notes in {seconds:g} s from {src.name} (try a higher "
                              "--temperature, more --seconds or another --seed); nothing written") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    from ..training.shipped import described, pretrained_path

    return {"midi": str(out), "genre": genre, "model_file": described(model_file or pretrained_path(shipped_name(genre))),
            "inspired_by": str(src), "seconds": seconds, "bytes": len(data)}


def texture_figures(m: np.ndarray, layout: Layout, steps_per_second: float) -> dict:
    """How a matrix sounds, in numbers. Taught in ``notebooks/04_lstm_generation.ipynb``.

    Args:
        m: (steps, 2C) matrix.
        layout: its columns.
        steps_per_second: its time grid.

    Returns:
        ``seconds``, ``notes_per_s`` (onsets), ``polyphony`` (keys held per sounding step),
        ``silence`` (share of steps) and ``ccN_down`` (share of steps each pedal is down).
    """
    cols = layout.columns
    held, onset = m[:, : layout.keys] > 0, m[:, cols : cols + layout.keys] > 0
    sounding = held.any(1)
    out = {
        "seconds": len(m) / steps_per_second,
        "notes_per_s": float(onset.sum() / max(len(m) / steps_per_second, 1e-9)),
        "polyphony": float(held.sum(1)[sounding].mean()) if sounding.any() else 0.0,
        "silence": float(1 - sounding.mean()) if len(m) else 1.0,
    }
    for j, number in enumerate(layout.pedals):
        out[f"cc{number}_down"] = float((m[:, layout.keys + j] > 0).mean()) if len(m) else 0.0
    return out


def _opening(perf, seconds: float) -> tuple:
    """The piece up to ``seconds`` after its first note (:func:`musicstyle.classifier.first_beats` there, tempo map
    kept) and that time in seconds: a real piece measured beside generated music ``seconds`` long."""
    from .. import classifier

    end = float(perf.seconds(perf.notes["start"].min())) + seconds
    ticks = np.arange(int(perf.notes["end"].max()) + 1)
    return classifier.first_beats(perf, np.searchsorted(perf.seconds(ticks), end) / perf.ticks_per_quarter), end


def transfer_study(pieces_by_genre: dict, per_source: int = 3, seconds: float = 30.0, temperature: float = 1.0,
                   seed: int = 0) -> dict:
    """Did it transfer? Taught in ``notebooks/04_lstm_generation.ipynb`` and ``notebooks/05_pedal_analysis.ipynb``.

    Generates ``seconds`` of each genre from the style vectors of ``per_source`` pieces of each
    genre, and measures the results beside the real pieces, each cut ``seconds`` after its first note as
    the generated ones end (presses and the classifier's verdict too).

    Args:
        pieces_by_genre: ``{genre: pieces}``.
        per_source: pieces of each genre that start the LSTMs.
        seconds, temperature: as for :func:`generate`.
        seed: seed of the first piece's music (the next pieces: +1, +2, ...).

    Returns:
        ``{"generated": [rows], "real": {genre: row}}``; a row holds the classifier's jazz
        probability, the :func:`texture_figures` and the sustain ``press_lengths`` (generated rows
        also ``target``, ``inspired_by``, ``piece`` and ``midi``).
    """
    from .. import classifier
    from ..core.pedal import generated_press_lengths, press_lengths

    out = {"generated": [], "real": {}}
    for source, pieces in pieces_by_genre.items():
        real_tex, real_jazz = [], []
        real_presses = []
        for p in pieces:
            opening, end = _opening(p.performance, seconds)  # a piece that starts late is measured on its music
            m = matrix(p.performance, PAPER)
            sps = len(m) / max(p.performance.duration_s, 1e-9)
            real_tex.append(texture_figures(m[: int(end * sps)], PAPER, sps))
            real_jazz.append(classifier.verdict(opening)["jazz"])
            real_presses.append(press_lengths(p.performance, seconds=end))
        out["real"][source] = {
            "pieces": len(pieces),
            "jazz_probability": float(np.mean(real_jazz)),
            **{k: float(np.mean([t[k] for t in real_tex])) for k in real_tex[0] if k != "seconds"},
            "press_lengths": np.concatenate(real_presses),
        }
    for target in GENRES:
        _, meta = shipped_generator(target)
        layout = Layout.from_dict(meta["layout"])
        for source, pieces in pieces_by_genre.items():
            for i, p in enumerate(pieces[:per_source]):
                m = generate(target, classifier.style_vector(p.performance), seconds, temperature, seed + i)
                data = to_midi(m, layout, meta["steps_per_second"], meta["velocity_median"])
                row = {"target": target, "inspired_by": source, "piece": p.name}
                row["jazz_probability"] = classifier.verdict(data)["jazz"] if m[:, : layout.keys].any() else float("nan")
                row.update({k: v for k, v in texture_figures(m, layout, meta["steps_per_second"]).items() if k != "seconds"})
                row["press_lengths"] = generated_press_lengths(m, layout, meta["steps_per_second"])
                row["midi"] = data
                out["generated"].append(row)
    return out

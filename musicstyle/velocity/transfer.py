"""Velocity transfer: a piece played with another genre's dynamics; only the note-on velocity bytes change.

Taught in ``notebooks/02_velocity_cnn.ipynb``. Transfer writes the model's mean prediction plus one
seeded draw of its genre's texture (:mod:`musicstyle.velocity.texture`); ``texture=False`` writes
the mean alone. :data:`ROUTES` names the ways: ``mean``, ``texture`` (mean + AR(1) texture, the
default) and ``sampled`` (mean + a draw along the notes whose spread each note's features decide).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MusicstyleError
from ..settings import check_seed
from ..core.inputs import input_file
from ..core.midi import Performance, as_performance, read_midi, rewrite_velocities
from ..core.notes import chord_ids, note_features
from ..core.outputs import MIDI, output_file
from ..core.roll import Layout, piano_roll, step_of
from .data import features, piece_input
from .model import is_note_model, predict_whole
from .texture import piece_seed, sample_spread, sample_texture

#: The ways transfer writes velocities (see :func:`transferred_velocities`).
ROUTES = ("mean", "texture", "sampled")


def predict_notes(model, meta: dict, perf: Performance) -> np.ndarray:
    """Predicted velocity (float) of every row of ``perf.notes``, same order, in one pass.

    The improved model predicts every note; the paper model the notes in its key range (the others
    keep their own velocity; several strikes of one key at one step share a prediction).
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        meta: its metadata (the paper model's ``layout``).
        perf: the performance (or MIDI bytes, or a path).

    Returns:
        float32, one velocity per note.
    """
    perf = as_performance(perf)
    if is_note_model(model):
        nf = note_features(perf)
        return predict_whole(model, nf, piece_input(perf, nf))
    layout = Layout.from_dict(meta["layout"])
    pred = predict_whole(model, features(piano_roll(perf, layout)))
    notes = perf.notes
    out = notes["velocity"].astype(np.float32)
    inside = (notes["pitch"] >= layout.low) & (notes["pitch"] <= layout.high)
    steps = np.minimum(step_of(notes["start"][inside], perf.ticks_per_quarter, layout.steps_per_beat), len(pred) - 1)
    out[inside] = pred[steps, notes["pitch"][inside].astype(np.int64) - layout.low]
    return out


def transferred_velocities(model, meta: dict, perf: Performance, texture: bool = True, seed: int = 0,
                           route: str | None = None) -> np.ndarray:
    """The velocities transfer writes for ``perf.notes``.

    ``mean``: the model's mean prediction; ``texture``: plus, where the model has one, a draw of its
    genre's texture; ``sampled``: plus a draw along the notes (:func:`musicstyle.velocity.texture.sample_spread`,
    note models trained with a ``spread``). Draws are seeded by ``seed`` and the file's SHA-256, so
    each piece gets its own draw and the same file the same; the result is rounded and clipped to
    1-127. Notes the model does not predict keep their velocity. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        meta: its metadata (``layout``, ``texture``, ``spread``).
        perf: the performance.
        texture: with ``route`` None, ``texture`` (True) or ``mean`` (False).
        seed: the draw's seed.
        route: one of :data:`ROUTES` (None: decided by ``texture``).

    Returns:
        float64 whole numbers 1-127, one per note.
    """
    route = ("texture" if texture else "mean") if route is None else route
    draw = route_draw(model, meta, perf, route, check_seed(seed))  # checks the route before the model runs
    pred = predict_notes(model, meta, perf).astype(np.float64)
    return np.clip(np.rint(pred + draw), 1, 127)


def route_draw(model, meta: dict, perf: Performance, route: str, seed: int = 0) -> np.ndarray:
    """What a route adds to a model's mean for ``perf.notes``: its seeded draw (0 for ``mean``).

    Added to another model's mean, the control of what the draw does without this model
    (``evaluate transfer``). Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        model: the velocity model (which notes it predicts).
        meta: its metadata (``layout``, ``texture``, ``spread``).
        perf: the performance.
        route: one of :data:`ROUTES`.
        seed: the draw's seed (with the file's SHA-256).

    Returns:
        float64, one value per note (0 where the model keeps a note's velocity or has no texture).
    """
    if route not in ROUTES:
        raise MusicstyleError(route, f"unknown route (choose from {', '.join(ROUTES)})")
    if route == "sampled":
        if not is_note_model(model):
            raise MusicstyleError(meta.get("arch", "model"), "the sampled route needs a model of the notes (improved or "
                                  "stylenet): the paper's grid model has no per-note spread")
        if not meta.get("spread"):
            raise MusicstyleError(meta.get("genre", "model"), "this model has no per-note spread for the sampled route "
                                  "(give it one with musicstyle train spread, or train it with musicstyle train velocity)")
        chord = chord_ids(perf.seconds(perf.notes["start"]))
        return sample_spread(meta["spread"], note_features(perf), chord, piece_seed(perf, seed))
    draw = np.zeros(len(perf.notes))
    if route == "texture" and meta.get("texture"):
        pitch = perf.notes["pitch"]
        if is_note_model(model):
            predicted = np.ones(len(pitch), bool)
        else:
            layout = Layout.from_dict(meta["layout"])
            predicted = (pitch >= layout.low) & (pitch <= layout.high)
        noise = sample_texture(meta["texture"], chord_ids(perf.seconds(perf.notes["start"])), piece_seed(perf, seed))
        draw[predicted] = noise[predicted]
    return draw


def transfer_bytes(model, data, name: str, meta: dict, texture: bool = True, seed: int = 0,
                   route: str | None = None) -> bytes:
    """MIDI bytes with only the note-on velocity bytes replaced by :func:`transferred_velocities`.

    Every other byte (times, pedal, meta events) is kept; a note-on gets the velocity of the note
    that starts at its tick on its key. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        data: a MIDI file's bytes (or its path).
        name: the file's name (in errors, and its performance's source).
        meta: the model's metadata.
        texture: add the texture draw (with ``route`` None).
        seed: the draw's seed.
        route: one of :data:`ROUTES` (None: decided by ``texture``).

    Returns:
        The new MIDI bytes (same length). Bad input raises :class:`MusicstyleError` naming ``name``.
    """
    if isinstance(data, (str, Path)):
        data = input_file(data).read_bytes()
    data = bytes(data)
    perf = read_midi(data, name=name)
    perf.source = perf.source or name
    pred = transferred_velocities(model, meta, perf, texture, seed, route)  # the paper model: a clear error without notes in range
    keys = perf.notes["start"].astype(np.int64) * 128 + perf.notes["pitch"]
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]

    def new_velocity(ticks, pitches, old):
        k = np.asarray(ticks, np.int64) * 128 + np.asarray(pitches, np.int64)
        i = np.minimum(np.searchsorted(sorted_keys, k), len(sorted_keys) - 1)
        found = sorted_keys[i] == k
        out = np.asarray(old, np.float32).copy()
        out[found] = pred[order[i[found]]]
        return np.clip(out, 1, 127)

    return rewrite_velocities(data, new_velocity, name)


def transfer_file(model, src, dest, meta: dict, texture: bool = True, seed: int = 0, route: str | None = None) -> Path:
    """Read ``src``, write the transferred MIDI to ``dest``.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: a velocity model.
        src: the MIDI file to read.
        dest: the MIDI file to write (folders made as needed).
        meta: the model's metadata.
        texture: add the texture draw (with ``route`` None).
        seed: the draw's seed.
        route: one of :data:`ROUTES` (None: decided by ``texture``).

    Returns:
        ``dest`` as a Path.
    """
    src = input_file(src)
    dest = output_file(dest, MIDI, inputs=(src,))  # before any work: a MIDI file, never the input
    out = transfer_bytes(model, src.read_bytes(), str(src), meta, texture, seed, route)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    return dest

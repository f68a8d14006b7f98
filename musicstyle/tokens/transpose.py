"""Tokens moved up or down by semitones: the training pieces in every key.

Taught in ``notebooks/06_note_lstm.ipynb``. A note token (``E5``) moves to the name music21
gives the new MIDI pitch; a tutorial chord token (normal-order pitch classes, ``4.7.11``) moves
each pitch class and keeps the order, which is again the normal order of the moved set, except
for the sets that map onto themselves (``0.4.8``, ``0.3.6.9``, ``0.6``, ...), where music21
starts at the lowest pitch class; a rich token moves its pitches and keeps its duration.
"""

from __future__ import annotations

import re

import numpy as np

from .tokenizer import REST, SHARP_NAMES, pitch_name
from .vocabulary import Vocabulary

_NOTE = re.compile(r"^([A-G][#-]?)(\d)$")
_PC = {n: i for i, n in enumerate(SHARP_NAMES)}


def _normal_order(order: list[int], shift: int) -> list[int]:
    moved = [(p + shift) % 12 for p in order]
    pattern = [(p - moved[0]) % 12 for p in moved]
    ring = sorted(moved)
    candidates = []
    for r in range(len(ring)):
        rot = ring[r:] + ring[:r]
        if [(p - rot[0]) % 12 for p in rot] == pattern:
            candidates.append(rot)
    return min(candidates, key=lambda c: c[0]) if candidates else moved


def _move_part(part: str, shift: int) -> str | None:
    m = _NOTE.match(part)
    if m is None or m.group(1) not in _PC:
        return None
    midi = _PC[m.group(1)] + 12 * (int(m.group(2)) + 1) + shift
    return pitch_name(midi) if 12 <= midi <= 127 else None


def transpose_token(token: str, shift: int) -> str | None:
    """A token moved by ``shift`` semitones.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        token: a tutorial or rich token.
        shift: semitones (negative: down).

    Returns:
        The moved token (a rest unchanged), None when it cannot move (unknown spelling, pitch
        out of range).
    """
    body, colon, dur = token.partition(":")
    if body == REST:
        return token
    parts = body.split(".")
    if all(p.isdigit() for p in parts):  # tutorial chord: pitch classes in normal order
        return ".".join(str(p) for p in _normal_order([int(p) for p in parts], shift))
    moved = [_move_part(p, shift) for p in parts]
    if any(m is None for m in moved):
        return None
    return ".".join(moved) + colon + dur


def transposition_table(vocab: Vocabulary, shifts) -> np.ndarray:
    """Token ids moved by each shift: ``table[k, i]`` is the id of token ``i`` moved by ``shifts[k]``.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        vocab: the vocabulary.
        shifts: semitone shifts.

    Returns:
        (len(shifts), len(vocab)) int32 ids; a token that leaves the vocabulary becomes ``<unk>`` (0).
    """
    table = np.zeros((len(shifts), len(vocab)), np.int32)
    for k, shift in enumerate(shifts):
        for i, tok in enumerate(vocab.tokens[1:], start=1):
            moved = transpose_token(tok, int(shift))
            table[k, i] = vocab.index.get(moved, 0) if moved is not None else 0
    return table

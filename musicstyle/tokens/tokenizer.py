"""MIDI -> note tokens with music21, as the popular note-LSTM tutorials do.

Taught in ``notebooks/06_note_lstm.ipynb``.

A file is parsed once by music21 (``converter.parse``: onsets quantised to quarter/4 and
quarter/3, notes split at bar lines, simultaneous notes of one track grouped into chords, drums
dropped) into a table of *elements* (one per music21 ``Note`` or ``Chord``): track, onset and
duration in quarter notes, the MIDI pitches, and the tutorial token (:mod:`.cache` keeps these
tables, so a file is parsed once).

Two token vocabularies come from the same table:

- ``simple`` (the tutorial): a note is its name with octave (``E5``, ``F#4``), a chord the
  normal-order pitch classes joined by dots (``4.7.11``); octave of chords, durations and rests
  are lost. Elements in onset order (music21's order within the flattened track).
- ``rich``: every onset becomes one token ``PITCHES:DURATION`` with the real pitches
  (``C3.E4.G4:1/2``; all elements of the selected tracks that start together are merged),
  followed by a rest token ``R:GAP`` when silence or a gap separates it from the next onset. The
  sounding length is cut at the next onset (a monophonic chord stream), durations and gaps are
  multiples of a twelfth of a quarter note, capped at 4 quarters. Playing the tokens back one
  after the other restores onsets, octaves and (cut) durations exactly, but for a silence over 4
  quarters, which comes back 4 quarters long.

POP909 files hold three tracks (MELODY, BRIDGE, PIANO); :func:`tokens` keeps MELODY and PIANO
(see :data:`POP909_TRACKS`): the sung melody and its piano accompaniment; BRIDGE holds
secondary melodies and fills that would interleave a third voice between the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import MusicstyleError

#: Tracks kept from POP909 files (matched by track name); other files keep every pitched track.
POP909_TRACKS = ("MELODY", "PIANO")
#: Longest duration or rest written in a rich token, in quarter notes.
MAX_QUARTERS = Fraction(4)
#: Grid of rich durations: a twelfth of a quarter (covers music21's quarter/4 and quarter/3).
GRID = 12
#: Longest file handed to music21, in quarter notes (about 7 hours at 120 beats a minute; TPD's longest
#: piece is some 2,500): music21 spends memory on the span, and a stuck note of days takes gigabytes.
MAX_SPAN_QUARTERS = 50_000
REST = "R"
SHARP_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")


@dataclass
class Elements:
    """music21's notes and chords of one file: element ``i`` has ``pitches[start[i]:start[i+1]]``.

    Taught in ``notebooks/06_note_lstm.ipynb``.
    """

    name: str
    track: np.ndarray  # int16, index into track_names
    offset: np.ndarray  # float64 quarter notes
    duration: np.ndarray  # float64 quarter notes
    start: np.ndarray  # int64, len(elements) + 1
    pitches: np.ndarray  # int16 MIDI numbers
    token: np.ndarray  # str, the tutorial token
    track_names: list[str]

    def __len__(self) -> int:
        return len(self.offset)

    def keep_tracks(self, names) -> "Elements":
        """Only the elements of some tracks.

        Args:
            names: track names to keep.

        Returns:
            A new table (this one when none of ``names`` is present).
        """
        wanted = [i for i, n in enumerate(self.track_names) if n in set(names)]
        if not wanted:
            return self
        idx = np.flatnonzero(np.isin(self.track, wanted))
        counts = np.diff(self.start)[idx]
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        pitches = np.concatenate([self.pitches[self.start[i] : self.start[i + 1]] for i in idx]) if len(idx) else self.pitches[:0]
        return Elements(self.name, self.track[idx], self.offset[idx], self.duration[idx], start, pitches, self.token[idx], self.track_names)


def _check_span(data: bytes, name: str) -> None:
    """Refuse a file spanning more than :data:`MAX_SPAN_QUARTERS` (read by the package's reader, in milliseconds);
    a file that reader cannot read is left to music21."""
    from ..core.midi import read_midi

    try:
        perf = read_midi(data, name=name)
    except MusicstyleError:
        return
    quarters = perf.end_tick / perf.ticks_per_quarter
    if quarters > MAX_SPAN_QUARTERS:
        raise MusicstyleError(name, f"spans {quarters:,.0f} quarter notes, more than the {MAX_SPAN_QUARTERS:,} music21 is "
                                    f"given ({perf.duration_s:,.0f} s: a note held for ever, or a wrong tempo?)")


def parse_elements(data: bytes, name: str = "<bytes>") -> Elements:
    """Parse MIDI bytes with music21 into an :class:`Elements` table (slow: seconds per file).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        data: the bytes of a Standard MIDI File.
        name: the file named in errors and stored as the table's name.

    Returns:
        The table. Raises :class:`MusicstyleError` naming ``name`` when music21 cannot read the
        file or it holds no notes.
    """
    from music21 import chord, midi, note

    if not data:
        raise MusicstyleError(name, "empty file")
    if not data.startswith(b"MThd"):
        raise MusicstyleError(name, "not a MIDI file (no 'MThd' header)")
    _check_span(data, name)
    try:
        mf = midi.MidiFile()
        mf.readstr(data)
        score = midi.translate.midiFileToStream(mf)
    except Exception as err:  # music21 raises many types for damaged files
        raise MusicstyleError(name, f"music21 cannot read it ({type(err).__name__}: {str(err)[:120]})") from None
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    rows, pitches, track_names = [], [], []
    for t, part in enumerate(parts):
        track_names.append(str(getattr(part, "partName", None) or f"track{t}"))  # a Score (no parts) has none
        for el in part.flatten().notes:
            if isinstance(el, note.Note):
                ps, tok = [el.pitch.midi], str(el.pitch)
            elif isinstance(el, chord.Chord) and not el.isRest and el.pitches:
                ps, tok = sorted(p.midi for p in el.pitches), ".".join(str(n) for n in el.normalOrder)
            else:  # unpitched / percussion
                continue
            rows.append((t, float(el.offset), float(el.quarterLength), tok, len(ps)))
            pitches.extend(ps)
    if not rows:
        raise MusicstyleError(name, "no notes or chords (music21 found nothing pitched)")
    track, offset, duration, token, counts = zip(*rows)
    return Elements(
        name,
        np.asarray(track, np.int16),
        np.asarray(offset, np.float64),
        np.asarray(duration, np.float64),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        np.asarray(pitches, np.int16),
        np.asarray(token, dtype=str),
        track_names,
    )


def tutorial_tokens(path: str | Path) -> list[str]:
    """The plain sequential route, for comparison: ``converter.parse`` + the tutorial's loop.

    Taught in ``notebooks/06_note_lstm.ipynb`` (and timed by ``musicstyle bench tokens``).

    Args:
        path: a MIDI file.

    Returns:
        The simple tokens of every track, in music21's order.
    """
    from music21 import chord, converter, note

    # forceSource/storePickle: a real parse every time (music21 otherwise keeps its own pickle of
    # every file it parsed in its scratch folder and loads that on the next call)
    score = converter.parse(str(path), format="midi", forceSource=True, storePickle=False)
    out = []
    for part in score.parts:
        for el in part.flatten().notes:
            if isinstance(el, note.Note):
                out.append(str(el.pitch))
            elif isinstance(el, chord.Chord) and el.pitches:
                out.append(".".join(str(n) for n in el.normalOrder))
    return out


def select_tracks(e: Elements) -> Elements:
    """The elements that become tokens: MELODY and PIANO of a POP909 file, every track otherwise.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        e: a file's element table.

    Returns:
        The table of the tokenized tracks.
    """
    if any(n in POP909_TRACKS for n in e.track_names) and "MELODY" in e.track_names:
        return e.keep_tracks(POP909_TRACKS)
    return e


def pitch_name(midi: int) -> str:
    """The name music21 gives a MIDI pitch (its default spelling: C#, E-, F#, G#, B-).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        midi: a MIDI pitch number.

    Returns:
        The name with octave, ``60 -> 'C4'``.
    """
    return f"{SHARP_NAMES[midi % 12]}{midi // 12 - 1}"


def _q(x: float) -> Fraction:
    return min(Fraction(round(x * GRID), GRID), MAX_QUARTERS)


def tokens(e: Elements, rich: bool = False) -> list[str]:
    """Token list of one file's element table (see the module docstring for both vocabularies).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        e: the table (from :func:`musicstyle.tokens.elements` or :func:`musicstyle.tokens.tokenize_files`).
        rich: real chord pitches, durations and rests instead of the tutorial's tokens.

    Returns:
        The tokens in onset order.
    """
    e = select_tracks(e)
    order = np.argsort(e.offset, kind="stable")
    if not rich:
        return [str(t) for t in e.token[order]]
    onsets: dict[Fraction, tuple[set, float]] = {}
    for i in order:
        at = Fraction(round(e.offset[i] * GRID), GRID)
        ps, dur = onsets.get(at, (set(), 0.0))
        ps.update(int(x) for x in e.pitches[e.start[i] : e.start[i + 1]])
        onsets[at] = (ps, max(dur, float(e.duration[i])))
    times = sorted(onsets)
    out = []
    for k, at in enumerate(times):
        ps, dur = onsets[at]
        d = _q(dur)
        if k + 1 < len(times):
            gap = times[k + 1] - at
            d = min(d, gap) if d > 0 else min(Fraction(1, GRID), gap)
            rest = _q(float(gap - d)) if gap > d else Fraction(0)
        else:
            rest = Fraction(0)
        d = max(d, Fraction(1, GRID))
        out.append(".".join(pitch_name(p) for p in sorted(ps)) + f":{d}")
        if rest > 0:
            out.append(f"{REST}:{rest}")
    return out


def parse_token(token: str) -> tuple[list[int], Fraction | None, bool]:
    """The pitches, duration and kind of a token of either vocabulary.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        token: a simple (``E5``, ``0.4.7``) or rich (``C3.E4:1/2``, ``R:1``) token.

    Returns:
        ``(midi pitches, duration or None, is_rest)``: simple chord tokens give pitch classes 0-11
        (octave unknown) and simple tokens no duration (None).
    """
    from music21 import pitch as m21pitch

    body, _, dur = token.partition(":")
    duration = Fraction(dur) if dur else None
    if body == REST:
        return [], duration, True
    out = []
    for part in body.split("."):
        if part.isdigit():
            out.append(int(part))
        else:
            try:
                out.append(int(m21pitch.Pitch(part).midi))
            except Exception:
                raise MusicstyleError(token, "not a note, chord or rest token") from None
    return out, duration, False

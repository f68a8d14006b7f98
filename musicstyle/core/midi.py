"""Reading performance MIDI into a plain representation, and writing velocities back.

Taught in ``notebooks/01_data_exploration.ipynb``.

A file is read once into a :class:`Performance`: notes, pedal events and the tempo map, all in
ticks. The reader is the package's own lean event scanner (:mod:`musicstyle.core.midiscan`):
symusic parses faster but pairs a re-struck key first-in-first-out and drops strikes (about 3,000
notes in 166 TPD files), and pretty_midi and mido pair correctly but are about 9-13 times slower
(``musicstyle bench preprocess``). Rules, each tested in ``tests/test_midi.py``:

* A note-off ends every sounding note of its key (as pretty_midi does); then same-key notes never
  overlap: a key struck again before it was released ends at the new strike (a piano key cannot
  sound twice), and two strikes of one key at the same tick keep the louder. The union of
  sounding time (the "held" matrix) does not depend on these choices.
* A note-on never released is kept and ends where its track ends (``Performance.unreleased``
  counts them; ``musicstyle inspect`` reports it). Channel 10 (General MIDI drums) is ignored.
* Files are read as mido and pretty_midi read them; each repair is counted in
  ``Performance.repairs`` (``musicstyle inspect`` prints them, ``tests/test_bad_input.py`` builds
  each): ``system_message`` (0xF1 xx, 0xF2 xx xx, 0xF3 xx, 0xF6, 0xF8, 0xFA-0xFC, 0xFE inside a
  track: skipped), ``running_status_after_meta`` / ``_sysex`` / ``_system`` (running status
  continued where the standard cancels it), ``bytes_after_end_of_track`` (junk after the
  end-of-track inside the chunk: ignored), ``events_after_end_of_track`` (read, as mido does),
  ``missing_end_of_track``, ``track_length_past_file`` (the last chunk's length runs past the
  file, its events end complete), ``trailing_bytes`` (after the last track: ignored),
  ``extra_track`` (beyond the header's count: ignored, as mido does), ``unknown_chunk`` (skipped,
  as the format asks), ``format_2_merged`` (type 2: all tracks on one timeline, as mido and
  pretty_midi read them) and ``unknown_format`` (a format above 2, read as format 1).
  ``strict=True`` raises instead (unknown chunks, a missing end-of-track and events after it are
  still accepted and counted).
* A file timed in SMPTE frames (24, 25, 29.97 or 30 a second) is read with the ticks per quarter
  and the one tempo that give its ticks their times in seconds, a quarter half a second (a second
  when a second has an odd number of ticks; ``Performance.smpte``; its own tempo events do not
  count, as the standard says).
* Not MIDI, empty, cut inside the header or inside an event, an undefined status byte (0xF4, 0xF5,
  0xF9, 0xFD: no reader knows its length), a status byte where a data byte belongs, an SMPTE frame
  rate other than those four, zero ticks per quarter note, fewer tracks than the header announces,
  no notes, a tempo outside 4-1000 quarter notes per minute, a tick past 2**40 or a silence over
  :data:`MAX_GAP_S` seconds raise :class:`MusicstyleError`, in both modes.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import MusicstyleError
from .midiscan import DEFAULT_US_PER_QUARTER, MAX_TICK, REPAIRS, STRICT_TOLERATED, TEMPO_DTYPE, RawEvents, scan_events

__all__ = [
    "CC_DTYPE", "MAX_GAP_S", "MAX_TICK", "MIN_STD", "NOTE_DTYPE", "PEDAL_CCS", "REPAIRS", "STRICT_TOLERATED", "TEMPO_DTYPE",
    "Performance", "RawEvents", "one_note_per_key", "read_midi", "rewrite_velocities", "scan_events",
    "ticks_to_seconds", "validate", "velocities_vary", "write_events",
]

#: Controller numbers kept as pedal events: sustain, sostenuto, soft.
PEDAL_CCS = (64, 66, 67)
#: Longest silence accepted inside a piece, in seconds.
MAX_GAP_S = 120.0
#: Tempo range accepted, in quarter notes per minute.
TEMPO_RANGE_QPM = (4.0, 1000.0)
#: Smallest spread of a piece's velocities (standard deviation, velocity units) that counts as dynamics.
MIN_STD = 1.0

NOTE_DTYPE = np.dtype([("start", "i8"), ("end", "i8"), ("pitch", "u1"), ("velocity", "u1")])
CC_DTYPE = np.dtype([("tick", "i8"), ("number", "u1"), ("value", "u1")])


@dataclass
class Performance:
    """One piece as read from MIDI: every time is in ticks of ``ticks_per_quarter``.

    ``notes`` (start, end, pitch, velocity) are sorted by start then pitch; ``controls`` holds
    the pedal controller events (:data:`PEDAL_CCS`) sorted by tick; ``tempos`` the tempo map;
    ``repairs`` what the reader repaired (kind -> count, see :data:`REPAIRS`; empty for a clean file).
    """

    name: str
    ticks_per_quarter: int
    notes: np.ndarray
    controls: np.ndarray = field(default_factory=lambda: np.zeros(0, CC_DTYPE))
    tempos: np.ndarray = field(default_factory=lambda: np.zeros(0, TEMPO_DTYPE))
    source: str = ""
    sha256: str = ""
    unreleased: int = 0  # note-ons never released, ended where their track ends
    repairs: dict = field(default_factory=dict)
    smpte: tuple[int, int] | None = None  # (frame rate, ticks per frame) of a file timed in SMPTE frames

    @property
    def end_tick(self) -> int:
        """Last tick with a note or pedal event."""
        ends = [int(self.notes["end"].max())] if len(self.notes) else [0]
        if len(self.controls):
            ends.append(int(self.controls["tick"].max()))
        return max(ends)

    def seconds(self, ticks) -> np.ndarray:
        """Ticks to seconds through the whole tempo map."""
        return ticks_to_seconds(np.asarray(ticks), self.tempos, self.ticks_per_quarter)

    @property
    def duration_s(self) -> float:
        return float(self.seconds(self.end_tick))

    def pedal(self, number: int = 64) -> np.ndarray:
        """(tick, value) events of one pedal controller."""
        sel = self.controls[self.controls["number"] == number]
        return sel[["tick", "value"]]


def as_performance(data, name: str | None = None) -> Performance:
    """A piece from what a caller holds: a Performance (as it is), MIDI bytes, a path, or a dataset's piece
    (:class:`musicstyle.data.Piece`, its ``performance``).

    Args:
        data: the piece.
        name: its name in error messages (bytes; default ``<bytes>``).

    Returns:
        The Performance. Bad MIDI raises :class:`MusicstyleError` naming the file.
    """
    if isinstance(data, Performance):
        return data
    if isinstance(getattr(data, "performance", None), Performance):  # a Piece of a loaded dataset
        return data.performance
    if isinstance(data, (bytes, bytearray)):
        return read_midi(bytes(data), name=name or "<bytes>")
    if isinstance(data, (str, Path)):
        return read_midi(data)
    raise MusicstyleError(name or "piece", f"expected a Performance, MIDI bytes, a path or a dataset's piece, not "
                                           f"{type(data).__name__}")


def ticks_to_seconds(ticks: np.ndarray, tempos: np.ndarray, tpq: int) -> np.ndarray:
    """Convert ticks to seconds honouring every tempo change (120 qpm before the first).

    Args:
        ticks: tick positions.
        tempos: the tempo map (``TEMPO_DTYPE``: tick, us_per_quarter), sorted by tick.
        tpq: ticks per quarter note.

    Returns:
        float64 seconds.
    """
    t_ticks = np.concatenate([[0], tempos["tick"]]).astype(np.float64)
    t_us = np.concatenate([[DEFAULT_US_PER_QUARTER], tempos["us_per_quarter"]]).astype(np.float64)
    # seconds at each tempo change
    sec_per_tick = t_us / 1e6 / tpq
    starts = np.concatenate([[0.0], np.cumsum(np.diff(t_ticks) * sec_per_tick[:-1])])
    idx = np.searchsorted(t_ticks, ticks, side="right") - 1
    return starts[idx] + (ticks - t_ticks[idx]) * sec_per_tick[idx]


def read_midi(source: str | Path | bytes, name: str | None = None, strict: bool = False) -> Performance:
    """Read a MIDI file (path or bytes) into a :class:`Performance`.

    Taught in ``notebooks/01_data_exploration.ipynb``.

    Args:
        source: a path, or the file's bytes.
        name: the piece's name (default: the file's stem, or ``"<bytes>"``).
        strict: raise on every quirk the reader would repair (see the module's rules).

    Returns:
        The :class:`Performance`; ``repairs`` lists what was repaired.

    Raises:
        MusicstyleError: naming the file and the reason, for anything that cannot be read.
    """
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<bytes>"
    else:
        if not isinstance(source, (str, os.PathLike)):  # None, a number, a Performance: said at the call
            raise MusicstyleError(name or "source", f"expected a path or MIDI bytes, not {type(source).__name__}")
        label = str(source)
        if not label.strip():
            raise MusicstyleError("''", "an empty file name (an unset shell variable?)")
        try:
            with Path(source).open("rb") as f:
                head = f.read(4)  # a file of another kind is named before it is read whole (it may be huge)
                if len(head) == 4 and head != b"MThd":
                    raise MusicstyleError(label, "not a MIDI file (no 'MThd' header)")
                data = head + f.read()
        except IsADirectoryError:
            raise MusicstyleError(label, "is a folder: give a MIDI file") from None
        except FileNotFoundError:  # worded as every command's input check words it
            raise MusicstyleError(label, "no such file") from None
        except OSError as err:
            raise MusicstyleError(label, f"cannot read file ({err.strerror or err})") from None
    raw = scan_events(data, label, strict)
    notes, unreleased = _pair_notes(raw)
    if not len(notes) and (drums := int(((raw.status == 0x99) & (raw.data2 > 0)).sum())):
        raise MusicstyleError(label, f"no notes: only {drums} drum note{'s' * (drums != 1)} on channel 10 "
                                      "(General MIDI drums), which are not read")
    if not len(notes) and (silent := int(((raw.status & 0xF0) == 0x90).sum())):
        raise MusicstyleError(label, f"no notes: its {silent} note-on{'s' * (silent != 1)} all have velocity 0, "
                                      "which MIDI reads as a note-off")
    kind, number = raw.status & 0xF0, raw.data1
    is_pedal = (kind == 0xB0) & np.isin(number, PEDAL_CCS)
    controls = np.zeros(int(is_pedal.sum()), CC_DTYPE)
    controls["tick"], controls["number"], controls["value"] = raw.tick[is_pedal], number[is_pedal], raw.data2[is_pedal]
    perf = Performance(
        name=name or (Path(label).stem if not isinstance(source, (bytes, bytearray)) else label),
        ticks_per_quarter=raw.ticks_per_quarter,
        notes=notes,
        controls=controls[np.argsort(controls["tick"], kind="stable")],
        tempos=raw.tempos[np.argsort(raw.tempos["tick"], kind="stable")],
        source=label,
        sha256=hashlib.sha256(data).hexdigest(),
        unreleased=unreleased,
        repairs=raw.repairs,
        smpte=raw.smpte,
    )
    validate(perf)
    return perf


def _pair_notes(raw: "RawEvents") -> tuple[np.ndarray, int]:
    """Notes from note-on/off events: a note-off ends every sounding note of its key (as pretty_midi);
    a note never released ends where its track ends. Then :func:`one_note_per_key`."""
    kind, channel = raw.status & 0xF0, raw.status & 0x0F
    melodic = channel != 9  # General MIDI channel 10 is drums
    is_on = (kind == 0x90) & (raw.data2 > 0) & melodic
    is_off = ((kind == 0x80) | ((kind == 0x90) & (raw.data2 == 0))) & melodic
    n = len(raw.tick)
    key = (raw.track.astype(np.int64) * 16 + channel) * 128 + raw.data1
    combined = key * n + np.arange(n)  # sorts by key, then by position in the track
    off_sorted = np.sort(combined[is_off])
    on_idx = np.flatnonzero(is_on)
    j = np.searchsorted(off_sorted, combined[on_idx])
    j_ok = np.minimum(j, max(len(off_sorted) - 1, 0))
    released = (j < len(off_sorted)) & (off_sorted[j_ok] // n == key[on_idx]) if len(off_sorted) else np.zeros(len(on_idx), bool)
    end = raw.track_end[raw.track[on_idx]].copy()
    end[released] = raw.tick[off_sorted[j_ok[released]] % n]
    notes = np.zeros(len(on_idx), NOTE_DTYPE)
    notes["start"], notes["end"] = raw.tick[on_idx], end
    notes["pitch"], notes["velocity"] = raw.data1[on_idx], raw.data2[on_idx]
    return one_note_per_key(notes), int((~released).sum())


def same_notes(a: Performance, b: Performance) -> bool:
    """Whether two performances hold the same notes (start, end, pitch), whatever their velocities: what a
    velocity transfer keeps (:func:`rewrite_velocities`)."""
    return len(a.notes) == len(b.notes) and all(np.array_equal(a.notes[k], b.notes[k]) for k in ("start", "end", "pitch"))


def one_note_per_key(notes: np.ndarray) -> np.ndarray:
    """Apply the same-key rule: a re-strike ends the sounding note; same-tick duplicates (a unison on two
    channels or tracks) become one strike at the louder velocity, held until the last of them is released,
    so which notes a file holds never depends on its velocities."""
    if len(notes) == 0:
        return notes
    start = notes["start"]
    pitch = notes["pitch"].astype(np.int64)
    # one int64 key per note: pitch, then start, then loudest first (ticks stay far below 2**40)
    notes = notes[np.argsort((pitch << 48) | (start << 8) | (127 - notes["velocity"]), kind="stable")]
    start, pitch = notes["start"], notes["pitch"]
    same_key = pitch[1:] == pitch[:-1]
    duplicate = np.concatenate([[False], same_key & (start[1:] == start[:-1])])
    if duplicate.any():
        first = np.flatnonzero(~duplicate)
        notes["end"][first] = np.maximum.reduceat(notes["end"], first)
    notes = notes[~duplicate]
    start, end, pitch = notes["start"], notes["end"], notes["pitch"]
    cut = (pitch[1:] == pitch[:-1]) & (end[:-1] > start[1:])
    end[:-1][cut] = start[1:][cut]
    return notes[np.argsort((start << 8) | pitch, kind="stable")]


def velocities_vary(velocity) -> bool:
    """Whether a piece's velocities vary (a spread of at least :data:`MIN_STD`). A file written with one
    velocity for every note (a score exported as it is) does not: it carries no dynamics."""
    return len(velocity) > 0 and float(np.std(velocity)) >= MIN_STD


def validate(perf: Performance) -> None:
    """Raise :class:`MusicstyleError` for no notes, an absurd tempo or a huge silent gap."""
    if len(perf.notes) == 0:
        raise MusicstyleError(perf.source, "no notes")
    if len(perf.tempos):
        qpm = 60e6 / np.maximum(perf.tempos["us_per_quarter"], 1)
        bad = (qpm < TEMPO_RANGE_QPM[0]) | (qpm > TEMPO_RANGE_QPM[1])
        if bad.any():
            i = int(np.argmax(bad))
            raise MusicstyleError(
                perf.source,
                f"absurd tempo {qpm[i]:.3g} quarter notes per minute at tick {int(perf.tempos['tick'][i])}",
            )
    starts = perf.seconds(perf.notes["start"])
    ends = np.maximum.accumulate(perf.seconds(perf.notes["end"]))
    gaps = starts[1:] - ends[:-1]
    if len(gaps) and gaps.max() > MAX_GAP_S:
        i = int(np.argmax(gaps))
        raise MusicstyleError(
            perf.source, f"huge gap: {gaps[i]:.0f} s of silence after {ends[i]:.1f} s (limit {MAX_GAP_S:.0f} s)"
        )


def rewrite_velocities(
    data: bytes,
    new_velocity: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    source: str = "<bytes>",
    strict: bool = False,
) -> bytes:
    """Return ``data`` with only note-on velocity bytes changed (velocity transfer, notebook 02).

    Every other byte of the file (timing, pedal, meta events) is kept, also in a file that needed
    repairs: a repair only skips or ignores bytes, so every velocity byte is found where it is.
    Drum notes (channel 10), which the reader ignores, keep their velocities.

    Args:
        data: the MIDI file's bytes.
        new_velocity: ``(ticks, pitches, old_velocities) -> new velocities``, rounded and clipped
            to 1-127 here.
        source: the file's name, for error messages.
        strict: refuse a file that needs repairs.

    Returns:
        The new file's bytes, as long as ``data``.
    """
    raw = scan_events(data, source, strict)
    on = ((raw.status & 0xF0) == 0x90) & (raw.data2 > 0) & ((raw.status & 0x0F) != 9)
    new = np.clip(np.rint(np.asarray(new_velocity(raw.tick[on], raw.data1[on], raw.data2[on]), float)), 1, 127)
    out = np.frombuffer(data, np.uint8).copy()
    out[raw.offset[on]] = new.astype(np.uint8)
    return out.tobytes()


def write_events(events, ticks_per_quarter: int, us_per_quarter: int = DEFAULT_US_PER_QUARTER) -> bytes:
    """A format-0 MIDI file for one piano from ``(tick, order, event bytes)`` triples.

    Events are written in (tick, order) order (give note-offs a lower order than note-ons at the same
    tick), after one tempo and a program change to acoustic grand piano. Used by the generators of
    notebooks 04 and 06.
    """
    body = bytearray(b"\x00\xff\x51\x03" + int(us_per_quarter).to_bytes(3, "big") + b"\x00\xc0\x00")
    now = 0
    for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
        body += varlen(tick - now) + bytes(data)
        now = tick
    body += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_quarter) + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def varlen(value: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, high bit set on all but the last)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))

"""The MIDI event scanner: chunks, delta times, running status, and every repair it makes.

Taught in ``notebooks/01_data_exploration.ipynb``. :func:`scan_events` walks a Standard MIDI File
event by event and keeps the note and controller events with the tempo map. By default it reads
the quirks that mido and pretty_midi read (see :data:`REPAIRS`), and counts each repair in
``RawEvents.repairs``; ``strict=True`` raises :class:`MusicstyleError` instead. Whatever no reader
can make sense of raises in both modes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..errors import MusicstyleError

TEMPO_DTYPE = np.dtype([("tick", "i8"), ("us_per_quarter", "i8")])
#: A quarter note's length before the first tempo event (120 quarters a minute), as the standard says.
DEFAULT_US_PER_QUARTER = 500_000
#: SMPTE frame rates as the header gives them, and the whole frames a second each counts.
SMPTE_RATES = {24: 24, 25: 25, 29: 30, 30: 30}
#: Ticks past this are absurd (and would overflow the note sort keys of the reader).
MAX_TICK = 2**40

#: Every repair the lenient reader makes, by the name it is counted under.
REPAIRS = {
    "system_message": "a system common or real-time message (0xF1 with one data byte, 0xF2 with two, "
    "0xF3 with one, 0xF6, 0xF8, 0xFA, 0xFB, 0xFC, 0xFE) inside a track: skipped",
    "running_status_after_meta": "running status continued after a meta event (the standard cancels it)",
    "running_status_after_sysex": "running status continued after a sysex message (the standard cancels it)",
    "running_status_after_system": "running status continued after a system message (after 0xF1-0xF3, "
    "data bytes repeat that message, as mido reads them)",
    "bytes_after_end_of_track": "bytes after the end-of-track event that are no events (a chunk length "
    "too long): ignored",
    "events_after_end_of_track": "complete events after the end-of-track event: read, as mido reads them",
    "missing_end_of_track": "a track chunk without an end-of-track event: the track ends at its last event",
    "track_length_past_file": "the last track's length runs past the end of the file, where its events "
    "end complete: read up to the end of the file",
    "trailing_bytes": "bytes after the last track that are no complete chunk: ignored",
    "extra_track": "a track chunk beyond the number the header announces: ignored, as mido does",
    "unknown_chunk": "a chunk of an unknown type: skipped, as the format asks",
    "format_2_merged": "MIDI type 2 (independent sequences): all tracks read on one timeline, as mido "
    "and pretty_midi do",
    "unknown_format": "a header format above 2: read as format 1, as mido does",
}
#: Repairs that ``strict=True`` still accepts (the format asks for the first; the reader always read the others).
STRICT_TOLERATED = frozenset({"unknown_chunk", "missing_end_of_track", "events_after_end_of_track"})


@dataclass
class RawEvents:
    """Every note and controller event of a file in file order, the tempo map and where each track ends.

    ``offset`` is the byte position of an event's second data byte (a note-on's velocity);
    ``repairs`` counts the repairs made to read the file (kind -> count, see :data:`REPAIRS`).
    A file timed in SMPTE frames has ``smpte`` (frame rate, ticks per frame), and ``tempos`` holds the
    one tempo that times its ticks (:func:`smpte_timing`; the file's own tempo events do not count).
    """

    ticks_per_quarter: int
    tick: np.ndarray
    status: np.ndarray
    data1: np.ndarray
    data2: np.ndarray
    offset: np.ndarray
    track: np.ndarray
    track_end: np.ndarray
    tempos: np.ndarray
    repairs: dict = field(default_factory=dict)
    smpte: tuple[int, int] | None = None


_NO_STATUS, _KEEP, _SKIP2, _SKIP1, _META, _SYSEX, _SYSTEM = range(7)
_CHANNEL = {0x80: _KEEP, 0x90: _KEEP, 0xB0: _KEEP, 0xA0: _SKIP2, 0xE0: _SKIP2, 0xC0: _SKIP1, 0xD0: _SKIP1}
#: What to do after each status byte: keep note and controller events, skip the others' data.
_MODE = [_NO_STATUS] * 128 + [
    _CHANNEL[b & 0xF0] if b < 0xF0 else {0xF0: _SYSEX, 0xF7: _SYSEX, 0xFF: _META}.get(b, _SYSTEM)
    for b in range(128, 256)
]
#: Data bytes of each system message; 0xF4, 0xF5, 0xF9 and 0xFD are undefined (no reader knows their length).
_SYSTEM_LENGTH = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}


class _Malformed(Exception):
    """An event no reader can make sense of (or, in strict mode, one that needs a repair)."""


class _Scan:
    """What the tracks of one file add up to, and the repairs counted on the way."""

    def __init__(self, data: bytes, source: str, strict: bool):
        self.data, self.source, self.strict = data, source, strict
        self.ticks, self.offsets, self.tempos = [], [], []
        self.changes, self.change_at = [], []  # running status: the status byte and the event index it starts at
        self.track_sizes, self.track_end = [], []
        self.repairs = Counter()
        self.ticks_per_quarter, self.us_per_quarter, self.smpte = 0, DEFAULT_US_PER_QUARTER, None

    def repair(self, kind: str, strict_reason: str) -> None:
        """Count a repair, or raise ``strict_reason`` in strict mode."""
        if self.strict and kind not in STRICT_TOLERATED:
            raise MusicstyleError(self.source, strict_reason)
        self.repairs[kind] += 1


def scan_events(data: bytes, source: str = "<bytes>", strict: bool = False) -> RawEvents:
    """Walk every track event by event (delta times, running status, meta and sysex events).

    Taught in ``notebooks/01_data_exploration.ipynb``. Only note and controller events are kept,
    with tempo changes; a plain loop over bytes, the one hot loop of the package (about 5 us per
    event, parallel over files in dataset loads).

    Args:
        data: the file's bytes.
        source: the file's name, for error messages.
        strict: raise on anything that needs a repair instead of repairing it.

    Returns:
        The :class:`RawEvents`, with the repairs made in ``repairs``.
    """
    s = _Scan(data, source, strict)
    ntracks, pos = _header(s)
    n, tracks = len(data), 0
    while pos < n and tracks < ntracks:
        if pos + 8 > n:
            raise MusicstyleError(source, f"truncated: chunk header cut off at byte {pos}")
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        end = pos + 8 + length
        cut = f"truncated: chunk at byte {pos} declares {length} bytes, {n - pos - 8} remain"
        if data[pos : pos + 4] != b"MTrk":
            if end > n:
                raise MusicstyleError(source, cut)
            s.repair("unknown_chunk", "")
        else:
            if end > n:
                s.repair("track_length_past_file", cut)
            _scan_track(s, pos, min(end, n), cut if end > n else "")
            tracks += 1
        pos = end
    if tracks < ntracks:
        raise MusicstyleError(source, f"truncated: header announces {ntracks} tracks, file has {tracks}")
    _trailing(s, pos, ntracks)
    return _raw_events(s)


def _header(s: _Scan) -> tuple[int, int]:
    """Check the header chunk; returns the announced track count and where the first chunk starts."""
    data, source = s.data, s.source
    if not data:
        raise MusicstyleError(source, "empty file")
    if not data.startswith(b"MThd"):
        raise MusicstyleError(source, "not a MIDI file (no 'MThd' header)")
    length = int.from_bytes(data[4:8], "big")
    if len(data) < 14 or 8 + length > len(data):
        raise MusicstyleError(source, "truncated MIDI header")
    if length < 6:
        raise MusicstyleError(source, f"malformed MIDI header ({length} bytes, need 6)")
    fmt = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt == 2:
        s.repair("format_2_merged", "MIDI type 2 (independent sequences) is not supported")
    elif fmt > 2:
        s.repair("unknown_format", f"unknown MIDI format {fmt}")
    if division & 0x8000:
        s.smpte = (256 - (division >> 8), division & 0xFF)
        s.ticks_per_quarter, s.us_per_quarter = smpte_timing(*s.smpte, source)
    elif division == 0:
        raise MusicstyleError(source, "zero ticks per quarter note")
    else:
        s.ticks_per_quarter = division
    return int.from_bytes(data[10:12], "big"), 8 + length


def smpte_timing(frame_rate: int, ticks_per_frame: int, source: str = "<bytes>") -> tuple[int, int]:
    """Ticks per quarter and the one tempo (microseconds per quarter) that time SMPTE ticks exactly.

    A quarter is half a second, as in a file without tempo events, unless the ticks of a second are odd
    (then a second). Rate 29 is 30-frame drop-frame timecode: 29.97 frames a second.

    Raises:
        MusicstyleError: for a frame rate other than 24, 25, 29 or 30, or no ticks per frame.
    """
    if frame_rate not in SMPTE_RATES or ticks_per_frame == 0:
        raise MusicstyleError(source, f"malformed SMPTE time division ({frame_rate} frames a second, "
                              f"{ticks_per_frame} ticks a frame; rates are 24, 25, 29 and 30)")
    tpq, us = SMPTE_RATES[frame_rate] * ticks_per_frame, 1_001_000 if frame_rate == 29 else 1_000_000
    return (tpq // 2, us // 2) if tpq % 2 == 0 else (tpq, us)


def _trailing(s: _Scan, pos: int, ntracks: int) -> None:
    """What follows the announced tracks: whole chunks are skipped, anything else is ignored."""
    data, n = s.data, len(s.data)
    while pos < n:
        length = int.from_bytes(data[pos + 4 : pos + 8], "big") if pos + 8 <= n else -1
        if length < 0 or pos + 8 + length > n:
            reason = (f"truncated: chunk header cut off at byte {pos}" if length < 0 else
                      f"truncated: chunk at byte {pos} declares {length} bytes, {n - pos - 8} remain")
            s.repair("trailing_bytes", reason)
            return
        if data[pos : pos + 4] == b"MTrk":
            s.repair("extra_track", f"malformed: header announces {ntracks} tracks, file has more")
        else:
            s.repair("unknown_chunk", "")
        pos += 8 + length


def _scan_track(s: _Scan, chunk_at: int, end: int, cut: str) -> None:
    """Scan one track chunk's events (from ``chunk_at + 8`` to ``end``) into ``s``."""
    data, strict = s.data, s.strict
    ticks, offsets, changes, change_at, tempos = s.ticks, s.offsets, s.changes, s.change_at, s.tempos
    at, ap = ticks.append, offsets.append
    before, repairs = len(ticks), []
    p, tick, status, mode, last, cancel = chunk_at + 8, 0, 0, _NO_STATUS, 0, ""
    eot = None  # after the last end-of-track event: position, tick and the lengths of every list
    err = ""
    try:
        while p < end:
            b = data[p]
            p += 1
            if b & 0x80:
                delta = b & 0x7F
                while b & 0x80:
                    b = data[p]
                    p += 1
                    delta = (delta << 7) | (b & 0x7F)
                tick += delta
            else:
                tick += b
            b = data[p]
            if b & 0x80:
                p += 1
                if b != status:
                    status, mode = b, _MODE[b]
                    if mode == _KEEP:
                        changes.append(b)
                        change_at.append(len(ticks))
                    if b < 0xF0:
                        last = b
            elif mode == _NO_STATUS:
                if strict or not last:
                    raise _Malformed(f"malformed: data byte without a status at byte {p}")
                repairs.append(f"running_status_after_{cancel}")
                status, mode = last, _MODE[last]
                if mode == _KEEP:
                    changes.append(last)
                    change_at.append(len(ticks))
            if mode == _KEEP:
                at(tick)
                ap(p + 1)
                p += 2
            elif mode == _SKIP2:
                if (data[p] | data[p + 1]) & 0x80:
                    raise _Malformed(f"malformed: status byte where a data byte belongs at byte {p}")
                p += 2
            elif mode == _SKIP1:
                if data[p] & 0x80:
                    raise _Malformed(f"malformed: status byte where a data byte belongs at byte {p}")
                p += 1
            elif mode == _SYSTEM:
                p = _system_message(data, p, status, strict, repairs)
                if status < 0xF4:  # 0xF1-0xF3 carry data: mido takes them as the running status
                    last = status
                status, mode, cancel = 0, _NO_STATUS, "system"
            else:  # meta (FF type len data) or sysex (F0/F7 len data); both cancel running status
                meta = -1
                if mode == _META:
                    meta = data[p]
                    p += 1
                b = data[p]
                p += 1
                n = b & 0x7F
                while b & 0x80:
                    b = data[p]
                    p += 1
                    n = (n << 7) | (b & 0x7F)
                if meta == 0x51 and n == 3:
                    tempos.append((tick, int.from_bytes(data[p : p + 3], "big")))
                p += n
                status, mode, cancel = 0, _NO_STATUS, "meta" if meta >= 0 else "sysex"
                if meta == 0x2F and p <= end:
                    eot = (p, tick, len(ticks), len(changes), len(tempos), len(repairs))
        if p > end:
            raise IndexError
    except IndexError:
        err = cut or f"truncated: track at byte {chunk_at} ends inside an event"
    except _Malformed as bad:
        err = str(bad)
    # a data byte of 0x80 or more in a kept event (not in one cut by the end of the chunk: that is truncated)
    cut_last = len(offsets) > before and offsets[-1] >= end
    bad_at = _first_bad_data_byte(data, offsets[:-1] if cut_last else offsets, before)
    before_eot = bad_at is not None and (eot is None or bad_at < eot[2])
    if bad_at is not None and (before_eot or not err):
        err = f"malformed: status byte where a data byte belongs at byte {offsets[bad_at] - 1}"
    if err and (eot is None or strict or before_eot):
        raise MusicstyleError(s.source, err)
    if err:  # junk after the end-of-track event: drop everything read after it
        p, tick, n_ticks, n_changes, n_tempos, n_repairs = eot
        del ticks[n_ticks:], offsets[n_ticks:], changes[n_changes:], change_at[n_changes:], tempos[n_tempos:]
        del repairs[n_repairs:]
        repairs.append("bytes_after_end_of_track")
    elif eot is None:
        repairs.append("missing_end_of_track")
    elif eot[0] < end:
        repairs.append("events_after_end_of_track")
    if tick > MAX_TICK:
        raise MusicstyleError(s.source, f"absurd timing: the track at byte {chunk_at} reaches tick {tick}")
    for kind in repairs:
        s.repair(kind, "")
    s.track_sizes.append(len(ticks) - before)
    s.track_end.append(tick)


def _system_message(data: bytes, p: int, status: int, strict: bool, repairs: list) -> int:
    """Skip a system message inside a track (a repair); returns the position after its data bytes."""
    n = _SYSTEM_LENGTH.get(status)
    if n is None:
        raise _Malformed(f"malformed: undefined status byte 0x{status:02X} at byte {p - 1}")
    if strict:
        raise _Malformed(f"malformed: system message 0x{status:02X} inside a track at byte {p - 1}")
    if any(data[p + i] & 0x80 for i in range(n)):
        raise _Malformed(f"malformed: status byte where a data byte belongs at byte {p}")
    repairs.append("system_message")
    return p + n


def _first_bad_data_byte(data: bytes, offsets: list, before: int) -> int | None:
    """Index of the first kept event from ``before`` on with a data byte of 0x80 or more."""
    if len(offsets) <= before:
        return None
    at = np.array(offsets[before:], np.int64)
    raw = np.frombuffer(data, np.uint8)
    bad = ((raw[at] | raw[at - 1]) & 0x80) != 0
    return before + int(np.argmax(bad)) if bad.any() else None


def _raw_events(s: _Scan) -> RawEvents:
    change_at = s.change_at + [len(s.ticks)]
    statuses = np.repeat(np.array(s.changes, np.uint8), np.diff(change_at))
    raw = np.frombuffer(s.data, np.uint8)
    offset = np.array(s.offsets, np.int64)
    tempos = s.tempos
    if s.smpte is not None:  # the one tempo that times its ticks; a quarter of 0.5 s needs none
        tempos = [] if s.us_per_quarter == DEFAULT_US_PER_QUARTER else [(0, s.us_per_quarter)]
    tempo = np.zeros(len(tempos), TEMPO_DTYPE)
    if tempos:
        tempo["tick"], tempo["us_per_quarter"] = np.array(tempos, np.int64).T
    return RawEvents(
        ticks_per_quarter=s.ticks_per_quarter,
        tick=np.array(s.ticks, np.int64),
        status=statuses,
        data1=raw[offset - 1],
        data2=raw[offset],
        offset=offset,
        track=np.repeat(np.arange(len(s.track_sizes)), s.track_sizes),
        track_end=np.array(s.track_end, np.int64),
        tempos=tempo,
        repairs=dict(s.repairs),
        smpte=s.smpte,
    )

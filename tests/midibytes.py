"""Build Standard MIDI File bytes in code, for fixtures (valid, quirky and deliberately broken)."""

import struct

from musicstyle.core.midi import varlen  # noqa: F401  (the writer's encoder; round trip in test_bad_input.py)

END_OF_TRACK = b"\x00\xff\x2f\x00"


def track(pairs, end_of_track=True) -> bytes:
    """A track chunk from (delta_ticks, raw_event_bytes) pairs."""
    return chunk(events(pairs) + (END_OF_TRACK if end_of_track else b""))


def header(fmt=0, ntracks=1, division=480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, ntracks, division)


def smf(*tracks, fmt=None, division=480) -> bytes:
    """A whole file; format 0 for one track, 1 for several unless given."""
    if fmt is None:
        fmt = 0 if len(tracks) == 1 else 1
    return header(fmt, len(tracks), division) + b"".join(tracks)


def tempo(us_per_quarter: int) -> bytes:
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def on(pitch, velocity, channel=0) -> bytes:
    return bytes([0x90 | channel, pitch, velocity])


def off(pitch, channel=0, velocity=0) -> bytes:
    return bytes([0x80 | channel, pitch, velocity])


def cc(number, value, channel=0) -> bytes:
    return bytes([0xB0 | channel, number, value])


def chunk(body: bytes, kind: bytes = b"MTrk", length: int | None = None) -> bytes:
    """A chunk of raw ``body`` bytes; ``length`` overrides the declared length (to break it)."""
    return kind + struct.pack(">I", len(body) if length is None else length) + body


def events(pairs) -> bytes:
    """Raw track bytes from (delta_ticks, raw_event_bytes) pairs, with no end-of-track."""
    return b"".join(varlen(delta) + bytes(data) for delta, data in pairs)


#: C major scale, one quarter note (480 ticks) per key, as (delta, event) pairs.
SCALE_PITCHES = (60, 62, 64, 65, 67, 69, 71, 72)
SCALE = [pair for i, p in enumerate(SCALE_PITCHES) for pair in ((0, on(p, 100 + i)), (480, off(p)))]
#: The notes (start, end, pitch, velocity) the reader gives for SCALE.
SCALE_NOTES = [(480 * i, 480 * (i + 1), p, 100 + i) for i, p in enumerate(SCALE_PITCHES)]


def text(message: bytes = b"x") -> bytes:
    """A text meta event."""
    return b"\xff\x01" + varlen(len(message)) + message


def sysex(payload: bytes = b"\x7e\x7f\x09\x01") -> bytes:
    """A complete system exclusive message (F0 length payload F7)."""
    return b"\xf0" + varlen(len(payload) + 1) + payload + b"\xf7"


def running(pitch, velocity) -> bytes:
    """The two data bytes of a channel event sent with running status."""
    return bytes([pitch, velocity])


def quirks() -> dict:
    """Files with quirks found in the wild, one each (and several at once): name -> (bytes, notes, repairs).

    ``notes`` are the exact (start, end, pitch, velocity) the reader gives, ``repairs`` the
    repair counts it reports (see ``musicstyle.core.midi.REPAIRS``).
    """
    body = events(SCALE)
    scale = track(SCALE)
    first, rest = SCALE[:2], SCALE[2:]

    def after(brk: bytes) -> bytes:
        """The scale, every note-off a note-on of velocity 0; after ``brk``, running status goes on."""
        ons = [(0, on(p, 100 + i)) for i, p in enumerate(SCALE_PITCHES)]
        offs = [(480, running(p, 0)) for p in SCALE_PITCHES]
        ons[1] = (0, running(62, 101))  # the event right after the break has no status byte
        pairs = [ons[0], (480, on(60, 0)), (0, brk), ons[1]] + [x for pair in zip(offs[1:], ons[2:]) for x in pair]
        return events(pairs + [offs[-1]]) + END_OF_TRACK

    cases = {
        **{f"system message 0x{s[0]:02X}": (track([*first, (0, s), *rest]), SCALE_NOTES, {"system_message": 1})
           for s in (b"\xf1\x7f", b"\xf2\x7f\x7f", b"\xf3\x01", b"\xf6", b"\xf8", b"\xfa", b"\xfb", b"\xfc", b"\xfe")},
        "running status after meta": (chunk(after(text())), SCALE_NOTES, {"running_status_after_meta": 1}),
        "running status after sysex": (chunk(after(sysex())), SCALE_NOTES, {"running_status_after_sysex": 1}),
        "running status after sysex escape": (chunk(after(b"\xf7\x01\xf8")), SCALE_NOTES,
                                              {"running_status_after_sysex": 1}),
        "running status after system message": (chunk(after(b"\xf8")), SCALE_NOTES,
                                                {"system_message": 1, "running_status_after_system": 1}),
        "extra byte after end of track": (chunk(body + END_OF_TRACK + b"*"), SCALE_NOTES,
                                          {"bytes_after_end_of_track": 1}),
        "cut event after end of track": (chunk(body + END_OF_TRACK + b"\x00\x90\x3c"), SCALE_NOTES,
                                         {"bytes_after_end_of_track": 1}),
        "events after end of track": (chunk(events(SCALE[:-2]) + END_OF_TRACK + events(SCALE[-2:])), SCALE_NOTES,
                                      {"events_after_end_of_track": 1}),
        "missing end of track": (chunk(body), SCALE_NOTES, {"missing_end_of_track": 1}),
        "track length past file": (chunk(body + END_OF_TRACK, length=len(body) + 40), SCALE_NOTES,
                                   {"track_length_past_file": 1}),
        "extra byte after the last chunk": (scale + b"*", SCALE_NOTES, {"trailing_bytes": 1}),
        "cut chunk header after the last chunk": (scale + b"MTr", SCALE_NOTES, {"trailing_bytes": 1}),
        "cut chunk after the last chunk": (scale + b"XFKM\x00\x00\x01\x00abc", SCALE_NOTES, {"trailing_bytes": 1}),
        "unknown chunk before the track": (chunk(b"not a MIDI track", b"Junk") + scale, SCALE_NOTES,
                                           {"unknown_chunk": 1}),
        "unknown chunk after the track": (scale + chunk(b"\x00\x01\x02", b"XFIH"), SCALE_NOTES, {"unknown_chunk": 1}),
    }
    data = {name: header(0, 1) + raw for name, (raw, *_) in cases.items()}
    out = {name: (data[name], notes, repairs) for name, (_, notes, repairs) in cases.items()}
    two = track([(0, on(48, 90)), (960, off(48))])
    both = sorted(SCALE_NOTES + [(0, 960, 48, 90)], key=lambda n: (n[0], n[2]))
    out["extra track beyond the header's count"] = (header(0, 1) + scale + two, SCALE_NOTES, {"extra_track": 1})
    out["MIDI type 2"] = (smf(scale, two, fmt=2), both, {"format_2_merged": 1})
    out["unknown format 7"] = (smf(scale, two, fmt=7), both, {"unknown_format": 1})
    out["several at once"] = (
        header(2, 2) + chunk(b"junk", b"Junk") + chunk(after(text())[:-len(END_OF_TRACK)] + b"\x00\xf8") + two + b"\x00",
        both,
        {"unknown_chunk": 1, "running_status_after_meta": 1, "system_message": 1, "missing_end_of_track": 1,
         "format_2_merged": 1, "trailing_bytes": 1},
    )
    return out

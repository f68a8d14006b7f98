"""Build Standard MIDI File bytes in code, for fixtures (valid and deliberately broken)."""

import struct


def varlen(value: int) -> bytes:
    """Encode a MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def track(events, end_of_track=True) -> bytes:
    """A track chunk from (delta_ticks, raw_event_bytes) pairs."""
    body = b"".join(varlen(delta) + bytes(data) for delta, data in events)
    if end_of_track:
        body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


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

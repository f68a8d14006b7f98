"""Property-based fuzzing of the MIDI reader (Hypothesis), bounded in examples and time.

Random byte-level mutations of files built in code (clean ones and quirky ones) either read or
raise MusicstyleError, never anything else and never slowly; a mutant read leniently gives the
note-ons mido gives; strict mode reads the same or refuses; the velocity rewrite changes only
velocity bytes. ``MUSICSTYLE_FUZZ_EXAMPLES=5000`` explores more (randomly, not the fixed set).
"""

import io
import os
import random
import warnings

import pytest

from midibytes import cc, off, on, quirks, smf, sysex, tempo, text, track
from musicstyle.core.midi import STRICT_TOLERATED, read_midi, rewrite_velocities, scan_events
from musicstyle.errors import MusicstyleError

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
mido = pytest.importorskip("mido")

#: A fixed set of examples in the suite (derandomized: the same every run, about 2 s); more, drawn anew, on request.
EXPLORE = "MUSICSTYLE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("MUSICSTYLE_FUZZ_EXAMPLES", "1000"))
#: Repairs after which mido reads the same bytes differently on purpose (it takes a sysex or system
#: status byte as the running status, where we continue the channel's).
MIDO_DIFFERS = {"running_status_after_sysex", "running_status_after_system"}
#: Our errors on files mido reads: timing no reader can make sense of, or no notes to read.
STRICTER_THAN_MIDO = ("SMPTE", "zero ticks", "absurd", "huge gap", "no notes")
INTERESTING = [0x00, 0x01, 0x2F, 0x3C, 0x51, 0x7F, 0x80, 0x81, 0x90, 0xB0, 0xC0, 0xE0, 0xF0, 0xF1, 0xF2, 0xF4,
               0xF6, 0xF7, 0xF8, 0xFE, 0xFF]


def _fixtures() -> list[bytes]:
    piano = track([
        (0, tempo(500_000)), (0, text(b"piano")), (0, b"\xc0\x00"), (0, cc(64, 127)), (0, on(60, 100)),
        (0, bytes([64, 80])), (240, bytes([67, 70])), (0, sysex()), (240, off(60)), (0, off(64, velocity=40)),
        (0, b"\xe0\x00\x40"), (120, on(67, 0)), (0, cc(64, 0)), (60, on(72, 90, channel=1)), (0, tempo(400_000)),
        (480, on(36, 100, channel=9)), (0, off(72, channel=1)),
    ])
    left = track([(0, on(48, 60)), (0, on(48, 70)), (960, off(48)), (0, on(43, 50)), (10, cc(67, 100))])
    chosen = ["system message 0xF2", "running status after meta", "extra byte after end of track", "MIDI type 2",
              "several at once", "cut chunk after the last chunk"]
    return [smf(piano), smf(piano, left), smf(left, fmt=0)] + [quirks()[name][0] for name in chosen]


FIXTURES = _fixtures()
position = st.integers(0, 400)
inside = st.integers(14, 400)  # past the header: most mutants keep a readable header
mutation = st.one_of(
    st.tuples(st.just("set"), inside, st.integers(0, 127)),
    st.tuples(st.just("set"), inside, st.sampled_from(INTERESTING)),
    st.tuples(st.just("set"), position, st.integers(0, 255)),
    st.tuples(st.just("insert"), inside, st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), inside, st.integers(1, 8)),
    st.tuples(st.just("duplicate"), inside, st.integers(1, 16)),
    st.tuples(st.just("truncate"), position, st.just(0)),
    st.tuples(st.just("random"), st.integers(0, 2**32), st.integers(1, 3)),
    st.tuples(st.just("random"), st.integers(0, 2**32), st.integers(1, 3)),
)


def mutate(data: bytes, ops) -> bytes:
    """Apply (kind, position, argument) byte mutations in turn; positions wrap around the file.

    ``("random", seed, n)`` sets ``n`` bytes past the header, drawn uniformly from ``seed``, to any value.
    """
    out = bytearray(data)
    for kind, pos, arg in ops:
        if kind == "random":
            rng = random.Random(pos)
            for _ in range(arg if len(out) > 14 else 0):
                out[rng.randrange(14, len(out))] = rng.randrange(256)
            continue
        pos %= len(out) + 1
        if kind == "set" and pos < len(out):
            out[pos] = arg
        elif kind == "insert":
            out[pos:pos] = arg
        elif kind == "delete":
            del out[pos : pos + arg]
        elif kind == "duplicate":
            out[pos:pos] = out[pos : pos + arg]
        elif kind == "truncate":
            del out[pos:]
    return bytes(out)


def mido_onsets(data: bytes) -> list | None:
    """(tick, pitch, velocity) of every melodic note-on as mido reads it, one per key and tick (the louder)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mf = mido.MidiFile(file=io.BytesIO(data))
    except Exception:  # mido refuses it: nothing to compare
        return None
    loudest = {}
    for t in mf.tracks:
        now = 0
        for m in t:
            if isinstance(m, mido.UnknownMetaMessage):
                return None  # mido 1.3 drops the delta time of a meta event of unknown type
            now += m.time
            if m.type == "note_on" and m.velocity > 0 and m.channel != 9:
                loudest[now, m.note] = max(loudest.get((now, m.note), 0), m.velocity)
    return sorted((tick, pitch, v) for (tick, pitch), v in loudest.items())


def onsets(perf) -> list:
    return sorted(zip(perf.notes["start"].tolist(), perf.notes["pitch"].tolist(), perf.notes["velocity"].tolist()))


@hypothesis.settings(max_examples=EXAMPLES, deadline=2000, database=None, derandomize=not EXPLORE,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(fixture=st.sampled_from(range(len(FIXTURES))), ops=st.lists(mutation, min_size=1, max_size=3))
def test_mutants_read_as_mido_reads_them_or_fail_clearly(fixture, ops):
    data = mutate(FIXTURES[fixture], ops)
    try:
        perf = read_midi(data, name="mutant")
    except MusicstyleError as err:
        perf, reason = None, err.reason
        assert reason and "\n" not in reason
    ref = mido_onsets(data)
    outcome = "read, compared with mido" if ref is not None else "read, mido refuses"
    hypothesis.event(f"refused: {reason.split(' at ')[0][:40]}" if perf is None else outcome)  # --hypothesis-show-statistics
    if perf is None:
        # where mido reads notes, we refuse only what no reader can make sense of
        assert not ref or reason.startswith(STRICTER_THAN_MIDO), reason
        return
    if ref is not None and not set(perf.repairs) & MIDO_DIFFERS:
        assert onsets(perf) == ref, perf.repairs
    _check_strict(data, perf)
    _check_rewrite(data, perf)


def _check_strict(data: bytes, perf) -> None:
    """Strict mode gives the same piece where nothing but tolerated repairs was needed, else refuses."""
    try:
        strict = read_midi(data, name="mutant", strict=True)
    except MusicstyleError:
        assert not set(perf.repairs) <= STRICT_TOLERATED
        return
    assert set(strict.repairs) <= STRICT_TOLERATED and strict.repairs == perf.repairs
    assert strict.notes.tolist() == perf.notes.tolist()


def _check_rewrite(data: bytes, perf) -> None:
    """The velocity rewrite keeps every byte but the note-on velocities, also in a repaired file."""
    out = rewrite_velocities(data, lambda ticks, pitches, old: 128 - old.astype(float))
    raw = scan_events(data)
    velocity_bytes = set(raw.offset[((raw.status & 0xF0) == 0x90) & (raw.data2 > 0)].tolist())
    assert len(out) == len(data)
    assert {i for i, (a, b) in enumerate(zip(data, out)) if a != b} <= velocity_bytes
    again = read_midi(out, name="mutant")
    assert again.repairs == perf.repairs
    assert again.notes[["start", "pitch"]].tolist() == perf.notes[["start", "pitch"]].tolist()


def test_fixtures_read_cleanly_or_with_their_repairs():
    assert [read_midi(f).repairs for f in FIXTURES[:3]] == [{}, {}, {}]
    assert all(mido_onsets(f) == onsets(read_midi(f)) for f in FIXTURES[:3])


def test_mutate_helper():
    assert mutate(b"abcdef", [("set", 0, 0x41), ("delete", 1, 2), ("insert", 99, b"Z"), ("truncate", 3, 0)]) == b"Ade"
    assert mutate(b"abc", [("duplicate", 1, 2)]) == b"abcbc"
    assert mutate(b"x" * 20, [("random", 7, 3)])[:14] == b"x" * 14

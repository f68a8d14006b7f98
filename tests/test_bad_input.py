"""A corpus of bad MIDI input, built in code: each gives MusicstyleError naming the file and reason."""

import pytest

from midibytes import header, off, on, smf, tempo, track, varlen
from musicstyle.errors import MusicstyleError
from musicstyle.core.midi import read_midi
from musicstyle.core.roll import FULL88, PAPER, piano_roll

GOOD = [(0, on(60, 100)), (480, off(60))]

BAD = {
    "text file": (b"this is not a MIDI file at all", "not a MIDI file"),
    "empty": (b"", "empty file"),
    "RIFF wrapper": (b"RIFF\x00\x00\x00\x10RMIDdata" + smf(track(GOOD)), "not a MIDI file"),
    "header cut": (smf(track(GOOD))[:10], "truncated MIDI header"),
    "track cut": (smf(track(GOOD))[:-5], "truncated"),
    "chunk header cut": (smf(track(GOOD)) + b"MTr", "truncated"),
    "missing track": (header(1, 2) + track(GOOD), "announces 2 tracks"),
    "SMPTE": (smf(track(GOOD), division=0xE728), "SMPTE"),
    "type 2": (smf(track(GOOD), track(GOOD), fmt=2), "type 2"),
    "format 7": (smf(track(GOOD), fmt=7), "unknown MIDI format"),
    "zero division": (smf(track(GOOD), division=0), "zero ticks"),
    "no notes": (smf(track([(0, tempo(500_000))])), "no notes"),
    "only drums": (smf(track([(0, on(36, 100, channel=9)), (10, off(36, channel=9))])), "no notes"),
    "only note-offs": (smf(track([(0, off(60)), (10, off(62))])), "no notes"),
    "absurd fast tempo": (smf(track([(0, tempo(1)), *GOOD])), "absurd tempo"),
    "absurd slow tempo": (smf(track([(0, tempo(0xFFFFFF)), *GOOD])), "absurd tempo"),
    "huge gap": (smf(track([*GOOD, (480 * 400, on(62, 90)), (480, off(62))])), "huge gap"),
    "data byte first": (smf(track([(0, bytes([60, 100])), (10, off(60))])), "without a status"),
    "event past track end": (smf(track([(0, on(60, 100)), (10, b"\x80\x3c")], end_of_track=False)), "truncated"),
    "meta length past end": (smf(track([(0, b"\xff\x01\x7f" + b"abc")], end_of_track=False)), "truncated"),
    "varlen past end": (header() + b"MTrk\x00\x00\x00\x02\x81\x80", "truncated"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_gives_clear_error(case, tmp_path):
    data, reason = BAD[case]
    path = tmp_path / f"{case}.mid"
    path.write_bytes(data)
    with pytest.raises(MusicstyleError) as err:
        read_midi(path)
    assert str(path) in str(err.value)
    assert reason in err.value.reason


def test_no_notes_in_the_key_range(tmp_path):
    path = tmp_path / "high.mid"
    path.write_bytes(smf(track([(0, on(100, 90)), (480, off(100))])))
    perf = read_midi(path)
    with pytest.raises(MusicstyleError, match="no notes in the key range 32-88"):
        piano_roll(perf, PAPER)
    assert piano_roll(perf, FULL88).onset.sum() == 1


def test_corpus_is_large_enough():
    assert len(BAD) >= 20


def test_varlen_helper_round_trips():
    assert varlen(0) == b"\x00" and varlen(0x80) == b"\x81\x00" and varlen(0x0FFFFFFF) == b"\xff\xff\xff\x7f"

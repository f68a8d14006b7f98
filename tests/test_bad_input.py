"""A corpus of bad MIDI input, built in code.

What no reader can make sense of gives MusicstyleError naming the file and the reason, in both
modes; each quirk that mido and pretty_midi read is read with exact notes and its repair counted,
and refused with ``strict=True``.
"""

import io

import pytest

from midibytes import (END_OF_TRACK, SCALE, SCALE_NOTES, chunk, events, header, off, on, quirks, smf, tempo,
                       track, varlen)
from musicstyle.core.midi import REPAIRS, STRICT_TOLERATED, read_midi, rewrite_velocities, scan_events
from musicstyle.core.roll import FULL88, PAPER, piano_roll
from musicstyle.data import load_folder
from musicstyle.errors import MusicstyleError

GOOD = [(0, on(60, 100)), (480, off(60))]
QUIRKS = quirks()

BAD = {
    "text file": (b"this is not a MIDI file at all", "not a MIDI file"),
    "empty": (b"", "empty file"),
    "RIFF wrapper": (b"RIFF\x00\x00\x00\x10RMIDdata" + smf(track(GOOD)), "not a MIDI file"),
    "header cut": (smf(track(GOOD))[:10], "truncated MIDI header"),
    "header length past the file": (b"MThd\x00\x00\x01\x00" + smf(track(GOOD))[8:], "truncated MIDI header"),
    "header too short": (b"MThd\x00\x00\x00\x04\x00\x00\x00\x01" + track(GOOD), "malformed MIDI header"),
    "track cut": (smf(track(GOOD))[:-5], "truncated"),
    "end of track cut": (smf(track(GOOD))[:-1], "truncated"),
    "missing track": (header(1, 2) + track(GOOD), "announces 2 tracks"),
    "chunk header cut before a track": (header(1, 2) + track(GOOD) + b"MTr", "truncated: chunk header cut off"),
    "unknown chunk past the file": (header(0, 1) + chunk(b"abc", b"Junk", length=99) + track(GOOD), "truncated"),
    "SMPTE at 27 frames a second": (smf(track(GOOD), division=0xE528), "malformed SMPTE time division (27 frames"),
    "SMPTE with no ticks a frame": (smf(track(GOOD), division=0xE700), "malformed SMPTE time division (25 frames"),
    "zero division": (smf(track(GOOD), division=0), "zero ticks"),
    "no notes": (smf(track([(0, tempo(500_000))])), "no notes"),
    "only drums": (smf(track([(0, on(36, 100, channel=9)), (10, off(36, channel=9))])),
                   "no notes: only 1 drum note on channel 10"),
    "only note-offs": (smf(track([(0, off(60)), (10, off(62))])), "no notes"),
    "absurd fast tempo": (smf(track([(0, tempo(1)), *GOOD])), "absurd tempo"),
    "absurd slow tempo": (smf(track([(0, tempo(0xFFFFFF)), *GOOD])), "absurd tempo"),
    "absurd tick": (smf(track([*GOOD, (2**41, b"\xb0\x40\x00")])), "absurd timing"),
    "huge gap": (smf(track([*GOOD, (480 * 400, on(62, 90)), (480, off(62))])), "huge gap"),
    "data byte first": (smf(track([(0, bytes([60, 100])), (10, off(60))])), "without a status"),
    "data byte after a meta event first": (smf(track([(0, tempo(500_000)), (0, bytes([60, 100]))])), "without a status"),
    "event past track end": (smf(track([(0, on(60, 100)), (10, b"\x80\x3c")], end_of_track=False)), "truncated"),
    "meta length past end": (smf(track([(0, b"\xff\x01\x7f" + b"abc")], end_of_track=False)), "truncated"),
    "varlen past end": (header() + b"MTrk\x00\x00\x00\x02\x81\x80", "truncated"),
    "track length past file, cut inside an event": (header() + chunk(events(GOOD)[:-1], length=40), "truncated"),
    "status byte as a velocity": (smf(track([(0, b"\x90\x3c\x90"), (0, b"\x3c\x40"), (10, off(60))])), "malformed"),
    "status byte in a pitch bend": (smf(track([*GOOD, (0, b"\xe0\x00\x90")])), "malformed"),
    "status byte after 0xF1": (smf(track([*GOOD, (0, b"\xf1\x90\x3c")])), "malformed"),
    **{f"undefined status 0x{b:02X}": (smf(track([(0, bytes([b])), *GOOD])), f"undefined status byte 0x{b:02X}")
       for b in (0xF4, 0xF5, 0xF9, 0xFD)},
}


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_gives_clear_error(case, strict, tmp_path):
    data, reason = BAD[case]
    path = tmp_path / f"{case}.mid"
    path.write_bytes(data)
    with pytest.raises(MusicstyleError) as err:
        read_midi(path, strict=strict)
    assert str(path) in str(err.value)
    assert reason in err.value.reason and "\n" not in err.value.reason


@pytest.mark.parametrize("case", sorted(QUIRKS))
def test_quirk_is_read_with_exact_notes_and_its_repairs(case):
    data, notes, repairs = QUIRKS[case]
    perf = read_midi(data, name=case)
    assert [tuple(int(v) for v in n) for n in perf.notes] == notes
    assert perf.repairs == repairs and set(repairs) <= set(REPAIRS)


@pytest.mark.parametrize("case", sorted(QUIRKS))
def test_strict_refuses_every_repair_but_the_tolerated(case):
    data, notes, repairs = QUIRKS[case]
    if set(repairs) <= STRICT_TOLERATED:
        assert read_midi(data, strict=True).repairs == repairs
    else:
        with pytest.raises(MusicstyleError):
            read_midi(data, strict=True)


@pytest.mark.parametrize("case", sorted(QUIRKS))
def test_quirk_notes_equal_mido_where_mido_reads_it(case):
    """mido is the reference for quirky files: the same note-on ticks, pitches and velocities."""
    mido = pytest.importorskip("mido")
    data, notes, _ = QUIRKS[case]
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
    except Exception:  # mido refuses some quirks the format allows (an unknown chunk) or we repair
        pytest.skip("mido does not read it")
    ref = []
    for t in mf.tracks:
        now = 0
        for m in t:
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                ref.append((now, m.note, m.velocity))
    assert sorted(ref) == sorted((s, p, v) for s, _, p, v in notes)


def test_repairs_cover_every_kind_and_the_issue_quirks():
    seen = {kind for _, _, repairs in QUIRKS.values() for kind in repairs}
    assert seen == set(REPAIRS)
    assert len(BAD) >= 30 and len(QUIRKS) >= 25


@pytest.mark.parametrize("case", ["running status after sysex", "extra byte after end of track", "MIDI type 2",
                                  "system message 0xF2", "several at once", "track length past file"])
def test_velocity_rewrite_of_a_repaired_file_keeps_every_other_byte(case):
    data = QUIRKS[case][0]
    out = rewrite_velocities(data, lambda ticks, pitches, old: 128 - old.astype(float))
    raw = scan_events(data)
    on_mask = ((raw.status & 0xF0) == 0x90) & (raw.data2 > 0)
    changed = {i for i, (a, b) in enumerate(zip(data, out)) if a != b}
    assert len(out) == len(data) and changed and changed <= set(raw.offset[on_mask].tolist())
    before, after = read_midi(data), read_midi(out)
    assert after.repairs == before.repairs
    assert after.notes["velocity"].tolist() == [128 - v for v in before.notes["velocity"].tolist()]
    assert after.notes[["start", "end", "pitch"]].tolist() == before.notes[["start", "end", "pitch"]].tolist()
    with pytest.raises(MusicstyleError):
        rewrite_velocities(data, lambda t, p, v: v, strict=True)


def test_dataset_load_lists_repaired_files_beside_skipped_ones(tmp_path):
    folder = tmp_path / "d"
    (folder / "jazz").mkdir(parents=True)
    (folder / "jazz" / "clean.mid").write_bytes(smf(track(SCALE)))
    (folder / "jazz" / "quirky.mid").write_bytes(QUIRKS["running status after meta"][0])
    (folder / "jazz" / "broken.mid").write_bytes(b"not midi")
    for c in (load_folder(folder, genres=["jazz"], progress=False), load_folder(folder, genres=["jazz"], progress=False)):
        assert len(c) == 2 and [s.path for s in c.skipped] == ["jazz/broken.mid"]
        assert [(r.path, r.repairs) for r in c.repaired] == [("jazz/quirky.mid", {"running_status_after_meta": 1})]
        assert c.report().splitlines() == ["skipped jazz/broken.mid: not a MIDI file (no 'MThd' header)",
                                           "repaired jazz/quirky.mid: running_status_after_meta x1"]
        quirky = next(p for p in c.pieces if p.name == "quirky")
        assert quirky.performance.repairs == {"running_status_after_meta": 1}
        assert [tuple(int(v) for v in n) for n in quirky.performance.notes] == SCALE_NOTES


def test_no_notes_in_the_key_range(tmp_path):
    path = tmp_path / "high.mid"
    path.write_bytes(smf(track([(0, on(100, 90)), (480, off(100))])))
    perf = read_midi(path)
    with pytest.raises(MusicstyleError, match="no notes in the key range 32-88"):
        piano_roll(perf, PAPER)
    assert piano_roll(perf, FULL88).onset.sum() == 1


def test_varlen_helper_round_trips():
    assert varlen(0) == b"\x00" and varlen(0x80) == b"\x81\x00" and varlen(0x0FFFFFFF) == b"\xff\xff\xff\x7f"
    assert END_OF_TRACK == track([])[8:]


def test_inspect_reports_repairs_and_strict_refuses(tmp_path, capsys):
    import json

    from musicstyle.cli import main

    path = tmp_path / "quirky.mid"
    path.write_bytes(QUIRKS["several at once"][0])
    assert main(["inspect", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["notes"] == 9 and result["repairs"] == QUIRKS["several at once"][2]
    assert main(["inspect", str(path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("repairs"))
    assert "format_2_merged x1" in line and "running_status_after_meta x1" in line
    assert main(["inspect", str(path), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"error: {path}: MIDI type 2 (independent sequences) is not supported\n"
    clean = tmp_path / "clean.mid"
    clean.write_bytes(smf(track(SCALE)))
    assert main(["inspect", str(clean), "--json", "--strict"]) == 0
    assert json.loads(capsys.readouterr().out)["repairs"] == {}
    assert main(["inspect", str(clean)]) == 0
    assert "repairs              none" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["undefined status 0xF4", "end of track cut", "header cut"])
def test_inspect_unreadable_file_exits_2_with_one_line(case, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bad.mid"
    path.write_bytes(BAD[case][0])
    proc = subprocess.run([sys.executable, "-m", "musicstyle", "inspect", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"error: {path}: ") and proc.stderr.count("\n") == 1 and BAD[case][1] in proc.stderr


@pytest.mark.parametrize("argv", [
    ["judge"],
    ["classify"],
    ["transfer", "--to", "jazz", "-o", "OUT.mid"],
    ["generate", "--genre", "jazz", "-o", "OUT.mid", "--inspired-by"],
], ids=["judge", "classify", "transfer", "generate"])
def test_a_folder_given_for_a_midi_file_is_named_as_a_folder(argv, tmp_path, capsys):
    from musicstyle.cli import main

    (tmp_path / "songs").mkdir()
    argv = [str(tmp_path / a) if a == "OUT.mid" else a for a in argv] + [str(tmp_path / "songs")]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path / 'songs'}: is a folder: give a MIDI file")
    assert main([a if a != str(tmp_path / "songs") else str(tmp_path / "none.mid") for a in argv]) == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path / 'none.mid'}: no such file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["songs"]

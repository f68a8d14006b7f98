"""MIDI reading rules and the velocity rewrite, on files built in code (exact arrays)."""

import numpy as np
import pytest

from midibytes import cc, off, on, smf, tempo, track
from musicstyle.errors import MusicstyleError
from musicstyle.core.midi import read_midi, rewrite_velocities, scan_events


def notes_of(data):
    return [tuple(int(v) for v in n) for n in read_midi(data, name="t").notes]


def test_reads_notes_pedal_and_tempo_in_ticks():
    data = smf(track([
        (0, tempo(500_000)), (0, cc(64, 127)), (0, on(60, 100)), (240, on(64, 80)),
        (240, off(60)), (0, off(64)), (120, cc(64, 0)), (0, tempo(250_000)),
    ]))
    perf = read_midi(data, name="t")
    assert notes_of(data) == [(0, 480, 60, 100), (240, 480, 64, 80)]
    assert perf.controls.tolist() == [(0, 64, 127), (600, 64, 0)]
    assert perf.tempos.tolist() == [(0, 500_000), (600, 250_000)]
    assert perf.ticks_per_quarter == 480
    assert perf.unreleased == 0


def test_seconds_follow_every_tempo_change():
    data = smf(track([(0, tempo(500_000)), (0, on(60, 90)), (960, tempo(250_000)), (960, off(60))]))
    perf = read_midi(data)
    assert perf.seconds(np.array([0, 480, 960, 1440, 1920])).tolist() == [0.0, 0.5, 1.0, 1.25, 1.5]
    assert perf.duration_s == 1.5


def test_default_tempo_before_the_first_tempo_event():
    data = smf(track([(0, on(60, 90)), (480, off(60))]))
    assert read_midi(data).duration_s == 0.5


def smpte(frame_rate: int, ticks_per_frame: int) -> int:
    """The header's division word for SMPTE timing (the frame rate as a negative byte)."""
    return ((256 - frame_rate) << 8) | ticks_per_frame


@pytest.mark.parametrize("rate, ticks_per_frame, tpq, tempos, ticks_a_second", [
    (25, 40, 500, [], 1000),
    (24, 4, 48, [], 96),
    (30, 80, 1200, [], 2400),
    (29, 80, 1200, [(0, 500_500)], 2400 / 1.001),
    (25, 3, 75, [(0, 1_000_000)], 75),
])
def test_smpte_ticks_are_timed_in_frames_and_the_files_tempo_events_do_not_count(
        rate, ticks_per_frame, tpq, tempos, ticks_a_second):
    data = smf(track([(0, tempo(250_000)), (0, on(60, 90)), (int(ticks_a_second) * 3, off(60)),
                      (0, on(62, 80)), (int(ticks_a_second), off(62))]), division=smpte(rate, ticks_per_frame))
    perf = read_midi(data)
    assert (perf.ticks_per_quarter, perf.tempos.tolist(), perf.smpte) == (tpq, tempos, (rate, ticks_per_frame))
    expected = np.array([0, int(ticks_a_second) * 3, int(ticks_a_second) * 4]) / ticks_a_second
    np.testing.assert_allclose(perf.seconds(np.array([0, perf.notes["end"][0], perf.notes["end"][1]])), expected)
    assert notes_of(data)[1][2:] == (62, 80) and perf.repairs == {}
    assert read_midi(data, strict=True).notes.tolist() == perf.notes.tolist()


def test_restrike_ends_the_sounding_note():
    # on, on again (no off between), off, on, off: three strikes of one key
    data = smf(track([(0, on(60, 100)), (100, on(60, 90)), (100, off(60)), (100, on(60, 80)), (100, off(60))]))
    assert notes_of(data) == [(0, 100, 60, 100), (100, 200, 60, 90), (300, 400, 60, 80)]


def test_overlapping_pairs_are_cut_at_the_new_strike():
    data = smf(track([(0, on(60, 100)), (100, on(60, 90)), (100, off(60)), (100, off(60))]))
    assert notes_of(data) == [(0, 100, 60, 100), (100, 200, 60, 90)]


def test_same_tick_duplicates_keep_the_louder():
    data = smf(track([(0, on(60, 50)), (0, on(60, 110)), (100, off(60)), (0, off(60))]))
    assert notes_of(data) == [(0, 100, 60, 110)]


def test_note_without_note_off_ends_with_its_track():
    data = smf(track([(0, on(60, 100)), (480, on(62, 90)), (480, off(62)), (240, cc(64, 0))]))
    perf = read_midi(data)
    assert notes_of(data) == [(0, 1200, 60, 100), (480, 960, 62, 90)]
    assert perf.unreleased == 1


def test_note_on_with_velocity_zero_and_running_status_are_note_offs():
    data = smf(track([(0, on(60, 100)), (10, bytes([62, 80])), (10, bytes([60, 0])), (10, bytes([62, 0]))]))
    assert notes_of(data) == [(0, 20, 60, 100), (10, 30, 62, 80)]


def test_drum_channel_is_ignored():
    data = smf(track([(0, on(36, 100, channel=9)), (0, on(60, 70)), (100, off(36, channel=9)), (0, off(60))]))
    assert notes_of(data) == [(0, 100, 60, 70)]


def test_note_off_in_another_track_does_not_end_a_note():
    data = smf(
        track([(0, on(60, 100)), (480, off(60))]),
        track([(0, on(60, 90)), (100, off(60))]),
    )
    # both tracks strike the key at tick 0: one strike at the louder velocity, held to the later note-off
    assert notes_of(data) == [(0, 480, 60, 100)]


def test_a_unison_is_one_strike_whatever_its_velocities():
    """Two channels strike one key together: the louder velocity, held until the last release. Rewriting the
    velocities (as transfer does) so that the other strike is the louder leaves the notes as they were."""
    data = smf(track([(0, on(60, 100, channel=0)), (0, on(60, 40, channel=2)), (100, off(60, channel=0)), (380, off(60, channel=2))]))
    assert notes_of(data) == [(0, 480, 60, 100)]
    flipped = rewrite_velocities(data, lambda t, p, v: 140 - v)
    assert notes_of(flipped) == [(0, 480, 60, 100)]  # now channel 2's strike (100) is the louder
    assert read_midi(flipped).notes["end"].tolist() == read_midi(data).notes["end"].tolist()


def test_unknown_chunks_are_skipped_and_counted_also_in_strict_mode():
    data = smf(track([(0, on(60, 100)), (480, off(60))]))
    data = data + b"XFIH\x00\x00\x00\x03abc"
    assert notes_of(data) == [(0, 480, 60, 100)]
    assert read_midi(data).repairs == read_midi(data, strict=True).repairs == {"unknown_chunk": 1}


def test_a_clean_file_needs_no_repair():
    data = smf(track([(0, tempo(500_000)), (0, on(60, 100)), (480, off(60))]), track([(0, cc(64, 127))]))
    assert read_midi(data).repairs == {} and read_midi(data, strict=True).repairs == {}


def test_type_2_sequences_are_read_on_one_timeline_as_mido_and_pretty_midi_do():
    data = smf(track([(0, on(60, 100)), (480, off(60))]), track([(240, on(64, 90)), (480, off(64))]), fmt=2)
    assert notes_of(data) == [(0, 480, 60, 100), (240, 720, 64, 90)]
    assert read_midi(data).repairs == {"format_2_merged": 1}
    with pytest.raises(MusicstyleError, match="type 2"):
        read_midi(data, strict=True)


def test_running_status_resumes_only_from_the_same_track():
    # the second track starts with a data byte after a meta event: no channel status of its own
    data = smf(track([(0, on(60, 100)), (480, off(60))]), track([(0, tempo(500_000)), (0, bytes([62, 90]))]))
    with pytest.raises(MusicstyleError, match="data byte without a status"):
        read_midi(data)


def test_junk_after_end_of_track_drops_only_what_follows_it():
    body = b"\x00\x90\x3c\x64\x83\x60\x80\x3c\x00\x00\xff\x2f\x00" + b"\x00\x90\x3e\x50\x00\xf4"
    data = smf(b"MTrk" + len(body).to_bytes(4, "big") + body)
    perf = read_midi(data)
    assert notes_of(data) == [(0, 480, 60, 100)] and perf.repairs == {"bytes_after_end_of_track": 1}


def test_rewrite_changes_only_velocity_bytes():
    data = smf(track([
        (0, tempo(600_000)), (0, cc(64, 127)), (0, on(60, 100)), (10, bytes([64, 90])), (100, off(60)),
        (0, on(64, 0)), (5, cc(67, 100)), (0, on(67, 30)), (50, off(67)),
    ]))
    out = rewrite_velocities(data, lambda ticks, pitches, old: pitches.astype(float) + 0.4)
    changed = [i for i, (a, b) in enumerate(zip(data, out)) if a != b]
    raw = scan_events(data)
    on_mask = ((raw.status & 0xF0) == 0x90) & (raw.data2 > 0)
    assert len(out) == len(data)
    assert set(changed) <= set(raw.offset[on_mask].tolist())
    new = read_midi(out)
    old = read_midi(data)
    assert new.notes["velocity"].tolist() == [60, 64, 67]
    for field in ("start", "end", "pitch"):
        assert new.notes[field].tolist() == old.notes[field].tolist()
    assert new.controls.tolist() == old.controls.tolist()
    assert new.tempos.tolist() == old.tempos.tolist()


def test_rewrite_leaves_a_drum_note_on_a_piano_notes_key_and_tick_as_it_was():
    data = smf(track([(0, on(38, 100)), (0, on(38, 32, channel=9)), (240, off(38)), (0, off(38, channel=9))]))
    out = rewrite_velocities(data, lambda ticks, pitches, old: np.full(len(old), 81.0))
    raw = scan_events(out)
    on_mask = ((raw.status & 0xF0) == 0x90) & (raw.data2 > 0)
    assert dict(zip(raw.status[on_mask].tolist(), raw.data2[on_mask].tolist())) == {0x90: 81, 0x99: 32}


def test_rewrite_keeps_an_smpte_file_timed_as_it_was():
    data = smf(track([(0, on(60, 100)), (1000, off(60)), (0, on(64, 50)), (500, off(64))]), division=smpte(25, 40))
    out = rewrite_velocities(data, lambda ticks, pitches, old: np.array([70.0, 71.0]))
    assert out[:14] == data[:14]
    new = read_midi(out)
    assert new.notes["velocity"].tolist() == [70, 71] and new.duration_s == pytest.approx(1.5)


def test_rewrite_clips_to_1_127():
    data = smf(track([(0, on(60, 100)), (10, off(60)), (0, on(61, 100)), (10, off(61))]))
    out = rewrite_velocities(data, lambda t, p, v: np.array([-20.0, 400.0]))
    assert read_midi(out).notes["velocity"].tolist() == [1, 127]


def test_reading_a_missing_file_names_it(tmp_path):
    with pytest.raises(MusicstyleError) as err:
        read_midi(tmp_path / "nope.mid")
    assert str(err.value) == f"{tmp_path / 'nope.mid'}: no such file"  # as every command's input check says it
    for wrong in (None, 3):  # said at the call, not deep in pathlib
        with pytest.raises(MusicstyleError, match=f"^source: expected a path or MIDI bytes, not {type(wrong).__name__}$"):
            read_midi(wrong)


def test_write_events_round_trips_notes_pedal_and_tempo():
    from musicstyle.core.midi import write_events

    events = [(480, 1, bytes([0x90, 64, 90])), (0, 1, bytes([0x90, 60, 100])), (480, 0, bytes([0x80, 60, 0])),
              (960, 0, bytes([0x80, 64, 0])), (0, 1, bytes([0xB0, 64, 127])), (960, 0, bytes([0xB0, 64, 0]))]
    perf = read_midi(write_events(events, 480, 250_000), name="written")
    assert perf.notes.tolist() == [(0, 480, 60, 100), (480, 960, 64, 90)]
    assert perf.controls.tolist() == [(0, 64, 127), (960, 64, 0)]
    assert perf.ticks_per_quarter == 480 and perf.duration_s == 0.5

"""Audio: a piece played louder renders louder with either backend (a fixed gain, never normalised), and the
plain synthesizer, used where FluidSynth is missing (Colab, a bare machine), sounds each note where it is."""

import numpy as np
import pytest

from midibytes import off, on, smf, track
from musicstyle.core import audio
from musicstyle.core.midi import read_midi

RATE = 8000


def _chord(velocity: int) -> bytes:
    """Two notes for 0.5 s at 120 qpm, then a single note at 1.0-1.5 s."""
    return smf(track([(0, on(60, velocity)), (0, on(64, velocity)), (480, off(60)), (0, off(64)),
                      (480, on(67, velocity)), (480, off(67))]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


@pytest.fixture(params=["plain", "fluidsynth"])
def backend(request, monkeypatch):
    if request.param == "fluidsynth" and audio.backend() != "fluidsynth":
        pytest.skip("FluidSynth or a soundfont is not installed")
    monkeypatch.setattr(audio, "backend", lambda: request.param)
    return request.param


def test_a_piece_played_louder_renders_louder(backend):
    loud, soft = (audio.render(_chord(v), sample_rate=RATE) for v in (110, 40))
    assert _rms(loud) > 2 * _rms(soft) > 0
    assert np.abs(loud).max() <= 1.0


def test_render_cuts_to_the_seconds_asked(backend):
    assert len(audio.render(_chord(90), seconds=0.75, sample_rate=RATE)) == int(0.75 * RATE)


def test_a_performance_renders_as_it_is_now_not_as_its_file_was(backend, tmp_path):
    path = tmp_path / "chord.mid"
    path.write_bytes(_chord(110))
    perf = read_midi(path)
    from_bytes = read_midi(_chord(110))  # no file behind it
    softened = read_midi(path)
    softened.notes["velocity"] = 40  # edited after reading
    whole, unfiled, soft = (audio.render(p, sample_rate=RATE) for p in (perf, from_bytes, softened))
    assert _rms(unfiled) == pytest.approx(_rms(whole), rel=0.05)
    assert _rms(whole) > 2 * _rms(soft) > 0


def test_plain_synthesizer_sounds_each_note_where_it_is_and_rings_a_second_past_the_last():
    perf = read_midi(_chord(100))
    x = audio.synthesize(perf, RATE)
    assert len(x) == int(2.5 * RATE) + 1  # the last note ends at 1.5 s, and a second of ring
    window = int(0.05 * RATE)
    at = {t: _rms(x[int(t * RATE): int(t * RATE) + window]) for t in (0.1, 0.95, 1.1)}
    assert at[0.1] > 5 * at[0.95] and at[1.1] > 5 * at[0.95]  # the chord has faded before the third note
    only_first = audio.synthesize(perf, RATE, seconds=0.9)  # notes starting from 0.9 s are left out
    assert _rms(only_first[int(1.1 * RATE): int(1.1 * RATE) + window]) < at[1.1] / 5


def test_a_soundfont_named_by_the_environment_must_exist(tmp_path, monkeypatch):
    from musicstyle.errors import MusicstyleError

    monkeypatch.setenv("MUSICSTYLE_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(MusicstyleError, match="gone.sf2: MUSICSTYLE_SOUNDFONT names no file"):
        audio.backend()
    (tmp_path / "piano.sf2").write_bytes(b"RIFF")
    monkeypatch.setenv("MUSICSTYLE_SOUNDFONT", str(tmp_path / "piano.sf2"))
    assert audio.soundfont() == str(tmp_path / "piano.sf2")
    monkeypatch.delenv("MUSICSTYLE_SOUNDFONT")
    assert audio.soundfont() in (None, *audio.SOUNDFONTS)

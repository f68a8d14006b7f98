"""Listening to performances: FluidSynth with a piano soundfont where installed, a plain synthesizer otherwise.

Taught in ``notebooks/01_data_exploration.ipynb``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from .midi import Performance, read_midi

SAMPLE_RATE = 22050
#: Soundfonts looked for, in order, after ``$MUSICSTYLE_SOUNDFONT`` (Debian package paths).
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/soundfonts/default.sf2",
)


def soundfont() -> str | None:
    """Path of a usable soundfont, or None."""
    for path in (os.environ.get("MUSICSTYLE_SOUNDFONT"), *SOUNDFONTS):
        if path and Path(path).is_file():
            return path
    return None


def backend() -> str:
    """'fluidsynth' when the fluidsynth program and a soundfont are installed, else 'plain'."""
    return "fluidsynth" if shutil.which("fluidsynth") and soundfont() else "plain"


def render(midi: str | Path | bytes, seconds: float | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Audio of a MIDI file: FluidSynth where installed, else the plain synthesizer.

    A fixed gain, never normalised: a piece played louder sounds louder (transfer changes loudness).

    Args:
        midi: a path, MIDI bytes or a :class:`Performance`.
        seconds: cut to this length (None: the whole piece).
        sample_rate: samples per second.

    Returns:
        float32 mono samples in -1..1.
    """
    if backend() == "fluidsynth":
        audio = _fluidsynth(midi.source if isinstance(midi, Performance) else midi, sample_rate)
    else:
        perf = midi if isinstance(midi, Performance) else read_midi(midi)
        audio = synthesize(perf, sample_rate, seconds)
    if seconds is not None:
        audio = audio[: int(seconds * sample_rate)]
    return np.clip(audio, -1.0, 1.0)


def _fluidsynth(midi, sample_rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.mid"
        if isinstance(midi, (bytes, bytearray)):
            src.write_bytes(midi)
        else:
            shutil.copyfile(midi, src)
        out = Path(tmp) / "out.wav"
        subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "1.5", "-r", str(sample_rate), "-F", str(out), soundfont(), str(src)],
            check=True, capture_output=True, timeout=600,
        )
        return read_wav(out)[0]


def synthesize(perf: Performance, sample_rate: int = SAMPLE_RATE, seconds: float | None = None) -> np.ndarray:
    """A plain piano-like synthesizer: a few decaying harmonics per note, loudness from velocity."""
    starts = perf.seconds(perf.notes["start"])
    ends = perf.seconds(perf.notes["end"])
    keep = starts < seconds if seconds is not None else np.ones(len(starts), bool)
    total = (ends[keep].max() if keep.any() else 0.0) + 1.0
    out = np.zeros(int(total * sample_rate) + 1, np.float32)
    for s, e, pitch, vel in zip(starts[keep], ends[keep], perf.notes["pitch"][keep], perf.notes["velocity"][keep]):
        n = int((min(e - s, 4.0) + 0.3) * sample_rate)
        t = np.arange(n, dtype=np.float32) / sample_rate
        f = 440.0 * 2 ** ((int(pitch) - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for k in (1, 2, 3) if f * k < sample_rate / 2)
        env = np.exp(-t * (1.5 + f / 600)) * np.minimum(1.0, (e - s + 0.3 - t) / 0.3).clip(0, 1)
        i = int(s * sample_rate)
        out[i : i + n] += (vel / 127.0) ** 2 * 0.25 * tone * env
    return out


def write_wav(path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE):
    """Write mono float audio as 16-bit PCM WAV to a path or a binary file object; returns ``path``."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(path if hasattr(path, "write") else str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read 16-bit PCM WAV (mono, or stereo averaged) as float32."""
    with wave.open(str(path), "rb") as w:
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767
    return pcm.reshape(-1, channels).mean(axis=1), rate


def player(midi, seconds: float | None = 30.0):
    """An IPython audio player for a MIDI file (path, bytes or Performance)."""
    from IPython.display import Audio

    return Audio(render(midi, seconds), rate=SAMPLE_RATE)

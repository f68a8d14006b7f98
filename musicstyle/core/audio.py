"""Listening to performances: FluidSynth with a piano soundfont where installed, a plain synthesizer otherwise.

Players stored in notebooks are Ogg/Opus (small) in an ``<audio src="data:...">`` element: JupyterLab's
sanitizer keeps that element and attribute in an untrusted notebook (it strips ``<source>``), so a
saved notebook plays without "Trust Notebook". Taught in ``notebooks/01_data_exploration.ipynb``.
"""

from __future__ import annotations

import base64
import html
import io
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from ..errors import MusicstyleError
from .midi import Performance, read_midi, write_events

SAMPLE_RATE = 22050
#: Sample rate of compressed players (Opus takes 8, 12, 16, 24 or 48 kHz).
PLAYER_RATE = 24000
#: Longest audio :func:`render` makes (two hours: about 600 MB of samples at :data:`SAMPLE_RATE`).
MAX_RENDER_SECONDS = 7200
#: Soundfonts looked for, in order, after ``$MUSICSTYLE_SOUNDFONT`` (Debian package paths): the small
#: TimGM6mb piano (package timgm6mb-soundfont, installed by CI and Binder) first, so renders are the same everywhere.
SOUNDFONTS = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/MuseScore_General.sf3",
    "/usr/share/soundfonts/default.sf2",
)


def soundfont() -> str | None:
    """Path of a usable soundfont: ``$MUSICSTYLE_SOUNDFONT`` when set (an error if it names no file), else the
    first of :data:`SOUNDFONTS` installed, else None."""
    if chosen := os.environ.get("MUSICSTYLE_SOUNDFONT"):
        if not Path(chosen).is_file():
            raise MusicstyleError(chosen, "MUSICSTYLE_SOUNDFONT names no file (set it to a .sf2 or .sf3 soundfont, "
                                          "or unset it to use an installed one)")
        return chosen
    return next((path for path in SOUNDFONTS if Path(path).is_file()), None)


def backend() -> str:
    """'fluidsynth' when the fluidsynth program and a soundfont are installed, else 'plain' (a
    ``$MUSICSTYLE_SOUNDFONT`` that names no file is an error either way)."""
    return "fluidsynth" if soundfont() and shutil.which("fluidsynth") else "plain"


def render(midi: str | Path | bytes, seconds: float | None = None, sample_rate: int = SAMPLE_RATE,
           start: float = 0.0) -> np.ndarray:
    """Audio of a MIDI file: FluidSynth where installed, else the plain synthesizer.

    A fixed gain, never normalised: a piece played louder sounds louder (transfer changes loudness).

    Args:
        midi: a path, MIDI bytes or a :class:`Performance`.
        seconds: cut to this length (None: to the end of the piece).
        sample_rate: samples per second.
        start: where the audio begins, in seconds from the file's start (the pedals pressed before it are kept).

    Returns:
        float32 mono samples in -1..1. Raises :class:`MusicstyleError` naming the piece when the audio asked for
        is longer than :data:`MAX_RENDER_SECONDS`.
    """
    perf = midi if isinstance(midi, Performance) else read_midi(midi)
    start = max(0.0, float(start))
    length = perf.duration_s - start if seconds is None else min(seconds, perf.duration_s - start)
    if start + length > MAX_RENDER_SECONDS:
        raise MusicstyleError(perf.name or "the piece", f"{start + length:,.0f} s of audio is more than a render makes "
                              f"({MAX_RENDER_SECONDS:,} s): ask for an excerpt (--seconds)")
    end = None if seconds is None else start + seconds
    if backend() == "fluidsynth":
        # FluidSynth plays a file: only the excerpt (a long piece takes it many seconds), and a Performance as
        # it is now (it may have been edited, or read from bytes), not the file it was read from
        if end is not None or start or isinstance(midi, Performance):
            midi = excerpt(perf, end if end is not None else perf.duration_s + 1.0)
        audio = _fluidsynth(midi, sample_rate)
    else:
        audio = synthesize(perf, sample_rate, end)
    audio = audio[int(start * sample_rate):]
    if seconds is not None:
        audio = audio[: int(seconds * sample_rate)]
    return np.clip(audio, -1.0, 1.0)


def excerpt(perf: Performance, seconds: float) -> bytes:
    """The first ``seconds`` of a performance as a MIDI file on a plain clock (1 ms ticks, piano program).

    What the FluidSynth renderer plays (notebook 01): the whole of a long piece takes it many seconds.

    Notes that sound past the cut are released just after it; the pedals are kept.

    Args:
        perf: the performance.
        seconds: length of the excerpt.

    Returns:
        MIDI bytes.
    """
    def tick(ticks):  # 120 qpm at 500 ticks per quarter: one tick is a millisecond
        return np.rint(np.minimum(perf.seconds(ticks), seconds + 0.5) * 1000).astype(int)

    keep = perf.seconds(perf.notes["start"]) < seconds
    notes = perf.notes[keep]
    events = [(s, 2, (0x90, p, max(1, v))) for s, p, v in zip(tick(notes["start"]), notes["pitch"], notes["velocity"])]
    events += [(e, 1, (0x80, p, 0)) for e, p in zip(tick(notes["end"]), notes["pitch"])]
    controls = perf.controls[perf.seconds(perf.controls["tick"]) < seconds] if len(perf.controls) else perf.controls
    events += [(t, 0, (0xB0, n, v)) for t, n, v in zip(tick(controls["tick"]), controls["number"], controls["value"])]
    return write_events([(int(t), o, bytes(int(b) for b in data)) for t, o, data in events], 500)


def _fluidsynth(midi, sample_rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.mid"
        if isinstance(midi, (bytes, bytearray)):
            src.write_bytes(midi)
        else:
            shutil.copyfile(midi, src)
        out = Path(tmp) / "out.wav"
        try:
            subprocess.run(
                ["fluidsynth", "-ni", "-q", "-g", "1.5", "-r", str(sample_rate), "-F", str(out), soundfont(), str(src)],
                check=True, capture_output=True, timeout=600,
            )
        except subprocess.TimeoutExpired:
            raise MusicstyleError("fluidsynth", "took over 600 s to render (ask for an excerpt: --seconds)") from None
        except subprocess.CalledProcessError as err:
            said = (err.stderr or b"").decode(errors="replace").strip().splitlines()
            raise MusicstyleError("fluidsynth", f"failed (exit {err.returncode}): {said[-1] if said else 'no message'}") from None
        return read_wav(out)[0]


def synthesize(perf: Performance, sample_rate: int = SAMPLE_RATE, seconds: float | None = None) -> np.ndarray:
    """A plain piano-like synthesizer: a few decaying harmonics per note, loudness from velocity.

    Args:
        perf: the performance.
        sample_rate: samples per second.
        seconds: render only the notes that start before this time (None: all).

    Returns:
        float32 mono samples (not clipped).
    """
    starts = perf.seconds(perf.notes["start"])
    ends = perf.seconds(perf.notes["end"])
    keep = starts < seconds if seconds is not None else np.ones(len(starts), bool)
    total = (np.minimum(ends, starts + 4.0)[keep].max() if keep.any() else 0.0) + 1.0  # a note sounds 4.3 s at most
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
    """Write mono float audio as 16-bit PCM WAV.

    Args:
        path: a file path or a binary file object.
        audio: float samples in -1..1 (clipped).
        sample_rate: samples per second.

    Returns:
        ``path``.
    """
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


def ogg_bytes(audio: np.ndarray, sample_rate: int = PLAYER_RATE) -> bytes:
    """Mono float audio as Ogg/Opus bytes (about 5 kB a second), through libsndfile (``soundfile``).

    Taught in ``notebooks/01_data_exploration.ipynb``.

    Args:
        audio: float samples in -1..1.
        sample_rate: 8000, 12000, 16000, 24000 or 48000.

    Returns:
        The Ogg file's bytes.
    """
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(audio, -1, 1).astype(np.float32), sample_rate, format="OGG", subtype="OPUS")
    return buffer.getvalue()


class Player:
    """An audio player that plays in a notebook, also a saved notebook opened untrusted.

    Displays as ``<audio controls src="data:audio/ogg;base64,...">``; ``data`` holds the Ogg/Opus bytes.
    """

    def __init__(self, data: bytes, seconds: float, label: str = ""):
        self.data, self.seconds, self.label = data, seconds, label

    def _repr_html_(self) -> str:
        encoded = base64.b64encode(self.data).decode("ascii")
        title = f' title="{html.escape(self.label, quote=True)}"' if self.label else ""
        return f'<audio controls preload="auto"{title} src="data:audio/ogg;base64,{encoded}"></audio>'

    def __repr__(self) -> str:
        return f"<audio player: {self.seconds:.1f} s, {len(self.data) // 1024} kB Ogg/Opus{', ' + self.label if self.label else ''}>"


def player(midi, seconds: float | None = 30.0, label: str = "") -> Player:
    """A notebook audio player for a MIDI file (path, bytes or Performance), compressed (Ogg/Opus).

    Taught in ``notebooks/01_data_exploration.ipynb``.

    Args:
        midi: a path, MIDI bytes or a :class:`Performance`.
        seconds: length of the excerpt from the start (None: the whole piece).
        label: shown as the player's tooltip.

    Returns:
        A :class:`Player` (a notebook cell displays it).
    """
    audio = render(midi, seconds, sample_rate=PLAYER_RATE)
    return Player(ogg_bytes(audio), len(audio) / PLAYER_RATE, label)

"""``musicstyle explore``: a piece's heat maps (the paper's Figure III.1) and an audio excerpt, as files.

Taught in ``notebooks/01_data_exploration.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from ..core import audio
from ..core.midi import read_midi
from ..core.outputs import output_file
from ..core.roll import PAPER, piano_roll
from ..errors import MusicstyleError
from .rolls import roll_figure


def first_onset_step(roll) -> int:
    """The first grid step where a key is struck (where a readable excerpt starts)."""
    return int(roll.onset[:, : roll.layout.keys].any(axis=1).argmax())


def explore(path: str | Path | None, out: str | Path = "out", seconds: float = 30.0) -> dict:
    """Write ``NAME_roll.png`` (chords, velocity and onsets of 512 steps) and ``NAME.wav`` into ``out``.

    Args:
        path: a MIDI file (None: the bundled default piece).
        out: output folder (created).
        seconds: length of the audio excerpt.

    Returns:
        ``{"plot": png path, "wav": wav path, "audio_backend": "fluidsynth" or "plain"}``. Both
        outputs are checked before any work (:func:`musicstyle.core.outputs.output_file`): never over
        the input, never through a file where a folder should be; both are made before either is written.
    """
    import matplotlib

    if seconds <= 0:
        raise MusicstyleError("--seconds", f"must be > 0 (got {seconds:g})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MusicstyleError(out, "is a file: give a folder to write into")
    matplotlib.use("Agg")
    if path is None:
        from ..data.examples import default_piece

        path = default_piece()
    perf = read_midi(path)
    png = output_file(out / f"{perf.name}_roll.png", (".png",), "figures", inputs=(path,))
    wav = output_file(out / f"{perf.name}.wav", (".wav",), "audio", inputs=(path,))
    roll = piano_roll(perf, PAPER)
    start = first_onset_step(roll)
    fig = roll_figure(roll, f"{perf.name}: steps {start}-{start + 512}", start=start)
    sound = audio.render(path, seconds)  # made before any file is written: one that fails leaves none behind
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    wav = audio.write_wav(wav, sound)
    return {"plot": str(png), "wav": str(wav), "audio_backend": audio.backend()}  # named as transfer names them

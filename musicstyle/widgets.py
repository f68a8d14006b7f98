"""The style-transfer widget: pick or upload a piece, pick a genre, press a button, see and hear.

Taught in ``notebooks/07_style_transfer_widget.ipynb`` (and shown at the end of 02 and 04).
Works with the shipped pretrained models only: no training, and no dataset needed (the bundled
default piece or an upload is enough). Errors appear in the widget as one message, never as a
traceback, and the widget stays usable.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import MusicstyleError

GENRES = ("classical", "jazz")
AUDIO_SECONDS = 30.0


@dataclass
class Result:
    """What one run produced: the new MIDI bytes and the verdicts before and after."""

    name: str
    midi: bytes
    verdict_before: dict
    verdict_after: dict


def _velocity_transfer(data: bytes, name: str, target: str) -> bytes:
    """The target genre's velocity model re-strikes every note (see :mod:`musicstyle.velocity`)."""
    from . import velocity

    model, meta = velocity.load(target)  # loaded once per genre, then kept
    return velocity.transfer_bytes(model, data, name, meta)


def _inspired(data: bytes, name: str, target: str) -> bytes:
    """New music of the target genre started from the piece's style vector (see :mod:`musicstyle.chords`)."""
    from . import chords

    return chords.inspired_bytes(data, name, target, seconds=AUDIO_SECONDS)


def _dynamics_verdict(data: bytes) -> dict:
    """P(genre) of a piece's dynamics alone, by the shipped discriminators' ensemble (see :mod:`musicstyle.dynamics`)."""
    from . import dynamics

    return dynamics.verdict(data)


def _classifier_verdict(data: bytes) -> dict:
    """P(genre) of a piece's notes, by the shipped keys-only classifier (see :mod:`musicstyle.classifier`)."""
    from . import classifier

    verdict = classifier.verdict(data)
    return {genre: verdict[genre] for genre in GENRES}


#: Modes of the widget: label -> function(midi bytes, name, target genre) -> new MIDI bytes.
MODES: dict[str, Callable[[bytes, str, str], bytes]] = {
    "velocity transfer": _velocity_transfer,
    "inspired generation": _inspired,
}
#: The judge of each mode's before/after verdict: label -> (judge's name, function(midi bytes) -> {genre: p}).
#: Velocity transfer keeps the notes, so only a judge of dynamics can see it move.
VERDICTS: dict[str, tuple[str, Callable[[bytes], dict]]] = {
    "velocity transfer": ("dynamics discriminator", _dynamics_verdict),
    "inspired generation": ("genre classifier", _classifier_verdict),
}


def dataset_pieces(limit_per_genre: int | None = None) -> dict[str, Path]:
    """Pieces to pick from: 'genre/name' -> path for TPD where it is found, plus the default piece."""
    from .data import GENRES as TPD_GENRES
    from .data import find, midi_files
    from .data.examples import default_piece

    pieces = {"default/Maple Leaf Rag (Joplin)": default_piece()}
    folder = find("tpd")
    if folder is not None:
        for genre in TPD_GENRES:
            files = [p for _, p in midi_files(folder, (genre,))][:limit_per_genre]
            pieces.update({f"{genre}/{p.stem}": p for p in files})
    return pieces


def wav_bytes(midi: bytes, seconds: float = AUDIO_SECONDS) -> bytes:
    """WAV bytes of the first ``seconds`` of a MIDI file (see :mod:`musicstyle.audio`)."""
    from .core import audio

    buffer = io.BytesIO()
    audio.write_wav(buffer, audio.render(midi, seconds))
    return buffer.getvalue()


def download_link(data: bytes, filename: str) -> str:
    """An HTML link that saves ``data`` as ``filename`` from the browser."""
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    return f'<a download="{name}" href="data:audio/midi;base64,{encoded}">⬇ download {html.escape(filename)}</a>'


class StyleTransferWidget:
    """Piece picker with search, MIDI upload, target genre, mode, run button; before/after output."""

    def __init__(self, pieces: dict[str, Path] | None = None, verdict: Callable[[bytes], dict] | None = None):
        import ipywidgets as w

        self.pieces = pieces if pieces is not None else dataset_pieces()
        self.verdict = verdict  # one judge for every mode (tests), else VERDICTS per mode
        self.result: Result | None = None
        self.last_figure = None  # the heat maps of the last run (matplotlib Figure)
        self.search = w.Text(placeholder="search by name", description="piece")
        self.picker = w.Select(options=list(self.pieces), value=next(iter(self.pieces), None), rows=8, layout=w.Layout(width="420px"))
        self.upload = w.FileUpload(accept=".mid,.midi", multiple=False, description="or upload MIDI")
        self.target = w.ToggleButtons(options=list(GENRES), description="to")
        self.mode = w.Dropdown(options=list(MODES), description="mode")
        self.button = w.Button(description="Transfer", button_style="primary", icon="play")
        self.progress = w.IntProgress(min=0, max=4, value=0, description="", layout=w.Layout(width="200px"))
        self.message = w.HTML()
        self.figure = w.Output()
        self.audio_before = w.Audio(format="wav", autoplay=False, loop=False)
        self.audio_after = w.Audio(format="wav", autoplay=False, loop=False)
        self.verdicts = w.HTML()
        self.download = w.HTML()
        self.search.observe(self._filter, names="value")
        self.button.on_click(self._run)
        self.players = w.HBox([
            w.VBox([w.HTML("<b>before</b>"), self.audio_before]),
            w.VBox([w.HTML("<b>after</b>"), self.audio_after]),
        ])
        self.players.layout.display = "none"
        self.ui = w.VBox([
            w.HBox([w.VBox([self.search, self.picker]), w.VBox([self.upload, self.target, self.mode, w.HBox([self.button, self.progress])])]),
            self.message, self.verdicts, self.players, self.download, self.figure,
        ])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.ui)

    def _filter(self, change) -> None:
        words = change["new"].lower().split()
        self.picker.options = [name for name in self.pieces if all(word in name.lower() for word in words)]

    def _source(self) -> tuple[bytes, str]:
        if self.upload.value:
            item = self.upload.value[0]
            return bytes(item["content"]), item["name"]
        if not self.picker.value:
            raise MusicstyleError("piece", "pick a piece or upload a MIDI file")
        path = self.pieces[self.picker.value]
        return Path(path).read_bytes(), Path(path).name

    def _run(self, _button=None) -> None:
        self.message.value = ""
        self.button.disabled = True
        self.progress.value = 0
        try:
            data, name = self._source()
            from .core.midi import read_midi

            read_midi(data, name=name)  # a clear error for a bad file before any model work
            self.progress.value = 1
            target = self.target.value
            new = MODES[self.mode.value](data, name, target)
            self.progress.value = 2
            self._show_figure(data, new, name, target)
            self.audio_before.value = wav_bytes(data)
            self.audio_after.value = wav_bytes(new)
            self.players.layout.display = "flex"
            self.progress.value = 3
            judge_name, judge = ("given judge", self.verdict) if self.verdict else VERDICTS[self.mode.value]
            before, after = judge(data), judge(new)
            self.verdicts.value = _verdict_html(before, after, target, judge_name)
            stem = Path(name).stem
            kind = "to" if self.mode.value == "velocity transfer" else self.mode.value.split()[0]
            self.download.value = download_link(new, f"{stem}_{kind}_{target}.mid")
            self.result = Result(name, new, before, after)
            self.progress.value = 4
        except MusicstyleError as err:
            self.message.value = f'<span style="color:#b00">error: {html.escape(str(err))}</span>'
            self.progress.value = 0
        except Exception as err:  # the widget must stay usable whatever happens
            self.message.value = f'<span style="color:#b00">error: {html.escape(type(err).__name__)}: {html.escape(str(err))}</span>'
            self.progress.value = 0
        finally:
            self.upload.value = ()
            self.button.disabled = False

    def _show_figure(self, data: bytes, new: bytes, name: str, target: str) -> None:
        import matplotlib.pyplot as plt

        from .figures import rolls as plot
        from .core.midi import read_midi
        from .core.roll import PAPER, piano_roll

        def from_first_note(midi: bytes):
            roll = piano_roll(read_midi(midi, name=name), PAPER)
            return roll.velocity[int(roll.onset[:, : PAPER.keys].any(axis=1).argmax()):]

        titles = ("original velocity", f"{target} velocity")
        fig = plot.compare_velocity(from_first_note(data), from_first_note(new), PAPER, titles)
        # the PNG goes straight into the Output widget's state: no kernel messages, so it also
        # works when the widget is driven from code and never shown
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=80)
        plt.close(fig)
        self.figure.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(png.getvalue()).decode("ascii"), "text/plain": "velocity heat maps"},
            "metadata": {},
        },)
        self.last_figure = fig


def _verdict_html(before: dict, after: dict, target: str, judge: str) -> str:
    def fmt(v: dict) -> str:
        return ", ".join(f"{k} {p:.0%}" for k, p in v.items())

    return (f"<b>verdict</b> of the {html.escape(judge)}: before: {fmt(before)} &nbsp;→&nbsp; "
            f"after: {fmt(after)} (target: {target})")


def show(pieces: dict[str, Path] | None = None) -> StyleTransferWidget:
    """Build the widget and return it (a notebook cell displays it): ``musicstyle.widgets.show()``."""
    return StyleTransferWidget(pieces)

"""The widget itself: source (picked or uploaded), target, mode, seed, route, button; one result area (notebook 07).

The result area only ever shows the last run's result: pressing the button hides it in its place (the page
does not jump) until the new result, or an error, replaces all of it. A setting changed after a run marks the result as that of other settings.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.inputs import input_file
from ..errors import MusicstyleError
from . import judges
from .judges import AUDIO_SECONDS, GENRES

ALL = "all"
#: Width of the widget's figures in inches: narrow enough that their text stays legible beside JupyterLab's file browser.
FIGURE_WIDTH = 9.5
#: Modes already run in this kernel: the first run of a mode loads its models (a few seconds).
_WARM: set[str] = set()


@dataclass
class Result:
    """What one run produced: the new MIDI bytes and the verdicts before and after."""

    name: str
    midi: bytes
    verdict_before: dict
    verdict_after: dict
    settings: tuple = ()  # the widget's settings it was made with (see StyleTransferWidget.settings)


def wav_bytes(midi, seconds: float = AUDIO_SECONDS) -> bytes:
    """WAV bytes of ``seconds`` of a piece from its first note, for the widget's players.

    The figure's panels also start at the first note, so a piece that begins after a silence is heard
    where it is seen. Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        midi: MIDI bytes or a :class:`~musicstyle.core.midi.Performance`.
        seconds: length from the first note.

    Returns:
        The WAV file's bytes (see :mod:`musicstyle.core.audio`).
    """
    from ..core import audio
    from ..core.midi import as_performance

    perf = as_performance(midi)
    first = float(perf.seconds(perf.notes["start"]).min()) if len(perf.notes) else 0.0
    buffer = io.BytesIO()
    audio.write_wav(buffer, audio.render(perf, seconds, start=first))
    return buffer.getvalue()


def download_link(data: bytes, filename: str) -> str:
    """An HTML link that saves ``data`` as ``filename`` from the browser.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        data: the file's bytes.
        filename: the name the browser saves it under.

    Returns:
        HTML of the link.
    """
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    return f'<a download="{name}" href="data:audio/midi;base64,{encoded}">⬇ download {html.escape(filename)}</a>'


def _error(text: str) -> str:
    return f'<span style="color:#b00">error: {html.escape(text)}</span>'


class StyleTransferWidget:
    """Piece picker (genre filter, search), MIDI upload, target genre, mode, seed, route, run button; one result area.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        pieces: 'genre/name' -> MIDI path (None: :func:`~musicstyle.widgets.dataset_pieces`).
        verdict: one judge for every mode (tests), else :data:`~musicstyle.widgets.VERDICTS` per mode.
        velocity_models: genre -> a velocity model file of one's own that velocity transfer to that genre uses
            (``musicstyle train velocity``; the others: the shipped models).
        judge: a relations judge file of one's own (``musicstyle train dynamics``) for velocity transfer's verdicts.
    """

    def __init__(self, pieces: dict[str, Path] | None = None, verdict: Callable[[bytes], dict] | None = None,
                 velocity_models: dict | None = None, judge=None):
        import ipywidgets as w

        from .pieces import dataset_pieces

        self.pieces = pieces if pieces is not None else dataset_pieces()
        self.verdict = verdict
        self.velocity_models, self.judge = dict(velocity_models or {}), judge
        if unknown := set(self.velocity_models) - set(GENRES):
            raise MusicstyleError("velocity_models", f"genres are {', '.join(GENRES)}, not {', '.join(sorted(unknown))}")
        self.result: Result | None = None
        self.last_figure = None  # the before/after figure of the last run (matplotlib Figure)
        self.last_stretches = None  # the judge's verdict by stretch of the last velocity transfer (Figure)
        self._picked = next(iter(self.pieces), None)  # the list's choice, kept while an upload is used
        self._quiet = False
        genres = [ALL] + sorted({name.split("/")[0] for name in self.pieces if "/" in name} & set(GENRES))
        self.genre = w.ToggleButtons(options=genres, value=ALL, description="show", style={"button_width": "80px"})
        self.search = w.Text(placeholder="search by title, performer or file name", description="search", layout=w.Layout(width="98%"))
        self.picker = w.Select(options=list(self.pieces), value=self._picked, rows=9, layout=w.Layout(width="98%"))
        self.count = w.HTML()
        self.upload = w.FileUpload(accept=".mid,.midi", multiple=False, description="upload MIDI", icon="upload",
                                   tooltip="use a MIDI file of your own instead of the picked piece", layout=w.Layout(width="170px"))
        self.clear_upload = w.Button(description="clear upload", icon="times", tooltip="go back to the piece picked in the list",
                                     layout=w.Layout(width="130px", display="none"))
        self.source = w.HTML()
        self.target = w.ToggleButtons(options=list(GENRES), description="to")
        self.mode = w.Dropdown(options=list(judges.MODES), description="mode")
        self.route = w.Dropdown(options=list(judges.ROUTES.items()), value="texture", description="route",
                                tooltip="how velocity transfer writes the velocities (notebook 02)")
        self.seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed", layout=w.Layout(width="180px"),
                                     tooltip="another seed, another draw: the texture or sampled route, or the generated music")
        self.hint = w.HTML(layout=w.Layout(width="98%"))
        self.button = w.Button(description="Transfer", button_style="primary", icon="play")
        self.progress = w.IntProgress(min=0, max=4, value=0, description="", layout=w.Layout(width="200px"))
        self.stale = w.HTML()  # above a result whose settings are no longer the widget's
        self.status = w.HTML()
        self.message = w.HTML()
        self.caption = w.HTML()  # which source, target and mode the result shown belongs to
        self.verdicts = w.HTML()
        self.audio_before = w.Audio(format="wav", autoplay=False, loop=False)
        self.audio_after = w.Audio(format="wav", autoplay=False, loop=False)
        heard = f"<small>({AUDIO_SECONDS:.0f} s from its first note)</small>"
        self.players = w.HBox([w.VBox([w.HTML(f"<b>before</b> {heard}"), self.audio_before]),
                               w.VBox([w.HTML(f"<b>after</b> {heard}"), self.audio_after])])
        self.download = w.HTML()
        self.figure = w.Output()
        self.results = w.VBox()  # the one result area: empty, the last result, or one error
        self.genre.observe(self._filter, names="value")
        self.search.observe(self._filter, names="value")
        self.picker.observe(self._pick, names="value")
        self.upload.observe(self._uploaded, names="value")
        self.clear_upload.on_click(self._clear_upload)
        for control in (self.target, self.mode, self.route, self.seed):
            control.observe(self._update_source, names="value")
        self.button.on_click(self._run)
        self._filter()
        # two columns of fixed shares: a long hint wraps inside its column instead of pushing the list aside
        self.ui = w.VBox([
            w.HBox([w.VBox([self.genre, self.search, self.picker, self.count], layout=w.Layout(width="46%")),
                    w.VBox([w.HBox([self.upload, self.clear_upload]), self.source, self.target, self.mode,
                            w.HBox([self.route, self.seed]), self.hint, w.HBox([self.button, self.progress]), self.status],
                           layout=w.Layout(width="54%"))]),
            self.results,
        ])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.ui)

    def _filter(self, _change=None) -> None:
        words = self.search.value.lower().split()
        genre = self.genre.value
        shown = [name for name in self.pieces
                 if (genre == ALL or name.startswith(f"{genre}/") or "/" not in name or name.startswith("default/"))
                 and all(word in name.lower() for word in words)]
        self._quiet = True  # new options select a piece by themselves: that is no user's pick
        self.picker.options = shown
        self.picker.value = self._picked if self._picked in shown and not self.upload.value else None
        self._quiet = False
        self.count.value = f"<small>{len(shown)} of {len(self.pieces)} pieces</small>"
        self._update_source()

    def _pick(self, change) -> None:
        if change["new"] is not None and not self._quiet:
            self._picked = change["new"]
            if self.upload.value:  # choosing from the list drops the upload
                self.upload.value = ()
        self._update_source()

    def _uploaded(self, change) -> None:
        self._quiet = True
        if change["new"]:
            self.picker.value = None  # the list no longer highlights a piece that will not be used
        elif self._picked in self.picker.options:
            self.picker.value = self._picked
        self._quiet = False
        self.clear_upload.layout.display = "" if change["new"] else "none"
        self._update_source()

    def _clear_upload(self, _button=None) -> None:
        self.upload.value = ()

    def settings(self) -> tuple:
        """What a run would use now: source (the piece's name), target, mode, where they count route and seed, and
        the upload's size and time (another file uploaded under the same name is another source)."""
        upload = self.upload.value[0] if self.upload.value else None
        source = upload["name"] if upload else self._picked
        transfer = self.mode.value not in judges.GENERATES
        route = self.route.value if transfer else None
        uploaded = (upload.get("size"), str(upload.get("last_modified"))) if upload else None
        return (source, self.target.value, self.mode.value, route, None if route == "mean" else self.seed.value, uploaded)

    def _update_source(self, _change=None) -> None:
        """The source line, the controls and hint of the mode, and whether the result shown is of these settings."""
        transfer = self.mode.value not in judges.GENERATES
        self.route.layout.display = "" if transfer else "none"  # generation has no route: its seed draws the music
        self.button.description = "Transfer" if transfer else "Generate"
        if self.upload.value:
            self.source.value = f"<b>source</b> uploaded: {html.escape(self.upload.value[0]['name'])}"
            genre = None
        elif self._picked:
            hidden = "" if self._picked in self.picker.options else " <small>(hidden by the list's filter)</small>"
            self.source.value = f"<b>source</b> picked: {html.escape(self._picked)}{hidden}"
            genre = self._picked.split("/")[0]
        else:
            self.source.value = "<b>source</b>: pick a piece or upload a MIDI file"
            genre = None
        self.hint.value = (f"<small>hint: the source is already {html.escape(genre)}: its own genre's model gives a "
                           "control, not a change; pick the other genre to hear a transfer</small>"
                           ) if transfer and genre == self.target.value else ""
        self._mark_stale()

    def _mark_stale(self) -> None:
        """Say above the result when the settings are no longer those it was made with (and empty the bar)."""
        if self.result is None or self.results.children[:1] == (self.message,):
            return
        changed = self.result.settings != self.settings()
        self.stale.value = ('<span style="color:#b45309"><b>settings changed</b> since this result: press '
                            f'{html.escape(self.button.description)} to run them</span>') if changed else ""
        shown = tuple(c for c in self.results.children if c is not self.stale)
        self.results.children = ((self.stale,) if changed else ()) + shown
        self.progress.value, self.progress.bar_style = (0, "") if changed else (self.progress.max, "success")

    def _source(self) -> tuple[bytes, str]:
        if self.upload.value:
            item = self.upload.value[0]
            return bytes(item["content"]), item["name"]
        if not self._picked:
            raise MusicstyleError("piece", "pick a piece or upload a MIDI file")
        path = input_file(self.pieces[self._picked])  # a file moved or deleted since the list was made: named
        return path.read_bytes(), path.name

    def _run(self, _button=None) -> None:
        # the previous result goes at once but keeps its place, so the page below does not jump
        self.results.layout.visibility = "hidden"
        self.result = self.last_stretches = None
        self.button.disabled = True
        self.progress.value, self.progress.bar_style = 0, ""
        settings = self.settings()
        mode = self.mode.value
        self.status.value = "loading models (first time only) and running…" if mode not in _WARM else "running…"
        try:
            data, name = self._source()
            from ..core.midi import read_midi

            before_perf = read_midi(data, name=name)  # a clear error for a bad file before any model work
            self.progress.value = 1
            target = self.target.value
            own = self.velocity_models.get(target) if mode not in judges.GENERATES else None
            chosen = {"seed": self.seed.value, "route": self.route.value, **({"model_file": own} if own else {})}
            new = judges.MODES[mode](data, name, target, **chosen)
            _WARM.add(mode)
            self.status.value = "rendering audio and judging…"
            self.progress.value = 2
            after_perf = read_midi(new, name=name)
            self._show_figure(before_perf, after_perf, target, mode)
            self.audio_before.value = wav_bytes(before_perf)
            self.audio_after.value = wav_bytes(after_perf)
            self.progress.value = 3
            judge_name, judge = ("given judge", self.verdict) if self.verdict else judges.judge_of(mode, self.judge)
            before, after = judge(data), judge(new)
            note = "" if self.verdict else judges.caution(mode, before_perf)
            self.verdicts.value = judges.verdict_html(before, after, target, judge_name, note)
            if rows := ({} if self.verdict else judges.stretches(mode, before_perf, after_perf, target, self.judge)):
                self._show_stretches(rows)
            kind = "to" if mode == "velocity transfer" else mode.split()[0]
            self.download.value = download_link(new, f"{Path(name).stem}_{kind}_{target}.mid")
            self.result = Result(name, new, before, after, settings)
            self.message.value = ""
            source, _, _, route, seed, _ = settings  # as the run began: a setting changed since is marked, not shown
            how = "".join(f", {k} {v}" for k, v in (("route", route), ("model", own and Path(own).name), ("seed", seed))
                          if v is not None and v != "")
            self.caption.value = (f"<b>result of:</b> {html.escape(source)} → {html.escape(target)} "
                                  f"({html.escape(mode)}{html.escape(how)})")
            self.results.children = (self.caption, self.verdicts, self.players, self.download, self.figure)
            self.progress.value, self.progress.bar_style = self.progress.max, "success"
            self._mark_stale()  # a setting changed while it ran
        except Exception as err:  # the widget must stay usable whatever happens
            text = str(err) if isinstance(err, MusicstyleError) else f"{type(err).__name__}: {err}"
            if self.upload.value:
                self.upload.value = ()  # a failed upload is dropped: the list's piece is the source again
                text += " (upload cleared)"
            self.message.value = _error(text)
            self.results.children = (self.message,)
            self.progress.value = 0
        finally:
            if self.result is None and self.results.children[:1] != (self.message,):
                self.results.children = ()  # interrupted: what was hidden is partly overwritten, so it goes
            self.results.layout.visibility = "visible"
            self.status.value = ""
            self.button.disabled = False

    def _show_figure(self, before, after, target: str, mode: str) -> None:
        from ..core.midi import same_notes
        from ..figures.rolls import before_after

        kept = same_notes(before, after)  # only velocities changed
        titles = ("original", f"to {target} ({mode})" if kept else f"new {target} music ({mode})")
        fig = before_after(before, after, titles, same_notes=kept, width=FIGURE_WIDTH)
        self.figure.outputs = (_png_output(fig, "before/after figure"),)
        self.last_figure = fig

    def _show_stretches(self, rows: dict) -> None:
        """The judge's verdict stretch by stretch, before and after, under the before/after figure."""
        import matplotlib.pyplot as plt

        from ..figures.dynamics import plot_stretches

        fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 2.8), layout="constrained")  # room for the legend beside it
        plot_stretches(rows, ax=ax)
        ax.set_title("where the dynamics judge hears each genre, stretch by stretch", fontsize=10)
        self.figure.outputs = (*self.figure.outputs, _png_output(fig, "verdict by stretch"))
        self.last_stretches = fig


def _png_output(fig, text: str) -> dict:
    """A figure as an Output widget's display data, closed: the PNG goes straight into the widget's state
    (no kernel messages, so it also works when the widget is driven from code and never shown)."""
    import matplotlib.pyplot as plt

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png.getvalue()).decode("ascii"), "text/plain": text}}


def show(pieces: dict[str, Path] | None = None) -> StyleTransferWidget:
    """Build the widget and return it (a notebook cell displays it): ``musicstyle.widgets.show()``.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        pieces: 'genre/name' -> MIDI path (None: the default piece and TPD where found).

    Returns:
        The widget.
    """
    return StyleTransferWidget(pieces)

"""What the widget runs: each mode's model and the judge of its before/after verdict (notebook 07)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

GENRES = ("classical", "jazz")
AUDIO_SECONDS = 30.0
#: Velocity transfer's routes as the widget offers them: label -> :data:`musicstyle.velocity.ROUTES` name.
ROUTES = {
    "mean + the genre's texture": "texture",
    "the model's mean alone": "mean",
    "sampled along the notes": "sampled",
}


def _velocity_transfer(data: bytes, name: str, target: str, seed: int = 0, route: str = "texture",
                       model_file=None) -> bytes:
    """The target genre's velocity model (shipped, or ``model_file``) re-strikes every note (see :mod:`musicstyle.velocity`)."""
    from .. import velocity
    from ..errors import MusicstyleError

    # each loaded once, then kept (a file of one's own until it is written again)
    model, meta = velocity.load(target) if model_file is None else velocity.load_file(model_file, keep=True)
    if meta.get("genre") != target:
        raise MusicstyleError(model_file, f"holds a {meta.get('genre')} velocity model, given for {target}")
    return velocity.transfer_bytes(model, data, name, meta, seed=seed, route=route)


def _inspired(data: bytes, name: str, target: str, seed: int = 0, route: str = "texture", model_file=None) -> bytes:
    """New music of the target genre started from the piece's style vector (see :mod:`musicstyle.chords`);
    ``route`` and ``model_file`` are velocity transfer's and not used here."""
    from .. import chords

    return chords.inspired_bytes(data, name, target, seconds=AUDIO_SECONDS, seed=seed)


def _dynamics_verdict(data: bytes, judge=None) -> dict:
    """P(classical), P(jazz), P(unrelated) of a piece's dynamics, by the trusted judge (shipped, or the relations judge
    file ``judge``; see :mod:`musicstyle.dynamics`)."""
    from .. import dynamics

    return dynamics.verdict(data, judge)


def _classifier_verdict(data: bytes) -> dict:
    """P(genre) of a piece's notes, by the shipped keys-only classifier (see :mod:`musicstyle.classifier`)."""
    from .. import classifier

    verdict = classifier.verdict(data)
    return {genre: verdict[genre] for genre in GENRES}


#: Modes of the widget: label -> function(midi bytes, name, target genre, seed=, route=, model_file=) -> new MIDI bytes.
MODES: dict[str, Callable[[bytes, str, str], bytes]] = {
    "velocity transfer": _velocity_transfer,
    "inspired generation": _inspired,
}
#: Modes that write new music rather than re-strike the source's notes (a seed, no route; "Generate").
GENERATES = frozenset({"inspired generation"})
#: The judge of each mode's before/after verdict: label -> (judge's name, function(midi bytes) -> {genre: p}).
#: Velocity transfer keeps the notes, so only a judge of dynamics can see it move.
VERDICTS: dict[str, tuple[str, Callable[[bytes], dict]]] = {
    "velocity transfer": ("dynamics discriminator", _dynamics_verdict),
    "inspired generation": ("genre classifier", _classifier_verdict),
}
#: What each judge looks at, in words, and the notebook that explains it (judge's name -> (words, notebook)).
JUDGES: dict[str, tuple[str, str]] = {
    "dynamics discriminator": ("hears how hard each note is struck relative to the notes it is played on (top or "
                               "inner voice, chord size, length, place in the phrase), not which notes are played; "
                               "'unrelated' means velocities that do not follow the notes", "02b_did_the_style_move.ipynb"),
    "genre classifier": ("hears the keys: which are played, when, how long and how hard (not the pedal)",
                         "03_genre_classifier.ipynb"),
}


def caution(mode: str, perf) -> str:
    """What to say beside a mode's verdicts on a source piece (a Performance; '' when its judge needs no caution)."""
    if mode == "velocity transfer":
        from .. import dynamics

        return dynamics.caution(perf) or ""
    if mode == "inspired generation":
        from .. import classifier

        return classifier.caution(perf, classifier.load()[1]) or ""
    return ""


def judge_of(mode: str, judge_file=None) -> tuple[str, Callable[[bytes], dict]]:
    """A mode's judge (:data:`VERDICTS`), with a relations judge file of one's own for velocity transfer."""
    name, judge = VERDICTS[mode]
    if judge_file is None or judge is not _dynamics_verdict:
        return name, judge
    # named by its file: the shipped judge's description (JUDGES) is not said of it
    return f"{name} ({Path(judge_file).name})", lambda data: _dynamics_verdict(data, judge_file)


def stretches(mode: str, before, after, target: str, judge_file=None) -> dict:
    """The trusted judge's verdict on each stretch of the source and the result (see
    :func:`musicstyle.dynamics.stretch_probabilities`), for velocity transfer ({} for other modes)."""
    if mode != "velocity transfer":
        return {}
    from .. import dynamics

    judge, meta = dynamics.relations_judge(judge_file)
    return {"original": dynamics.stretch_probabilities(judge, meta, before),
            f"to {target}": dynamics.stretch_probabilities(judge, meta, after)}


def verdict_html(before: dict, after: dict, target: str, judge: str, note: str = "") -> str:
    """The verdict line: the judge's P(genre) before and after, what the judge looks at, a link to its notebook.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        before: ``{genre: probability}`` of the source.
        after: the same of the result.
        target: the genre aimed at.
        judge: the judge's name (a key of :data:`JUDGES` for the explanation).
        note: a caution shown under the verdict (see :func:`caution`).

    Returns:
        HTML.
    """
    def fmt(v: dict) -> str:
        return ", ".join(f"{k} {p:.0%}" for k, p in v.items())

    line = (f"<b>verdict</b> of the {html.escape(judge)}: before: {fmt(before)} &nbsp;→&nbsp; "
            f"after: {fmt(after)} (target: {html.escape(target)})")
    if note:  # before the move: a move the judge cannot be trusted on is read with it
        line += f'<br><span style="color:#b45309">Caution: {html.escape(note)}.</span>'
    words, notebook = JUDGES.get(judge, ("", ""))
    if target in before and target in after:
        moved = round(100 * after[target]) - round(100 * before[target])  # in points of the percentages shown
        line += (f"<br>P({html.escape(target)}) {'rose' if moved > 0 else 'fell'} by {abs(moved)} percentage "
                 f"point{'s' if abs(moved) > 1 else ''}." if moved else f"<br>P({html.escape(target)}) did not move.")
        if moved < 0:
            line += " The judge hears the result as less like its target than the source: a model's output is not always what this judge calls that genre."
    if after and max(after, key=after.get) == "unrelated":
        line += " Its most likely answer for the result is <i>unrelated</i>: velocities that do not follow their notes."
    if words:
        line += (f"<br><small>The {html.escape(judge)} {html.escape(words)}; it was trained on The Piano Dataset, so a piece "
                 f'in another style (like the ragtime default) is placed by resemblance only. How it decides: '
                 f'<a href="{notebook}" target="_blank" style="color:#1565c0;text-decoration:underline">notebooks/{notebook}</a>.</small>')
    return line

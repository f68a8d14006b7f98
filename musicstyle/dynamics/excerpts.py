"""How many notes the trusted judge needs: its verdicts on pieces cut to their first notes.

Taught in ``notebooks/02b_did_the_style_move.ipynb`` (section 7). The judge reads relations between
velocities and notes over stretches of about :data:`~musicstyle.dynamics.SEGMENT_NOTES` notes; on
fewer notes those relations are noise, and so is its verdict.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.midi import Performance, as_performance
from .data import GENRES, UNRELATED, dynamics_of, has_dynamics, shuffled
from .model import TRUSTED, load, outcome_probabilities
from .relations import SEGMENT_NOTES

#: Fewest notes whose verdict is shown without a caution. On TPD's 69 held-out pieces with dynamics cut to
#: their first 256 notes the trusted judge is right on 90% of the real pieces (128 notes: 81%, 64: 68%,
#: whole pieces: 97%; :func:`verdicts_by_length`, printed in notebook 02b).
MIN_NOTES = 256


def first_notes(perf: Performance, notes: int) -> Performance:
    """The piece cut to its first ``notes`` notes (pedal events and tempo map kept)."""
    return dataclasses.replace(perf, notes=perf.notes[:notes])


def caution(perf) -> str | None:
    """What to say beside the trusted judge's verdicts on a piece and its transfer (None: nothing).

    Args:
        perf: the piece (the source of a transfer): a Performance, MIDI bytes or a path.

    Returns:
        Why its verdicts are less sure: no dynamics in the piece (:func:`has_dynamics`), too few notes
        (:data:`MIN_NOTES`), or both; None when neither.
    """
    perf = as_performance(perf)
    notes, said = len(perf.notes), []
    if not has_dynamics(perf):
        said.append("the piece has one velocity for every note: it has no dynamics, so the judge calls it unrelated")
    if notes < MIN_NOTES:
        said.append(f"only {notes} note{'s' * (notes != 1)}: the judge reads how velocities follow the notes over "
                    f"stretches of about {SEGMENT_NOTES} notes, and on excerpts of held-out pieces shorter than {MIN_NOTES} notes it is "
                    f"right less often (notebook 02b, section 7)")
    return "; ".join(said) or None


def verdicts_by_length(pieces, lengths=(32, 64, 128, MIN_NOTES, 512, None), seed: int = 0) -> list[dict]:
    """The trusted judge on pieces cut to their first N notes, for each N.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. A piece shorter than N is left out of that row.

    Args:
        pieces: :class:`musicstyle.data.Piece` objects of both genres.
        lengths: notes kept (None: the whole piece).
        seed: seed of the shuffles and of the texture draws.

    Returns:
        One row per length: ``notes``, ``pieces``, ``real_correct`` (share judged as their genre),
        ``shuffled_as_a_genre`` (share of each piece's shuffled velocities judged classical or jazz)
        and ``moved`` (share transferred to the other genre, as ``transfer`` writes it, judged as that genre).
    """
    from .. import velocity

    judge, meta = load(TRUSTED)
    models = {g: velocity.load(g) for g in GENRES}

    def outcome(d) -> str:
        p = outcome_probabilities(judge, meta, d)
        return max(p, key=p.get)

    rows = []
    for n in lengths:
        real, mixed, moved = [], [], []
        for piece in pieces:
            perf = piece.performance
            if n is not None:
                if len(perf.notes) < n:
                    continue
                perf = first_notes(perf, n)
            d = dynamics_of(perf)
            other = GENRES[1 - GENRES.index(piece.genre)]
            model, model_meta = models[other]
            real.append(outcome(d) == piece.genre)
            mixed.append(outcome(shuffled(d, seed)) != UNRELATED)
            transferred = velocity.transferred_velocities(model, model_meta, perf, seed=seed)
            moved.append(outcome(d.with_velocity(transferred)) == other)
        rows.append({"notes": n, "pieces": len(real), "real_correct": _share(real),
                     "shuffled_as_a_genre": _share(mixed), "moved": _share(moved)})
    return rows


def _share(hits: list[bool]) -> float:
    return float(np.mean(hits)) if hits else float("nan")

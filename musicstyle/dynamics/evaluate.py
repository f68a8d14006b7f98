"""Did the style move? Shares judged as each genre before and after transfer, with their controls.

Taught in ``notebooks/02b_did_the_style_move.ipynb``; reproduced by ``musicstyle evaluate transfer``.
The trivial baselines beside the transfer: each genre's own model on its own pieces (must still be
judged that genre), the velocities shuffled within a piece, and the target genre's texture with no
model at all.
"""

from __future__ import annotations

import numpy as np

from ..errors import MusicstyleError
from .data import GENRES, dynamics_of, load_pieces, shuffled, texture_alone, velocity_predictors
from .model import ENSEMBLE, RAW, SHIPPED, TRUSTED, ensemble, load, load_model_file, p_jazz
from .observations import observations


def _share(flags) -> float | None:
    flags = list(flags)
    return float(np.mean(flags)) if flags else None


def _mean(values) -> float | None:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    return float(values.mean()) if values.size else None


def evaluate_transfer(collection, discriminators: dict, predictors: dict, trusted: str | None = None,
                      progress: bool = False) -> dict:
    """Judge every piece as played, re-predicted by its own genre's model, transferred and shuffled.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. Where the transfer draws a texture, also
    the target genre's training mean plus that texture alone (:func:`musicstyle.dynamics.texture_alone`:
    how far the texture moves a verdict with no model).

    Args:
        collection: the pieces (a :class:`musicstyle.data.Collection`).
        discriminators: kind -> ``(model, meta)`` (the ensemble of the shipped kinds is added when it
            is the trusted judge and missing).
        predictors: genre -> velocities of a piece by that genre's velocity model
            (:class:`musicstyle.dynamics.Predictions`).
        trusted: the judge reported first (default: :data:`TRUSTED`).
        progress: show a progress bar.

    Returns:
        The figures of :func:`summarise`.
    """
    trusted = trusted or TRUSTED
    if trusted == ENSEMBLE and ENSEMBLE not in discriminators:
        discriminators = {**discriminators, ENSEMBLE: ensemble({k: discriminators[k] for k in SHIPPED})}
    rows = []
    pieces = [p for p in collection.pieces if p.genre in GENRES]
    if progress:
        from tqdm.auto import tqdm

        pieces = tqdm(pieces, desc="transfer", unit="piece")
    for p in pieces:
        d = dynamics_of(p.performance)
        other = GENRES[1 - GENRES.index(p.genre)]
        versions = {
            "real": d,
            "own": d.with_velocity(predictors[p.genre](p.performance)),
            "transfer": d.with_velocity(predictors[other](p.performance)),
            "shuffled": shuffled(d),
        }
        target = predictors[other]
        if getattr(target, "texture", False) and target.meta.get("texture"):
            versions["texture_alone"] = d.with_velocity(texture_alone(target.meta, p.performance))
        row = {"name": p.name, "genre": p.genre, "target": other}
        for k, v in versions.items():
            row[k] = {kind: p_jazz(m, meta, v) for kind, (m, meta) in discriminators.items()}
            row[k + "_obs"] = observations(v)
        rows.append(row)
    for pred in predictors.values():
        if hasattr(pred, "save"):
            pred.save()
    return summarise(rows, trusted)


def _judged(pj: float, genre: str) -> bool:
    return (pj > 0.5) == (genre == "jazz")


def _figures(rows: list[dict], kind: str) -> dict:
    """One discriminator's shares over ``rows``."""
    f = {"discriminator_accuracy": _share(_judged(r["real"][kind], r["genre"]) for r in rows)}
    for g in GENRES:
        f[f"real_{g}_judged_{g}"] = _share(_judged(r["real"][kind], g) for r in rows if r["genre"] == g)
        f[f"shuffled_{g}_judged_{g}"] = _share(_judged(r["shuffled"][kind], g) for r in rows if r["genre"] == g)
    f["shuffled_accuracy"] = _share(_judged(r["shuffled"][kind], r["genre"]) for r in rows)
    for src, dst in (("jazz", "classical"), ("classical", "jazz")):
        rs = [r for r in rows if r["genre"] == src]
        f[f"{src}_to_{dst}"] = {
            "pieces": len(rs),
            "share_before": _share(_judged(r["real"][kind], dst) for r in rs),
            "moved_share": _share(_judged(r["transfer"][kind], dst) for r in rs),
            "control_share": _share(_judged(r["own"][kind], src) for r in rs),
            "texture_alone_share": _share(_judged(r["texture_alone"][kind], dst) for r in rs if "texture_alone" in r),
            "mean_p_target_before": _mean(r["real"][kind] if dst == "jazz" else 1 - r["real"][kind] for r in rs),
            "mean_p_target_after": _mean(r["transfer"][kind] if dst == "jazz" else 1 - r["transfer"][kind] for r in rs),
        }
    return f


def summarise(rows: list[dict], trusted: str = TRUSTED) -> dict:
    """The ``evaluate transfer`` figures from per-piece verdicts. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        rows: one dict per piece (``genre``; ``real``, ``own``, ``transfer``, ``shuffled`` and
            optionally ``texture_alone``: kind -> P(jazz); the same names + ``_obs``: observations).
        trusted: the judge whose figures come first (the others under ``others``).

    Returns:
        ``trusted``, ``pieces``, the trusted judge's shares, ``others`` and ``observations``.
    """
    kinds = list(rows[0]["real"]) if rows else [trusted]
    if trusted not in kinds:
        raise ValueError(f"trusted discriminator {trusted!r} not among {kinds}")
    out: dict = {"trusted": trusted, "pieces": len(rows)}
    out.update(_figures(rows, trusted))
    out["others"] = {k: _figures(rows, k) for k in kinds if k != trusted}
    obs = {}
    for g in GENRES:
        rs = [r for r in rows if r["genre"] == g]
        other = GENRES[1 - GENRES.index(g)]
        for version, label in (("real", f"{g}_real"), ("own", f"{g}_own_model"), ("transfer", f"{g}_to_{other}"),
                               ("shuffled", f"{g}_shuffled")):
            obs[label] = {k: _mean(r[version + "_obs"][k] for r in rs) for k in
                          ("top_emphasis_z", "top_emphasis_velocity", "onset_jump_z")}
    out["observations"] = obs
    return out


def evaluate_command(data=None, split: str = "all", cnn=None, stats=None, trusted: str = TRUSTED,
                     texture: bool = True, progress: bool = True) -> dict:
    """``musicstyle evaluate transfer``: the shipped (or given) judges on a folder's pieces.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        data: a folder with classical/ and jazz/ (default: TPD).
        split: ``all`` or ``test`` (the held-out side of the piece-level split).
        cnn, stats: discriminator files instead of the shipped ones.
        trusted: ``ensemble``, ``cnn`` or ``stats``.
        texture: judge transfers with the genre's texture (False: the mean predictions alone).
        progress: show progress bars.

    Returns:
        ``data``, ``split``, ``texture``, the figures of :func:`evaluate_transfer` (the raw
        discriminator among ``others`` where shipped) and ``skipped`` (unreadable files) if any.
    """
    collection = load_pieces(data, split, progress=progress)
    files = {"cnn": cnn, "stats": stats}
    discriminators = {kind: load_model_file(files[kind]) if files[kind] else load(kind) for kind in SHIPPED}
    for kind in RAW:  # the raw discriminator, beside the others, where it is shipped
        try:
            discriminators[kind] = load(kind)
        except MusicstyleError:
            pass
    result = evaluate_transfer(collection, discriminators, velocity_predictors(texture=texture), trusted=trusted,
                               progress=progress)
    result = {"data": str(collection.root), "split": split, "texture": texture, **result}
    if collection.skipped:
        result["skipped"] = len(collection.skipped)
    return result

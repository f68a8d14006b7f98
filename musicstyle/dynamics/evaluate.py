"""Did the style move? Shares judged as each genre before and after transfer, with their controls.

Taught in ``notebooks/02b_did_the_style_move.ipynb``; reproduced by ``musicstyle evaluate transfer``.
The trivial baselines beside the transfer: each genre's own model on its own pieces (must still be
judged that genre), the velocities shuffled within a piece, the target genre's texture with no
model at all, and that texture on the source genre's own model (what the texture does without the
target model). A judge's verdict is the outcome it finds most probable (the ``relations`` judge may
answer "unrelated", which is neither genre). Each velocity route (:data:`musicstyle.velocity.ROUTES`)
is judged by the trusted judge beside the transfer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import GROUPS, recording_group
from ..errors import MusicstyleError
from .data import GENRES, NO_DYNAMICS, dynamics_of, judgeable, load_pieces, shuffled, texture_alone, velocity_predictors
from .excerpts import MIN_NOTES
from .model import (ENSEMBLE, RAW, RELATIONAL, SHIPPED, TRUSTED, ensemble, load, load_model_file, outcome_probabilities,
                    relations_judge)
from .observations import observations


def _share(flags) -> float | None:
    flags = list(flags)
    return float(np.mean(flags)) if flags else None


def _mean(values) -> float | None:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    return float(values.mean()) if values.size else None


def evaluate_transfer(collection, discriminators: dict, predictors: dict, trusted: str | None = None,
                      progress: bool = False, routes: dict | None = None, per_piece: bool = False,
                      by_group: bool = False) -> dict:
    """Judge every piece as played, re-predicted by its own genre's model, transferred and shuffled.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. Where the transfer draws a texture, also
    the target genre's training mean plus that texture alone (:func:`musicstyle.dynamics.texture_alone`:
    how far the texture moves a verdict with no model) and, with a ``mean`` route, the source genre's
    own mean plus the same draw (:meth:`Predictions.draw`: how far the draw moves the source model's
    output without the target model); the routes table has that control for each route.

    Args:
        collection: the pieces (a :class:`musicstyle.data.Collection`).
        discriminators: kind -> ``(model, meta)`` (the ensemble of ``cnn`` and ``stats`` is added
            when both are there and it is missing).
        predictors: genre -> velocities of a piece by that genre's velocity model
            (:class:`musicstyle.dynamics.Predictions`).
        trusted: the judge reported first (default: :data:`TRUSTED`).
        progress: show a progress bar.
        routes: route name -> predictors like ``predictors``; each route's transfer and own-genre
            output judged by the trusted judge (None: no routes table).
        per_piece: also the trusted judge's verdicts on each piece (:func:`piece_verdicts`).
        by_group: also the trusted judge's figures on each recording-source group (``by_group``).

    Returns:
        The figures of :func:`summarise`.
    """
    trusted = trusted or TRUSTED
    if trusted not in discriminators and trusted != ENSEMBLE:
        raise ValueError(f"trusted discriminator {trusted!r} not among {list(discriminators)}")
    if ENSEMBLE not in discriminators and all(k in discriminators for k in SHIPPED):
        discriminators = {**discriminators, ENSEMBLE: ensemble({k: discriminators[k] for k in SHIPPED})}
    rows = []
    pieces = [p for p in collection.pieces if p.genre in GENRES]
    own_mean = (routes or {}).get("mean")
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
            if own_mean is not None:
                versions["texture_on_source_model"] = d.with_velocity(_drawn_on(own_mean[p.genre], target, p.performance))
        row = {"name": p.name, "genre": p.genre, "target": other, "group": recording_group(p.performance) if by_group else None}
        for k, v in versions.items():
            row[k] = {kind: outcome_probabilities(m, meta, v) for kind, (m, meta) in discriminators.items()}
            row[k + "_obs"] = observations(v)
        judged = {v.velocity.tobytes(): row[k][trusted] for k, v in versions.items()}

        def judge(velocity, d=d, judged=judged):
            """The trusted judge's verdict, once for each distinct set of velocities of the piece."""
            v = d.with_velocity(velocity)
            key = v.velocity.tobytes()
            if key not in judged:
                judged[key] = outcome_probabilities(*discriminators[trusted], v)
            return judged[key]

        row["routes"] = {name: {side: judge(route[g](p.performance)) for side, g in (("transfer", other), ("own", p.genre))}
                         for name, route in (routes or {}).items()}
        if own_mean is not None:
            for name, route in routes.items():
                row["routes"][name]["drawn_on_source_model"] = judge(_drawn_on(own_mean[p.genre], route[other], p.performance))
        rows.append(row)
    for pred in [*predictors.values(), *(q for r in (routes or {}).values() for q in r.values())]:
        if hasattr(pred, "save"):
            pred.save()
    return summarise(rows, trusted, per_piece=per_piece, by_group=by_group)


def _drawn_on(source, target, perf) -> np.ndarray:
    """The source model's mean plus the target route's draw: what the draw does without the target model."""
    return np.clip(np.rint(source(perf) + target.draw(perf)), 1, 127)


def _outcome(p) -> str:
    """The outcome of a verdict (``{outcome: p}``, or a binary judge's P(jazz))."""
    return max(p, key=p.get) if isinstance(p, dict) else ("jazz" if p > 0.5 else "classical")


def _judged(p, genre: str) -> bool:
    """Whether a verdict is ``genre``."""
    return _outcome(p) == genre


def _p(p, genre: str) -> float:
    return p[genre] if isinstance(p, dict) else (p if genre == "jazz" else 1 - p)


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
            "texture_on_source_model_share": _share(_judged(r["texture_on_source_model"][kind], dst) for r in rs
                                                    if "texture_on_source_model" in r),
            "shuffled_share": _share(_judged(r["shuffled"][kind], dst) for r in rs),
            "mean_p_target_before": _mean(_p(r["real"][kind], dst) for r in rs),
            "mean_p_target_after": _mean(_p(r["transfer"][kind], dst) for r in rs),
        }
    return f


def _routes(rows: list[dict], src: str, dst: str) -> dict:
    """The trusted judge's shares for each route's transfer (moved), own-genre output (control) and,
    where measured, its draw on the source model's mean judged as the target."""
    rs = [r for r in rows if r["genre"] == src]
    names = dict.fromkeys(n for r in rs for n in r.get("routes", {}))
    out = {n: {"moved_share": _share(_judged(r["routes"][n]["transfer"], dst) for r in rs),
               "control_share": _share(_judged(r["routes"][n]["own"], src) for r in rs)} for n in names}
    for n in names:
        drawn = [_judged(r["routes"][n]["drawn_on_source_model"], dst) for r in rs if "drawn_on_source_model" in r["routes"][n]]
        if drawn:
            out[n]["drawn_on_source_model_share"] = _share(drawn)
    return out


#: The versions of a piece in :func:`piece_verdicts`, in order.
VERSIONS = ("real", "own", "transfer", "texture_alone", "texture_on_source_model", "shuffled")


def piece_verdicts(rows: list[dict], kind: str) -> list[dict]:
    """One judge's verdict on every version of each piece, to find the pieces it gets wrong.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        rows: :func:`summarise`'s rows (with ``name``).
        kind: the judge.

    Returns:
        Per piece: ``name``, ``genre``, ``target``, the outcome judged for each of :data:`VERSIONS`
        measured (``own``: the source genre's model; ``transfer``: the target's) and
        ``p_target_after``, the probability of the target genre after transfer.
    """
    return [{"name": r["name"], "genre": r["genre"], "target": r["target"],
             **{v: _outcome(r[v][kind]) for v in VERSIONS if v in r},
             "p_target_after": round(_p(r["transfer"][kind], r["target"]), 4)} for r in rows]


def summarise(rows: list[dict], trusted: str = TRUSTED, per_piece: bool = False, by_group: bool = False) -> dict:
    """The ``evaluate transfer`` figures from per-piece verdicts. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        rows: one dict per piece (``genre``; ``real``, ``own``, ``transfer``, ``shuffled`` and
            optionally ``texture_alone`` and ``texture_on_source_model``: kind -> ``{outcome: p}`` or
            P(jazz); the same names + ``_obs``: observations; optionally ``routes``: route ->
            ``{"transfer": p, "own": p}`` by the trusted judge).
        trusted: the judge whose figures come first (the others under ``others``).
        per_piece: also the trusted judge's :func:`piece_verdicts` (``per_piece``).
        by_group: also ``by_group``: for each recording-source group of the rows (their ``group``, in
            the order of :data:`musicstyle.data.GROUPS`), its ``pieces`` and the trusted judge's shares.

    Returns:
        ``trusted``, ``pieces``, the trusted judge's shares (each direction with its ``routes``
        table), ``others`` and ``observations``.
    """
    kinds = list(rows[0]["real"]) if rows else [trusted]
    if trusted not in kinds:
        raise ValueError(f"trusted discriminator {trusted!r} not among {kinds}")
    out: dict = {"trusted": trusted, "pieces": len(rows)}
    out.update(_figures(rows, trusted))
    for src, dst in (("jazz", "classical"), ("classical", "jazz")):
        out[f"{src}_to_{dst}"]["routes"] = _routes(rows, src, dst)
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
    if per_piece:
        out["per_piece"] = piece_verdicts(rows, trusted)
    if by_group:
        out["by_group"] = {g: {"pieces": len(rs), **_figures(rs, trusted)} for g in GROUPS
                           if (rs := [r for r in rows if r.get("group") == g])}
    return out


def route_predictors(texture: bool = True, files: dict | None = None) -> tuple[dict, dict]:
    """Each velocity route's predictors, and the transfer's (the route ``texture`` chooses).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        texture: the transfer judged first is ``texture`` (True) or ``mean``.
        files: {genre: path.keras} of velocity models of one's own, instead of the shipped ones.

    Returns:
        ``(predictors, routes)``: genre -> :class:`musicstyle.dynamics.Predictions`, and route name ->
        the same for every route of :data:`musicstyle.velocity.ROUTES`.
    """
    from .. import velocity

    routes = {name: velocity_predictors(files=files, route=name) for name in velocity.ROUTES}
    return routes["texture" if texture else "mean"], routes


def _usable(routes: dict, piece) -> tuple[dict, dict]:
    """The routes whose models can write a piece, and why the others cannot."""
    usable, skipped = {}, {}
    for name, predictors in routes.items():
        try:
            for p in predictors.values():
                p(piece.performance)
            usable[name] = predictors
        except MusicstyleError as e:
            skipped[name] = str(e)
    return usable, skipped


def _judges(relations=None, cnn=None, stats=None) -> dict:
    """The relations judge, the two binary kinds and the raw one where shipped (or the given files)."""
    files = {"relations": relations, "cnn": cnn, "stats": stats}
    judges = {kind: relations_judge(files[kind]) for kind in RELATIONAL}  # a file of one's own checked as `judge` does
    judges.update({kind: load_model_file(files[kind]) if files[kind] else load(kind) for kind in SHIPPED})
    judges[ENSEMBLE] = ensemble({k: judges[k] for k in SHIPPED})
    for kind in RAW:  # the raw discriminator, beside the others, where it is shipped
        try:
            judges[kind] = load(kind)
        except MusicstyleError:
            pass
    return judges


def evaluate_command(data=None, split: str = "all", cnn=None, stats=None, trusted: str = TRUSTED,
                     texture: bool = True, progress: bool = True, relations=None, hold_out: str | None = None,
                     per_piece: bool = False, by_group: bool = False, velocity_models: dict | None = None) -> dict:
    """``musicstyle evaluate transfer``: the shipped (or given) judges on a folder's pieces.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        data: a folder with classical/ and jazz/, or one of them: that direction only (default: TPD).
        split: ``all``, ``test`` (the held-out side of the piece-level split) or ``held-out`` (every
            piece of the recording-source group ``hold_out``: a leave-group-out figure for a judge
            trained with that ``hold_out``).
        cnn, stats, relations: discriminator files instead of the shipped ones.
        trusted: ``relations``, ``ensemble``, ``cnn`` or ``stats``.
        texture: judge transfers with the genre's texture (False: the mean predictions alone).
        progress: show progress bars.
        hold_out: the group of ``split="held-out"`` (:data:`musicstyle.data.GROUPS`).
        per_piece: also the trusted judge's verdicts piece by piece (``per_piece``).
        by_group: also the trusted judge's figures on each recording-source group (``by_group``).
        velocity_models: {genre: path.keras} of velocity models whose transfers are judged (both genres; default:
            the shipped ones).

    Returns:
        ``data``, ``split``, ``texture``, ``velocity_models`` and ``judge_files`` (when given), the figures of
        :func:`evaluate_transfer` with every route of :func:`route_predictors` (``routes_skipped``: the routes the
        models cannot write,
        and why), ``skipped`` (how many files could not be read, 0 when none), ``no_dynamics`` (pieces left
        out: one velocity for every note, :func:`~musicstyle.dynamics.judgeable`), ``skipped_files`` (the reason
        for each file left out), ``short_pieces`` (a caution: how many pieces have fewer than
        :data:`~musicstyle.dynamics.MIN_NOTES` notes) and ``learned_from`` (a caution: how many are files
        the shipped models learned from, :func:`musicstyle.data.learned.learned_share`, or a given judge did,
        :func:`musicstyle.data.learned.model_learned_share`) if any.
    """
    from ..data import Collection, select
    from ..data.learned import learned_share, model_learned_share
    from ..training.shipped import described, is_shipped, model_file

    if split == "held-out" and hold_out is None:
        raise MusicstyleError("--split held-out", "give the group whose pieces to judge: --hold-out GROUP")
    if hold_out is not None and split != "held-out":
        raise MusicstyleError("--hold-out", f"judges that group's pieces alone, with --split held-out (not --split {split})")
    collection = load_pieces(data, "all" if split == "held-out" else split, progress=progress, both=False)
    if split == "held-out":
        pieces = select(collection, "held-out", hold_out=hold_out)
        if not pieces:
            raise MusicstyleError(collection.root, f"no pieces of the group {hold_out}")
        collection = Collection(collection.root, pieces, collection.skipped)
    collection = judgeable(collection)
    if not collection.pieces:
        raise MusicstyleError(collection.root, "no pieces with dynamics (each has one velocity for every note)")
    if velocity_models is not None and set(velocity_models) != set(GENRES):
        raise MusicstyleError("velocity_models", f"give one file for each of {', '.join(GENRES)}")
    predictors, routes = route_predictors(texture, velocity_models)
    routes, routes_skipped = _usable(routes, collection.pieces[0])
    judges = _judges(relations, cnn, stats)
    result = evaluate_transfer(collection, judges, predictors, trusted=trusted,
                               progress=progress, routes=routes, per_piece=per_piece, by_group=by_group)
    result = {"data": str(collection.root), "split": split, "texture": texture, **result}
    if velocity_models:
        result["velocity_models"] = {g: described(f) for g, f in velocity_models.items()}
    if given := {kind: described(file) for kind, file in (("relations", relations), ("cnn", cnn), ("stats", stats)) if file}:
        result["judge_files"] = given  # the judges given, by kind (a shipped one's bare name says "(shipped)")
    if hold_out:
        result["hold_out"] = hold_out
    if routes_skipped:
        result["routes_skipped"] = routes_skipped
    flat = sum(s.reason == NO_DYNAMICS for s in collection.skipped)
    if flat:
        result["no_dynamics"] = flat
    result["skipped"] = len(collection.skipped) - flat
    if collection.skipped:
        result["skipped_files"] = collection.skipped_files()
    short = sum(len(p.performance.notes) < MIN_NOTES for p in collection.pieces)
    if short:
        result["short_pieces"] = (f"{short} of {len(collection.pieces)} pieces have fewer than {MIN_NOTES} notes, "
                                  f"too few for the trusted judge to be sure (dynamics.verdicts_by_length)")
    digests = [p.performance.sha256 for p in collection.pieces]
    cautions = [learned_share(digests, split=split)]  # the shipped velocity models (and judges)
    own = {kind: (file, judges[kind][1]) for kind, file in (("relations", relations), ("cnn", cnn), ("stats", stats)) if file}
    own.update({g: (f, predictors[g].meta) for g, f in (velocity_models or {}).items()})
    cautions += [model_learned_share(meta, digests, Path(file).name, split) for file, meta in own.values()
                 if not is_shipped(model_file(file))]
    if notes := [note for note in cautions if note]:
        result["learned_from"] = "; ".join(notes)
    return result

"""Changes to a trained note model file that keep its network: a refitted loudness estimate, a spread.

Taught in ``notebooks/02_velocity_cnn.ipynb``: ``musicstyle train loudness`` and ``musicstyle train spread``.
"""

from __future__ import annotations

import numpy as np

from ..data import SPLIT_SEED, pieces_checksum, select
from ..errors import MusicstyleError
from ..training.modelfile import model_path
from .data import Prepared, pieces_of
from .evaluate import add_test_metrics, onset_predictions, stored_figures
from .loudness import LAMBDAS, fit_loudness
from .model import NOTE_ARCHS, set_loudness_weights, with_loudness
from .shipped import load_file, save
from .texture import fit_spread, fit_texture

#: How ``musicstyle train loudness`` chooses the penalty: the model's validation RMSE, or the
#: estimate's leave-one-out error over the training pieces (the rule ``train velocity`` uses).
CHOICES = ("validation", "leave-one-out")


def _note_model_file(path, output, needs_texture: bool = False):
    """``(model, meta, out)`` of a note model file to be written anew to ``output`` (never over ``path``)."""
    out = model_path(output, inputs=(path,))
    model, meta = load_file(path)
    if meta.get("arch") not in NOTE_ARCHS or (needs_texture and not meta.get("texture")):
        raise MusicstyleError(path, "only a note model (improved or stylenet)" + (" with a texture" if needs_texture else "")
                              + " can be changed this way")
    return model, meta, out


def _side(collection, split: str, meta: dict) -> list:
    pieces = select(collection, split, meta["genre"], seed=SPLIT_SEED, hold_out=meta.get("hold_out"))
    if not pieces:
        raise MusicstyleError(collection.root, f"no {meta['genre']} pieces in the {split} split")
    return pieces


def _rmse(model, prepared: Prepared) -> float:
    err = np.concatenate([p - t for t, p, _ in onset_predictions(model, prepared)])
    return float(np.sqrt(np.mean(err ** 2)))


def refit_loudness(path, output, data=None, inputs: str = "played", lambdas=LAMBDAS, choose: str = "validation") -> dict:
    """Refit a note model file's frozen piece-loudness estimate: ``musicstyle train loudness``.

    The estimate (:func:`musicstyle.velocity.loudness.fit_loudness`, reading ``inputs``) is fitted
    on the model's genre's training pieces once per penalty in ``lambdas`` and put into the model in
    place of its own (:func:`musicstyle.velocity.model.with_loudness`). The penalty kept is the one
    whose model has the lowest RMSE over the validation pieces' notes (``choose="validation"``), or
    the one the estimate's leave-one-out error over the training pieces picks, as training does
    (``choose="leave-one-out"``). The network's weights are unchanged; the texture and spread are
    refitted on the validation pieces and the test figures measured again. For a model whose
    estimate read how its files were made (``inputs="all"``).

    Args:
        path: the model file (``improved`` or ``stylenet``).
        output: the ``.keras`` file to write (may not be ``path``: the original is kept).
        data: the dataset folder (default: TPD as found).
        inputs: what the new estimate reads: ``played`` or ``all``.
        lambdas: the penalties tried.
        choose: ``validation`` or ``leave-one-out`` (:data:`CHOICES`).

    Returns:
        ``saved`` (the file written), ``lambda``, ``inputs``, the validation RMSE before and after,
        each penalty's (``tried``) and the ``test_*`` figures.
    """
    if choose not in CHOICES:
        raise MusicstyleError(choose, f"unknown way to choose the penalty (choose from {', '.join(CHOICES)})")
    model, meta, out = _note_model_file(path, output)
    collection = pieces_of(data)
    tr, va = _side(collection, "train", meta), _side(collection, "validation", meta)
    train_data, val_data = Prepared(tr), Prepared(va)
    before, tried, best = _rmse(model, val_data), [], None
    fits = [fit_loudness(train_data, val_data, lambdas=(float(lam),), inputs=inputs) for lam in lambdas]
    # one copy for every penalty: each fit standardises on the same training pieces, only its weights differ
    model = with_loudness(model, fits[0])
    for loud in fits:
        set_loudness_weights(model, loud)
        rmse = _rmse(model, val_data)
        tried.append({"lambda": loud["lambda"], "validation_rmse": round(rmse, 4), "loo_piece_rmse": loud["loo_piece_rmse"]})
        score = rmse if choose == "validation" else loud["loo_piece_rmse"]
        if best is None or score < best[0]:
            best = (score, rmse, loud)
    _, rmse, loud = best
    set_loudness_weights(model, loud)
    predictions = onset_predictions(model, val_data)
    texture = fit_texture(model, val_data, predictions)
    meta.update(
        texture=texture, texture_fitted_on=f"validation pieces, refitted by musicstyle train loudness ({len(va)} pieces)",
        loudness={**{k: loud[k] for k in ("lambda", "inputs", "loo_piece_rmse", "val_piece_rmse", "val_piece_rmse_mean")},
                  "chosen_by": f"{choose} (musicstyle train loudness)", "validation_rmse": round(rmse, 4),
                  "validation_rmse_before": round(before, 4), "tried": tried, "train_pieces": len(train_data),
                  "validation_pieces": len(val_data), "data_checksum": pieces_checksum(tr + va),
                  "replaced": meta.get("loudness")})
    if meta.get("spread"):
        meta.update(spread=fit_spread(model, val_data, texture, predictions=predictions),
                    spread_fitted_on=f"validation pieces, refitted by musicstyle train loudness ({len(va)} pieces)")
    add_test_metrics(model, meta, collection=collection, hold_out=meta.get("hold_out"))
    save(model, meta, out)
    return {"saved": str(out), "lambda": loud["lambda"], "inputs": inputs, "chosen_by": choose,
            "validation_rmse_before": round(before, 4), "validation_rmse": round(rmse, 4), "tried": tried, **stored_figures(meta)}


def add_spread(path, output, data=None) -> dict:
    """Give a note model file the per-note spread of the ``sampled`` route: ``musicstyle train spread``.

    For models trained before the spread existed: :func:`musicstyle.velocity.fit_spread` on the
    model's genre's validation pieces (with its stored texture and hold-out group), weights and every
    other figure unchanged. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        path: the model file (``improved`` or ``stylenet``).
        output: the ``.keras`` file to write (may not be ``path``: the original is kept).
        data: the dataset folder (default: TPD as found).

    Returns:
        ``saved`` (the file written), ``pieces`` and ``sigma`` (mean spread) of the fit.
    """
    model, meta, out = _note_model_file(path, output, needs_texture=True)
    collection = pieces_of(data)
    va = _side(collection, "validation", meta)
    spread = fit_spread(model, Prepared(va), meta["texture"])
    if not spread:
        raise MusicstyleError(collection.root, f"no {meta['genre']} validation piece has notes to fit a spread on")
    meta.update(spread=spread, spread_fitted_on=f"validation pieces, added by musicstyle train spread ({len(va)} pieces)")
    save(model, meta, out)
    return {"saved": str(out), "pieces": spread["pieces"], "sigma": spread["sigma"]}

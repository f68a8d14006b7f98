"""The improved model's piece loudness estimate: a ridge regression fitted in closed form, then frozen.

Taught in ``notebooks/02_velocity_cnn.ipynb``.
"""

from __future__ import annotations

import numpy as np

from .data import Prepared, loudness_columns
from .model import LOUDNESS_RANGE

LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 1e4, 3e4, 1e5)


def _table(p: Prepared):
    z = np.array(p.piece, np.float64)
    m = np.array([v.mean() for v in p.velocity], np.float64)
    n = np.array([len(v) for v in p.velocity], np.float64)
    return z, m, n


def fit_loudness(train: Prepared, validation: Prepared, lambdas=LAMBDAS, inputs: str = "played") -> dict:
    """Ridge regression of each piece's mean velocity on its piece input, in closed form.

    Standardised on the train pieces; the penalty chosen by leave-one-out error over the train
    pieces (closed form; steadier than the few validation pieces). Columns left out by ``inputs``
    get weight 0. Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        train: the training pieces.
        validation: the validation pieces (only reported).
        lambdas: the penalties tried.
        inputs: ``all`` of the piece input, or ``played`` (:func:`musicstyle.velocity.data.loudness_columns`).

    Returns:
        The standardisation (``mu``, ``var``), weights ``w``, ``mean``, ``lambda`` and ``inputs``, and
        figures (leave-one-out and validation per-note RMSE of the piece means).
    """
    zt, mt, nt = _table(train)
    zv, mv, nv = _table(validation)
    mean = float((mt * nt).sum() / nt.sum())
    mu, var = zt.mean(0), zt.var(0) + 1e-4
    used = loudness_columns(inputs)
    a, av = ((zt - mu) / np.sqrt(var))[:, used], (zv - mu) / np.sqrt(var)
    best = None
    for lam in lambdas:
        inverse = np.linalg.inv(a.T @ a + lam * np.eye(a.shape[1]))
        w = inverse @ a.T @ (mt - mean)
        leverage = np.einsum("ij,jk,ik->i", a, inverse, a)
        loo = float(np.sqrt(np.mean((((mt - mean) - a @ w) / (1 - leverage)) ** 2)))
        if best is None or loo < best["loo_piece_rmse"]:
            best = {"lambda": lam, "w": w, "loo_piece_rmse": loo}
    w = np.zeros(len(used))
    w[used] = best["w"]
    best["w"] = w
    pred = mean + LOUDNESS_RANGE * np.tanh((av @ best["w"]) / LOUDNESS_RANGE)
    val = float(np.sqrt((nv * (pred - mv) ** 2).sum() / nv.sum()))
    base = float(np.sqrt((nv * (mean - mv) ** 2).sum() / nv.sum()))
    return {"mu": mu, "var": var, "w": best["w"], "mean": mean, "lambda": best["lambda"], "inputs": inputs,
            "loo_piece_rmse": round(best["loo_piece_rmse"], 3), "val_piece_rmse": round(val, 3),
            "val_piece_rmse_mean": round(base, 3)}

"""``musicstyle bench velocity``: training seconds per epoch and 5-minute inference, paper vs improved.

Taught in ``notebooks/02_velocity_cnn.ipynb``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..core.notes import note_features
from ..core.roll import PAPER, piano_roll
from ..data import SPLIT_SEED, load_dataset, select

#: The architectures timed (the paper's and ours; ``stylenet`` is compared in ``evaluate velocity``).
TIMED = ("improved", "paper")


def bench_velocity(data=None, windows: int = 128, batch: int = 8) -> dict:
    """Time training and inference of both architectures in one run (``notebooks/02_velocity_cnn.ipynb``).

    Training: one epoch through the trainer (:mod:`musicstyle.training.trainer`) on ``windows``
    random windows of a fresh network, after a one-batch epoch that builds and traces it, scaled to
    a default :func:`musicstyle.velocity.train` epoch on TPD classical (as many windows as fit its
    train pieces: 1,024 notes each for the improved model, 1,024 steps for the paper's). Inference:
    the *shipped* model of each architecture (the improved one averages several networks) on the
    TPD classical test piece with the most notes per second, its roll (paper) or note rows
    (improved) cut or repeated to exactly 5 minutes, one whole-piece pass after a warm-up call.
    ``transfer_file_s``: the whole :func:`musicstyle.velocity.transfer_bytes` of that real file
    (read, features, predict, texture, rewrite), after the warm-up. ``graph_speedup``: the same pass
    run layer by layer (eagerly) over :func:`musicstyle.velocity.predict_whole`'s one graph.

    Args:
        data: a folder holding TPD (default: found as usual).
        windows: training windows timed.
        batch: windows per batch.

    Returns:
        The figures as a dict (``improved`` and ``paper`` each with ``train_s_per_epoch``,
        ``inference_s_5min``, ...; ``inference_ok`` when every inference takes at most 2 s).
    """
    from .. import velocity
    from ..training.device import describe_device
    from ..training.trainer import Schedule, train

    collection = load_dataset("tpd", data, progress=False)
    train_pieces = select(collection, "train", "classical", seed=SPLIT_SEED)
    prepared = velocity.Prepared(train_pieces)
    rng = np.random.default_rng(0)
    window = velocity.WINDOW
    data_by_arch = {"improved": prepared.note_windows(window, rng, windows), "paper": prepared.windows(window, rng, windows)}
    test = select(collection, "test", "classical", seed=SPLIT_SEED) or train_pieces
    piece = max(test, key=lambda p: len(p.performance.notes) / max(p.performance.duration_s, 1.0))
    perf = piece.performance

    def five_minutes(rows: np.ndarray) -> np.ndarray:
        n = int(round(len(rows) * 300 / perf.duration_s))
        return np.concatenate([rows] * -(-n // len(rows)))[:n]

    roll_x = five_minutes(velocity.features(piano_roll(perf, PAPER)))
    nf = note_features(perf)
    notes_x, piece_x = five_minutes(nf), velocity.piece_input(perf, nf)
    per_epoch = {"improved": prepared.note_count // window, "paper": prepared.steps // window}
    out = {"device": describe_device(), "window": window, "batch": batch, "windows_timed": int(windows),
           "windows_per_epoch": per_epoch, "five_minute_steps": len(roll_x), "five_minute_notes": len(notes_x),
           "five_minute_source": piece.name, "transfer_file_duration_s": round(perf.duration_s, 1),
           "transfer_file_notes": len(perf.notes)}
    midi = Path(perf.source).read_bytes()
    for arch in TIMED:
        x, y = data_by_arch[arch]
        head = (tuple(v[:batch] for v in x) if isinstance(x, tuple) else x[:batch]), y[:batch]

        def draw(epoch, rng, x=x, y=y, head=head):
            return (x, y) if epoch else head  # epoch 1, one batch, builds and traces the step; epoch 2 is timed

        trained = train(lambda: velocity.build_model(arch, PAPER, 60.0), draw, velocity.masked_mse,
                        schedule=Schedule(epochs=2, batch_size=batch, halve_after=None, patience=None), verbose=0)
        per_window = trained.history[1]["seconds"] / windows

        shipped, shipped_meta = velocity.load("classical", arch)

        def infer():
            return velocity.predict_whole(shipped, notes_x, piece_x) if arch == "improved" else velocity.predict_whole(shipped, roll_x)

        def layer_by_layer():  # the same pass run eagerly, op by op, for the graph's speed-up
            x = [notes_x[None], piece_x[None].astype(np.float32)] if arch == "improved" else np.pad(roll_x, ((0, -len(roll_x) % 256), (0, 0)))[None]
            return shipped(x, training=False)

        infer()  # warm-up (the first call builds what it needs)
        layer_by_layer()
        t0 = time.perf_counter()
        infer()
        inference = time.perf_counter() - t0
        t0 = time.perf_counter()
        layer_by_layer()
        eager = time.perf_counter() - t0
        t0 = time.perf_counter()
        velocity.transfer_bytes(shipped, midi, piece.name, shipped_meta)
        whole = time.perf_counter() - t0
        out[arch] = {"params_per_network": int(trained.model.count_params()), "shipped_networks": int(shipped_meta.get("members") or 1),
                     "train_s_per_epoch": round(per_window * per_epoch[arch], 1), "train_ms_per_window": round(per_window * 1000, 1),
                     "inference_s_5min": round(inference, 3), "inference_layer_by_layer_s_5min": round(eager, 3),
                     "graph_speedup": round(eager / max(inference, 1e-9), 2), "transfer_file_s": round(whole, 3)}
    out["inference_ok"] = bool(max(max(out[a]["inference_s_5min"], out[a]["transfer_file_s"]) for a in TIMED) <= 2.0)
    return out

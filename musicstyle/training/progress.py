"""One training run's progress: its best weights, learning-rate halving, stopping, and the resumable checkpoint
that only the same run (:func:`run_key`) may resume. Used by :func:`musicstyle.training.trainer.train`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.cache import load_npz, save_npz
from ..errors import MusicstyleError


def run_key(model, examples, schedule, seed: int, label: str) -> str:
    """What makes a run the same run (SHA-256): its schedule but how long it may run (``epochs``, ``minutes``: a run
    resumed with more of either goes on), seed, label, weight shapes, and its data: the first epoch's training
    examples and the validation examples (``examples``: each an ``Examples`` or None; the first 256 of each)."""
    import hashlib

    how = {k: v for k, v in asdict(schedule).items() if k not in ("epochs", "minutes")}
    digest = hashlib.sha256(json.dumps([how, seed, label, [list(w.shape) for w in model.get_weights()]],
                                       default=str, sort_keys=True).encode())
    for some in examples:
        digest.update(str(None if some is None else some.count).encode())
        if some is not None:
            for leaf in _leaves(some.take(np.arange(min(some.count, 256)))):
                digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


def _leaves(value):
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield np.asarray(value)


class Progress:
    """Best weights, learning-rate halving, stopping and the resumable checkpoint of one run."""

    def __init__(self, schedule, model, optimizer, checkpoint_dir, run: str | None = None):
        self.schedule, self.model, self.optimizer, self.run = schedule, model, optimizer, run
        self.sign = 1.0 if schedule.mode == "min" else -1.0
        self.best, self.best_epoch, self.best_weights, self.stale = None, None, None, 0
        self.history, self.elapsed, self.stopped_by, self.start_epoch = [], 0.0, "epochs", 0
        self.file = None
        if checkpoint_dir is not None:
            import os

            task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
            self.file = Path(checkpoint_dir) / f"checkpoint-{task.get('type', 'worker')}{task.get('index', 0)}.npz"
            self._restore()
        self.resumed_at = self.start_epoch

    def end_epoch(self, row: dict, seconds: float) -> bool:
        """Record an epoch; True when training should stop."""
        s = self.schedule
        self.history.append(row)
        self.elapsed += seconds
        sign, value = (self.sign, row[s.monitor]) if s.monitor in row else (1.0, row["loss"])  # no validation: the loss
        if self.best is None or sign * value < sign * self.best - 1e-9:
            self.best, self.best_epoch, self.best_weights, self.stale = value, row["epoch"], self.model.get_weights(), 0
        else:
            self.stale += 1
        stop = False
        if s.patience is not None and self.stale >= s.patience:
            self.stopped_by, stop = "patience", True
        elif s.halve_after and self.stale and self.stale % s.halve_after == 0:
            if s.revert_on_halve:
                self.model.set_weights(self.best_weights)
            self.optimizer.learning_rate.assign(float(np.asarray(self.optimizer.learning_rate)) / 2)
        if s.minutes is not None and self.elapsed > s.minutes * 60:
            self.stopped_by, stop = "budget", True
        self._save(row["epoch"])
        return stop

    def finish(self):
        """The model at its best weights; the checkpoint removed (the run is over)."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.file is not None:
            self.file.unlink(missing_ok=True)
        return self.model

    def _save(self, epoch: int) -> None:
        if self.file is None:
            return
        arrays = {f"w{i}": w for i, w in enumerate(self.model.get_weights())}
        arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(self.optimizer.variables)})
        arrays.update({f"b{i}": w for i, w in enumerate(self.best_weights or [])})
        arrays["state"] = np.array(json.dumps({"epoch": epoch, "best": self.best, "best_epoch": self.best_epoch,
                                               "stale": self.stale, "elapsed": self.elapsed, "history": self.history,
                                               "schedule": asdict(self.schedule), "run": self.run}))
        save_npz(self.file, arrays)

    def _restore(self) -> None:
        arrays = load_npz(self.file)
        if arrays is None:
            return
        state = json.loads(str(arrays["state"]))
        if state.get("run") != self.run:
            raise MusicstyleError(self.file, "is the checkpoint of another run (other data, settings or seed; or written "
                                             "by an older musicstyle): remove it to start afresh, or give this run its "
                                             "own --checkpoint-dir")
        n = len(self.model.get_weights())
        self.model.set_weights([arrays[f"w{i}"] for i in range(n)])
        for i, v in enumerate(self.optimizer.variables):
            v.assign(arrays[f"o{i}"])
        if "b0" in arrays:
            self.best_weights = [arrays[f"b{i}"] for i in range(n)]
        self.best, self.best_epoch, self.stale = state["best"], state["best_epoch"], state["stale"]
        self.elapsed, self.history, self.start_epoch = state["elapsed"], state["history"], state["epoch"]

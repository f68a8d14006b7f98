"""Seed ensembles: members trained one by one through the one trainer (resumable member by member), then
one Keras model that averages them.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (the velocity models' members) and
``notebooks/02b_did_the_style_move.ipynb`` (the relations judge's members).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from ..data import load_npz, save_npz

#: The file in a member's checkpoint folder that holds it once it has finished.
DONE = "done.npz"


def member_folder(checkpoint_dir, k: int) -> Path | None:
    """Member ``k``'s (1, 2, ...) checkpoint folder under ``checkpoint_dir`` (None without one)."""
    return None if checkpoint_dir is None else Path(checkpoint_dir) / f"member-{k}"


def train_member(build, *args, checkpoint_dir=None, strategy=None, **kwargs) -> tuple:
    """One member through :func:`musicstyle.training.trainer.train`, or read back when it finished before.

    Args:
        build, *args, **kwargs: as for the trainer.
        checkpoint_dir: this member's folder (:func:`member_folder`): the trainer's checkpoint while it
            trains, then its weights, best score and history (:data:`DONE`) until :func:`clear_members`; a
            finished member of another run (other data, settings or seed) is refused, never read back.
        strategy: as for the trainer.

    Returns:
        ``(model, best, history, mixed_precision)``.
    """
    from ..errors import MusicstyleError
    from .trainer import call_run_key, train as run

    done = None if checkpoint_dir is None else Path(checkpoint_dir) / DONE
    finished = None if done is None else load_npz(done)
    if finished is not None:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = build()
        state = json.loads(str(finished["state"]))
        if state.get("run") != call_run_key(model, build, *args, **kwargs):
            raise MusicstyleError(done, "is a member finished by another run (other data, settings or seed): remove "
                                        "it to start afresh, or give this run its own --checkpoint-dir")
        model.set_weights([finished[f"w{i}"] for i in range(len(model.get_weights()))])
        return model, state["best"], state["rows"], state["mixed"]
    out = run(build, *args, strategy=strategy, checkpoint_dir=checkpoint_dir, **kwargs)
    if done is not None:
        arrays = {f"w{i}": w for i, w in enumerate(out.model.get_weights())}
        arrays["state"] = np.array(json.dumps({"best": out.best, "rows": out.history, "mixed": out.mixed_precision,
                                               "run": out.run_key}))  # the key the trainer's checkpoint had
        save_npz(done, arrays)
    return out.model, out.best, out.history, out.mixed_precision


def clear_members(checkpoint_dir, members: int) -> None:
    """Remove the members' finished files and empty folders: the whole ensemble is trained."""
    for k in range(1, members + 1):
        folder = member_folder(checkpoint_dir, k)
        if folder is None:
            return
        (folder / DONE).unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def average_model(models: list, name: str = "average", each: str | None = None):
    """One model whose output is the mean of ``models``' outputs (same inputs): a seed ensemble.

    Args:
        models: Keras models with the same inputs and distinct names; copied without any training state.
        name: the Keras model's name.
        each: an activation applied to each member's output before the mean (``"log_softmax"``: the
            mean of log-probabilities, a normalised geometric mean of the members' probabilities).

    Returns:
        The averaging Keras model.
    """
    import keras

    from . import layers  # noqa: F401  (the members' custom layers, for from_config)

    bare = []
    for m in models:
        copy = keras.Model.from_config(m.get_config())
        copy.set_weights(m.get_weights())
        bare.append(copy)
    inputs = [keras.Input(t.shape[1:], name=f"input_{i + 1}") for i, t in enumerate(models[0].inputs)]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    outs = [m(inputs) for m in bare]
    if each is not None:
        outs = [keras.layers.Activation(each, name=f"{each}_{i + 1}")(o) for i, o in enumerate(outs)]
    return keras.Model(inputs, keras.layers.Average(name="mean")(outs), name=name)

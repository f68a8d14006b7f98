"""The one trainer: fresh draws per epoch, best weights kept, halving, stopping, budget, resume, strategies."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicstyle.training.trainer import Examples, Schedule, train

HERE = Path(__file__).parent


def _build():
    import keras

    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])


def _mse(y, p):
    from keras import ops

    return ops.mean(ops.square(p - ops.cast(y, p.dtype)), axis=-1)


def _draw(epoch, rng):
    x = rng.normal(size=(64, 4)).astype(np.float32)
    return x, x.sum(1, keepdims=True)


VALIDATION = (np.eye(4, dtype=np.float32), np.ones((4, 1), np.float32))


def test_trains_and_keeps_the_best_epoch():
    draws = []
    out = train(_build, lambda e, r: draws.append(e) or _draw(e, r), _mse, VALIDATION,
                schedule=Schedule(epochs=6, batch_size=16, learning_rate=1e-2, patience=None), verbose=0)
    assert draws == list(range(6))  # a fresh draw every epoch
    assert [r["epoch"] for r in out.history] == list(range(1, 7))
    vals = [r["val_loss"] for r in out.history]
    assert out.best == min(vals) and out.best_epoch == 1 + int(np.argmin(vals))
    assert out.history[-1]["loss"] < out.history[0]["loss"]
    x, y = VALIDATION
    assert np.mean((np.asarray(out.model(x)) - y) ** 2) == pytest.approx(out.best, rel=1e-4)


def test_without_validation_the_lowest_training_loss_is_kept_whatever_the_mode():
    schedule = Schedule(epochs=5, batch_size=16, learning_rate=1e-2, patience=None, monitor="val_accuracy", mode="max")
    out = train(_build, _draw, _mse, None, schedule=schedule, verbose=0)
    losses = [r["loss"] for r in out.history]
    assert out.best == min(losses) and out.best_epoch == 1 + int(np.argmin(losses))


def test_lazy_examples_train_like_the_same_arrays_and_build_only_fed_batches():
    taken = []

    def lazy(epoch, rng):
        x, y = _draw(epoch, rng)
        return Examples(len(x), lambda order: taken.append(len(order)) or (x[order].astype(np.float16), y[order]))

    sched = Schedule(epochs=3, batch_size=16, learning_rate=1e-2, patience=None)
    a = train(_build, lambda e, r: tuple(v.astype(np.float16) if v.shape[1] == 4 else v for v in _draw(e, r)), _mse,
              VALIDATION, schedule=sched, verbose=0)
    b = train(_build, lazy, _mse, VALIDATION, schedule=sched, verbose=0)
    assert [r["loss"] for r in b.history] == pytest.approx([r["loss"] for r in a.history], rel=1e-5)
    assert [r["val_loss"] for r in b.history] == pytest.approx([r["val_loss"] for r in a.history], rel=1e-5)
    assert taken == [1] + [16] * 12  # the signature's one example (once), then each batch as it is fed


def test_each_epochs_draw_is_freed_once_the_epoch_is_over():
    import gc
    import weakref

    class Draw:  # the epoch's data, as a model package's draw holds it
        def __init__(self, epoch, rng):
            self.x, self.y = _draw(epoch, rng)

    alive = []

    def draw(epoch, rng):
        gc.collect()
        alive.append(sum(r() is not None for r in refs))
        d = Draw(epoch, rng)
        refs.append(weakref.ref(d))
        return Examples(len(d.x), lambda order: (d.x[order], d.y[order]))

    refs = []
    train(_build, draw, _mse, VALIDATION, schedule=Schedule(epochs=4, batch_size=16, patience=None), verbose=0)
    gc.collect()
    assert alive == [0, 0, 0, 0]  # no earlier epoch's draw is held when the next is made
    assert all(r() is None for r in refs)  # nor once training is over


def test_halves_the_learning_rate_and_stops_on_a_plateau():
    calls = iter([3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5])
    out = train(_build, _draw, _mse, score=lambda m: {"score": next(calls)},
                schedule=Schedule(epochs=8, batch_size=16, learning_rate=1e-2, monitor="score", halve_after=2, patience=4),
                verbose=0)
    lrs = [r["learning_rate"] for r in out.history]
    assert lrs[:4] == pytest.approx([1e-2, 1e-2, 1e-2, 1e-2]) and lrs[4] == pytest.approx(5e-3)
    assert len(out.history) == 6 and out.stopped_by == "patience" and out.best_epoch == 2


def test_time_budget_stops_after_the_epoch_that_passes_it():
    out = train(_build, _draw, _mse, schedule=Schedule(epochs=50, batch_size=16, minutes=1e-9), verbose=0)
    assert len(out.history) == 1 and out.stopped_by == "budget"


def _interrupt_after(last: int, schedule, checkpoint_dir) -> None:
    """A run with checkpoints stopped (as by Ctrl-C) once epoch ``last`` has ended."""

    def interrupt(epoch, row, model):
        if epoch == last:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(_build, _draw, _mse, VALIDATION, schedule=schedule, checkpoint_dir=checkpoint_dir, verbose=0,
              on_epoch_end=interrupt)


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    schedule = Schedule(epochs=5, batch_size=16, learning_rate=1e-2, patience=None, halve_after=None)

    _interrupt_after(2, schedule, tmp_path)
    assert list(tmp_path.glob("checkpoint-*.npz"))
    resumed = train(_build, _draw, _mse, VALIDATION, schedule=schedule, checkpoint_dir=tmp_path, verbose=0)
    assert resumed.resumed_at_epoch == 3
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4, 5]
    assert not list(tmp_path.glob("checkpoint-*.npz"))  # removed once training ended
    whole = train(_build, _draw, _mse, VALIDATION, schedule=schedule, verbose=0)
    assert [r["loss"] for r in resumed.history] == pytest.approx([r["loss"] for r in whole.history], rel=1e-3)


def test_a_checkpoint_of_another_run_is_refused_not_resumed(tmp_path, capsys):
    """Another folder of data (here other validation examples) or another seed under one --checkpoint-dir: the
    checkpoint is named and refused, and left as it was; the same run resumes and says so."""
    from musicstyle.errors import MusicstyleError

    schedule = Schedule(epochs=4, batch_size=16, learning_rate=1e-2, patience=None, halve_after=None)

    _interrupt_after(1, schedule, tmp_path)
    (saved,) = tmp_path.glob("checkpoint-*.npz")
    before = saved.read_bytes()
    other = (VALIDATION[0], 2 * VALIDATION[1])

    def other_draw(epoch, rng):  # other training data, the same validation (as runs validated by a score alone)
        x, y = _draw(epoch, rng)
        return x, 2 * y

    for kwargs in ({"validation": other}, {"validation": VALIDATION, "seed": 1}, {"validation": VALIDATION, "draw": other_draw}):
        with pytest.raises(MusicstyleError, match="is the checkpoint of another run") as err:
            train(_build, **{"draw": _draw, **kwargs}, loss=_mse, schedule=schedule, checkpoint_dir=tmp_path, verbose=0)
        assert str(saved) in str(err.value)
        assert saved.read_bytes() == before
    longer = Schedule(epochs=6, batch_size=16, learning_rate=1e-2, patience=None, halve_after=None)  # more epochs: the same run
    resumed = train(_build, _draw, _mse, VALIDATION, schedule=longer, checkpoint_dir=tmp_path, verbose=1)
    assert resumed.resumed_at_epoch == 2 and f"resumed from {saved} after epoch 2" in capsys.readouterr().out
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4, 5, 6]


def test_a_finished_member_of_another_run_is_refused(tmp_path):
    from musicstyle.errors import MusicstyleError
    from musicstyle.training import ensemble

    schedule = Schedule(epochs=1, batch_size=16, learning_rate=1e-2, patience=None)
    folder = ensemble.member_folder(tmp_path, 1)
    ensemble.train_member(_build, _draw, _mse, VALIDATION, schedule=schedule, checkpoint_dir=folder, seed=3, verbose=0)
    with pytest.raises(MusicstyleError, match="a member finished by another run"):
        ensemble.train_member(_build, _draw, _mse, (VALIDATION[0], 2 * VALIDATION[1]), schedule=schedule,
                              checkpoint_dir=folder, seed=3, verbose=0)


def test_a_finished_member_is_read_back_until_the_ensemble_is_cleared(tmp_path, monkeypatch):
    from musicstyle.training import ensemble, trainer

    schedule = Schedule(epochs=2, batch_size=16, learning_rate=1e-2, patience=None)
    folder = ensemble.member_folder(tmp_path, 2)
    assert folder == tmp_path / "member-2" and ensemble.member_folder(None, 2) is None
    model, best, rows, _ = ensemble.train_member(_build, _draw, _mse, VALIDATION, schedule=schedule, checkpoint_dir=folder,
                                                 seed=3, verbose=0)
    assert (folder / ensemble.DONE).is_file() and len(rows) == 2
    monkeypatch.setattr(trainer, "train", lambda *a, **k: pytest.fail("a finished member is not trained again"))
    again, again_best, again_rows, _ = ensemble.train_member(_build, _draw, _mse, VALIDATION, schedule=schedule,
                                                             checkpoint_dir=folder, seed=3, verbose=0)
    assert again_best == best and again_rows == rows
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    ensemble.clear_members(tmp_path, 2)
    assert not list(tmp_path.iterdir())


def test_an_average_of_log_softmax_is_the_members_mean_log_probability():
    import keras
    from scipy.special import log_softmax

    from musicstyle.training.ensemble import average_model

    members = []
    for k in (1, 2):
        keras.utils.set_random_seed(k)
        x = keras.Input((4,))
        members.append(keras.Model(x, keras.layers.Dense(3)(x), name=f"m{k}"))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = np.mean([log_softmax(np.asarray(m(x), np.float64), axis=1) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(average_model(members, each="log_softmax")(x)), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(average_model(members)(x)), np.mean([np.asarray(m(x)) for m in members], 0),
                               atol=1e-5)


def _run(script: str, env: dict, timeout: float = 240) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "helpers" / script)], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_mirrored_over_two_logical_cpus():
    proc = _run("train_toy.py", {"TOY_STRATEGY": "mirrored"})
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["last_loss"] < result["first_loss"]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_workers_train_one_model_together():
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = [_run("train_toy.py", {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                                    "TOY_STRATEGY": "auto"}) for i in range(2)]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            proc.kill()
    assert [r["replicas"] for r in results] == [2, 2]
    assert results[0]["weights_sum"] == pytest.approx(results[1]["weights_sum"], rel=1e-6)  # one model, kept in sync
    assert results[0]["last_loss"] < results[0]["first_loss"]


def test_a_model_file_written_again_is_read_afresh_not_served_from_the_cache(tmp_path):
    import keras

    from musicstyle.training.modelfile import save_model
    from musicstyle.training.shipped import load_shipped

    def tiny(units: int):
        inputs = keras.Input((3,))
        return keras.Model(inputs, keras.layers.Dense(units)(inputs))

    path = tmp_path / "mine.keras"
    save_model(tiny(1), path, {"kind": "test", "version": 1})
    first = load_shipped(path)
    assert load_shipped(path) is first  # kept while the file stays the same
    save_model(tiny(2), path, {"kind": "test", "version": 2})  # retrained under the same name
    model, meta = load_shipped(path)
    assert meta["version"] == 2 and model.output_shape == (None, 2)

"""The one trainer of every model: fresh windows through ``tf.data``, any ``tf.distribute`` strategy.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (and used by notebooks 02b, 03, 04 and 06). Each
model package says *what* to learn (a model builder, a loss, a function that draws an epoch's
examples, a validation score); this module says *how*, the same for all five models:

* every epoch draws fresh examples (``draw(epoch)``, seeded by the run's seed and the epoch), shuffled,
  fed through ``tf.data`` one batch at a time (prefetched) and distributed by the strategy; a draw
  may be :class:`Examples`, which builds each batch only when it is fed, so an epoch of windows
  never has to sit in memory as float32;
* one compiled training step (``tf.function`` around ``strategy.run``), so the same code runs on
  one CPU, mirrored on several GPUs or logical devices, and as one worker of a
  ``MultiWorkerMirroredStrategy`` started from ``TF_CONFIG`` (Keras 3's own ``fit`` fails under the
  multi-worker strategy, keras-team/keras#20585); mixed precision (with loss scaling) on a GPU only;
* validation each epoch (the mean validation loss, and any score the model package computes),
  the best weights kept, the learning rate halved after ``halve_after`` epochs in a row without a
  better validation figure (optionally going back to the best weights first), early stopping
  after ``patience`` such epochs, an optional time budget;
* a checkpoint after every epoch (weights, optimizer state, best weights, history) from which an
  interrupted run resumes where it stopped, and one progress display (a tqdm bar, which is a
  widget in notebooks and a text bar in terminals).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .progress import Progress, run_key


@dataclass
class Schedule:
    """How long and how fast to train.

    Attributes:
        epochs: most epochs.
        batch_size: global batch (split over the strategy's replicas).
        learning_rate: Adam's starting learning rate.
        clipnorm: clip each gradient to this norm (None: no clipping).
        halve_after: epochs in a row without a better ``monitor`` before the learning rate halves
            (None: never).
        revert_on_halve: go back to the best weights when halving.
        patience: epochs in a row without a better ``monitor`` before stopping (None: never).
        minutes: stop after the epoch that passes this budget (None: no budget).
        monitor: the epoch figure that decides "better": ``val_loss`` or a key of ``score``'s result; a
            run without validation decides by the training loss (lower is better, whatever ``mode``).
        mode: ``min`` or ``max`` for ``monitor``.
    """

    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    clipnorm: float | None = None
    halve_after: int | None = 2
    revert_on_halve: bool = False
    patience: int | None = 6
    minutes: float | None = None
    monitor: str = "val_loss"
    mode: str = "min"


@dataclass
class Examples:
    """An epoch's examples built batch by batch: ``take(indices)`` -> ``(x, y)`` or ``(x, y, w)`` numpy.

    Attributes:
        count: how many examples the epoch has.
        take: builds the examples at the given positions (a sorted or shuffled int array), in that order.
    """

    count: int
    take: Callable

    @classmethod
    def of(cls, examples) -> "Examples":
        """Arrays ``(x, y)`` or ``(x, y, w)`` (``x``, ``y`` may be tuples) as :class:`Examples`."""
        if isinstance(examples, cls):
            return examples
        examples = _with_weights(examples)
        return cls(len(examples[2]), lambda order: tuple(_take(v, order) for v in examples))


@dataclass
class Trained:
    """What :func:`train` returns: the model at its best epoch and how it got there."""

    model: object
    history: list[dict] = field(default_factory=list)
    best: float | None = None
    best_epoch: int | None = None
    stopped_by: str = "epochs"
    replicas: int = 1
    mixed_precision: bool = False
    resumed_at_epoch: int = 0
    run_key: str | None = None  # what makes the run the same run (with a checkpoint folder; training.progress)

    def summary(self) -> dict:
        """The figures worth storing in a model's metadata."""
        return {"epochs_run": len(self.history), "best": self.best, "best_epoch": self.best_epoch,
                "stopped_by": self.stopped_by, "replicas": self.replicas, "mixed_precision": self.mixed_precision,
                "history": self.history}


def train(build: Callable, draw: Callable, loss, validation=None, score: Callable | None = None,
          schedule: Schedule | None = None, loss_weights=None, strategy=None, checkpoint_dir=None, seed: int = 0,
          label: str = "", verbose: int = 1, on_epoch_end: Callable | None = None) -> Trained:
    """Train the model that ``build()`` makes.

    Args:
        build: makes the (uncompiled) Keras model; called inside the strategy's scope.
        draw: ``draw(epoch, rng)`` -> ``(x, y)`` or ``(x, y, sample_weight)`` numpy arrays (``x`` and
            ``y`` may be tuples for several inputs or outputs), or :class:`Examples`: that epoch's
            training examples.
        loss: ``loss(y_true, y_pred)`` -> per-example losses (batch first), or a list of them, one
            per output.
        validation: fixed ``(x, y)`` or ``(x, y, sample_weight)`` for ``val_loss`` (None: none).
        score: ``score(model)`` -> dict of extra validation figures (for example piece accuracy).
        schedule: a :class:`Schedule` (default: its defaults).
        loss_weights: weight of each output's loss.
        strategy: a ``tf.distribute`` strategy (default: :func:`musicstyle.training.device.strategy`).
        checkpoint_dir: folder of the resumable checkpoint (None: none); removed when training ends. A checkpoint
            of another run (other settings, seed, model shape or validation examples: another folder of data) is
            refused, never resumed.
        seed: seeds the weights and every epoch's draw.
        label: shown before the progress figures.
        verbose: 0 silent, 1 a bar and one line per epoch.
        on_epoch_end: ``on_epoch_end(epoch, row, model)`` after each epoch's checkpoint.

    Returns:
        A :class:`Trained` holding the model with its best weights.
    """
    import keras
    import tensorflow as tf

    from . import device

    schedule = schedule or Schedule()
    strategy = strategy or device.strategy()
    mixed = device.use_mixed_precision_if_gpu()
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build()
        optimizer = keras.optimizers.Adam(schedule.learning_rate, clipnorm=schedule.clipnorm)
        if mixed:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)
    losses = list(loss) if isinstance(loss, (list, tuple)) else [loss]
    weights = list(loss_weights) if loss_weights is not None else [1.0] * len(losses)
    per_example = _per_example(losses, weights)
    global_batch = schedule.batch_size

    @tf.function
    def train_step(batch):
        def replica(x, y, w):
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                value = tf.nn.compute_average_loss(per_example(y, pred, w), global_batch_size=global_batch)
                if model.losses:
                    value += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
                scaled = optimizer.scale_loss(value)
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return value

        return strategy.reduce("SUM", strategy.run(replica, args=batch), axis=None)

    @tf.function
    def eval_step(batch):
        def replica(x, y, w):
            return tf.reduce_sum(per_example(y, model(x, training=False), w)), tf.cast(tf.shape(w)[0], tf.float32)

        total, count = strategy.run(replica, args=batch)
        return strategy.reduce("SUM", total, axis=None), strategy.reduce("SUM", count, axis=None)

    run = _key(model, draw, validation, schedule, seed, label) if checkpoint_dir is not None else None
    state = Progress(schedule, model, optimizer, checkpoint_dir, run)
    val_data, val_pipeline = None, _Pipeline(strategy, global_batch)
    if validation is not None:
        val = Examples.of(validation)
        val_data = val_pipeline.epoch(val, np.arange(val.count), drop_remainder=False)
        del val
    show = verbose and device.is_chief()
    from tqdm.auto import tqdm

    pipeline = _Pipeline(strategy, global_batch)
    if show and state.start_epoch:
        tqdm.write(f"{label} " * bool(label) + f"resumed from {state.file} after epoch {state.start_epoch}")
    for epoch in range(state.start_epoch, schedule.epochs):
        pipeline.release()  # the previous epoch's examples are freed before the next draw
        rng = np.random.default_rng([seed, epoch])
        examples = Examples.of(draw(epoch, rng))
        order = rng.permutation(examples.count)  # shuffled here: no tf.data shuffle buffer (a second copy)
        steps = max(1, examples.count // global_batch)
        data = pipeline.epoch(examples, order, drop_remainder=examples.count >= global_batch)
        del examples
        lr = float(np.asarray(optimizer.learning_rate))
        t0 = time.perf_counter()
        total, i = 0.0, -1
        bar = tqdm(total=steps, desc=f"{label} epoch {epoch + 1}/{schedule.epochs}".strip(), unit="batch",
                   leave=False, disable=not show)
        for i, batch in enumerate(data):
            total += float(train_step(batch))
            bar.update()
            bar.set_postfix(loss=f"{total / (i + 1):.4g}", refresh=False)
        bar.close()
        row = {"epoch": epoch + 1, "loss": total / max(i + 1, 1), "learning_rate": lr}
        if val_data is not None:
            sums = [eval_step(b) for b in val_data]
            row["val_loss"] = float(sum(float(s) for s, _ in sums) / max(sum(float(c) for _, c in sums), 1.0))
        if score is not None:
            row.update(score(model))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        stop = state.end_epoch(row, time.perf_counter() - t0)
        if show:
            tqdm.write(f"{label} " * bool(label) + " ".join(_fmt(k, v) for k, v in row.items()))
        if on_epoch_end is not None:
            on_epoch_end(epoch, row, model)
        if stop:
            break
    pipeline.release()
    val_pipeline.release()
    return Trained(state.finish(), state.history, state.best, state.best_epoch, state.stopped_by,
                   int(getattr(strategy, "num_replicas_in_sync", 1)), mixed, state.resumed_at, run)


_TRAIN = train  # the trainer itself, for call_run_key's signature (tests may stand another in for train)


def _per_example(losses: list, weights: list) -> Callable:
    """``f(y, pred, w)``: the weighted sum over outputs of each example's mean loss."""
    import tensorflow as tf

    def mean_per_example(value, w):
        value = tf.cast(value, tf.float32)
        if w is not None and len(w.shape) > 1:  # per-step weights: weighted, then averaged over the steps
            value = value * tf.cast(w, tf.float32)
        axes = list(range(1, len(value.shape)))
        value = tf.reduce_mean(value, axis=axes) if axes else value
        if w is not None and len(w.shape) == 1:
            value = value * tf.cast(w, tf.float32)
        return value

    def f(y, pred, w):
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        preds = list(pred) if isinstance(pred, (list, tuple)) else [pred]
        return tf.add_n([k * mean_per_example(fn(t, p), w) for fn, k, t, p in zip(losses, weights, ys, preds)])

    return f


def _with_weights(examples) -> tuple:
    """``(x, y, w)`` with ``w`` all ones when the draw gave none."""
    examples = tuple(examples)
    if len(examples) == 3:
        return examples
    x, y = examples
    first = y[0] if isinstance(y, (list, tuple)) else y
    return x, y, np.ones(len(first), np.float32)


def _take(v, order: np.ndarray):
    """``v`` (an array, or a tuple/list of arrays) in the order ``order``."""
    return tuple(np.asarray(a)[order] for a in v) if isinstance(v, (list, tuple)) else np.asarray(v)[order]


class _Pipeline:
    """One distributed ``tf.data`` pipeline for every epoch, of the batches ``examples.take`` builds.

    ``Dataset.from_generator`` never frees what its generator holds (tensorflow#57690): a pipeline
    per epoch kept every epoch's draw in memory. Here one generator reads the examples set by
    :meth:`epoch` and forgets them on :meth:`release`.
    """

    def __init__(self, strategy, batch: int):
        self.strategy, self.batch = strategy, batch
        self.examples, self.spans, self.data = None, [], None

    def epoch(self, examples: Examples, order: np.ndarray, drop_remainder: bool):
        """The pipeline, serving ``examples`` in ``order`` (whole batches only with ``drop_remainder``)."""
        import tensorflow as tf

        b = self.batch
        ends = range(b, len(order) + 1, b) if drop_remainder else range(b, len(order) + b, b)
        self.examples, self.spans = examples, [order[end - b : end] for end in ends]
        if self.data is None:
            spec = lambda a: tf.TensorSpec((None, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype))  # noqa: E731
            first = _with_weights(examples.take(order[:1]))
            signature = tuple(tuple(spec(a) for a in v) if isinstance(v, (list, tuple)) else spec(v) for v in first)
            ds = tf.data.Dataset.from_generator(self._batches, output_signature=signature).prefetch(2)
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            self.data = self.strategy.experimental_distribute_dataset(ds.with_options(options))
        return self.data

    def release(self) -> None:
        """Forget the examples (the pipeline stays, for the next :meth:`epoch`)."""
        self.examples, self.spans = None, []

    def _batches(self):
        examples, spans = self.examples, self.spans
        for span in spans:
            yield _with_weights(examples.take(span))


def _fmt(key, value) -> str:
    return f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"


def call_run_key(model, build, *args, **kwargs) -> str:
    """:func:`run_key` of a call ``train(build, *args, **kwargs)`` whose ``build()`` made ``model``."""
    import inspect

    bound = inspect.signature(_TRAIN).bind(build, *args, **kwargs).arguments
    return _key(model, bound["draw"], bound.get("validation"), bound.get("schedule") or Schedule(), bound.get("seed", 0),
                bound.get("label", ""))


def _key(model, draw: Callable, validation, schedule: Schedule, seed: int, label: str) -> str:
    """:func:`~musicstyle.training.progress.run_key` of a run: its first epoch's draw (made as the run makes it)
    and its validation examples stand for its data."""
    first = Examples.of(draw(0, np.random.default_rng([seed, 0])))
    return run_key(model, (first, None if validation is None else Examples.of(validation)), schedule, seed, label)



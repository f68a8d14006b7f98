"""A Keras model's forward pass as one TensorFlow graph, for inference on inputs of any length.

Run op by op (eagerly), a model spends most of a call dispatching its layers, and ``model.predict``
adds Keras' per-call setup; a piece at a time, both cost more than the arithmetic. :func:`compiled`
traces the pass once, for any batch and any length, and keeps it beside the model while the model
lives. Used by every whole-piece prediction (velocity models, dynamics judges).
"""

from __future__ import annotations

import weakref

import numpy as np

#: Each live model's compiled pass.
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Pass:
    """A model's inference call, holding the model weakly. An object rather than a closure: TensorFlow
    counts traces per function code, and one code traced once per model would be warned about as
    retracing."""

    def __init__(self, model):
        self.model = weakref.ref(model)

    def __call__(self, *x):
        return self.model()(list(x) if len(x) > 1 else x[0], training=False)


def _spec(shape):
    import tensorflow as tf

    # every axis but the last (features) may vary: the batch, and the notes, steps or segments
    return tf.TensorSpec((None,) * (len(shape) - 1) + (shape[-1],), tf.float32)


def compiled(model):
    """``model``'s inference pass (``training=False``) traced once into a graph.

    Args:
        model: a built Keras model with float inputs whose last axis is fixed.

    Returns:
        A function of the model's input arrays (one per model input, any length) returning the
        output as a numpy array. It holds the model weakly: dropping the model frees both.
    """
    run = _GRAPHS.get(model)
    if run is None:
        import tensorflow as tf

        graph = tf.function(_Pass(model), input_signature=[_spec(tuple(x.shape)) for x in model.inputs])

        def run(*arrays, graph=graph):
            return np.asarray(graph(*[np.asarray(a, np.float32) for a in arrays]))

        run.graph = graph
        _GRAPHS[model] = run
    return run

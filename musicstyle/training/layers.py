"""The package's custom Keras layers, registered at import (safe-mode loading needs them registered).

Taught in ``notebooks/02_velocity_cnn.ipynb``. Their registered names (``musicstyle>Columns``, ...)
are what the shipped ``.keras`` files name: never rename one without re-saving those files.
Backend-neutral: only ``keras.ops``.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="musicstyle")
class Columns(keras.layers.Layer):
    """Columns ``start:stop`` of the last axis, as float."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop

    def call(self, x):
        return ops.cast(x[..., self.start : self.stop], self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="musicstyle")
class OnsetMask(keras.layers.Layer):
    """Keep ``values`` (first ``keys`` columns) only where a key is struck in ``inputs``."""

    def __init__(self, keys: int, **kwargs):
        super().__init__(**kwargs)
        self.keys = keys

    def call(self, values, inputs):
        mask = ops.cast(inputs[..., : self.keys] > 0, values.dtype)
        return values[..., : self.keys] * mask

    def get_config(self):
        return {**super().get_config(), "keys": self.keys}


@keras.saving.register_keras_serializable(package="musicstyle")
class GatedBlock(keras.layers.Layer):
    """WaveNet block: tanh(conv) * sigmoid(conv), two-sided dilated, 1x1 back, residual."""

    def __init__(self, channels: int, dilation: int, kernel: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.dilation, self.kernel = channels, dilation, kernel
        self.conv = keras.layers.Conv1D(2 * channels, kernel, dilation_rate=dilation, padding="same")
        self.out = keras.layers.Conv1D(channels, 1)

    def build(self, shape):
        self.conv.build(shape)
        self.out.build(tuple(shape[:-1]) + (self.channels,))

    def call(self, x):
        a, b = ops.split(self.conv(x), 2, axis=-1)
        return x + self.out(ops.tanh(a) * ops.sigmoid(b))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "dilation": self.dilation, "kernel": self.kernel}


@keras.saving.register_keras_serializable(package="musicstyle")
class NoteMask(keras.layers.Layer):
    """``values`` (batch, notes, 1) as (batch, notes), 0 on padding rows (pitch 0) of ``notes``."""

    def call(self, values, notes):
        return values[..., 0] * ops.cast(notes[..., 0] > 0, values.dtype)

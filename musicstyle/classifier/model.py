"""The classifier's two architectures, its 50-d style sub-model, its metadata and its shipped files.

Taught in ``notebooks/03_genre_classifier.ipynb``. Two architectures:

- ``paper``: the CS230 stack, Conv1D(4, k32, d4) -> AvgPool 4 -> BN -> ReLU -> Conv1D(16, k16, d2)
  -> AvgPool 2 -> BN -> ReLU -> Dense 50 (the style vector) -> Dense 1 sigmoid;
- ``improved``: the same two dilated stages with 32 and 64 filters, a third stage, global
  average + max pooling over time (every window position counts alike), dropout, Dense 50 ->
  Dense 1; trained with random transposition of the keys (+-5 semitones).

Output: probability of *jazz*.
"""

from __future__ import annotations

from ..core.roll import KEYS_ONLY, Layout
from .data import CLASSES

KIND = "classifier"
SHIPPED = "classifier.keras"


def build(arch: str = "improved", length: int = 512, columns: int = KEYS_ONLY.columns, channels: int = 2):
    """The classifier as a Keras model. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        arch: ``paper`` or ``improved``.
        length: steps per window.
        columns: columns of each channel.
        channels: channels side by side (held, velocity).

    Returns:
        The uncompiled model; its layer ``style`` is the 50-d style vector, its output P(jazz).
    """
    import keras
    from keras import layers

    inp = keras.Input((length, columns * channels), name="roll")
    if arch == "paper":
        x = layers.Conv1D(4, 32, dilation_rate=4, padding="same")(inp)
        x = layers.AveragePooling1D(4)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv1D(16, 16, dilation_rate=2, padding="same")(x)
        x = layers.AveragePooling1D(2)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Flatten()(x)
    elif arch == "improved":
        x = inp
        for filters, size, dilation, pool in ((32, 32, 4, 4), (64, 16, 2, 2), (64, 8, 2, 2)):
            x = layers.Conv1D(filters, size, dilation_rate=dilation, padding="same")(x)
            x = layers.AveragePooling1D(pool)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
        x = layers.Dropout(0.3)(x)
    else:
        raise ValueError(f"unknown architecture {arch!r} (paper or improved)")
    style = layers.Dense(50, activation="relu", name="style")(x)
    out = layers.Dense(1, activation="sigmoid", name="jazz")(style)
    return keras.Model(inp, out, name=f"classifier_{arch}")


def style_model(model):
    """The classifier cut at its style layer. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        model: a classifier (its weights are shared, not copied).

    Returns:
        A Keras model from the classifier's input to its 50-d ``style`` layer.
    """
    import keras

    return keras.Model(model.inputs[0], model.get_layer("style").output)


def metadata(arch: str, layout: Layout, length: int) -> dict:
    """What a classifier file records about its inputs (taught in ``notebooks/03_genre_classifier.ipynb``).

    Args:
        arch: ``paper`` or ``improved``.
        layout: the input columns.
        length: steps per window.

    Returns:
        The metadata dict (``kind``, ``arch``, ``layout``, ``length``, ``classes``, ...).
    """
    return {
        "kind": KIND,
        "arch": arch,
        "layout": layout.to_dict(),
        "length": length,
        "channels": ["held", "velocity/127"],
        "classes": list(CLASSES),
        "output": "probability of jazz",
    }


def load(name: str | None = None) -> tuple:
    """A classifier and its metadata. Taught in ``notebooks/03_genre_classifier.ipynb``.

    Args:
        name: a .keras file, or the name of a shipped one (``classifier_paper.keras``) when no file of that name
            is here (None: the shipped keys-only classifier, :data:`SHIPPED`).

    Returns:
        ``(model, metadata)``, loaded once through :func:`musicstyle.training.shipped.load_shipped`.
    """
    from ..training.shipped import load_shipped, pretrained_path

    return load_shipped(str(pretrained_path(SHIPPED)) if name is None else name, KIND)

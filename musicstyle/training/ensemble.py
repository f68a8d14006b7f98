"""Seed ensembles: one Keras model that averages several trained models with the same inputs.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (the velocity models' members) and
``notebooks/02b_did_the_style_move.ipynb`` (the relations judge's members).
"""

from __future__ import annotations


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

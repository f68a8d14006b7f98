"""The note-token LSTM: its architecture, and loading a saved one with its vocabulary checked.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError
from .data import GENRE_SOURCES
from .vocabulary import Vocabulary

#: Default model settings (stored in the model's metadata): ``transpose`` moves each training piece
#: by a random shift up to this many semitones each epoch.
DEFAULTS = {"arch": "lstm", "window": 128, "embedding": 96, "units": 256, "layers": 2, "dropout": 0.3, "min_count": 2,
            "batch": 32, "transpose": 5}
#: The popular tutorial's recipe, trained as a baseline (``--arch tutorial``): three LSTM(512) on the
#: token as one float (id / vocabulary), 100 tokens predicting the 101st.
TUTORIAL = {"arch": "tutorial", "window": 100, "embedding": 0, "units": 512, "layers": 3, "dropout": 0.3, "min_count": 2,
            "batch": 64, "transpose": 0}


def build_model(vocab_size: int, embedding: int = 64, units: int = 128, layers: int = 2, dropout: float = 0.3):
    """Embedding -> stacked LSTM (dropout after each) -> dense softmax over the vocabulary, at every step.

    Taught in ``notebooks/06_note_lstm.ipynb``. Many-to-many: every position of a window predicts
    its next token (a window's length times the training signal of the tutorial's one target). The
    dense layer also sees the current token's embedding (a skip around the LSTMs): that path alone
    is a bigram model, learnt in a couple of epochs, and the LSTMs add what longer context knows.

    Args:
        vocab_size: tokens in the vocabulary (inputs and outputs).
        embedding: embedding width.
        units: LSTM units per layer.
        layers: stacked LSTM layers.
        dropout: dropout after each LSTM.

    Returns:
        The uncompiled Keras model (``tokens`` in, ``next_token`` probabilities out).
    """
    import keras

    inp = keras.Input(shape=(None,), dtype="int32", name="tokens")
    emb = keras.layers.Embedding(vocab_size, embedding, name="embedding")(inp)
    x = emb
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm{i + 1}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    x = keras.layers.Concatenate(name="skip")([x, emb])
    out = keras.layers.Dense(vocab_size, activation="softmax", name="next_token")(x)
    return keras.Model(inp, out, name="note_lstm")


def build_tutorial(vocab_size: int, units: int = 512, layers: int = 3, dropout: float = 0.3):
    """The tutorial's network: the token as one scaled float -> stacked LSTM -> Dense(256) -> softmax.

    Taught in ``notebooks/06_note_lstm.ipynb``. Every LSTM returns its sequence so that the same
    network scores every position at evaluation, as :func:`build_model` does; training weights only
    the last position of each window (the tutorial's one target).

    Args:
        vocab_size: tokens in the vocabulary (outputs; the input is ``id / vocab_size``).
        units: LSTM units per layer.
        layers: stacked LSTM layers.
        dropout: dropout after each LSTM and the dense layer.

    Returns:
        The uncompiled Keras model (``tokens`` in, ``next_token`` probabilities out).
    """
    import keras

    inp = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = keras.layers.Rescaling(1.0 / vocab_size, name="scaled")(inp)
    x = keras.layers.Reshape((-1, 1), name="one_float")(x)
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm{i + 1}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    x = keras.layers.Dense(256, name="dense")(x)
    x = keras.layers.Dropout(dropout, name="dropout_dense")(x)
    out = keras.layers.Dense(vocab_size, activation="softmax", name="next_token")(x)
    return keras.Model(inp, out, name="tutorial_lstm")


def build(cfg: dict, vocab_size: int):
    """The network a model's settings describe.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        cfg: settings (:data:`DEFAULTS` or :data:`TUTORIAL`).
        vocab_size: tokens in the vocabulary.

    Returns:
        The uncompiled Keras model.
    """
    if cfg.get("arch", "lstm") == "tutorial":
        return build_tutorial(vocab_size, cfg["units"], cfg["layers"], cfg["dropout"])
    return build_model(vocab_size, cfg["embedding"], cfg["units"], cfg["layers"], cfg["dropout"])


def check_metadata(meta: dict, model, source: str | Path) -> Vocabulary:
    """The model's vocabulary, after checking it against the network's shapes and settings.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        meta: the model's metadata.
        model: the loaded network.
        source: the file named in errors.

    Returns:
        The :class:`Vocabulary`; raises :class:`MusicstyleError` on any mismatch.
    """
    for key in ("vocabulary", "settings", "genre"):
        if key not in meta:
            raise MusicstyleError(source, f"token model metadata lacks '{key}'")
    vocab = Vocabulary(meta["vocabulary"])
    if vocab.tokens != list(meta["vocabulary"]) or len(set(vocab.tokens)) != len(vocab.tokens):
        raise MusicstyleError(source, "vocabulary in the metadata is malformed (must start with <unk>, no duplicates)")
    out = model.get_layer("next_token").units
    emb = model.get_layer("embedding").input_dim if meta["settings"].get("arch", "lstm") != "tutorial" else out
    if not (emb == out == len(vocab)):
        raise MusicstyleError(
            source, f"vocabulary mismatch: metadata has {len(vocab)} tokens, network expects {emb} inputs and {out} outputs"
        )
    units = model.get_layer("lstm1").units
    if meta["settings"].get("units") not in (None, units):
        raise MusicstyleError(source, f"settings mismatch: metadata says {meta['settings']['units']} LSTM units, network has {units}")
    return vocab


def load(genre_or_path: str | Path) -> tuple:
    """A token model, checked: a genre's shipped model (loaded once) or a ``.keras`` file.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre_or_path: ``classical``, ``pop``, ``jazz`` or a path.

    Returns:
        ``(model, metadata, vocabulary)``.
    """
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    if str(genre_or_path) in GENRE_SOURCES:
        from ..training.shipped import load_shipped, pretrained_path

        name = f"tokens_{genre_or_path}.keras"
        model, meta = load_shipped(str(pretrained_path(name)), "tokens")
    else:
        from ..training.modelfile import load_model

        name = Path(genre_or_path)
        if name.suffix != ".keras" and not name.exists():
            raise MusicstyleError(name, f"neither a genre ({', '.join(GENRE_SOURCES)}) nor a .keras model file")
        model, meta = load_model(name, kind="tokens")
    return model, meta, check_metadata(meta, model, name)


def described_model(model, genre: str) -> str:
    """How a result names the token model it used: ``tokens_GENRE.keras (shipped)`` or the file given
    (:func:`musicstyle.training.shipped.described`)."""
    from ..training.shipped import described, model_file, pretrained_path

    return described(model_file(model) if model else pretrained_path(f"tokens_{genre}.keras"))

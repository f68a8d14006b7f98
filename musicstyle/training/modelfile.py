"""Saving and loading models as ``.keras`` files that carry their own metadata.

Taught in ``notebooks/02_velocity_cnn.ipynb``. The metadata (kind, representation settings,
vocabulary, genre, split, data checksum, metrics, package version) is stored as
``musicstyle.json`` inside the ``.keras`` zip, beside Keras's own files; models are loaded with
``safe_mode=True`` (no arbitrary code), so custom layers must be registered serializables.
"""

from __future__ import annotations

import json
import zipfile
from importlib import resources
from pathlib import Path

from ..core.outputs import output_file
from ..errors import MusicstyleError

METADATA_NAME = "musicstyle.json"
#: Where the package's shipped model files are (``musicstyle/pretrained/``).
SHIPPED_FOLDER = Path(str(resources.files("musicstyle").joinpath("pretrained")))


def model_file(name) -> Path:
    """The file a model name stands for: the file itself, or the shipped one (in :data:`SHIPPED_FOLDER`) for a bare
    name that is no file here. Raises :class:`MusicstyleError` naming it when it is neither."""
    import os

    if not isinstance(name, (str, os.PathLike)):  # a loaded (model, meta) where its file was meant, say
        raise MusicstyleError(type(name).__name__, "a model file's path is expected here (str or Path), not a loaded model")
    path = Path(name)
    try:
        if path.is_dir():
            raise MusicstyleError(path, "is a folder, not a model file")
        if not path.is_file():
            if path.name != str(name) or not (SHIPPED_FOLDER / path.name).is_file():
                raise MusicstyleError(path, "no such model file" + ("" if path.name != str(name) else
                                                                      " (nor a model of that name shipped with the package)"))
            path = SHIPPED_FOLDER / path.name
    except OSError as err:  # a folder on the way that cannot be entered
        raise MusicstyleError.unreadable(path, err) from None
    return path


def model_path(path: str | Path, inputs=()) -> Path:
    """``path`` as a :class:`Path` when it names a ``.keras`` file (checked before any training starts).

    Args:
        path: the model file to write.
        inputs: model files the command reads (a ``--init`` model, the model being refitted; ``None`` ignored).

    Returns:
        The path; another suffix, a folder or one of ``inputs`` raises :class:`MusicstyleError`.
    """
    return output_file(path, (".keras",), "model files", inputs=[_read_as(i) for i in inputs if i is not None], exact=True)


def _read_as(name):
    """The file a model input is read from (a shipped model's bare name: the shipped file), or the name as given."""
    try:
        return model_file(name)
    except MusicstyleError:  # not there: the command says so when it reads it
        return name


def save_model(model, path: str | Path, metadata: dict) -> Path:
    """Save a model as ``.keras`` with its metadata inside (no optimizer state).

    Args:
        model: the Keras model.
        path: the ``.keras`` file to write.
        metadata: JSON-able dict; must hold a ``kind`` (``velocity``, ``tokens``, ...).

    Returns:
        ``path``.
    """
    from .. import __version__

    if "kind" not in metadata:
        raise ValueError("metadata needs a 'kind' (for example 'velocity')")
    path = model_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if getattr(model, "optimizer", None) is not None:  # saved bare: weights and architecture, no training state
        import keras

        bare = keras.Model.from_config(model.get_config())
        bare.set_weights(model.get_weights())
        model = bare
    model.save(path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(METADATA_NAME, json.dumps({**metadata, "musicstyle_version": __version__}, indent=1))
    return path


def read_metadata(path: str | Path) -> dict:
    """The metadata of a saved model (a file, or a shipped one's bare name: :func:`model_file`), without loading
    it; clear errors for a wrong or corrupt file."""
    path = model_file(path)
    try:
        with zipfile.ZipFile(path) as z:
            meta = json.loads(z.read(METADATA_NAME))
    except OSError as err:  # no permission to read it
        raise MusicstyleError.unreadable(path, err) from None
    except zipfile.BadZipFile:
        raise MusicstyleError(path, "not a .keras model file (not a zip archive)") from None
    except KeyError:
        raise MusicstyleError(path, "not a musicstyle model (no musicstyle.json inside)") from None
    except (ValueError, UnicodeDecodeError):
        raise MusicstyleError(path, "corrupt model metadata") from None
    if not isinstance(meta, dict):
        raise MusicstyleError(path, f"corrupt model metadata (a JSON {type(meta).__name__}, not an object)")
    return meta


def load_model(path: str | Path, kind: str | None = None):
    """Load a model saved by :func:`save_model`, in safe mode (no arbitrary code).

    Args:
        path: the ``.keras`` file, or a shipped one's bare name (:func:`model_file`).
        kind: the metadata ``kind`` it must hold (None: any).

    Returns:
        ``(model, metadata)``. Raises :class:`MusicstyleError` when the file is missing, corrupt,
        or of another ``kind``.
    """
    import keras

    from . import layers  # noqa: F401  (registers the custom layers)

    path = model_file(path)
    meta = read_metadata(path)
    if kind is not None and meta.get("kind") != kind:
        raise MusicstyleError(path, f"holds a '{meta.get('kind')}' model, expected '{kind}'")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # keras raises many types for damaged archives
        raise MusicstyleError(path, f"cannot load model ({type(err).__name__}: {str(err)[:200]})") from None
    return model, meta

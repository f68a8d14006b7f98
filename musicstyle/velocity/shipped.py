"""Velocity model files: the shipped ones (loaded once, through :mod:`musicstyle.training.shipped`) and any other.

Taught in ``notebooks/02_velocity_cnn.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError
from .model import check_genre_arch

KIND = "velocity"


def _checked(path, loaded: tuple) -> tuple:
    if "layout" not in loaded[1] or "train_mean" not in loaded[1]:
        raise MusicstyleError(path, "velocity model metadata lacks layout or baselines")
    return loaded


def save(model, meta: dict, path) -> Path:
    """Save a velocity model with its metadata; weights only, no optimizer state.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        model: the Keras model.
        meta: its metadata (``kind`` ``velocity``, layout, baselines, ...).
        path: the ``.keras`` file to write.

    Returns:
        The path written.
    """
    from ..training.modelfile import save_model

    return save_model(model, path, meta)


def load_file(path, keep: bool = False) -> tuple:
    """Load a velocity model file in safe mode (read afresh on every call, unless ``keep``).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        path: a ``.keras`` file written by :func:`save`.
        keep: load it once and keep it while the file stays the same (:func:`musicstyle.training.shipped.load_shipped`).

    Returns:
        ``(model, meta)``; a wrong or corrupt file raises :class:`MusicstyleError`.
    """
    if keep:
        from ..training.shipped import load_shipped

        return _checked(path, load_shipped(str(path), KIND))
    from ..training.modelfile import load_model

    return _checked(path, load_model(path, KIND))


def pretrained_name(genre: str, arch: str = "improved") -> str:
    """File name of a shipped model in ``musicstyle/pretrained/``.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        genre: ``classical`` or ``jazz``.
        arch: ``improved``, ``paper`` or ``stylenet``.

    Returns:
        For example ``velocity_jazz.keras`` or ``velocity_paper_jazz.keras``.
    """
    check_genre_arch(genre, arch)
    return f"velocity_{genre}.keras" if arch == "improved" else f"velocity_{arch}_{genre}.keras"


def load(genre: str, arch: str = "improved") -> tuple:
    """The shipped pretrained model of a genre, loaded once in safe mode and kept.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        genre: the genre it plays (see :func:`pretrained_name`), or a ``.keras`` file (:func:`load_file` with
            ``keep``, as the other packages' ``load`` take a file).
        arch: its architecture.

    Returns:
        ``(model, meta)``, the same objects on every call.
    """
    from ..training.shipped import load_shipped, pretrained_path

    if str(genre).endswith(".keras"):
        return load_file(genre, keep=True)
    # the full path: a bare name would pick up a file of that name in the working folder
    path = pretrained_path(pretrained_name(genre, arch))
    return _checked(path, load_shipped(str(path), KIND))

"""The models shipped in ``musicstyle/pretrained/``: where they are, and one cache that loads each once.

Taught in ``notebooks/02_velocity_cnn.ipynb``. Every model package loads its shipped files through
:func:`load_shipped` (safe mode, metadata checked for its ``kind``); :func:`clear` frees them all.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError
from .modelfile import SHIPPED_FOLDER as _SHIPPED, load_model, model_file

_LOADED: dict[tuple[str, str | None], tuple] = {}


def pretrained_path(name: str) -> Path:
    """Path of a model file shipped inside the package (``musicstyle/pretrained/NAME``)."""
    path = _SHIPPED / name
    if not path.is_file():
        raise MusicstyleError(path, "pretrained model not shipped with this installation")
    return path


def is_shipped(path) -> bool:
    """Whether ``path`` is one of the model files shipped in ``musicstyle/pretrained/``, or a bare name that stands
    for one (:func:`model_file`)."""
    try:
        path = model_file(path)
    except MusicstyleError:  # no such file, nor a shipped one
        return False
    return path.resolve().parent == _SHIPPED.resolve()


def described(path) -> str:
    """How a command names the model file it used: ``NAME (shipped)`` for one of the package's, else the path."""
    return f"{Path(path).name} (shipped)" if is_shipped(path) else str(path)


def learned_caution(path, meta: dict, digests, family: str = "collection", split: str | None = None) -> str | None:
    """The ``learned_from`` caution of a model measured on files: the shipped models' (``path`` None or one of the
    package's, :func:`musicstyle.data.learned.learned_share`) or the file's own record
    (:func:`musicstyle.data.learned.model_learned_share`).

    Args:
        path: the model file measured (None: a shipped one).
        meta: its metadata.
        digests: the SHA-256 of each file measured.
        family, split: as for :func:`musicstyle.data.learned.learned_share`.

    Returns:
        The caution, or None.
    """
    from ..data.learned import learned_share, model_learned_share

    if path is None or is_shipped(path := model_file(path)):  # a bare name may be a shipped file's
        return learned_share(digests, family, split)
    return model_learned_share(meta, digests, Path(path).name, split)


def load_shipped(name: str, kind: str | None = None) -> tuple:
    """A model file as ``(model, metadata)``, loaded once and kept while the file stays the same.

    Args:
        name: a ``.keras`` file; a bare name that is no file here names a file in ``musicstyle/pretrained/``
            (:func:`model_file`; model packages load their defaults through :func:`pretrained_path`, so a file of
            the same name in the working folder is only ever read when a user names it).
        kind: the metadata ``kind`` it must hold (``velocity``, ``dynamics``, ...).

    Returns:
        ``(model, metadata)``; the same objects on every call until :func:`clear`, or until the file is
        written again (a model retrained under the same name is read afresh, not served stale).
    """
    path = model_file(name)
    key = (str(path.resolve()), kind)
    try:
        stat = path.stat()
    except OSError as err:
        raise MusicstyleError.unreadable(path, err) from None
    version = (stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED or _LOADED[key][0] != version:
        from . import layers  # noqa: F401  (registers the custom layers before any load)

        _LOADED[key] = (version, load_model(path, kind))
    return _LOADED[key][1]


def clear() -> None:
    """Forget every loaded model (frees their memory once nothing else holds them)."""
    _LOADED.clear()

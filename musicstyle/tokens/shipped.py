"""The element tables of every TPD and POP909 file, shipped inside the package.

Taught in ``notebooks/06_note_lstm.ipynb``. music21 takes about a second per file; the tables it
makes of the public datasets are shipped (``musicstyle/pretrained/tokens_tables.npz``, a few MB,
the datasets' licences and credits inside and in ``tokens_tables_LICENSE.md``), so that a user's
first training or evaluation does not wait for it. They are found by the SHA-256 of a file's bytes,
as the cache is: a changed file misses and is parsed. The tokenizer stays the reference
(``musicstyle tokenize --out`` rewrites the tables from it; a test compares them on real files).
Onsets and durations are stored in twelfths of a quarter note, which is exact: music21 rounds
them to quarter/4 and quarter/3.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..data.cache import save_npz
from .tokenizer import GRID, Elements

#: The shipped file, inside the package.
TABLES_NAME = "pretrained/tokens_tables.npz"


def pack_tables(tables: dict[str, Elements], credits: str, version: int) -> dict:
    """Element tables as a few compact arrays (the shipped file's content).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        tables: element table by the SHA-256 hex digest of its file.
        credits: the datasets' licences and credits, stored beside them.
        version: the element table's version (:data:`musicstyle.tokens.cache.TOKEN_CACHE_VERSION`).

    Returns:
        Arrays for :func:`musicstyle.data.save_npz` (read back by :func:`unpack_tables`).
    """
    items = [tables[d] for d in sorted(tables)]
    tokens = np.concatenate([e.token for e in items]) if items else np.zeros(0, str)
    vocab, ids = np.unique(tokens, return_inverse=True)
    # each file's onsets as steps from the previous element (small numbers compress well)
    steps = np.concatenate([np.diff(np.round(e.offset * GRID), prepend=0) for e in items]) if items else np.zeros(0)
    return {
        "digest": np.asarray(sorted(tables), dtype=str),
        "elements": np.asarray([len(e) for e in items], np.int64),
        "track_names": np.asarray(["\x1f".join(e.track_names) for e in items], dtype=str),
        "vocabulary": vocab,
        "token": ids.astype(np.uint16),
        "track": np.concatenate([e.track for e in items]).astype(np.uint8),
        "offset_step": steps.astype(np.int32),
        "duration": np.concatenate([np.round(e.duration * GRID) for e in items]).astype(np.int32),
        "pitch_count": np.concatenate([np.diff(e.start) for e in items]).astype(np.uint8),
        "pitches": np.concatenate([e.pitches for e in items]).astype(np.uint8),
        "credits": np.asarray(credits),
        "version": np.asarray(version),
    }


class Tables(Mapping):
    """Packed element tables, each unpacked only when asked for (``{digest: Elements}``).

    Taught in ``notebooks/06_note_lstm.ipynb``. The packed arrays take a few tens of MB; every
    table unpacked at once would take ten times that.
    """

    def __init__(self, arrays):
        self._a = arrays
        self._e0 = np.concatenate([[0], np.cumsum(arrays["elements"])])
        self._p0 = np.concatenate([[0], np.cumsum(arrays["pitch_count"].astype(np.int64))])
        self._steps = arrays["offset_step"].astype(np.int64)
        self._index = {str(d): i for i, d in enumerate(arrays["digest"])}

    @property
    def credits(self) -> str:
        """The datasets' licences and credits."""
        return str(self._a["credits"])

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self):
        return iter(self._index)

    def __getitem__(self, digest: str) -> Elements:
        i, a = self._index[digest], self._a
        lo, hi = self._e0[i], self._e0[i + 1]
        p0 = self._p0
        tokens = np.asarray(a["vocabulary"][a["token"][lo:hi]].tolist(), dtype=str)  # as narrow as the file's own
        return Elements(
            "", a["track"][lo:hi].astype(np.int16), np.cumsum(self._steps[lo:hi]) / GRID, a["duration"][lo:hi] / GRID,
            (p0[lo : hi + 1] - p0[lo]).astype(np.int64), a["pitches"][p0[lo] : p0[hi]].astype(np.int16),
            tokens if hi > lo else np.zeros(0, str), str(a["track_names"][i]).split("\x1f"))


def unpack_tables(arrays) -> Tables:
    """The element tables packed by :func:`pack_tables`.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        arrays: the packed arrays.

    Returns:
        ``{digest: Elements}`` (a :class:`Tables`; names empty: a table is named after the file it
        is found for).
    """
    return Tables(arrays)


def tables_path() -> Path:
    """Where the shipped tables are (the file may be absent in a source checkout without it).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Returns:
        The path inside the installed package.
    """
    return Path(str(resources.files("musicstyle").joinpath(TABLES_NAME)))


@lru_cache(maxsize=1)
def shipped_tables(version: int) -> Mapping[str, Elements]:
    """The shipped element tables, read once per process.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        version: the element table's version the caller reads; other versions are ignored.

    Returns:
        ``{digest: Elements}`` (empty when the file is absent, unreadable or of another version).
    """
    if not tables_path().is_file():
        return {}
    try:  # never load_npz: it removes a damaged file, and this one belongs to the package
        with np.load(tables_path(), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return {}
    return Tables(arrays) if int(arrays.get("version", -1)) == version else {}


def write_tables(tables: dict[str, Elements], out: str | Path, credits: str, version: int) -> Path:
    """Write element tables as the shipped file (compressed ``.npz``).

    Taught in ``notebooks/06_note_lstm.ipynb`` (``musicstyle tokenize --out``).

    Args:
        tables: element table by digest.
        out: the ``.npz`` written.
        credits, version: see :func:`pack_tables`.

    Returns:
        ``out``.
    """
    return save_npz(out, pack_tables(tables, credits, version), compressed=True)

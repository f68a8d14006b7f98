"""One piece-level split rule for every model: train / validation / test, fixed by a seed.

Taught in ``notebooks/01_data_exploration.ipynb``. Pieces, never segments, are split, so no piece
is on two sides. Within each genre pieces are ranked by the SHA-256 of ``"{seed}/{name}"``: the
first 10% go to test, the next 10% to validation, the rest to train. A piece's side depends only on
the seed and the set of names, never on file order. The note-token LSTMs name a file by its path inside
its genre's folder rather than in the dataset's (:func:`musicstyle.tokens.split_files`), so their sides
differ from the other models' (data/README.md, "Splits").
"""

from __future__ import annotations

import hashlib
import itertools

from ..errors import MusicstyleError

#: The split every shipped model was trained and measured on.
SPLIT_SEED = 0
SIDES = ("train", "validation", "test")


def rank(name: str, seed: int = SPLIT_SEED) -> str:
    """Sort key of a piece name under a seed.

    Args:
        name: the piece's name (relative path).
        seed: the split's seed.

    Returns:
        The hex SHA-256 of ``"{seed}/{name}"``.
    """
    return hashlib.sha256(f"{seed}/{name}".encode()).hexdigest()


def split_names(names: list[str], genres: list[str | None], seed: int = SPLIT_SEED, test: float = 0.1,
                validation: float = 0.1) -> dict[str, list[str]]:
    """Reproducible piece-level split of ``names``, stratified by genre.

    Args:
        names: piece names (relative paths), unique.
        genres: the genre of each name (None for a dataset without genres).
        seed: the split's seed.
        test, validation: shares of each genre on those sides (rounded).

    Returns:
        ``{"train": [...], "validation": [...], "test": [...]}``.
    """
    out = {side: [] for side in SIDES}
    for g in dict.fromkeys(genres):
        group = sorted((n for n, gg in zip(names, genres) if gg == g), key=lambda n: rank(n, seed))
        n_test, n_val = round(len(group) * test), round(len(group) * validation)
        out["test"] += group[:n_test]
        out["validation"] += group[n_test : n_test + n_val]
        out["train"] += group[n_test + n_val :]
    return out


def quick_subset(paths: list[str], genres: list[str | None], per_genre: int = 12) -> list[str]:
    """A small fixed subset, the same for everyone (quick mode).

    Args:
        paths: relative paths of the pieces.
        genres: the genre of each path.
        per_genre: pieces kept per genre (the first by :func:`rank`).

    Returns:
        The kept paths, sorted.
    """
    keep = []
    for g in dict.fromkeys(genres):
        keep += sorted((p for p, gg in zip(paths, genres) if gg == g), key=rank)[:per_genre]
    return sorted(keep)


def side_minimum(side: str) -> int:
    """The fewest files a genre needs for the piece-level split (:func:`split_names`) to give
    ``side`` (``train``, ``validation`` or ``test``) one of them: 6 for validation and test."""
    return next(n for n in itertools.count(1) if split_names([str(i) for i in range(n)], [None] * n)[side])


def no_pieces(root, split: str, genres: str = "classical or jazz", hold_out: str | None = None) -> MusicstyleError:
    """The error of a side of the split without a piece to train or measure on (every command words it so).

    Args:
        root: the folder read.
        split: ``all``, ``train``, ``validation``, ``test`` or ``held-out`` (every piece of ``hold_out``).
        genres: whose pieces were looked for, as said (``jazz``, ``classical or jazz``).
        hold_out: the recording-source group held out of the split, if any.

    Returns:
        ``ROOT: no GENRES pieces in the SPLIT split``, with why for a side of a small folder.
    """
    if split == "held-out":
        return MusicstyleError(root, f"no {genres} pieces in the {hold_out} group")
    reason = f"no {genres} pieces" + (f" in the {split} split" if split != "all" else "")
    reason += f" outside the {hold_out} group" if hold_out else ""
    if split in ("validation", "test"):
        need = side_minimum(split)
        reason += f" (the {split} side is 10% of each genre's files, rounded: a genre needs {need} files for one)"
    return MusicstyleError(root, reason)

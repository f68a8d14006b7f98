"""The one resolver every command and model uses: a dataset name, or any folder with genre subfolders.

Taught in ``notebooks/01_data_exploration.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MusicstyleError
from .collection import Collection, Piece, load_folder
from .groups import check_group, recording_group
from .sources import SOURCES, locate
from .split import SIDES, SPLIT_SEED


def load_dataset(name: str = "tpd", path: str | Path | None = None, **kwargs) -> Collection:
    """Load a dataset (``tpd``: genres classical and jazz; ``pop909``: genre ``pop``), finding or fetching it.

    Args:
        name: a key of :data:`musicstyle.data.sources.SOURCES`.
        path: a folder holding the dataset (or a ``name`` subfolder of it); any folder with the
            dataset's genre subfolders (``classical/``, ``jazz/``) will do.
        **kwargs: passed to :func:`musicstyle.data.collection.load_folder` (``quick``, ``progress``, ...).

    Returns:
        The :class:`Collection`; a folder without one readable piece raises :class:`MusicstyleError`.
    """
    if name not in SOURCES:
        raise MusicstyleError(name, f"unknown dataset (choose from {', '.join(SOURCES)})")
    folder = locate(name, path)
    collection = load_folder(folder, genres=SOURCES[name].genres, **kwargs)
    if not collection.pieces:  # every command stops here alike, naming a file it could not read
        where = " or ".join(f"{g}/" for g in SOURCES[name].genres)
        first = f" ({len(collection.skipped)} could not be read; {collection.skipped[0].path}: {collection.skipped[0].reason})" \
            if collection.skipped else ""
        raise MusicstyleError(folder, f"no readable MIDI files in {where}{first}")
    if name == "pop909":
        for piece in collection.pieces:
            piece.genre = "pop"
    return collection


def select(collection: Collection, split: str = "all", genre: str | None = None,
           seed: int = SPLIT_SEED, hold_out: str | None = None) -> list[Piece]:
    """The pieces of one side of the piece-level split (or ``all``), optionally of one genre.

    With ``hold_out`` (a recording-source group, :data:`musicstyle.data.groups.GROUPS`), the group's
    pieces leave every side, and ``split="held-out"`` gives all of them (from every side): train
    on ``train`` and measure on ``held-out`` for a leave-group-out figure.

    Args:
        collection: loaded pieces.
        split: ``all`` (every file: for data from elsewhere), ``train``, ``validation``, ``test``,
            or ``held-out`` (with ``hold_out``).
        genre: keep only this genre.
        seed: the split's seed (every shipped model: :data:`SPLIT_SEED`).
        hold_out: a group to hold out, or None.

    Returns:
        The pieces, in collection order.
    """
    check_group(hold_out)
    if split == "all" or split == "held-out":
        if split == "held-out" and hold_out is None:
            raise MusicstyleError(split, "the held-out side needs a group to hold out")
        pieces = collection.pieces
    elif split in SIDES:
        pieces = collection.split(seed=seed)[split]
    else:
        raise MusicstyleError(split, f"split must be all, held-out or one of {', '.join(SIDES)}")
    genres = {p.genre for p in collection.pieces}
    if genre is not None and genre not in genres:
        unread = [s for s in collection.skipped if s.path.lower().startswith(f"{genre}/")]
        why = f"; {len(unread)} of its files could not be read, the first {unread[0].path}: {unread[0].reason}" if unread else ""
        raise MusicstyleError(genre, f"no readable {genre} piece in {collection.root} "
                                     f"(it has {', '.join(sorted(map(str, genres)))}{why})")
    pieces = [p for p in pieces if genre is None or p.genre == genre]
    if hold_out is None:
        return pieces
    keep = split == "held-out"
    return [p for p in pieces if (recording_group(p.performance) == hold_out) == keep]

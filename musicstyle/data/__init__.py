"""The data layer: find, fetch and load datasets, one split, one cache (notebook 01).

Depends on :mod:`musicstyle.core` only. ``tpd.sha256`` and ``pop909.sha256`` beside this file list
every file of the public datasets with its SHA-256.
"""

from .cache import cache_home, load_npz, save_npz
from .collection import Collection, Piece, Repaired, Skipped, load_folder, pieces_checksum
from .examples import default_piece
from .groups import GROUPS, check_group, group_counts, recording_group
from .resolve import load_dataset, select
from .sources import GENRES, SOURCES, Source, fetch, find, locate, midi_files, sha256_file
from .split import SPLIT_SEED, no_pieces, quick_subset, rank, split_names

__all__ = [
    "GENRES", "GROUPS", "SOURCES", "SPLIT_SEED", "Collection", "Piece", "Repaired", "Skipped", "Source", "cache_home",
    "check_group", "default_piece", "fetch", "find", "group_counts", "load_dataset", "load_folder", "load_npz", "locate",
    "midi_files", "no_pieces", "pieces_checksum", "quick_subset", "rank", "recording_group", "save_npz", "select",
    "sha256_file", "split_names",
]

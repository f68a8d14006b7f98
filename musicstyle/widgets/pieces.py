"""The widget's list of pieces, with readable names (notebook 07).

TPD file names are often codes (``KARYAG06.mid``: a competition performer's code and a number). Where
the file's first track name gives a title and performer (the competition files hold both, in two
16-character fields), the list shows them; else it shows the file name made readable.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Track names that say nothing about the piece.
_GENERIC = re.compile(r"piano|track|channel|sequence|midi|untitled|acous|harpsi|soloist|comping|real time|@|^\W*$", re.I)
#: A competition file's name: a performer code and a number (``BENABD06``, ``HUAN_B01``).
_CODE = re.compile(r"^[A-Z_]+\d+$")


def track_name(path: Path, head: int = 4096) -> str:
    """The first track-name meta event of a MIDI file, read from its first bytes only.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        path: the MIDI file.
        head: bytes read.

    Returns:
        The name, or '' when there is none.
    """
    data = Path(path).read_bytes()[:head]
    at = data.find(b"\xff\x03")
    if at < 0 or at + 3 > len(data):
        return ""
    length = data[at + 2]
    return data[at + 3 : at + 3 + length].decode("latin-1").strip() if length < 0x80 else ""


def readable_name(path: Path) -> str:
    """A name a person can read: ``title (performer) · CODE`` from the track name, else the file name.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        path: the MIDI file.

    Returns:
        The name shown in the widget's list.
    """
    stem = Path(path).stem
    plain = stem if _CODE.match(stem) else re.sub(r"_+", " ", re.sub(r"_format0$", "", stem)).strip()
    title = track_name(path)
    if not title or _GENERIC.search(title) or re.sub(r"\W", "", title).lower() == re.sub(r"\W", "", plain).lower():
        return plain
    if _CODE.match(stem) and len(title) > 16:
        title = f"{title[:16].strip()} ({title[16:].strip()})"
    title = re.sub(r"\s+", " ", title)
    return f"{title} · {plain}" if _CODE.match(stem) else f"{plain} · {title}"


def dataset_pieces(limit_per_genre: int | None = None) -> dict[str, Path]:
    """Pieces to pick from: 'genre/readable name' -> path for TPD where it is found, plus the default piece.

    Taught in ``notebooks/07_style_transfer_widget.ipynb``.

    Args:
        limit_per_genre: keep the first pieces of each genre only (None: all).

    Returns:
        An ordered dict, the default piece first.
    """
    from ..data import GENRES, find, midi_files
    from ..data.examples import default_piece

    pieces = {"default/Maple Leaf Rag (Joplin)": default_piece()}
    folder = find("tpd")
    if folder is not None:
        for genre in GENRES:
            files = [p for _, p in midi_files(folder, (genre,))][:limit_per_genre]
            pieces.update({f"{genre}/{readable_name(p)}": p for p in files})
    return pieces

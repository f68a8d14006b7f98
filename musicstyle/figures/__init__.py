"""Figures and tables of the course; every plot function takes ``ax=None`` and returns its axes."""


def clip_name(name: str, width: int) -> str:
    """A piece's name in at most ``width`` characters for a table, keeping its end (where file names differ)."""
    return name if len(name) <= width else "..." + name[-(width - 3):]

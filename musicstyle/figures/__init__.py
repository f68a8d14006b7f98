"""Figures and tables of the course: a plot of one panel takes ``ax=None`` and returns its axes; a
figure of several panels (``roll_figure``, ``before_after``, ``transfer_figure``) returns the figure."""


def clip_name(name: str, width: int) -> str:
    """A piece's name in at most ``width`` characters for a table, keeping its end (where file names differ)."""
    return name if len(name) <= width else "..." + name[-(width - 3):]

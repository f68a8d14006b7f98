"""The package's one exception type for bad input (taught in notebook 01)."""

from __future__ import annotations

from pathlib import Path


class MusicstyleError(Exception):
    """Bad input or a bad saved file: names the file and the reason.

    ``str(err)`` is ``"FILE: reason"``, ready to print as ``error: FILE: reason``.
    """

    def __init__(self, source: str | Path | None, reason: str):
        self.source = str(source) if source is not None else "<input>"
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")

    @classmethod
    def unreadable(cls, source: str | Path, err: OSError) -> MusicstyleError:
        """The error for a file or folder the system would not let us read: the path it names (else ``source``)
        and why, as ``PATH: cannot be read (Permission denied)``."""
        return cls(err.filename or source, f"cannot be read ({err.strerror or err})")

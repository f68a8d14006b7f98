"""Recording-source groups: which pieces were made the same way, for leave-group-out figures.

Taught in ``notebooks/01_data_exploration.ipynb``. TPD gathers files from several sources; how a
file was made shows in its quantisation, its sustain pedal and its overall loudness level. A random
piece split puts files of every source on both sides, so it cannot tell how a model fares on a
source it never saw; holding out one whole group can. The group is only for splitting: no model may
read these traits as features (they say how a file was made, not how it was played).
"""

from __future__ import annotations

import numpy as np

from ..core.midi import Performance
from ..errors import MusicstyleError

#: The groups, in the order they are assigned (the first trait that holds wins).
GROUPS = ("quantised", "no-pedal", "loud", "soft")
#: A file is quantised when more than this share of its onsets sit on a 16th-note tick grid.
QUANTISED_SHARE = 0.6
#: A live, pedalled file is loud when its mean note-on velocity is at least this.
LOUD_VELOCITY = 70


def recording_group(perf: Performance) -> str:
    """The recording-source group of one performance.

    Args:
        perf: the performance.

    Returns:
        One of :data:`GROUPS`: ``quantised`` (sequenced or quantised), ``no-pedal`` (live, no sustain
        pedal), ``loud`` (live, pedalled, mean velocity at least :data:`LOUD_VELOCITY`) or ``soft``.
    """
    notes = perf.notes
    grid = max(perf.ticks_per_quarter // 4, 1)
    if len(notes) and np.mean(notes["start"] % grid == 0) > QUANTISED_SHARE:
        return "quantised"
    if not (len(perf.controls) and (perf.controls["number"] == 64).any()):
        return "no-pedal"
    return "loud" if len(notes) and notes["velocity"].mean() >= LOUD_VELOCITY else "soft"


def check_group(name: str | None) -> str | None:
    """``name`` when it is one of :data:`GROUPS` (or None); otherwise a clear error.

    Args:
        name: a group to hold out, or None.

    Returns:
        ``name``.
    """
    if name is not None and name not in GROUPS:
        raise MusicstyleError(name, f"hold_out must be one of {', '.join(GROUPS)}")
    return name


def group_counts(pieces) -> dict[str, dict[str, int]]:
    """How many pieces of each genre fall in each group.

    Args:
        pieces: pieces with ``genre`` and ``performance``.

    Returns:
        ``{genre: {group: count}}`` with every group listed.
    """
    out: dict[str, dict[str, int]] = {}
    for p in pieces:
        counts = out.setdefault(p.genre, dict.fromkeys(GROUPS, 0))
        counts[recording_group(p.performance)] += 1
    return out

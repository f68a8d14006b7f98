"""What is in a MIDI file, in numbers (``musicstyle inspect``; taught in notebook 01)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.midi import read_midi
from ..core.roll import PAPER, Layout, grid_steps, pedal_presses
from .groups import recording_group


def inspect_file(path: str | Path, layout: Layout = PAPER, strict: bool = False) -> dict:
    """Counts and ranges of one file (``musicstyle inspect``), with what the reader repaired.

    Taught in ``notebooks/01_data_exploration.ipynb``.

    Args:
        path: the MIDI file.
        layout: the matrix layout the step and column counts are for.
        strict: refuse a file that needs repairs (see :func:`musicstyle.core.midi.read_midi`).

    Returns:
        Numbers by name; ``recording_group`` is the file's group of :data:`musicstyle.data.GROUPS`
        (how it was made: the leave-group-out figures of that group estimate how the models fare on
        such files); ``repairs`` maps each repair kind to its count (empty for a clean file).

    Raises:
        MusicstyleError: for a file that cannot be read.
    """
    perf = read_midi(path, strict=strict)
    pitch = perf.notes["pitch"]
    inside = (pitch >= layout.low) & (pitch <= layout.high)
    vel = perf.notes["velocity"]
    return {
        "file": str(path),
        "notes": int(len(perf.notes)),
        "notes_in_range": int(inside.sum()),
        "duration_s": round(perf.duration_s, 3),
        "pedal_presses": int(len(pedal_presses(perf, 64))),
        "soft_pedal_presses": int(len(pedal_presses(perf, 67))),
        "steps": grid_steps(perf, layout),
        "columns": layout.columns,
        "ticks_per_quarter": perf.ticks_per_quarter,
        "smpte": None if perf.smpte is None else {"frame_rate": perf.smpte[0], "ticks_per_frame": perf.smpte[1]},
        "tempo_changes": int(len(perf.tempos)),
        "pitch_range": [int(pitch.min()), int(pitch.max())],
        "velocity_mean": round(float(vel.mean()), 2),
        "velocity_distinct": int(len(np.unique(vel))),
        "unreleased_note_ons": perf.unreleased,
        "recording_group": recording_group(perf),
        "repairs": dict(sorted(perf.repairs.items())),
        "sha256": perf.sha256,
    }

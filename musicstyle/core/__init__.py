"""The representation layer (no Keras): MIDI in and out, piano rolls, notes and chords, pedal, audio.

Taught in ``notebooks/01_data_exploration.ipynb``. Nothing here imports TensorFlow or Keras, and
nothing here depends on any other layer of the package.
"""

from .midi import Performance, read_midi, rewrite_velocities, write_events
from .notes import CHORD_WINDOW_S, NOTE_FEATURES, chord_ids, note_features
from .roll import FULL88, KEYS_ONLY, PAPER, Layout, Roll, piano_roll

__all__ = [
    "CHORD_WINDOW_S", "FULL88", "KEYS_ONLY", "NOTE_FEATURES", "PAPER", "Layout", "Performance", "Roll", "chord_ids",
    "note_features", "piano_roll", "read_midi", "rewrite_velocities", "write_events",
]

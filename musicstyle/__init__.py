"""musicstyle: music style transfer between jazz and classical piano, and note-sequence generation.

The package behind the notebook course in ``notebooks/``; each module names the notebook that
teaches it. Layers, each depending only on those before it: :mod:`.core` (representation, no
Keras), :mod:`.data`, :mod:`.training`, one package per model (:mod:`.velocity`, :mod:`.dynamics`,
:mod:`.classifier`, :mod:`.chords`, :mod:`.tokens`), then :mod:`.figures`, :mod:`.bench`,
:mod:`.widgets` and :mod:`.cli` on top.
"""

from .settings import quiet_tensorflow

quiet_tensorflow()

from .core.midi import Performance, read_midi  # noqa: E402
from .core.roll import FULL88, KEYS_ONLY, PAPER, Layout, Roll, piano_roll  # noqa: E402
from .errors import MusicstyleError  # noqa: E402

__version__ = "0.1.0"
__all__ = ["FULL88", "KEYS_ONLY", "PAPER", "Layout", "MusicstyleError", "Performance", "Roll", "piano_roll", "read_midi"]

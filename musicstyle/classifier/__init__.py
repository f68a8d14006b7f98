"""Genre classifier (classical vs jazz), its 50-d style vector, and its verdict on a piece.

Taught in ``notebooks/03_genre_classifier.ipynb``. Modules: :mod:`.data` (inputs and windows),
:mod:`.model` (the two architectures, the style sub-model, loading), :mod:`.train` (through
:func:`musicstyle.training.trainer.train`) and :mod:`.evaluate` (verdict, accuracy by vote and on
pieces cut short, style vectors). Other model packages use only the names exported here.
"""

from .data import (CLASSES, as_features, channels, epoch_windows, features, first_beats, layout_of, tpd_pieces, transpose,
                   windows)
from .evaluate import (PAPER_ACCURACY, accuracy_by_length, as_performance, caution, classify, evaluate, evaluate_command,
                       project_2d, style_vector, verdict, window_probabilities)
from .model import KIND, SHIPPED, build, load, metadata, style_model
from .train import train, train_command

__all__ = [
    "CLASSES", "KIND", "accuracy_by_length", "as_features", "channels", "PAPER_ACCURACY", "SHIPPED", "as_performance", "build", "caution", "classify", "epoch_windows",
    "evaluate", "evaluate_command", "features", "first_beats", "layout_of", "load", "metadata", "project_2d", "style_model",
    "style_vector", "tpd_pieces", "train", "train_command", "transpose", "verdict", "window_probabilities",
    "windows",
]

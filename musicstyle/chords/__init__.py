"""Feature-conditioned LSTM over the held ("chords") matrix: "jazz-inspired classical" music.

Taught in ``notebooks/04_lstm_generation.ipynb``. Modules: :mod:`.data` (matrices, next-step
pairs), :mod:`.baselines` (zeros, marginal, copy; the BCE), :mod:`.model` (the conditioned LSTM,
shipped files, the compiled :class:`Generator`), :mod:`.train` (through
:func:`musicstyle.training.trainer.train`), :mod:`.evaluate` (held-out BCE against the baselines)
and :mod:`.generate` (sampling, MIDI out, the transfer study). The style vector comes from
:func:`musicstyle.classifier.style_vector`.
"""

from .baselines import EPS, baseline_sums, bce_sum, fit_baselines
from .data import chunks, epoch_pairs, matrix, next_step_pairs, prepare
from .evaluate import evaluate, evaluate_split
from .generate import generate, generate_file, inspired_bytes, texture_figures, to_midi, transfer_study
from .model import (GENRES, KIND, Generator, build, load, metadata, shipped_generator, shipped_name, start_at_copy,
                    warm_start)
from .train import train, train_command

__all__ = [
    "EPS", "GENRES", "KIND", "Generator", "baseline_sums", "bce_sum", "build", "chunks", "epoch_pairs",
    "evaluate", "evaluate_split", "fit_baselines", "generate", "generate_file", "inspired_bytes", "load", "matrix",
    "metadata", "next_step_pairs", "prepare", "shipped_generator", "shipped_name", "start_at_copy", "texture_figures",
    "to_midi", "train", "train_command", "transfer_study", "warm_start",
]

"""Velocity style transfer: dilated 1-D CNNs that predict how hard each note is struck.

Taught in ``notebooks/02_velocity_cnn.ipynb`` (the CS230 paper's velocity "WaveNet").

Three architectures, one model per genre (:mod:`.model`). The loss of both is the paper's masked L2:
squared error over the strikes (target velocity > 0), averaged per window.

* ``paper``: the reference stack on the piano roll in the paper's 59-column layout (keys 32-88,
  CC64, CC67; 8 steps per beat): Conv1D(59, k64, d1) -> BN -> Conv1D(59, k32, d2) -> BN ->
  Conv1D(59, k16, d4) -> BN -> ReLU, causal padding, fed the held ("chords") matrix, times the
  key-onset mask, so a velocity comes out for each of the 57 key columns where a key is struck.
  Taken literally (``fixed=False``) its last batch norm starts at 0 and its ReLU leaves about half
  of the outputs at exactly 0 while the targets average ~60: Adam (lr 1e-3) needs tens of
  thousands of steps to move the bias that far, so it trains worse than predicting the mean. The
  fixed setting (the default) starts the last batch norm's offset at the training mean velocity.
* ``improved``: a dilated CNN over the sequence of *notes* rather than grid steps: one row per note
  (:mod:`musicstyle.core.notes`: pitch, place in its chord, exact timing and length, pedal depth,
  what sounds around it; never a velocity), gated residual blocks of two-sided dilated
  convolutions (kernel 3, dilations 1 to 256: 1,023 notes of context), a small per-note output
  layer, and a piece-level loudness estimate (:mod:`.loudness`: a ridge regression on the whole
  piece's statistics, fitted in closed form and frozen) added to every note. A grid step holds at
  most one strike per key at 8 steps per beat and loses timing finer than a step; a note sequence
  keeps every strike and its exact timing, and the whole piece is one pass at inference.
* ``stylenet``: the ``improved`` frame with its gated blocks replaced by bidirectional LSTM layers,
  in the spirit of StyleNet (Malik & Ek 2017, the authors of TPD), for comparison.

All are evaluated on the same strikes (:mod:`.evaluate`): every note of the paper's key range.
A model predicts the *mean* velocity of a note given the notes; each model also carries its genre's
*texture* (:mod:`.texture`), and transfer (:mod:`.transfer`) writes the mean plus one seeded draw
of it (or, route ``sampled``, a draw along the notes: :data:`ROUTES`). The RMSE figures are always of the mean. Training goes through the one trainer
(:mod:`.train`); model files through :mod:`.shipped`; a trained file's loudness estimate or spread
is refitted by :mod:`.refit`.
"""

from .data import Prepared, features, piece_input
from .evaluate import add_test_metrics, baselines, evaluate, evaluate_pieces, group_figures, piece_figures
from .model import (ARCHS, GENRES, NOTE_ARCHS, build_model, improved_model, is_note_model, masked_mse, paper_model,
                    predict_whole, receptive_field, stylenet_model, with_loudness)
from .shipped import load, load_file, pretrained_name, save
from .texture import fit_spread, fit_texture, note_spread, piece_seed, sample_spread, sample_texture
from .refit import add_spread, refit_loudness
from .train import WINDOW, train, train_to_file
from .transfer import ROUTES, predict_notes, route_draw, transfer_bytes, transfer_file, transferred_velocities

__all__ = [
    "ARCHS", "GENRES", "NOTE_ARCHS", "ROUTES", "WINDOW", "Prepared", "add_spread", "add_test_metrics", "baselines", "build_model", "evaluate",
    "evaluate_pieces", "features", "fit_spread", "fit_texture", "group_figures", "improved_model", "is_note_model", "load", "load_file",
    "masked_mse", "note_spread", "paper_model", "piece_figures", "piece_input", "piece_seed", "predict_notes", "predict_whole",
    "pretrained_name", "receptive_field", "refit_loudness", "route_draw", "sample_spread", "sample_texture", "save", "stylenet_model", "train",
    "train_to_file", "transfer_bytes", "transfer_file", "transferred_velocities", "with_loudness",
]

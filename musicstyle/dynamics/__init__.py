"""Did the style move? A dynamics discriminator (jazz vs classical from velocities alone) and the
paper's observations as numbers.

Taught in ``notebooks/02b_did_the_style_move.ipynb``.

Velocity transfer keeps every note, so a judge of the transfer may look at velocities only. It must
also be blind to a piece's overall loudness and spread (a model may play everything softer), so each
piece's onset velocities are standardised: ``z = (v - mean) / std`` over the whole piece (a piece
with a spread under :data:`MIN_STD` velocity units is divided by :data:`MIN_STD`). Model predictions
are smoother than real playing, and a discriminator trained on real pieces alone calls anything
smooth "classical"; the shipped discriminators are therefore trained on real pieces *and* on each
genre's own velocity model re-predicting pieces of its own genre as transfer writes them (the mean
prediction plus a draw of the genre's texture, :func:`musicstyle.velocity.transferred_velocities`),
labelled with that genre, so a model's smoothness is no cue. They never see a transfer (one genre's
model on the other genre's pieces).

The trusted judge (:data:`TRUSTED`, of :func:`verdict` and ``evaluate transfer``) is ``relations``: it
hears how the velocities relate to the notes they are played on (:mod:`.relations`: ridge coefficients
and correlations of the standardised velocities on note attributes standardised over the piece, the
variance they explain, the residual's autocorrelation over chords), never the notes alone, and answers
one of :data:`OUTCOMES`: classical, jazz or ``unrelated``. Besides real pieces and each genre's own
model output, it is trained on velocities that do not fit their notes (each piece's own shuffled, and
both genres' textures on a flat line: :func:`unrelated_items`) as ``unrelated``, so neither fools it
into a genre. Beside it, two binary kinds of the velocity sequence alone are shipped:

* ``cnn``: a small dilated 1-D CNN over the sequence of standardised onset velocities (in onset
  order, chord notes low to high), global average pooling, one logit; trained on crops, applied to
  a whole piece at once.
* ``stats``: a small MLP (one hidden layer, :data:`STATS_HIDDEN` units) on :data:`FEATURES`,
  statistics of 512-onset segments (the paper's observations among them); a piece's log-odds is
  the mean over its segments.

Their ``ensemble`` (the mean of the two log-odds, the judge before ``relations``) is reported beside it:
it hears chord-to-chord variability, which the target genre's texture alone supplies.

Simultaneous onsets ("chords") are grouped by :func:`musicstyle.core.notes.chord_ids` (onsets within
:data:`musicstyle.core.notes.CHORD_WINDOW_S` seconds of the previous one).

Modules: :mod:`.data` (a piece's :class:`Dynamics`, the pieces, cached velocity-model predictions),
:mod:`.observations` (the paper's observations, segment statistics), :mod:`.relations` (velocities
against the notes), :mod:`.model` (the discriminators, the ensemble, :func:`verdict`), :mod:`.train`,
:mod:`.relations_training` (the relations judge's examples and table), :mod:`.evaluate` (did the style move?),
:mod:`.excerpts` (how many notes the judge needs).
Figures and tables: :mod:`musicstyle.figures.dynamics`.
"""

from .data import (
    GENRES, MIN_STD, NO_DYNAMICS, OUTCOMES, UNRELATED, Dynamics, Item, Predictions, as_dynamics, dynamics_of, has_dynamics,
    held_out, judgeable, load_pieces, real_and_own, shuffled, standardise, texture_alone, velocity_predictors,
)
from .excerpts import MIN_NOTES, caution, first_notes, verdicts_by_length
from .evaluate import evaluate_command, evaluate_transfer, piece_verdicts, route_predictors, summarise
from .model import (
    ENSEMBLE, KIND, RAW, RELATIONAL, RELATIONS_HIDDEN, RELATIONS_MEMBERS, SHIPPED, STATS_HIDDEN, TRUSTED, build_cnn,
    build_relations, build_stats, ensemble, jazz_logit, judged_as, load, load_model_file, outcome_probabilities, p_jazz,
    relation_segments_of, relations_judge, relations_of, segment_log_probabilities, stretch_probabilities, verdict,
)
from .observations import (
    FEATURES, HOP, SEGMENT, observations, onset_jump, segment_features, segment_slices, segment_table,
    top_note_emphasis,
)
from .relations import (
    ATTRIBUTES, RELATIONS, RIDGE, SEGMENT_NOTES, note_attributes, relation_features, relation_segments, segment_bounds,
)
from .relations_training import outcome_accuracy, outcome_shares, relation_table, train_relations, unrelated_items
from .train import CROP, augmenting_predictors, piece_accuracy, train, train_cnn, train_command, train_stats

__all__ = [
    "ATTRIBUTES", "CROP", "ENSEMBLE", "FEATURES", "GENRES", "HOP", "KIND", "MIN_NOTES", "MIN_STD", "NO_DYNAMICS", "OUTCOMES", "RAW",
    "RELATIONAL", "RELATIONS", "RELATIONS_HIDDEN", "RELATIONS_MEMBERS", "RIDGE", "SEGMENT", "SEGMENT_NOTES", "SHIPPED", "STATS_HIDDEN",
    "TRUSTED", "UNRELATED",
    "Dynamics", "Item", "Predictions", "as_dynamics", "augmenting_predictors", "build_cnn", "build_relations", "build_stats",
    "caution", "dynamics_of", "ensemble", "evaluate_command", "evaluate_transfer", "first_notes", "has_dynamics", "held_out",
    "jazz_logit", "judged_as", "judgeable", "load",
    "load_model_file", "load_pieces", "note_attributes", "observations", "onset_jump", "outcome_accuracy",
    "outcome_probabilities", "outcome_shares", "p_jazz", "piece_accuracy", "piece_verdicts", "real_and_own",
    "relation_features", "relation_segments", "relations_judge",
    "relation_segments_of", "relation_table", "relations_of", "segment_bounds", "segment_log_probabilities",
    "route_predictors", "segment_features", "segment_slices", "segment_table", "shuffled", "standardise", "stretch_probabilities", "summarise",
    "texture_alone", "top_note_emphasis", "train", "train_cnn", "train_command", "train_relations", "train_stats",
    "unrelated_items", "velocity_predictors", "verdict", "verdicts_by_length",
]

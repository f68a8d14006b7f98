"""What the velocity models read: grid inputs and targets, note rows, the piece input, windows.

Taught in ``notebooks/02_velocity_cnn.ipynb``. The paper model reads the piano roll (onset and held
side by side); the improved model reads one row per note (:mod:`musicstyle.core.notes`) and the
whole piece's :func:`piece_input`. :class:`Prepared` holds both for a list of pieces.
"""

from __future__ import annotations


import numpy as np

from ..core.inputs import input_folder
from ..data import Collection, load_dataset
from ..errors import MusicstyleError
from ..core.midi import Performance
from ..core.notes import NOTE_FEATURES, chord_ids, note_features, statistics
from ..core.roll import PAPER, Layout, Roll, piano_roll, step_of

#: What :func:`recording_features` measures, in order.
RECORDING_FEATURES = ("on_grid", "log_qpm", "tempo_changes_per_min", "has_sustain", "log_notes_per_s", "ends_on_grid",
                      "log_median_duration_s", "short_notes", "log_median_ioi_s", "spread_chords", "pitch_spread",
                      "log_notes_per_onset")
#: Inputs of :func:`recording_features` that read how a file was made (sequenced or live, tempo map,
#: pedal data recorded) rather than how it was played; ``loudness_inputs="played"`` leaves them out.
SETUP_FEATURES = ("on_grid", "log_qpm", "tempo_changes_per_min", "has_sustain", "ends_on_grid")
#: What the piece loudness estimate may read: ``all`` of :func:`piece_input`, or only how it was ``played``.
LOUDNESS_INPUTS = ("all", "played")


def pieces_of(data=None, collection: Collection | None = None, progress: bool = False) -> Collection:
    """``collection``, else TPD or any folder with ``classical/`` and ``jazz/`` through the one resolver.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        data: the dataset folder (None: TPD found as usual); a folder that does not exist raises
            :class:`MusicstyleError` rather than falling back to ``$MUSICSTYLE_DATA``.
        collection: already loaded pieces.
        progress: show a progress bar while loading.

    Returns:
        The :class:`musicstyle.data.Collection`.
    """
    if collection is not None:
        return collection
    if data is not None:
        input_folder(data)
    return load_dataset("tpd", data, progress=progress)


def features(roll: Roll) -> np.ndarray:
    """The paper model's input of a roll: onset and held side by side.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        roll: a piano roll.

    Returns:
        ``(steps, 2 * columns)`` uint8.
    """
    return np.concatenate([roll.onset, roll.held], axis=1)


def targets(roll: Roll) -> np.ndarray:
    """The paper model's targets: velocity at key onsets, 0 elsewhere (pedal columns dropped).

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        roll: a piano roll.

    Returns:
        ``(steps, keys)`` uint8.
    """
    k = roll.layout.keys
    return np.where(roll.onset[:, :k] > 0, roll.velocity[:, :k], 0).astype(np.uint8)


def recording_features(perf: Performance) -> np.ndarray:
    """How the file was made and played, from notes and timing alone (never velocities).

    Share of note onsets and ends exactly on a 16th-note tick grid (quantised, sequenced files
    versus live playing), median tempo, tempo changes per minute, whether the sustain pedal is
    used, notes per second; then, in seconds: median note length, share of notes under 0.1 s,
    median time between onsets, share of onsets less than 30 ms apart (spread chords), spread of
    pitches (octaves), notes per distinct onset time. In TPD these tell loud, sequenced files from
    softer live ones (see :data:`RECORDING_FEATURES`). Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        perf: the performance.

    Returns:
        float32 array of shape ``(12,)``.
    """
    n, tpq = perf.notes, perf.ticks_per_quarter
    grid = max(tpq // 4, 1)
    qpm = 60e6 / float(np.median(perf.tempos["us_per_quarter"])) if len(perf.tempos) else 120.0
    minutes = max(perf.duration_s, 1.0) / 60
    start, end = perf.seconds(n["start"]), perf.seconds(n["end"])
    length = np.maximum(end - start, 1e-3) if len(n) else np.array([0.1])
    times = np.unique(start) if len(n) else np.zeros(1)
    ioi = np.diff(times) if len(times) > 2 else np.array([0.1])
    return np.array([
        np.mean(n["start"] % grid == 0) if len(n) else 0.0,
        np.log(qpm),
        np.log1p(len(perf.tempos) / minutes),
        float((perf.controls["number"] == 64).any()) if len(perf.controls) else 0.0,
        np.log(max(len(n), 1) / (minutes * 60)),
        np.mean(n["end"] % grid == 0) if len(n) else 0.0,
        np.log(np.median(length)),
        np.mean(length < 0.1),
        np.log(np.median(ioi) + 1e-3),
        np.mean(ioi < 0.03),
        np.std(n["pitch"]) / 12 if len(n) else 0.0,
        np.log(max(len(n), 1) / max(len(times), 1)),
    ], np.float32)


def piece_input(perf: Performance, notes: np.ndarray | None = None) -> np.ndarray:
    """What the improved model's loudness estimate reads of a whole piece.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        perf: the performance.
        notes: its :func:`musicstyle.core.notes.note_features` (computed when None).

    Returns:
        float32 ``(PIECE_INPUT,)``: the mean and spread of every note feature
        (:func:`musicstyle.core.notes.statistics`), then :func:`recording_features`.
    """
    notes = note_features(perf) if notes is None else notes
    return np.concatenate([statistics(notes), recording_features(perf)]).astype(np.float32)


#: Length of :func:`piece_input`.
PIECE_INPUT = 2 * len(NOTE_FEATURES) + len(RECORDING_FEATURES)
#: Name of each column of :func:`piece_input`.
PIECE_INPUT_NAMES = tuple([f"mean_{f}" for f in NOTE_FEATURES] + [f"std_{f}" for f in NOTE_FEATURES] + list(RECORDING_FEATURES))


def loudness_columns(inputs: str = "all") -> np.ndarray:
    """Which columns of :func:`piece_input` the loudness estimate reads.

    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        inputs: ``all``, or ``played`` (without :data:`SETUP_FEATURES`).

    Returns:
        bool ``(PIECE_INPUT,)``.
    """
    if inputs not in LOUDNESS_INPUTS:
        raise MusicstyleError(inputs, f"unknown loudness inputs (choose from {', '.join(LOUDNESS_INPUTS)})")
    return np.array([inputs == "all" or n not in SETUP_FEATURES for n in PIECE_INPUT_NAMES])


class Prepared:
    """What the models and baselines need of a list of pieces (one entry per piece).

    :meth:`grid`: the paper model's grid input and targets of a piece (kept as bits and as the
    struck cells, an eighth of the memory); ``notes`` / ``velocity``: the note models' note features
    and every note's velocity; ``piece``: :func:`piece_input`; ``step`` / ``column``: each note's
    grid cell (column -1 outside the layout's key range); ``chord``: each note's chord id
    (:func:`musicstyle.core.notes.chord_ids`); ``kept``: each entry's index in ``pieces``. Pieces with
    no note in the key range, or too long for a grid, are left out (``left_out``: the reason by name).
    Taught in ``notebooks/02_velocity_cnn.ipynb``.

    Args:
        pieces: :class:`musicstyle.data.Piece` or :class:`musicstyle.core.midi.Performance` objects.
        layout: the grid layout of the paper model.
    """

    def __init__(self, pieces, layout: Layout = PAPER):
        self.names, self.notes, self.velocity, self.piece, self.step, self.column, self.chord = ([] for _ in range(7))
        self._bits, self._struck = [], []  # grid input as bits; targets as (steps, keys, velocities) of struck cells
        self.kept, self.left_out = [], {}
        for i, p in enumerate(pieces):
            perf = p.performance if hasattr(p, "performance") else p
            try:
                roll = piano_roll(perf, layout)
            except MusicstyleError as err:  # no notes in range / too long: nothing to learn from
                self.left_out[getattr(p, "path", None) or perf.name] = err.reason
                continue
            nf = note_features(perf)
            pitch = perf.notes["pitch"].astype(np.int64)
            self.names.append(getattr(perf, "name", ""))
            self.kept.append(i)
            self._bits.append(np.packbits(features(roll), axis=1))
            y = targets(roll)
            at = np.nonzero(y)
            self._struck.append((at[0].astype(np.int32), at[1].astype(np.uint8), y[at]))
            self.notes.append(nf)
            self.velocity.append(perf.notes["velocity"].copy())
            self.piece.append(piece_input(perf, nf))
            self.step.append(np.minimum(step_of(perf.notes["start"], perf.ticks_per_quarter, layout.steps_per_beat), roll.steps - 1))
            self.column.append(np.where((pitch >= layout.low) & (pitch <= layout.high), pitch - layout.low, -1))
            self.chord.append(chord_ids(perf.seconds(perf.notes["start"])))
        self.layout = layout

    def __len__(self) -> int:
        """Pieces kept."""
        return len(self.names)

    def grid(self, i: int, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Piece ``i``'s :func:`features` and :func:`targets`, steps ``start`` to ``stop``.

        Taught in ``notebooks/02_velocity_cnn.ipynb``.

        Args:
            i: the piece.
            start: first step.
            stop: step after the last (None: the piece's end).

        Returns:
            ``(x, y)`` uint8 ``(steps, 2 * columns)`` and ``(steps, keys)``.
        """
        x = np.unpackbits(self._bits[i][start:stop], axis=1, count=2 * self.layout.columns)
        y = np.zeros((len(x), self.layout.keys), np.uint8)
        step, key, value = self._struck[i]
        inside = (step >= start) & (step < start + len(x))
        y[step[inside] - start, key[inside]] = value[inside]
        return x, y

    @property
    def steps(self) -> int:
        """Grid steps of every piece together."""
        return sum(len(b) for b in self._bits)

    @property
    def note_count(self) -> int:
        """Notes of every piece together."""
        return sum(len(v) for v in self.velocity)

    def note_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of every note feature over all notes (the improved model's standardisation)."""
        every = np.concatenate(self.notes).astype(np.float64)
        return every.mean(0), every.var(0)

    def onset_velocities(self) -> np.ndarray:
        """(velocity, key column) of every note in the key range, int64 ``(notes, 2)``."""
        parts = [np.stack([v[c >= 0], c[c >= 0]], 1).astype(np.int64) for v, c in zip(self.velocity, self.column)]
        return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)

    def _spots(self, sizes: list[int], length: int, rng, count):
        if rng is None:
            return [(i, s) for i, n in enumerate(sizes) for s in range(0, max(n - length // 4, 1), length)]
        sizes = np.array(sizes, float)
        n = count or max(1, int(sizes.sum() // length))
        which = rng.choice(len(sizes), n, p=sizes / sizes.sum())
        return [(i, int(rng.integers(0, max(int(sizes[i]) - length, 0) + 1))) for i in which]

    def windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None):
        """Grid windows of ``length`` steps inside pieces (never across two), zero-padded.

        Taught in ``notebooks/02_velocity_cnn.ipynb``.

        Args:
            length: steps per window.
            rng: draw windows at random pieces (by length) and offsets; None: consecutive windows
                of every piece.
            count: windows drawn with ``rng`` (None: as many as fit in the total length).

        Returns:
            ``(x, y)`` uint8 arrays ``(windows, length, 2 * columns)`` and ``(windows, length, keys)``.
        """
        spots = self._spots([len(b) for b in self._bits], length, rng, count)
        xs = np.zeros((len(spots), length, 2 * self.layout.columns), np.uint8)
        ys = np.zeros((len(spots), length, self.layout.keys), np.uint8)
        for j, (i, s) in enumerate(spots):
            x, y = self.grid(i, s, s + length)
            xs[j, : len(x)] = x
            ys[j, : len(y)] = y
        return xs, ys

    def note_windows(self, length: int, rng: np.random.Generator | None = None, count: int | None = None):
        """Windows of ``length`` notes, picked as :meth:`windows` picks them.

        Taught in ``notebooks/02_velocity_cnn.ipynb``.

        Args:
            length: notes per window.
            rng: as for :meth:`windows`.
            count: as for :meth:`windows`.

        Returns:
            ``((notes, piece), velocity)``; padding rows are all 0 (pitch 0, velocity 0: no loss there).
        """
        spots = self._spots([len(v) for v in self.velocity], length, rng, count)
        ns = np.zeros((len(spots), length, len(NOTE_FEATURES)), np.float32)
        vs = np.zeros((len(spots), length), np.uint8)
        for j, (i, s) in enumerate(spots):
            seg = self.notes[i][s : s + length]
            ns[j, : len(seg)] = seg
            vs[j, : len(seg)] = self.velocity[i][s : s + length]
        return (ns, np.stack([self.piece[i] for i, _ in spots])), vs

"""Piano-roll matrices of a performance: onset, held ("chords"), velocity and pedal columns.

Taught in ``notebooks/01_data_exploration.ipynb``.

The time grid is ``steps_per_beat`` steps per quarter note *in ticks*, so it follows every tempo
change of the file (the reference code used the first tempo only). A tick ``t`` falls on step
``round(t * steps_per_beat / ticks_per_quarter)``; a note is held from its onset step up to,
not including, its end step, and at least one step. Columns are the keys ``low..high`` followed
by one column per pedal controller (down while its value is >= 64).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import MusicstyleError
from .midi import Performance

#: Longest piece turned into a matrix, in steps (about 3.5 hours at 16 steps per second).
MAX_STEPS = 200_000


@dataclass(frozen=True)
class Layout:
    """Which columns a matrix has and how fine its time grid is."""

    low: int = 32
    high: int = 88
    pedals: tuple[int, ...] = (64, 67)
    steps_per_beat: int = 8

    def __post_init__(self):
        if not 0 <= self.low <= self.high <= 127:
            raise MusicstyleError("layout", f"keys {self.low}-{self.high} are not a range of MIDI pitches (0-127, low to high)")
        if not (isinstance(self.steps_per_beat, int) and self.steps_per_beat >= 1):
            raise MusicstyleError("layout", f"steps_per_beat must be a whole number of at least 1 (got {self.steps_per_beat!r})")
        if not all(0 <= p <= 127 for p in self.pedals):
            raise MusicstyleError("layout", f"pedals must be controller numbers 0-127 (got {self.pedals})")

    @property
    def keys(self) -> int:
        return self.high - self.low + 1

    @property
    def columns(self) -> int:
        return self.keys + len(self.pedals)

    def column_names(self) -> list[str]:
        return [str(p) for p in range(self.low, self.high + 1)] + [f"CC{c}" for c in self.pedals]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pedals"] = list(self.pedals)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(**{**d, "pedals": tuple(d.get("pedals", ()))})


#: The CS230 paper's 59 columns: MIDI 32-88 (57 keys), sustain CC64, soft CC67; 8 steps per beat.
PAPER = Layout()
#: The whole 88-key piano, same pedals and grid.
FULL88 = Layout(low=21, high=108)
#: Keys only (no pedal columns), for models that must not see the recording setup.
KEYS_ONLY = Layout(pedals=())


@dataclass
class Roll:
    """Matrices of shape (steps, columns), dtype uint8.

    ``onset`` is 1 where a note is struck (or a pedal pressed), ``held`` where it sounds (or is
    down), ``velocity`` is the strike velocity 0-127 at onsets (a pedal's controller value).
    """

    onset: np.ndarray
    held: np.ndarray
    velocity: np.ndarray
    layout: Layout

    @property
    def steps(self) -> int:
        return self.onset.shape[0]


def step_of(ticks, tpq: int, steps_per_beat: int) -> np.ndarray:
    """Grid step of each tick (round half up).

    Args:
        ticks: tick positions.
        tpq: ticks per quarter note of the file.
        steps_per_beat: grid steps per quarter note.

    Returns:
        int64 steps.
    """
    return (np.asarray(ticks, np.int64) * steps_per_beat * 2 + tpq) // (2 * tpq)


def grid_steps(perf: Performance, layout: Layout = PAPER) -> int:
    """How many grid steps a performance's matrices have (its last tick's step, plus one)."""
    return int(step_of(perf.end_tick, perf.ticks_per_quarter, layout.steps_per_beat)) + 1


def pedal_presses(perf: Performance, number: int = 64) -> np.ndarray:
    """Each press of a pedal (value >= 64 is down); one still down ends at the piece's end.

    Args:
        perf: the performance.
        number: controller number (64 sustain, 66 sostenuto, 67 soft).

    Returns:
        ``(presses, 2)`` int64 of (start_tick, end_tick).
    """
    ev = perf.pedal(number)
    down = ev["value"] >= 64
    change = np.diff(np.concatenate([[False], down]).astype(np.int8))
    starts = ev["tick"][change == 1]
    ends = ev["tick"][change == -1]
    if len(ends) < len(starts):
        ends = np.concatenate([ends, [max(perf.end_tick, int(starts[-1]) + 1)]])
    return np.stack([starts, ends], axis=1).astype(np.int64) if len(starts) else np.zeros((0, 2), np.int64)


def roll_problem(perf: Performance, layout: Layout = PAPER, require_notes: bool = True) -> str | None:
    """Why :func:`piano_roll` cannot make matrices of a performance in a layout (None: it can)."""
    notes = perf.notes
    if require_notes and not ((notes["pitch"] >= layout.low) & (notes["pitch"] <= layout.high)).any():
        return f"no notes in the key range {layout.low}-{layout.high}"
    steps = grid_steps(perf, layout)
    if steps > MAX_STEPS:
        return f"too long for a matrix: {steps} steps (limit {MAX_STEPS})"
    return None


def rollable(pieces, *layouts: Layout) -> tuple[list, dict[str, str]]:
    """The pieces that every layout can make matrices of, and why each other one cannot.

    Args:
        pieces: pieces with ``performance`` (and ``path``) or performances.
        layouts: the layouts (default: the paper's).

    Returns:
        ``(kept pieces in order, reason by path or name of each piece left out)``.
    """
    kept, left_out = [], {}
    for p in pieces:
        perf = getattr(p, "performance", p)
        reason = next(filter(None, (roll_problem(perf, layout) for layout in layouts or (PAPER,))), None)
        if reason is None:
            kept.append(p)
        else:
            left_out[getattr(p, "path", None) or perf.name] = reason
    return kept, left_out


def piano_roll(perf: Performance, layout: Layout = PAPER, require_notes: bool = True) -> Roll:
    """Onset, held and velocity matrices of a performance in a given layout.

    Args:
        perf: the performance.
        layout: columns and grid (default the paper's 59 columns, 8 steps per beat).
        require_notes: raise when no note lies in the key range (else an empty roll).

    Returns:
        A :class:`Roll`. Raises :class:`MusicstyleError` when no note is in range (with
        ``require_notes``) or the piece is longer than :data:`MAX_STEPS` steps.
    """
    if problem := roll_problem(perf, layout, require_notes):
        raise MusicstyleError(perf.source, problem)
    tpq, spb = perf.ticks_per_quarter, layout.steps_per_beat
    notes = perf.notes
    notes = notes[(notes["pitch"] >= layout.low) & (notes["pitch"] <= layout.high)]
    presses = [pedal_presses(perf, n) for n in layout.pedals]
    steps = grid_steps(perf, layout)
    columns = layout.columns
    onset = np.zeros(steps * columns, np.uint8)
    held = np.zeros(steps * columns, np.uint8)
    velocity = np.zeros(steps * columns, np.uint8)

    cols = notes["pitch"].astype(np.int64) - layout.low
    on = step_of(notes["start"], tpq, spb)
    off = np.maximum(step_of(notes["end"], tpq, spb), on + 1)
    starts, stops, span_cols = [on], [off], [cols]
    cells, values = [on * columns + cols], [notes["velocity"]]
    for j, (number, p) in enumerate(zip(layout.pedals, presses)):
        if not len(p):
            continue
        col = np.full(len(p), layout.keys + j)
        p_on = step_of(p[:, 0], tpq, spb)
        starts.append(p_on)
        stops.append(np.maximum(step_of(p[:, 1], tpq, spb), p_on + 1))
        span_cols.append(col)
        ev = perf.pedal(number)
        cells.append(p_on * columns + col)
        values.append(ev["value"][np.searchsorted(ev["tick"], p[:, 0], side="right") - 1])
    cells, values = np.concatenate(cells), np.concatenate(values)
    onset[cells] = 1
    order = np.argsort(cells * 128 + values)
    cells, values = cells[order], values[order]
    loudest = np.concatenate([cells[1:] != cells[:-1], [True]])[: len(cells)]  # several strikes in one cell: keep the loudest
    velocity[cells[loudest]] = values[loudest]
    held[_span_cells(np.concatenate(starts), np.concatenate(stops), np.concatenate(span_cols), steps, columns)] = 1
    shape = (steps, columns)
    return Roll(onset.reshape(shape), held.reshape(shape), velocity.reshape(shape), layout)


def _span_cells(start: np.ndarray, stop: np.ndarray, cols: np.ndarray, steps: int, columns: int) -> np.ndarray:
    """Flat indices of every cell (t, col_i) with start_i <= t < stop_i, without a Python loop."""
    lengths = np.maximum(np.minimum(stop, steps) - start, 0)
    first = np.cumsum(lengths) - lengths
    # int32 is enough (MAX_STEPS * columns < 2**31) and halves the memory traffic
    offset = (start * columns + cols - first * columns).astype(np.int32)
    return np.arange(int(lengths.sum()), dtype=np.int32) * np.int32(columns) + np.repeat(offset, lengths)


def segments(matrix: np.ndarray, length: int, hop: int | None = None, pad: bool = True) -> np.ndarray:
    """Cut a matrix into windows.

    Args:
        matrix: ``(steps, columns)``.
        length: window length in steps.
        hop: steps between window starts (default ``length``).
        pad: zero-pad so the last steps get a window (else drop what does not fit).

    Returns:
        ``(n, length, columns)``.
    """
    hop = hop or length
    steps = matrix.shape[0]
    if pad:
        n = max(1, -(-max(steps - length, 0) // hop) + 1)
        total = (n - 1) * hop + length
        matrix = np.concatenate([matrix, np.zeros((total - steps,) + matrix.shape[1:], matrix.dtype)])
    else:
        n = max(0, (steps - length) // hop + 1)
    idx = np.arange(n)[:, None] * hop + np.arange(length)[None, :]
    return matrix[idx]


def piano_rolls(perfs, layout: Layout = PAPER, workers: int | None = None) -> list[Roll]:
    """:func:`piano_roll` of many performances, on all cores (numpy releases the GIL here).

    Args:
        perfs: performances.
        layout: columns and grid.
        workers: threads (default: one per core).

    Returns:
        One :class:`Roll` per performance, in order.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        return list(pool.map(lambda p: piano_roll(p, layout), perfs))

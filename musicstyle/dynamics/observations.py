"""The paper's observations as numbers, and the segment statistics the ``stats`` discriminator reads.

Taught in ``notebooks/02b_did_the_style_move.ipynb``. Everything is computed on velocities
standardised over the whole piece (:func:`musicstyle.dynamics.standardise`).
"""

from __future__ import annotations

import numpy as np

from .data import Dynamics, as_dynamics

#: Onsets per segment for the statistics model, and the hop between segments.
SEGMENT, HOP = 512, 256
#: Names of the per-segment statistics (all computed on standardised velocities).
FEATURES = (
    "top_emphasis",  # z of a chord's highest note minus the mean z of its other notes
    "bass_emphasis",  # z of a chord's lowest note minus the mean z of its other notes
    "chord_spread",  # standard deviation of z inside a chord
    "onset_jump",  # mean |z_t - z_(t-1)| over successive onsets
    "chord_jump",  # mean |m_k - m_(k-1)| over successive chords' mean z (single notes count as chords)
    "chord_lag1",  # lag-1 autocorrelation of the chords' mean z
    "roughness",  # std of z minus its 9-onset moving average
    "seg_std",  # spread of z inside the segment
    "skew",
    "kurtosis",
    "q05",
    "q25",
    "q50",
    "q75",
    "q95",
)


def _chord_emphasis(v: np.ndarray, chord: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Per chord of 2+ notes: v of the marked note minus the mean v of the other notes."""
    size = np.bincount(chord)
    total = np.bincount(chord, weights=v)
    mark = mark & (size[chord] >= 2)  # a chord cut by a segment's edge may have one note left
    ids = chord[mark]
    return v[mark] - (total[ids] - v[mark]) / (size[ids] - 1)


def top_note_emphasis(data, standardised: bool = True) -> float:
    """Mean over chords of (velocity of the highest note - mean of the chord's other notes).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. The paper: classical pianists bring out
    the top (melody) note, jazz pianists voice chords evenly.

    Args:
        data: MIDI bytes, a :class:`musicstyle.core.midi.Performance` or :class:`Dynamics`.
        standardised: in per-piece standard deviations (else in velocity units).

    Returns:
        The mean emphasis; NaN without chords.
    """
    d = as_dynamics(data)
    v = d.z if standardised else d.velocity
    e = _chord_emphasis(v, d.chord, d.top)
    return float(e.mean()) if e.size else float("nan")


def onset_jump(data) -> float:
    """Mean |z_t - z_(t-1)| of successive onsets. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    The paper: jazz velocities are less consistent from one onset to the next.

    Args:
        data: MIDI bytes, a Performance or :class:`Dynamics`.

    Returns:
        The mean jump in per-piece standard deviations; NaN under two onsets.
    """
    z = as_dynamics(data).z
    return float(np.abs(np.diff(z)).mean()) if z.size > 1 else float("nan")


def observations(data) -> dict:
    """The paper's observations of one piece as numbers. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        data: MIDI bytes, a Performance or :class:`Dynamics`.

    Returns:
        ``top_emphasis_z``, ``top_emphasis_velocity`` and ``onset_jump_z``.
    """
    return {
        "top_emphasis_z": top_note_emphasis(data),
        "top_emphasis_velocity": top_note_emphasis(data, standardised=False),
        "onset_jump_z": onset_jump(data),
    }


def _moments(x: np.ndarray) -> tuple[float, float, float]:
    sd = x.std()
    if sd < 1e-9:
        return float(sd), 0.0, 0.0
    c = (x - x.mean()) / sd
    return float(sd), float((c**3).mean()), float((c**4).mean() - 3.0)


def _mean_or_zero(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else 0.0


def segment_features(d: Dynamics, z: np.ndarray | None = None) -> np.ndarray:
    """:data:`FEATURES` of one stretch of onsets. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        d: the stretch's dynamics.
        z: its velocities standardised over the whole piece (default: over the stretch).

    Returns:
        float32 vector, one value per feature.
    """
    z = d.z if z is None else z
    chord = d.chord - d.chord[0]
    size = np.bincount(chord)
    top = _chord_emphasis(z, chord, d.top)
    bottom = _chord_emphasis(z, chord, d.bottom)
    mean = np.bincount(chord, weights=z) / size
    var = np.bincount(chord, weights=z * z) / size - mean**2
    spread = np.sqrt(np.maximum(var[size >= 2], 0.0))
    jumps = np.abs(np.diff(mean))
    if mean.size > 2 and mean[1:].std() > 1e-9 and mean[:-1].std() > 1e-9:
        lag1 = float(np.corrcoef(mean[1:], mean[:-1])[0, 1])
    else:
        lag1 = 0.0
    k = 9
    smooth = np.convolve(np.pad(z, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    sd, skew, kurt = _moments(z)
    q = np.percentile(z, [5, 25, 50, 75, 95]) - np.median(z) * np.array([1, 1, 0, 1, 1])
    return np.array(
        [_mean_or_zero(top), _mean_or_zero(bottom), _mean_or_zero(spread), _mean_or_zero(np.abs(np.diff(z))),
         _mean_or_zero(jumps), lag1, float((z - smooth).std()), sd, skew, kurt, *q],
        np.float32,
    )


def segment_slices(n: int, length: int = SEGMENT, hop: int = HOP) -> list[slice]:
    """Where the segments of a piece lie. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        n: onsets in the piece.
        length: onsets per segment.
        hop: onsets between segment starts (the last segment ends with the piece).

    Returns:
        Slices of ``length`` onsets every ``hop`` (the whole piece when it is shorter).
    """
    if n <= length:
        return [slice(0, n)]
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] + length < n:
        starts.append(n - length)
    return [slice(s, s + length) for s in starts]


def segment_table(d: Dynamics) -> np.ndarray:
    """The statistics model's input for one piece. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        d: the piece's dynamics.

    Returns:
        (segments, features) float32: :func:`segment_features` of each of :func:`segment_slices`.
    """
    z = d.z
    out = []
    for s in segment_slices(len(z)):
        sub = Dynamics(d.velocity[s], d.chord[s], d.top[s], d.bottom[s])
        out.append(segment_features(sub, z[s]))
    return np.stack(out)

"""A piece's dynamics (velocities and chord structure, no pitches), the pieces and the velocity-model
predictions the discriminators are trained and judged on.

Taught in ``notebooks/02b_did_the_style_move.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.inputs import input_folder
from ..core.midi import MIN_STD, Performance, as_performance, velocities_vary
from ..core.notes import chord_ids
from ..errors import MusicstyleError
from .relations import note_attributes

GENRES = ("classical", "jazz")
#: What the ``relations`` judge may answer: a genre, or velocities unrelated to the notes.
UNRELATED = "unrelated"
OUTCOMES = (*GENRES, UNRELATED)


@dataclass
class Dynamics:
    """A piece's onset velocities with its chord structure (no pitches).

    Attributes:
        velocity: float, in onset order (as ``Performance.notes``).
        chord: the chord id of every onset (0, 1, ... in order; :func:`musicstyle.core.notes.chord_ids`).
        top: marks the highest note of each chord of two or more notes.
        bottom: marks the lowest note of each chord of two or more notes.
        attributes: each note's :data:`musicstyle.dynamics.ATTRIBUTES` (what the ``relations``
            judge relates the velocities to; None when built without the notes).
    """

    velocity: np.ndarray
    chord: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    attributes: np.ndarray | None = None

    @property
    def z(self) -> np.ndarray:
        """The velocities standardised over the piece (:func:`standardise`)."""
        return standardise(self.velocity)

    def with_velocity(self, velocity: np.ndarray) -> "Dynamics":
        """The same notes with other velocities (a model's prediction, a shuffle)."""
        velocity = np.asarray(velocity, np.float64)
        if velocity.shape != self.velocity.shape:
            raise MusicstyleError("velocity", f"expected {self.velocity.shape} velocities, got {velocity.shape}")
        return Dynamics(velocity, self.chord, self.top, self.bottom, self.attributes)


def standardise(v) -> np.ndarray:
    """Per-piece standardised velocities. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        v: velocities of one piece.

    Returns:
        ``(v - mean) / max(std, MIN_STD)`` as float64.
    """
    v = np.asarray(v, np.float64)
    if v.size == 0:
        return v
    return (v - v.mean()) / max(float(v.std()), MIN_STD)


#: Reason given for a piece left out of a judge's figures (:func:`judgeable`).
NO_DYNAMICS = "no dynamics to judge"


def has_dynamics(piece: "Performance | Dynamics") -> bool:
    """Whether a piece's velocities vary (a spread of at least :data:`MIN_STD`).

    A file written with one velocity for every note (a score exported as it is) carries no dynamics:
    a judge of dynamics can only guess on it, and would learn from it how the file was made.
    """
    return velocities_vary(piece.velocity if isinstance(piece, Dynamics) else piece.notes["velocity"])


def judgeable(collection):
    """The collection with every piece without dynamics (:func:`has_dynamics`) moved to its skipped files.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. Applied after a split is drawn, never before,
    so that no piece changes side.

    Args:
        collection: a :class:`musicstyle.data.Collection`.

    Returns:
        A :class:`musicstyle.data.Collection`; the pieces left out are skipped for :data:`NO_DYNAMICS`.
    """
    from ..data import Collection, Skipped

    varies = [has_dynamics(p.performance) for p in collection.pieces]
    if all(varies):
        return collection
    kept = [p for p, ok in zip(collection.pieces, varies) if ok]
    flat = [Skipped(p.path, NO_DYNAMICS) for p, ok in zip(collection.pieces, varies) if not ok]
    return Collection(collection.root, kept, [*collection.skipped, *flat], collection.repaired)


def dynamics_of(perf: Performance, velocity: np.ndarray | None = None) -> Dynamics:
    """The dynamics of a performance. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        perf: the performance (its notes give onsets, pitches and velocities).
        velocity: replacement velocities for ``perf.notes`` (None: the played ones).

    Returns:
        Its :class:`Dynamics`.
    """
    notes = perf.notes
    if not len(notes):
        raise MusicstyleError(perf.source or perf.name, "no notes to judge")
    chord = chord_ids(perf.seconds(notes["start"]))
    pitch = notes["pitch"].astype(np.int64)
    n = len(notes)
    top = np.zeros(n, bool)
    bottom = np.zeros(n, bool)
    if n:
        size = np.bincount(chord)[chord]
        order = np.lexsort((pitch, chord))  # by chord, then pitch
        c = chord[order]
        last = np.r_[c[1:] != c[:-1], True]
        first = np.r_[True, c[1:] != c[:-1]]
        top[order[last]] = True
        bottom[order[first]] = True
        top &= size >= 2
        bottom &= size >= 2
    v = notes["velocity"].astype(np.float64) if velocity is None else np.asarray(velocity, np.float64)
    if v.shape != (n,):
        raise MusicstyleError("velocity", f"expected {n} velocities, got {v.shape}")
    return Dynamics(v, chord, top, bottom, note_attributes(perf))


def as_dynamics(data) -> Dynamics:
    """The dynamics of a piece given in any form. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        data: MIDI bytes, a path, a :class:`Performance` or :class:`Dynamics`.

    Returns:
        Its :class:`Dynamics` (bad MIDI raises :class:`MusicstyleError`).
    """
    if isinstance(data, Dynamics):
        return data
    return dynamics_of(as_performance(data))


def shuffled(d: Dynamics, seed: int = 0) -> Dynamics:
    """The same piece with its velocities shuffled among its onsets (a control).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        d: the piece.
        seed: seed of the permutation.

    Returns:
        A :class:`Dynamics` with the same notes and permuted velocities.
    """
    return d.with_velocity(np.random.default_rng(seed).permutation(d.velocity))


@dataclass
class Item:
    """One example: a piece's dynamics, its label (a genre, or :data:`UNRELATED`) and where the velocities came from."""

    dynamics: Dynamics
    genre: str
    source: str  # "real", "own model", "transfer", "shuffled", "texture alone"
    name: str = ""

    @property
    def label(self) -> float:
        """1.0 for jazz, 0.0 for classical."""
        return float(self.genre == "jazz")

    @property
    def outcome(self) -> int:
        """Its index in :data:`OUTCOMES`."""
        return OUTCOMES.index(self.genre)


def held_out(data=None, per_genre: int | None = None, side: str = "test"):
    """One side of the piece-level split of a folder with classical/ and jazz/, parsing only its files.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``. The same pieces as
    ``select(load_dataset("tpd", data), side)`` (split seed :data:`musicstyle.data.SPLIT_SEED`).

    Args:
        data: the folder (default: TPD, found as usual).
        per_genre: keep only the first ones of each genre (quick mode).
        side: ``train``, ``validation`` or ``test``.

    Returns:
        A :class:`musicstyle.data.Collection` of those pieces with dynamics (:func:`judgeable`).
    """
    from ..data import SPLIT_SEED, load_folder, locate, midi_files, split_names

    folder = input_folder(data) if data else locate("tpd")
    files = [(g, p.relative_to(folder).as_posix()) for g, p in midi_files(folder, GENRES)]
    names = split_names([r for _, r in files], [g for g, _ in files], seed=SPLIT_SEED)[side]
    if per_genre is not None:
        genre_of = {r: g for g, r in files}
        names = [n for g in GENRES for n in [n for n in names if genre_of[n] == g][:per_genre]]
    return judgeable(load_folder(folder, genres=GENRES, subset=names, quick=False, progress=False))


def load_pieces(data=None, split: str = "all", quick: bool = False, progress: bool = True, both: bool = True):
    """The pieces a discriminator is trained (both genres) or judged on (either will do).

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        data: a folder with classical/ and jazz/ (default: TPD, found as usual).
        split: ``all`` (every file) or ``test`` (only the held-out files are parsed: :func:`held_out`).
        quick: keep the small quick-mode subset (``split="all"`` only).
        progress: show a progress bar while parsing.
        both: both genres are needed (else one will do).

    Returns:
        A :class:`musicstyle.data.Collection`. Raises :class:`MusicstyleError` when a genre has no
        pieces (with ``both=False``, when neither has).
    """
    from ..data import load_dataset

    if data:
        input_folder(data)
    if split == "test":
        collection = held_out(data)
    else:
        collection = load_dataset("tpd", path=data, quick=quick, progress=progress)
    missing = [g for g in GENRES if not collection.genre(g)]
    if missing and (both or len(missing) == len(GENRES)):
        g = " or ".join(missing)
        need = "classical/ and jazz/ subfolders" if both else "a classical/ or jazz/ subfolder"
        if split == "test":
            reason = f"no held-out {g} pieces (the test side is 10% of each genre's files; need {need})"
        else:
            reason = f"no readable {g} pieces (need {need})"
        raise MusicstyleError(collection.root, reason)
    return collection


def real_and_own(pieces, predictors: dict | None) -> list[Item]:
    """Real pieces plus, with ``predictors``, each genre's own model re-predicting its pieces.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        pieces: :class:`musicstyle.data.Piece` objects of both genres.
        predictors: genre -> velocities of a piece (:class:`Predictions`), or None.

    Returns:
        One ``real`` :class:`Item` per piece, each followed by its ``own model`` item.
    """
    items = []
    for p in pieces:
        d = dynamics_of(p.performance)
        items.append(Item(d, p.genre, "real", p.name))
        if predictors:
            items.append(Item(d.with_velocity(predictors[p.genre](p.performance)), p.genre, "own model", p.name))
    return items


def texture_alone(meta: dict, perf: Performance, seed: int = 0) -> np.ndarray:
    """A "transfer" with no model at all: the control for what the texture alone does.

    Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        meta: a velocity model's metadata (``train_mean`` and ``texture``).
        perf: the piece.
        seed: the texture draw's seed (with the file's SHA-256, as transfer draws it).

    Returns:
        The model's training mean plus a draw of its genre's texture, rounded to 1-127.
    """
    from ..velocity import piece_seed, sample_texture

    noise = sample_texture(meta["texture"], chord_ids(perf.seconds(perf.notes["start"])), piece_seed(perf, seed))
    return np.clip(np.rint(meta["train_mean"] + noise), 1, 127)


class Predictions:
    """A velocity model's velocities for pieces, as transfer writes them; cached on disk.

    ``Predictions(model, meta, tag)(perf)`` -> velocities for ``perf.notes`` (see
    :func:`musicstyle.velocity.transferred_velocities`: the mean prediction plus, with
    ``texture``, the genre's texture; or another ``route`` of :data:`musicstyle.velocity.ROUTES`).
    The cache key is ``tag`` (the model file's checksum and the route), the reader's version and the piece's SHA-256, in ``dynamics/pred-vN-TAG.npz`` of the user cache
    (:mod:`musicstyle.data.cache`). Taught in ``notebooks/02b_did_the_style_move.ipynb``.
    """

    def __init__(self, model, meta: dict, tag: str, texture: bool = True, route: str | None = None):
        from ..data.cache import cache_path, load_npz
        from ..data.collection import CACHE_VERSION

        self.model, self.meta, self.tag, self.texture, self.route = model, meta, tag, texture, route
        self.file = cache_path("dynamics", f"pred-v{CACHE_VERSION}-{tag}.npz")  # the reader's version: its notes
        self._memory: dict[str, np.ndarray] = load_npz(self.file) or {}
        self._dirty = False

    def __call__(self, perf: Performance) -> np.ndarray:
        key = perf.sha256 or str(id(perf))
        if key not in self._memory or len(self._memory[key]) != len(perf.notes):
            from ..velocity import transferred_velocities

            self._memory[key] = transferred_velocities(self.model, self.meta, perf, self.texture, route=self.route).astype(np.uint8)
            self._dirty = True
        return self._memory[key].astype(np.float64)

    def draw(self, perf: Performance) -> np.ndarray:
        """What this route adds to the model's mean for ``perf.notes`` (:func:`musicstyle.velocity.route_draw`)."""
        from ..velocity import route_draw

        return route_draw(self.model, self.meta, perf, self.route or ("texture" if self.texture else "mean"))

    def save(self) -> None:
        """Write the predictions made since the cache was read (atomically)."""
        from ..data.cache import save_cache

        if self._dirty:
            save_cache(self.file, self._memory, compressed=True)
            self._dirty = False


def velocity_predictors(arch: str = "improved", files: dict | None = None, texture: bool = True,
                        route: str | None = None) -> dict[str, Predictions]:
    """Each genre's velocity model as a cached predictor. Taught in ``notebooks/02b_did_the_style_move.ipynb``.

    Args:
        arch: the shipped architecture (see :data:`musicstyle.velocity.ARCHS`).
        files: {genre: path.keras} of other velocity models, instead of the shipped ones.
        texture: add the genre's texture draw (False: the mean prediction alone).
        route: a route of :data:`musicstyle.velocity.ROUTES` other than ``mean`` and ``texture``
            (``texture`` decides those two).

    Returns:
        genre -> :class:`Predictions`.
    """
    from .. import velocity
    from ..data import sha256_file
    from ..training.shipped import pretrained_path

    if route in ("mean", "texture"):
        texture, route = route == "texture", None
    out = {}
    for g in GENRES:
        if files and files.get(g):
            path = Path(files[g])
            model, meta = velocity.load_file(path)
            if meta.get("genre") != g:  # a pair given in the wrong order would teach one genre's output as the other's
                raise MusicstyleError(path, f"holds a {meta.get('genre')} velocity model, given as the {g} one "
                                            "(the pair goes CLASSICAL.keras JAZZ.keras, in that order)")
        else:
            path = pretrained_path(velocity.pretrained_name(g, arch))
            model, meta = velocity.load(g, arch)
        digest = sha256_file(path)[:16]
        suffix = f"-{route}" if route else ("-texture" if texture and meta.get("texture") else "")
        out[g] = Predictions(model, meta, f"{g}-{meta.get('arch', arch)}-{digest}{suffix}", texture, route)
    return out

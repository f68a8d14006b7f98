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

Two kinds are shipped:

* ``cnn``: a small dilated 1-D CNN over the sequence of standardised onset velocities (in onset
  order, chord notes low to high), global average pooling, one logit; trained on crops, applied to
  a whole piece at once.
* ``stats``: a small MLP (one hidden layer, :data:`STATS_HIDDEN` units) on :data:`FEATURES`,
  statistics of 512-onset segments (the paper's observations among them); a piece's log-odds is
  the mean over its segments.

The judge of :func:`verdict` and of ``evaluate transfer`` (:data:`TRUSTED`) is the ``ensemble``: the
mean of the two kinds' log-odds. Either kind alone passes its controls, yet its verdict on transfers
moved by tens of points when it was retrained with the same command; two views averaged are steadier.
Each kind is reported beside it.

Simultaneous onsets ("chords") are notes whose onset is within :data:`CHORD_WINDOW_S` seconds of the
previous note's onset.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .data import pieces_checksum
from .errors import MusicstyleError
from .core.midi import Performance, read_midi

GENRES = ("classical", "jazz")
#: Onsets closer than this to the previous onset belong to the same chord (seconds).
CHORD_WINDOW_S = 0.03
#: Smallest spread used when standardising (velocity units), so constant pieces stay finite.
MIN_STD = 1.0
#: Onsets per segment for the statistics model, and the hop between segments.
SEGMENT, HOP = 512, 256
#: Crop length (onsets) the CNN is trained on.
CROP = 256
#: Hidden ReLU units of the statistics model (0 would be plain logistic regression, which could not
#: fit real pieces and model predictions at once: 69% of the jazz model's own output judged jazz).
STATS_HIDDEN = 32
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
#: File names of the shipped discriminators, by kind.
SHIPPED = {"cnn": "dynamics_cnn.keras", "stats": "dynamics_stats.keras"}
#: The raw discriminator (trained on real pieces only), shipped to show why it fails its controls.
RAW = {"stats_raw": "dynamics_stats_raw.keras"}
#: The judge made of every shipped kind (mean log-odds), and the one :func:`verdict` trusts.
ENSEMBLE = "ensemble"
TRUSTED = ENSEMBLE


@dataclass
class Dynamics:
    """A piece's onset velocities with its chord structure (no pitches).

    ``velocity`` float, in onset order (as ``Performance.notes``); ``chord`` the chord id of every
    onset (0, 1, ... in order); ``top`` / ``bottom`` mark the highest / lowest note of each chord
    of two or more notes.
    """

    velocity: np.ndarray
    chord: np.ndarray
    top: np.ndarray
    bottom: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return standardise(self.velocity)

    def with_velocity(self, velocity: np.ndarray) -> "Dynamics":
        """The same notes with other velocities (a model's prediction, a shuffle)."""
        velocity = np.asarray(velocity, np.float64)
        if velocity.shape != self.velocity.shape:
            raise ValueError(f"expected {self.velocity.shape} velocities, got {velocity.shape}")
        return Dynamics(velocity, self.chord, self.top, self.bottom)


def standardise(v) -> np.ndarray:
    """Per-piece standardised velocities ``(v - mean) / max(std, MIN_STD)`` (notebook 02b)."""
    v = np.asarray(v, np.float64)
    if v.size == 0:
        return v
    return (v - v.mean()) / max(float(v.std()), MIN_STD)


def chords(onsets_s: np.ndarray, window: float = CHORD_WINDOW_S) -> np.ndarray:
    """Chord id of each onset (sorted times in seconds): a gap over ``window`` starts a new chord."""
    onsets_s = np.asarray(onsets_s, np.float64)
    if onsets_s.size == 0:
        return np.zeros(0, np.int64)
    return np.concatenate([[0], np.cumsum(np.diff(onsets_s) > window)]).astype(np.int64)


def dynamics_of(perf: Performance, velocity: np.ndarray | None = None) -> Dynamics:
    """The :class:`Dynamics` of a performance (optionally with replacement velocities), notebook 02b."""
    notes = perf.notes
    chord = chords(perf.seconds(notes["start"]))
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
        raise ValueError(f"expected {n} velocities, got {v.shape}")
    return Dynamics(v, chord, top, bottom)


def _as_dynamics(data) -> Dynamics:
    if isinstance(data, Dynamics):
        return data
    if isinstance(data, Performance):
        return dynamics_of(data)
    if isinstance(data, (bytes, bytearray)):
        return dynamics_of(read_midi(bytes(data)))
    raise TypeError(f"expected MIDI bytes, a Performance or Dynamics, not {type(data).__name__}")


# --- the paper's observations ----------------------------------------------------------------------


def _chord_emphasis(v: np.ndarray, chord: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Per chord of 2+ notes: v of the marked note minus the mean v of the other notes."""
    size = np.bincount(chord)
    total = np.bincount(chord, weights=v)
    mark = mark & (size[chord] >= 2)  # a chord cut by a segment's edge may have one note left
    ids = chord[mark]
    return v[mark] - (total[ids] - v[mark]) / (size[ids] - 1)


def top_note_emphasis(data, standardised: bool = True) -> float:
    """Mean over chords of (velocity of the highest note - mean of the chord's other notes).

    In per-piece standard deviations (``standardised``) or velocity units; NaN without chords.
    The paper: classical pianists bring out the top (melody) note, jazz pianists voice chords
    evenly. Notebook 02b.
    """
    d = _as_dynamics(data)
    v = d.z if standardised else d.velocity
    e = _chord_emphasis(v, d.chord, d.top)
    return float(e.mean()) if e.size else float("nan")


def onset_jump(data) -> float:
    """Mean |z_t - z_(t-1)| of successive onsets, z standardised per piece (notebook 02b).

    The paper: jazz velocities are less consistent from one onset to the next.
    """
    z = _as_dynamics(data).z
    return float(np.abs(np.diff(z)).mean()) if z.size > 1 else float("nan")


def observations(data) -> dict:
    """The paper's observations of one piece as numbers (notebook 02b)."""
    return {
        "top_emphasis_z": top_note_emphasis(data),
        "top_emphasis_velocity": top_note_emphasis(data, standardised=False),
        "onset_jump_z": onset_jump(data),
    }


# --- segment statistics ----------------------------------------------------------------------------


def _moments(x: np.ndarray) -> tuple[float, float, float]:
    sd = x.std()
    if sd < 1e-9:
        return float(sd), 0.0, 0.0
    c = (x - x.mean()) / sd
    return float(sd), float((c**3).mean()), float((c**4).mean() - 3.0)


def segment_features(d: Dynamics, z: np.ndarray | None = None) -> np.ndarray:
    """:data:`FEATURES` of one stretch of onsets (z standardised over the whole piece)."""
    z = d.z if z is None else z
    chord = d.chord - d.chord[0]
    size = np.bincount(chord)
    top = _chord_emphasis(z, chord, d.top)
    bottom = _chord_emphasis(z, chord, d.bottom)
    mean = np.bincount(chord, weights=z) / size
    var = np.bincount(chord, weights=z * z) / size - mean**2
    multi = size >= 2
    spread = np.sqrt(np.maximum(var[multi], 0.0))
    jumps = np.abs(np.diff(mean))
    if mean.size > 2 and mean[1:].std() > 1e-9 and mean[:-1].std() > 1e-9:
        lag1 = float(np.corrcoef(mean[1:], mean[:-1])[0, 1])
    else:
        lag1 = 0.0
    k = 9
    smooth = np.convolve(np.pad(z, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    sd, skew, kurt = _moments(z)
    q = np.percentile(z, [5, 25, 50, 75, 95]) - np.median(z) * np.array([1, 1, 0, 1, 1])

    def avg(x):
        return float(x.mean()) if x.size else 0.0

    return np.array(
        [avg(top), avg(bottom), avg(spread), avg(np.abs(np.diff(z))), avg(jumps), lag1,
         float((z - smooth).std()), sd, skew, kurt, *q],
        np.float32,
    )


def segments(n: int, length: int = SEGMENT, hop: int = HOP) -> list[slice]:
    """Slices of ``length`` onsets every ``hop`` (the whole piece when it is shorter)."""
    if n <= length:
        return [slice(0, n)]
    starts = list(range(0, n - length + 1, hop))
    if starts[-1] + length < n:
        starts.append(n - length)
    return [slice(s, s + length) for s in starts]


def piece_features(d: Dynamics) -> np.ndarray:
    """(segments, features) of one piece (notebook 02b)."""
    z = d.z
    out = []
    for s in segments(len(z)):
        sub = Dynamics(d.velocity[s], d.chord[s], d.top[s], d.bottom[s])
        out.append(segment_features(sub, z[s]))
    return np.stack(out)


# --- models ----------------------------------------------------------------------------------------


def build_cnn(filters: int = 16, kernel: int = 5, dilations=(1, 2, 4, 8), seed: int = 0):
    """The sequence discriminator: dilated Conv1D blocks over z, global average pooling, one logit."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    x = inp = keras.Input((None, 1), name="z")
    for i, d in enumerate(dilations):
        x = layers.Conv1D(filters * (2 if i >= 2 else 1), kernel, dilation_rate=d, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(1, name="logit")(x)
    return keras.Model(inp, out, name="dynamics_cnn")


def build_stats(mean: np.ndarray, var: np.ndarray, l2: float = 1e-3, hidden: int = 0):
    """Logistic regression on :data:`FEATURES` (normalised by training mean and variance); with
    ``hidden`` units, one ReLU layer before it (a small MLP)."""
    import keras
    from keras import layers

    inp = keras.Input((len(FEATURES),), name="features")
    x = layers.Normalization(mean=mean, variance=np.maximum(var, 1e-6), name="normalise")(inp)
    if hidden:
        x = layers.Dense(hidden, activation="relu", kernel_regularizer=keras.regularizers.L2(l2), name="hidden")(x)
    out = layers.Dense(1, kernel_regularizer=keras.regularizers.L2(l2), name="logit")(x)
    return keras.Model(inp, out, name="dynamics_stats")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def jazz_logit(model, meta: dict, d: Dynamics) -> float:
    """Log-odds that a piece's dynamics are jazz, by a discriminator (any kind; for the ensemble,
    ``model`` is its list of ``(model, meta)`` members)."""
    if meta.get("arch") == ENSEMBLE:
        return float(np.mean([jazz_logit(m, mm, d) for m, mm in model]))
    if meta.get("arch") == "stats":
        f = piece_features(d)
        return float(np.mean(np.asarray(model(f, training=False)).ravel()))
    z = d.z.astype(np.float32)
    if z.size < 16:
        z = np.pad(z, (0, 16 - z.size))
    return float(np.asarray(model(z[None, :, None], training=False)).ravel()[0])


def p_jazz(model, meta: dict, data) -> float:
    """P(jazz) of a piece (MIDI bytes, Performance or Dynamics) by one discriminator."""
    return float(_sigmoid(jazz_logit(model, meta, _as_dynamics(data))))


def ensemble(members: dict) -> tuple[list, dict]:
    """The judge whose log-odds is the mean of ``members`` (kind -> (model, meta)), as ``(model, meta)``."""
    return list(members.values()), {"kind": "dynamics", "arch": ENSEMBLE, "members": list(members)}


@lru_cache(maxsize=8)
def load(kind: str = TRUSTED):
    """A shipped discriminator ``(model, meta)``, loaded once (safe mode), or the ensemble of the
    shipped kinds; notebook 02b."""
    from .training.modelfile import load_model
    from .training.shipped import pretrained_path

    if kind == ENSEMBLE:
        return ensemble({k: load(k) for k in SHIPPED})
    files = {**SHIPPED, **RAW}
    if kind not in files:
        raise MusicstyleError(kind, f"unknown discriminator kind (choose from {', '.join([*files, ENSEMBLE])})")
    return load_model(pretrained_path(files[kind]), kind="dynamics")


def load_model_file(path):
    """A discriminator saved by ``musicstyle train dynamics``, ``(model, meta)``, in safe mode."""
    from .training.modelfile import load_model

    return load_model(path, kind="dynamics")


def verdict(data) -> dict:
    """``{"classical": 1 - p, "jazz": p}`` for a piece's dynamics by the trusted judge (:data:`TRUSTED`).

    ``data``: MIDI bytes or a :class:`Performance`. Bad MIDI raises :class:`MusicstyleError`.
    Notebook 02b (and the widget, notebook 07).
    """
    d = _as_dynamics(data)  # bad input fails here, before any model is loaded
    model, meta = load(TRUSTED)
    pj = p_jazz(model, meta, d)
    return {"classical": 1.0 - pj, "jazz": pj}


# --- data for training and evaluation ---------------------------------------------------------------


def shuffled(d: Dynamics, seed: int = 0) -> Dynamics:
    """The same piece with its velocities shuffled among its onsets (a control; notebook 02b)."""
    return d.with_velocity(np.random.default_rng(seed).permutation(d.velocity))


def texture_alone(meta: dict, perf: Performance, seed: int = 0) -> np.ndarray:
    """A velocity model's training mean plus a draw of its genre's texture, as transfer would draw
    it: a "transfer" with no model at all, the control for what the texture alone does (notebook 02b)."""
    from .velocity import piece_seed, sample_texture

    noise = sample_texture(meta["texture"], chords(perf.seconds(perf.notes["start"])), piece_seed(perf, seed))
    return np.clip(np.rint(meta["train_mean"] + noise), 1, 127)


class Predictions:
    """A velocity model's velocities for pieces, as transfer writes them; cached on disk.

    ``Predictions(model, meta, tag)(perf)`` -> velocities for ``perf.notes`` (see
    :func:`musicstyle.velocity.transferred_velocities`: the mean prediction plus, with
    ``texture``, the genre's texture). The cache key is ``tag`` (the model file's checksum and
    the texture setting) and the piece's SHA-256, under the user cache (``MUSICSTYLE_CACHE``).
    """

    def __init__(self, model, meta: dict, tag: str, texture: bool = True):
        self.model, self.meta, self.tag, self.texture = model, meta, tag, texture
        self._memory: dict[str, np.ndarray] = {}
        self._dirty = False
        from .data import cache_home

        self.file = cache_home() / "dynamics" / f"pred-{tag}.npz"
        if self.file.is_file():
            try:
                with np.load(self.file) as z:
                    self._memory = {k: z[k] for k in z.files}
            except Exception:  # a damaged cache is rebuilt, never trusted
                self._memory = {}

    def __call__(self, perf: Performance) -> np.ndarray:
        key = perf.sha256 or str(id(perf))
        if key not in self._memory or len(self._memory[key]) != len(perf.notes):
            from .velocity import transferred_velocities

            self._memory[key] = transferred_velocities(self.model, self.meta, perf, self.texture).astype(np.uint8)
            self._dirty = True
        return self._memory[key].astype(np.float64)

    def save(self) -> None:
        if self._dirty:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, **self._memory)
            tmp.replace(self.file)
            self._dirty = False


def velocity_predictors(arch: str = "improved", files: dict | None = None, texture: bool = True) -> dict[str, Predictions]:
    """Each genre's velocity model as a cached predictor: the shipped ones (see
    :mod:`musicstyle.velocity`), or ``files`` {genre: path.keras}; ``texture=False``: the mean
    prediction alone."""
    from pathlib import Path

    from . import velocity
    from .data import sha256_file
    from .training.shipped import pretrained_path

    out = {}
    for g in GENRES:
        if files and files.get(g):
            path = Path(files[g])
            model, meta = velocity.load_file(path)
        else:
            path = pretrained_path(velocity.pretrained_name(g, arch))
            model, meta = velocity.load(g, arch)
        digest = sha256_file(path)[:16]
        tag = f"{g}-{meta.get('arch', arch)}-{digest}" + ("-texture" if texture and meta.get("texture") else "")
        out[g] = Predictions(model, meta, tag, texture)
    return out


@dataclass
class Item:
    """One example: a piece's dynamics, its genre label and where the velocities came from."""

    dynamics: Dynamics
    genre: str
    source: str  # "real", "own model", "transfer", "shuffled"
    name: str = ""

    @property
    def label(self) -> float:
        return float(self.genre == "jazz")


def held_out(data=None, per_genre: int | None = None, side: str = "test"):
    """The held-out pieces of the piece-level split (seed 0) of a folder with classical/ and jazz/.

    Only those files are parsed; ``per_genre`` keeps the first ones of each genre (quick mode).
    The same pieces as ``Collection.split(seed=0)[side]`` of the whole folder. Notebook 02b.
    """
    from pathlib import Path

    from .data import midi_files, load_folder, locate, split_names

    folder = Path(data) if data else locate("tpd")
    if not folder.is_dir():
        raise MusicstyleError(folder, "not a folder")
    files = [(g, p.relative_to(folder).as_posix()) for g, p in midi_files(folder, GENRES)]
    names = split_names([r for _, r in files], [g for g, _ in files], seed=0)[side]
    if per_genre is not None:
        genre_of = dict((r, g) for g, r in files)
        names = [n for g in GENRES for n in [n for n in names if genre_of[n] == g][:per_genre]]
    return load_folder(folder, genres=GENRES, subset=names, quick=False, progress=False)


def real_and_own(pieces, predictors: dict | None) -> list[Item]:
    """Real pieces plus, with ``predictors``, each genre's own model re-predicting its pieces."""
    items = []
    for p in pieces:
        d = dynamics_of(p.performance)
        items.append(Item(d, p.genre, "real", p.name))
        if predictors:
            items.append(Item(d.with_velocity(predictors[p.genre](p.performance)), p.genre, "own model", p.name))
    return items


# --- training --------------------------------------------------------------------------------------


def _crops(items: list[Item], per_item: int, rng: np.random.Generator, length: int = CROP):
    x = np.zeros((len(items) * per_item, length, 1), np.float32)
    y = np.zeros(len(items) * per_item, np.float32)
    for i, it in enumerate(items):
        z = it.dynamics.z.astype(np.float32)
        for j in range(per_item):
            k = i * per_item + j
            if len(z) <= length:
                x[k, : len(z), 0] = z
            else:
                s = int(rng.integers(0, len(z) - length + 1))
                x[k, :, 0] = z[s : s + length]
            y[k] = it.label
    return x, y


def piece_accuracy(model, meta, items: list[Item]) -> float:
    """Share of items judged as their genre."""
    if not items:
        return float("nan")
    ok = [(jazz_logit(model, meta, it.dynamics) > 0) == (it.genre == "jazz") for it in items]
    return float(np.mean(ok))


def fit_cnn(train: list[Item], validation: list[Item], epochs: int = 12, crops: int = 8, seed: int = 0,
            verbose: int = 1):
    """Train the sequence discriminator on crops; keeps the epoch with the best validation accuracy."""
    import keras

    rng = np.random.default_rng(seed)
    model = build_cnn(seed=seed)
    model.compile(keras.optimizers.Adam(2e-3), keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    meta = {"arch": "cnn"}
    best, best_weights, history = -1.0, None, []
    for epoch in range(epochs):
        x, y = _crops(train, crops, rng)
        h = model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
        acc = piece_accuracy(model, meta, validation)
        history.append({"epoch": epoch + 1, "loss": float(h.history["loss"][-1]), "val_piece_accuracy": acc})
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {history[-1]['loss']:.4f}, validation piece accuracy {acc:.3f}",
                  flush=True)
        if acc > best:
            best, best_weights = acc, model.get_weights()
    model.set_weights(best_weights)
    return model, history


def _feature_table(items: list[Item]):
    xs, ys = [], []
    for it in items:
        f = piece_features(it.dynamics)
        xs.append(f)
        ys.append(np.full(len(f), it.label, np.float32))
    return np.concatenate(xs), np.concatenate(ys)


def fit_stats(train: list[Item], validation: list[Item], epochs: int = 60, seed: int = 0, verbose: int = 1,
              hidden: int = 0):
    """Train the logistic regression on segment statistics (each piece weighs the same)."""
    import keras

    keras.utils.set_random_seed(seed)
    x, y = _feature_table(train)
    model = build_stats(x.mean(0), x.var(0), hidden=hidden)
    model.compile(keras.optimizers.Adam(2e-2), keras.losses.BinaryCrossentropy(from_logits=True))
    h = model.fit(x, y, batch_size=256, epochs=epochs, shuffle=True, verbose=0)
    acc = piece_accuracy(model, {"arch": "stats"}, validation)
    if verbose:
        print(f"stats: loss {h.history['loss'][-1]:.4f}, validation piece accuracy {acc:.3f}", flush=True)
    return model, [{"epoch": epochs, "loss": float(h.history["loss"][-1]), "val_piece_accuracy": acc}]


def augmenting_predictors(extra: list[dict] | None = None) -> list[dict[str, "Predictions"]]:
    """Velocity-model sets whose own-genre re-predictions train a discriminator: every shipped
    architecture (improved first, then the paper's where shipped), then ``extra`` {genre: file}."""
    from . import velocity

    sets = []
    for arch in velocity.ARCHS:
        try:
            sets.append(velocity_predictors(arch))
        except MusicstyleError:
            if arch == velocity.ARCHS[0]:
                raise
    for files in extra or []:
        sets.append(velocity_predictors(files=files))
    return sets


def train(kind: str = "cnn", data=None, epochs: int | None = None, quick: bool | None = None,
          own_model: bool = True, seed: int = 0, verbose: int = 1, extra_models: list[dict] | None = None):
    """Train a discriminator on a folder with classical/ and jazz/ (TPD by default); returns (model, meta).

    Uses the piece-level split (seed 0): train side to fit, validation side to pick the epoch.
    With ``own_model`` each genre's velocity models (:func:`augmenting_predictors`) re-predicting
    that genre's own pieces are added, labelled with the genre, to both sides (so smoothness is no
    cue); the controls stored in the metadata use the first set (the shipped improved models).
    Reproduced by ``musicstyle train dynamics``; notebook 02b.
    """
    from .data import load_dataset, load_folder
    from .settings import quick_mode

    if kind not in SHIPPED:
        raise MusicstyleError(kind, f"unknown discriminator kind (choose from {', '.join(SHIPPED)})")
    quick = quick_mode() if quick is None else quick
    collection = load_folder(data, genres=GENRES, quick=quick) if data else load_dataset("tpd", quick=quick)
    for g in GENRES:
        if not collection.genre(g):
            raise MusicstyleError(collection.root, f"no readable {g} pieces (need classical/ and jazz/ subfolders)")
    split = collection.split(seed=0)
    try:
        sets = augmenting_predictors(extra_models)
    except MusicstyleError:
        if own_model:
            raise
        sets = []  # a raw discriminator needs no velocity model; its controls are then unknown
    val_pieces = split["validation"] or split["train"]
    tr = real_and_own(split["train"], None)
    va_all = real_and_own(val_pieces, sets[0] if sets else None)
    va = [it for it in va_all if it.source == "real"]
    if own_model:
        for i, predictors in enumerate(sets):
            tr += [it for it in real_and_own(split["train"], predictors) if it.source != "real"]
            va += [it for it in (va_all if i == 0 else real_and_own(val_pieces, predictors)) if it.source != "real"]
    for predictors in sets:
        for p in predictors.values():
            p.save()
    if kind == "cnn":
        model, history = fit_cnn(tr, va, epochs=epochs or (2 if quick else 12), seed=seed, verbose=verbose)
    else:
        model, history = fit_stats(tr, va, epochs=epochs or (10 if quick else 60), seed=seed, verbose=verbose,
                                   hidden=STATS_HIDDEN)
    va_real = [it for it in va_all if it.source == "real"]
    va_own = {g: [it for it in va_all if it.source == "own model" and it.genre == g] for g in GENRES}
    meta = {
        "kind": "dynamics",
        "arch": kind,
        "genres": list(GENRES),
        "labels": {"0": "classical", "1": "jazz"},
        "input": "per-piece standardised onset velocities" + (" -> segment statistics" if kind == "stats" else ""),
        "features": list(FEATURES) if kind == "stats" else None,
        "segment": SEGMENT if kind == "stats" else CROP,
        "chord_window_s": CHORD_WINDOW_S,
        "min_std": MIN_STD,
        "trained_on": "real + own-genre velocity model predictions" if own_model else "real",
        "velocity_models": [{g: p.tag for g, p in predictors.items()} for predictors in (sets if own_model else sets[:1])],
        "velocity_models_role": "training data (all) and validation controls (first)" if own_model
        else "validation controls only",
        "split": {"seed": 0, "train": len(split["train"]), "validation": len(split["validation"])},
        "seed": seed,
        "data_sha256": pieces_checksum(collection.pieces),
        "quick": bool(quick),
        "history": history,
        "validation_piece_accuracy": history and max(h["val_piece_accuracy"] for h in history),
        "validation_real_accuracy": piece_accuracy(model, {"arch": kind}, va_real),
        "validation_own_model_accuracy": {g: piece_accuracy(model, {"arch": kind}, v) for g, v in va_own.items() if v}
        or None,
    }
    return model, meta


# --- evaluation ------------------------------------------------------------------------------------


def _share(flags) -> float | None:
    flags = list(flags)
    return float(np.mean(flags)) if flags else None


def _mean(values) -> float | None:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    return float(values.mean()) if values.size else None


def evaluate_transfer(collection, discriminators: dict, predictors: dict, trusted: str | None = None,
                      progress: bool = False) -> dict:
    """Did the style move? Shares judged as each genre before and after transfer, with controls.

    ``discriminators``: kind -> (model, meta) (the ensemble of the shipped kinds is added when it
    is the trusted judge and missing); ``predictors``: genre -> velocities of a piece by that
    genre's velocity model (:class:`Predictions`). For every piece: real velocities, the own
    genre's model (control), the other genre's model (the transfer), velocities shuffled within
    the piece, and, where the transfer draws a texture, the target genre's training mean plus that
    texture alone (:func:`texture_alone`: how far the texture moves a verdict with no model).
    Reproduced by ``musicstyle evaluate transfer``; notebook 02b.
    """
    trusted = trusted or TRUSTED
    if trusted == ENSEMBLE and ENSEMBLE not in discriminators:
        discriminators = {**discriminators, ENSEMBLE: ensemble({k: discriminators[k] for k in SHIPPED})}
    rows = []
    pieces = [p for p in collection.pieces if p.genre in GENRES]
    it = pieces
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(pieces, desc="transfer", unit="piece")
    for p in it:
        d = dynamics_of(p.performance)
        other = GENRES[1 - GENRES.index(p.genre)]
        versions = {
            "real": d,
            "own": d.with_velocity(predictors[p.genre](p.performance)),
            "transfer": d.with_velocity(predictors[other](p.performance)),
            "shuffled": shuffled(d),
        }
        target = predictors[other]
        if getattr(target, "texture", False) and target.meta.get("texture"):
            versions["texture_alone"] = d.with_velocity(texture_alone(target.meta, p.performance))
        row = {"name": p.name, "genre": p.genre, "target": other}
        for k, v in versions.items():
            row[k] = {kind: p_jazz(m, meta, v) for kind, (m, meta) in discriminators.items()}
            row[k + "_obs"] = observations(v)
        rows.append(row)
    for pred in predictors.values():
        if hasattr(pred, "save"):
            pred.save()
    return summarise(rows, trusted)


def _judged(pj: float, genre: str) -> bool:
    return (pj > 0.5) == (genre == "jazz")


def summarise(rows: list[dict], trusted: str = TRUSTED) -> dict:
    """The ``evaluate transfer`` JSON from per-piece verdicts (see :func:`evaluate_transfer`)."""
    kinds = list(rows[0]["real"]) if rows else [trusted]
    if trusted not in kinds:
        raise ValueError(f"trusted discriminator {trusted!r} not among {kinds}")
    out: dict = {"trusted": trusted, "pieces": len(rows)}

    def figures(kind: str) -> dict:
        f = {"discriminator_accuracy": _share(_judged(r["real"][kind], r["genre"]) for r in rows)}
        for g in GENRES:
            f[f"real_{g}_judged_{g}"] = _share(_judged(r["real"][kind], g) for r in rows if r["genre"] == g)
            f[f"shuffled_{g}_judged_{g}"] = _share(_judged(r["shuffled"][kind], g) for r in rows if r["genre"] == g)
        f["shuffled_accuracy"] = _share(_judged(r["shuffled"][kind], r["genre"]) for r in rows)
        for src, dst in (("jazz", "classical"), ("classical", "jazz")):
            rs = [r for r in rows if r["genre"] == src]
            f[f"{src}_to_{dst}"] = {
                "pieces": len(rs),
                "share_before": _share(_judged(r["real"][kind], dst) for r in rs),
                "moved_share": _share(_judged(r["transfer"][kind], dst) for r in rs),
                "control_share": _share(_judged(r["own"][kind], src) for r in rs),
                "texture_alone_share": _share(_judged(r["texture_alone"][kind], dst) for r in rs if "texture_alone" in r),
                "mean_p_target_before": _mean(r["real"][kind] if dst == "jazz" else 1 - r["real"][kind] for r in rs),
                "mean_p_target_after": _mean(r["transfer"][kind] if dst == "jazz" else 1 - r["transfer"][kind] for r in rs),
            }
        return f

    out.update(figures(trusted))
    out["others"] = {k: figures(k) for k in kinds if k != trusted}
    obs = {}
    for g in GENRES:
        rs = [r for r in rows if r["genre"] == g]
        other = GENRES[1 - GENRES.index(g)]
        for version, label in (("real", f"{g}_real"), ("own", f"{g}_own_model"), ("transfer", f"{g}_to_{other}"),
                               ("shuffled", f"{g}_shuffled")):
            obs[label] = {k: _mean(r[version + "_obs"][k] for r in rs) for k in
                          ("top_emphasis_z", "top_emphasis_velocity", "onset_jump_z")}
    out["observations"] = obs
    return out


# --- showing the results ---------------------------------------------------------------------------


def plot_sequences(sequences: dict, onsets: int = 160, start: int = 0, ax=None):
    """Standardised velocity sequences (label -> :class:`Dynamics`) over onsets, one line each.

    Notebook 02b; takes ``ax=None`` and returns the axes it drew on.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(10, 3.5))
    for label, d in sequences.items():
        z = _as_dynamics(d).z[start : start + onsets]
        ax.plot(np.arange(start, start + len(z)), z, lw=1.0, label=label)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlabel("onset (in order; chord notes low to high)")
    ax.set_ylabel("velocity, standardised per piece")
    ax.legend(fontsize=8, loc="upper right")
    return ax


def _pct(x) -> str:
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def table(result: dict) -> str:
    """The figures of :func:`evaluate_transfer` as aligned text, one column per discriminator."""
    cols = {result["trusted"] + " (trusted)": result, **result.get("others", {})}
    rows = [
        ("real pieces judged correctly", lambda f: f["discriminator_accuracy"]),
        ("  real classical -> classical", lambda f: f["real_classical_judged_classical"]),
        ("  real jazz -> jazz", lambda f: f["real_jazz_judged_jazz"]),
        ("control: classical model on classical -> classical", lambda f: f["classical_to_jazz"]["control_share"]),
        ("control: jazz model on jazz -> jazz", lambda f: f["jazz_to_classical"]["control_share"]),
        ("shuffled within piece, judged as its genre", lambda f: f["shuffled_accuracy"]),
        ("jazz pieces judged classical: before", lambda f: f["jazz_to_classical"]["share_before"]),
        ("  after transfer by the classical model", lambda f: f["jazz_to_classical"]["moved_share"]),
        ("classical pieces judged jazz: before", lambda f: f["classical_to_jazz"]["share_before"]),
        ("  after transfer by the jazz model", lambda f: f["classical_to_jazz"]["moved_share"]),
        ("texture alone (no model) -> classical", lambda f: f["jazz_to_classical"]["texture_alone_share"]),
        ("texture alone (no model) -> jazz", lambda f: f["classical_to_jazz"]["texture_alone_share"]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [" " * width + "  " + "  ".join(f"{c:>16}" for c in cols)]
    for label, get in rows:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{_pct(get(f)):>16}" for f in cols.values()))
    return "\n".join(lines)


def observation_table(result: dict) -> str:
    """The paper's observations from :func:`evaluate_transfer` as aligned text."""
    obs = result["observations"]
    lines = [f"{'velocities':<24}{'top-note emphasis (z)':>24}{'(velocity units)':>18}{'onset jump (z)':>16}"]
    for label, o in obs.items():
        cells = [o["top_emphasis_z"], o["top_emphasis_velocity"], o["onset_jump_z"]]
        lines.append(f"{label:<24}" + "".join(f"{('-' if c is None else f'{c:.3f}'):>{w}}" for c, w in zip(cells, (24, 18, 16))))
    return "\n".join(lines)

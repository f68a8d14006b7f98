"""Classifier and chords-LSTM commands: ``classify``, ``generate``, ``train classifier|chords``,
``evaluate classifier|chords`` and ``bench generate`` (notebooks 03 and 04)."""

from __future__ import annotations

from pathlib import Path

from . import emit
from ..errors import MusicstyleError

GENRES = ("classical", "jazz")


def register(groups) -> None:
    top = groups["top"]
    p = top.add_parser("classify", help="classical or jazz? the shipped keys-only classifier's verdict")
    p.add_argument("file")
    p.add_argument("--model", help="a classifier .keras file (default: the shipped one)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_classify)

    p = top.add_parser("generate", help="music of one genre started from the style vector of a piece")
    p.add_argument("--genre", choices=GENRES, required=True)
    p.add_argument("--inspired-by", required=True, metavar="PIECE.mid")
    p.add_argument("-o", "--out", required=True, metavar="OUT.mid")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_generate)

    p = groups["train"].add_parser("classifier", help="train the genre classifier on TPD (piece-level split)")
    p.add_argument("--data", help="TPD folder (default: found as for tpd)")
    p.add_argument("--arch", choices=("improved", "paper"), default="improved")
    p.add_argument("--layout", choices=("keys", "paper"), default="keys", help="keys only (shipped) or the paper's 59 columns")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--length", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", default="classifier.keras")
    p.set_defaults(func=_train_classifier)

    p = groups["train"].add_parser("chords", help="train one genre's conditioned LSTM on TPD (piece-level split)")
    p.add_argument("--genre", choices=GENRES, required=True)
    p.add_argument("--data", help="TPD folder (default: found as for tpd)")
    p.add_argument("--units", type=int, default=128, help="LSTM units (the shipped models: 128)")
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--minutes", type=float, default=30.0, help="stop after the epoch that passes this budget")
    p.add_argument("--unconditioned", action="store_true", help="all style vectors zero (a warm start for --init)")
    p.add_argument("--init", help="start from the weights of this .keras model (layers of the same name)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--out", default=None, help="default: chords_GENRE.keras")
    p.set_defaults(func=_train_chords)

    for what, func, helptext in (
        ("classifier", _evaluate_classifier, "segment and piece accuracy against the majority baseline"),
        ("chords", _evaluate_chords, "per-step BCE of each genre's LSTM against three baselines"),
    ):
        p = groups["evaluate"].add_parser(what, help=helptext)
        p.add_argument("--data", help="folder with classical/ and jazz/ (default: TPD)")
        p.add_argument("--split", choices=("all", "train", "validation", "test"), default="all", help="TPD piece-level split (seed 0) to use")
        p.add_argument("--model", help=".keras file (classifier only; default: the shipped one)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = groups["bench"].add_parser("generate", help="compiled generation loop against one model.predict per step")
    p.add_argument("--genre", choices=GENRES, default="classical")
    p.add_argument("--steps", type=int, default=None, help="steps to generate (default: 30 s of music)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench)


def _pieces(data, split: str):
    from ..data import find, load_folder

    folder = Path(data) if data else find("tpd")
    if folder is None:
        raise MusicstyleError("tpd", "dataset not found (set MUSICSTYLE_DATA or pass --data)")
    if not folder.is_dir():
        raise MusicstyleError(folder, "not a folder")
    collection = load_folder(folder, genres=GENRES, quick=False, progress=False)
    if not collection.pieces:
        raise MusicstyleError(folder, "no readable MIDI files in classical/ or jazz/")
    pieces = collection.pieces if split == "all" else collection.split(seed=0)[split]
    return pieces, collection


def _classify(args) -> int:
    from .. import classifier

    from ..core.midi import read_midi

    path = Path(args.file)
    if not path.is_file():
        raise MusicstyleError(path, "no such file")
    perf = read_midi(path)  # bad input fails here, before any model loads
    model, meta = classifier.load(args.model) if args.model else classifier.load()
    result = classifier.verdict(perf, model, meta)
    probs = classifier.window_probabilities(model, meta, perf)
    result.update(windows=int(len(probs)), genre=max(GENRES, key=result.get), model=meta.get("arch"))
    emit(result, args.json)
    return 0


def _generate(args) -> int:
    from .. import chords
    from ..core.midi import read_midi

    src = Path(args.inspired_by)
    if not src.is_file():
        raise MusicstyleError(src, "no such file")
    if args.seconds <= 0 or args.seconds > 600:
        raise MusicstyleError("--seconds", "must be in (0, 600]")
    if args.temperature <= 0:
        raise MusicstyleError("--temperature", "must be > 0")
    perf = read_midi(src)  # errors name the file
    data = chords.inspired_bytes(perf, src.stem, args.genre, args.seconds, args.temperature, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    emit({"written": str(out), "genre": args.genre, "inspired_by": str(src), "seconds": args.seconds, "bytes": len(data)}, args.json)
    return 0


def _train_classifier(args) -> int:
    from .. import classifier
    from ..training.modelfile import save_model

    pieces, _ = _pieces(args.data, "all")
    from ..data import Collection

    split = Collection("", pieces).split(seed=0)
    model, meta = classifier.train(
        split["train"], split["validation"], arch=args.arch, layout=classifier.layout_of(args.layout), epochs=args.epochs, length=args.length, seed=args.seed
    )
    meta["test"] = classifier.evaluate(model, meta, split["test"])
    meta["split"] = "TPD piece-level, seed 0"
    save_model(model, args.out, meta)
    emit({"saved": args.out, **{k: v for k, v in meta["test"].items() if k != "confusion"}}, False)
    return 0


def _train_chords(args) -> int:
    import numpy as np

    from .. import chords, classifier
    from ..data import Collection
    from ..training.modelfile import load_model, save_model

    pieces, _ = _pieces(args.data, "all")
    split = Collection("", pieces).split(seed=0)
    tr = [p for p in split["train"] if p.genre == args.genre]
    va = [p for p in split["validation"] if p.genre == args.genre]
    if args.unconditioned:
        vt, vv = np.zeros((len(tr), 50), np.float32), np.zeros((len(va), 50), np.float32)
    else:
        vt = np.stack([classifier.style_vector(p.performance) for p in tr])
        vv = np.stack([classifier.style_vector(p.performance) for p in va])
    init = load_model(args.init, chords.KIND)[0] if args.init else None
    out = args.out or chords.shipped_name(args.genre)
    model, meta = chords.train(
        tr, vt, args.genre, va, vv, units=args.units, length=args.length, batch_size=args.batch, epochs=args.epochs,
        learning_rate=args.learning_rate, time_budget_s=args.minutes * 60, seed=args.seed, init_model=init,
    )
    meta.update(conditioned=not args.unconditioned, warm_start=args.init)
    save_model(model, out, meta)
    emit({"saved": out, **{k: v for k, v in meta["history"][-1].items()}}, False)
    return 0


def _evaluate_classifier(args) -> int:
    from .. import classifier

    model, meta = classifier.load(args.model) if args.model else classifier.load()
    pieces, collection = _pieces(args.data, args.split)
    result = classifier.evaluate(model, meta, pieces)
    result.update(split=args.split, skipped=len(collection.skipped), model=meta.get("arch"), layout_columns=_columns(meta))
    emit(result, args.json)
    return 0


def _columns(meta) -> int:
    from ..core.roll import Layout

    return Layout.from_dict(meta["layout"]).columns


def _evaluate_chords(args) -> int:
    from .. import chords, classifier

    pieces, collection = _pieces(args.data, args.split)
    result = {"split": args.split, "skipped": len(collection.skipped)}
    totals = {}
    for genre in GENRES:
        mine = [p for p in pieces if p.genre == genre]
        if not mine:
            continue
        model, meta = chords.load(genre)
        vectors = [classifier.style_vector(p.performance) for p in mine]
        r = chords.evaluate(model, meta, mine, vectors)
        result[genre] = r
        cells = r["steps"]
        for k in ("bce", "bce_zeros_baseline", "bce_marginal_baseline", "bce_copy_baseline"):
            totals[k] = totals.get(k, 0.0) + r[k] * cells
        totals["steps"] = totals.get("steps", 0) + cells
        totals["pieces"] = totals.get("pieces", 0) + r["pieces"]
    if not totals:
        raise MusicstyleError(args.data or "tpd", "no classical or jazz pieces")
    overall = {k: (v / totals["steps"] if k.startswith("bce") else v) for k, v in totals.items()}
    overall["ratio"] = overall["bce"] / overall["bce_copy_baseline"]
    result["overall"] = overall
    result["ratio"] = overall["ratio"]
    emit(result, args.json)
    return 0


def _bench(args) -> int:
    from .. import chords

    emit(chords.bench_generate(args.genre, args.steps), args.json)
    return 0

"""Dynamics commands: ``train dynamics`` and ``evaluate transfer`` (did the style move?)."""

from __future__ import annotations

from pathlib import Path

from . import emit
from ..errors import MusicstyleError


def register(groups) -> None:
    p = groups["train"].add_parser("dynamics", help="train a dynamics discriminator (jazz vs classical from velocities)")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD)")
    p.add_argument("--kind", choices=("cnn", "stats"), default="cnn", help="sequence CNN or segment statistics")
    p.add_argument("--epochs", type=int, help="epochs (default: 12 for cnn, 60 for stats; fewer in quick mode)")
    p.add_argument("--real-only", action="store_true",
                   help="train on real pieces only (no velocity-model re-predictions): the raw discriminator")
    p.add_argument("--extra-models", nargs=2, action="append", metavar=("CLASSICAL.keras", "JAZZ.keras"),
                   help="another pair of velocity models whose own-genre re-predictions are added (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the training crops")
    p.add_argument("-o", "--output", required=True, help="model file to write (.keras)")
    p.set_defaults(func=_train)

    p = groups["evaluate"].add_parser("transfer", help="did the style move? discriminator verdicts before/after transfer")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD)")
    p.add_argument("--split", choices=("all", "test"), default="all",
                   help="'test': only the held-out side of the piece-level split (seed 0), as for TPD")
    p.add_argument("--cnn", help="CNN discriminator file (default: the shipped one)")
    p.add_argument("--stats", help="statistics discriminator file (default: the shipped one)")
    p.add_argument("--trusted", choices=("ensemble", "cnn", "stats"), default="ensemble",
                   help="judge reported first (default: the ensemble, the mean log-odds of cnn and stats)")
    p.add_argument("--no-texture", dest="texture", action="store_false",
                   help="judge the velocity models' mean predictions alone (transfer writes mean + texture)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_evaluate)


def _train(args) -> int:
    from ..dynamics import train
    from ..training.modelfile import save_model
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    out = Path(args.output)
    if out.suffix != ".keras":
        raise MusicstyleError(out, "model files must end in .keras")
    if args.data and not Path(args.data).is_dir():
        raise MusicstyleError(args.data, "not a folder")
    extra = [dict(zip(("classical", "jazz"), pair)) for pair in args.extra_models or []]
    for pair in extra:
        for path in pair.values():
            if not Path(path).is_file():
                raise MusicstyleError(path, "no such model file")
    model, meta = train(args.kind, data=args.data, epochs=args.epochs, own_model=not args.real_only, extra_models=extra,
                        seed=args.seed)
    save_model(model, out, meta)
    print(f"saved {out} (validation piece accuracy {meta['validation_piece_accuracy']:.3f})")
    return 0


def _evaluate(args) -> int:
    from .. import dynamics
    from ..data import load_dataset, load_folder
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    if args.data and not Path(args.data).is_dir():
        raise MusicstyleError(args.data, "not a folder")
    if args.split == "test":
        collection = dynamics.held_out(args.data)
    elif args.data:
        collection = load_folder(args.data, genres=dynamics.GENRES, quick=False, progress=not args.json)
    else:
        collection = load_dataset("tpd", quick=False, progress=not args.json)
    for g in dynamics.GENRES:
        if not collection.genre(g):
            if args.split == "test":
                reason = f"no held-out {g} pieces (the test side is 10% of each genre's files; need classical/ and jazz/ subfolders)"
            else:
                reason = f"no readable {g} pieces (need classical/ and jazz/ subfolders)"
            raise MusicstyleError(collection.root, reason)
    discriminators = {}
    for kind in dynamics.SHIPPED:
        path = getattr(args, kind)
        discriminators[kind] = dynamics.load_model_file(path) if path else dynamics.load(kind)
    for kind in dynamics.RAW:  # the raw discriminator, beside the others, where it is shipped
        try:
            discriminators[kind] = dynamics.load(kind)
        except MusicstyleError:
            pass
    result = dynamics.evaluate_transfer(collection, discriminators, dynamics.velocity_predictors(texture=args.texture),
                                        trusted=args.trusted, progress=not args.json)
    result = {"data": str(collection.root), "split": args.split, "texture": args.texture, **result}
    if collection.skipped:
        result["skipped"] = len(collection.skipped)
    emit(result, args.json)
    return 0

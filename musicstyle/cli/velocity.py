"""Velocity commands: ``train velocity``, ``evaluate velocity``, ``transfer`` and ``bench velocity``."""

from __future__ import annotations

from pathlib import Path

from . import emit


def register(groups) -> None:
    p = groups["train"].add_parser("velocity", help="train one genre's velocity CNN on the train split (TPD by default)")
    p.add_argument("--genre", required=True, choices=("classical", "jazz"))
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD, found as usual)")
    p.add_argument("--arch", choices=("improved", "paper"), default="improved")
    p.add_argument("--literal", action="store_true", help="paper model as published (last batch norm starts at 0)")
    p.add_argument("--epochs", type=int, default=40, help="most epochs (early stopping on validation)")
    p.add_argument("--windows-per-epoch", type=int, default=None,
                   help="random windows (1,024 notes, or steps for the paper model) drawn per epoch (default: as many as fit the data)")
    p.add_argument("--channels", type=int, default=48, help="improved model's channels")
    p.add_argument("--members", type=int, default=None,
                   help="networks trained with seeds seed, seed+1, ... and averaged into one model (default: 3 for improved, as shipped; 1 for paper)")
    p.add_argument("--transpose", type=int, default=3, help="improved model: move each training window by up to this many semitones")
    p.add_argument("--loudness-penalty", type=float, default=None,
                   help="improved model: ridge penalty of the piece loudness estimate (default: chosen by leave-one-out)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (halved after every second epoch in a row without a better validation loss)")
    p.add_argument("--patience", type=int, default=6, help="epochs in a row without a better validation loss before stopping")
    p.add_argument("--init", help="continue training from this model file (same genre and architecture)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, help="model file to write (.keras)")
    p.set_defaults(func=_train)

    p = groups["evaluate"].add_parser("velocity", help="RMSE/MAE/r of the shipped velocity models beside baselines")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD)")
    p.add_argument("--split", choices=("all", "test", "validation", "train"), default="all",
                   help="pieces to use: all files (default, for foreign data) or TPD's piece-level split of seed 0 "
                        "(use --split test on TPD: the other pieces trained the models)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)

    p = groups["top"].add_parser("transfer", help="give a piece the dynamics of another genre (only velocities change)")
    p.add_argument("file", nargs="?", help="input MIDI file (default: the bundled default piece, Maple Leaf Rag)")
    p.add_argument("--to", required=True, choices=("classical", "jazz"), dest="genre")
    p.add_argument("-o", "--output", required=True, help="output MIDI file")
    p.add_argument("--wav", help="also write audio of the result (fluidsynth if installed, else a plain synthesizer)")
    p.add_argument("--plot", help="also write a heat map of original vs transferred velocity (PNG)")
    p.add_argument("--seconds", type=float, default=None, help="length of the WAV (default: whole piece)")
    p.add_argument("--arch", choices=("improved", "paper"), default="improved")
    p.add_argument("--no-texture", dest="texture", action="store_false",
                   help="write the model's mean prediction alone, without a draw of the genre's chord-to-chord texture")
    p.add_argument("--seed", type=int, default=0, help="seed of the texture draw (the same file and seed give the same output)")
    p.set_defaults(func=_transfer)

    p = groups["bench"].add_parser("velocity", help="training s/epoch and 5-minute inference, paper vs improved")
    p.add_argument("--data", help="folder with the TPD dataset (default: found as usual)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench)


def _train(args) -> int:
    from ..errors import MusicstyleError
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from .. import velocity

    out = Path(args.output)
    if out.suffix != ".keras":
        raise MusicstyleError(out, "model files must end in .keras")
    model, meta, _ = velocity.train(
        args.genre, args.arch, data=args.data, epochs=args.epochs, batch=args.batch, seed=args.seed,
        fixed=not args.literal, windows_per_epoch=args.windows_per_epoch, verbose=1,
        learning_rate=args.lr, patience=args.patience, init=args.init, channels=args.channels,
        members=args.members or (3 if args.arch == "improved" else 1),
        transpose=args.transpose, loudness_penalty=args.loudness_penalty,
    )
    velocity.add_test_metrics(model, meta, data=args.data)
    velocity.save(model, meta, out)
    emit({"model": str(out), "epochs_run": meta["epochs_run"], "best_val_rmse": meta["best_val_rmse"],
          **{f"test_{k}": v for k, v in meta.get("test", {}).items() if not isinstance(v, dict)}}, False)
    return 0


def _evaluate(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from .. import velocity

    result = velocity.evaluate(args.data, args.split)
    if not args.json:
        for genre in velocity.GENRES:
            result[genre].pop("figures", None)
    emit(result, args.json)
    return 0


def _transfer(args) -> int:
    from ..errors import MusicstyleError
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from .. import velocity
    from ..core.midi import read_midi

    if args.file:
        src = Path(args.file)
    else:
        from ..data.examples import default_piece

        src = default_piece()
    if not src.is_file():
        raise MusicstyleError(src, "no such file")
    data = src.read_bytes()
    before = read_midi(data, name=str(src))  # bad input fails here, before any model loads
    model, meta = velocity.load(args.genre, args.arch)
    out = velocity.transfer_bytes(model, data, str(src), meta, texture=args.texture, seed=args.seed)
    dest = Path(args.output)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(out)
    lines = {"midi": str(dest), "notes": len(before.notes)}
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from ..figures import rolls as plot
        from ..core.roll import PAPER, piano_roll

        a, b = (piano_roll(p, PAPER, require_notes=False) for p in (before, read_midi(out, name=str(dest))))
        start = int(a.onset[:, : PAPER.keys].any(axis=1).argmax())
        fig = plot.compare_velocity(a.velocity, b.velocity, PAPER, ("original velocity", f"{args.genre} velocity ({args.arch} model)"), start=start)
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        lines["plot"] = args.plot
    if args.wav:
        from ..core import audio

        Path(args.wav).parent.mkdir(parents=True, exist_ok=True)
        audio.write_wav(args.wav, audio.render(out, args.seconds))
        lines["wav"] = f"{args.wav} ({audio.backend()})"
    emit(lines, False)
    return 0


def _bench(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from .. import velocity

    emit(velocity.bench(args.data), args.json)
    return 0

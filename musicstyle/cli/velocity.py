"""Velocity commands: ``train velocity`` (and ``loudness``, ``spread``), ``evaluate velocity``, ``transfer`` and ``bench velocity``."""

from __future__ import annotations

from pathlib import Path

from . import add_run_options, at_least, each_file, emit, folder, positive, seed, shows_progress, with_verdict

# the names only (light imports): the data groups, the velocity architectures, refit choices and transfer routes
from ..data.groups import GROUPS
from ..velocity.model import ARCHS
from ..velocity.refit import CHOICES
from ..velocity.transfer import ROUTES


def register(groups) -> None:
    p = groups["train"].add_parser("velocity", help="train one genre's velocity CNN on the train split (TPD by default)")
    p.add_argument("--genre", required=True, choices=("classical", "jazz"), help="the genre whose pieces it learns")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD, found as usual)")
    p.add_argument("--arch", choices=ARCHS, default="improved",
                   help="improved (gated dilated CNN over notes), paper (the CS230 grid CNN) or stylenet (BiLSTMs over notes)")
    p.add_argument("--literal", action="store_true", help="paper model as published (last batch norm starts at 0)")
    p.add_argument("--epochs", type=at_least(1), default=40, help="most epochs (early stopping on validation)")
    p.add_argument("--windows-per-epoch", type=at_least(1), default=None,
                   help="random windows (1,024 notes, or steps for the paper model) drawn per epoch (default: as many as fit the data)")
    p.add_argument("--channels", type=at_least(1), default=None,
                   help="note models' width: the improved model's channels, the StyleNet-style model's BiLSTM width "
                        "(half per direction) (default 48)")
    p.add_argument("--members", type=at_least(1), default=None,
                   help="networks trained with seeds seed, seed+1, ... and averaged into one model (default: 3 for improved; "
                        "1 for paper and stylenet, and with --init)")
    p.add_argument("--transpose", type=at_least(0), default=3,
                   help="note models: move each training window by up to this many semitones (default 3)")
    p.add_argument("--loudness-penalty", type=at_least(0, float), default=None,
                   help="note models: ridge penalty of the piece loudness estimate (default: chosen by leave-one-out)")
    p.add_argument("--loudness-inputs", choices=("played", "all"), default="played",
                   help="note models: what the loudness estimate reads: how the piece was played (default) or also how "
                        "the file was made (on-grid share, tempo map, pedal recorded); with --init the file's own "
                        "estimate is kept (refit it with musicstyle train loudness)")
    p.add_argument("--hold-out", choices=GROUPS, default=None,
                   help="leave this recording-source group out of train/validation/test (measure on it with "
                        "musicstyle evaluate velocity --split held-out --hold-out GROUP --model FILE)")
    p.add_argument("--minutes", type=positive, default=None, help="time budget per network (stops after the epoch that passes it)")
    p.add_argument("--batch", type=at_least(1), default=8, help="windows per batch (default 8)")
    p.add_argument("--lr", "--learning-rate", dest="lr", type=positive, default=1e-3, help="Adam learning rate (halved after every second epoch in a row without a better validation loss)")
    p.add_argument("--patience", type=at_least(1), default=6, help="epochs in a row without a better validation loss before stopping")
    p.add_argument("--init", help="continue training from this model file (same genre and architecture): one network, "
                   "its width and loudness estimate kept, so --members, --channels and --loudness-penalty do not go with it")
    p.add_argument("--seed", type=seed, default=0, help="random seed: weights and every draw (0 to 2**32 - 1; default 0)")
    add_run_options(p)
    p.add_argument("-o", "--output", "--out", dest="output", default=None,
                   help="model file to write (.keras; default: the shipped file's name in the current folder, "
                        "velocity_GENRE.keras or velocity_ARCH_GENRE.keras)")
    p.set_defaults(func=_train)

    p = _refit_parser(groups, "spread", "give a note velocity model file the per-note spread of --route sampled "
                      "(fitted on its genre's validation pieces; weights unchanged)")
    p.set_defaults(func=_spread)

    p = _refit_parser(groups, "loudness", "refit a note velocity model file's piece loudness estimate on its genre's "
                      "training pieces, the penalty chosen on the validation notes by default (network unchanged)")
    p.add_argument("--loudness-inputs", choices=("played", "all"), default="played",
                   help="what the new estimate reads: how the piece was played (default) or also how the file was made")
    p.add_argument("--loudness-penalty", type=at_least(0, float), action="append", default=None,
                   help="a ridge penalty to try (repeatable; default: each of musicstyle.velocity.loudness.LAMBDAS); "
                        "the one --choose picks is kept")
    p.add_argument("--choose", choices=CHOICES, default="validation",
                   help="keep the penalty whose model does best on the validation notes (default), or the one the "
                        "estimate's leave-one-out error over the training pieces picks (as train velocity does)")
    p.set_defaults(func=_loudness)

    p = groups["evaluate"].add_parser("velocity", help="RMSE/MAE/r of the shipped velocity models beside baselines")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD)")
    p.add_argument("--split", choices=("all", "test", "validation", "train", "held-out"), default="all",
                   help="pieces to use: all files (default, for foreign data) or TPD's piece-level split of seed 0 "
                        "(use --split test on TPD: the other pieces trained the models), or held-out: every piece of "
                        "the --hold-out group")
    p.add_argument("--hold-out", choices=GROUPS, default=None,
                   help="a recording-source group left out of the split (or, with --split held-out, measured alone)")
    p.add_argument("--model", action="append", default=[],
                   help="a velocity model file to measure instead of its genre's shipped models (repeatable; the first "
                        "of a genre is its main model)")
    p.add_argument("--per-piece", action="store_true",
                   help="also each piece's figures for the main model (RMSE, the mean's, level error, within-piece)")
    p.add_argument("--by-group", action="store_true",
                   help="also the main model's figures on each recording-source group of the pieces (quantised, "
                        "no-pedal, loud, soft): how it fares on each kind of file")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_evaluate)

    p = groups["top"].add_parser("transfer", help="give a piece the dynamics of another genre (only velocities change)")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="input MIDI files (none: the bundled default piece, Maple Leaf Rag)")
    p.add_argument("--to", required=True, choices=("classical", "jazz"), dest="genre", help="the genre whose dynamics the piece gets")
    p.add_argument("-o", "--output", "--out", dest="output", help="output MIDI file, for one input")
    p.add_argument("--out-dir", metavar="DIR", type=folder, help="folder for the results of any number of inputs: NAME_to_GENRE.mid "
                   "(and .wav, .png beside it)")
    p.add_argument("--wav", nargs="?", const=True, metavar="OUT.wav", help="also write audio of the result (fluidsynth if "
                   "installed, else a plain synthesizer); without a name, beside the MIDI")
    p.add_argument("--plot", nargs="?", const=True, metavar="OUT.png", help="also write a heat map of original vs "
                   "transferred velocity; without a name, a PNG beside the MIDI")
    p.add_argument("--seconds", type=positive, default=None, help="length of the WAV (default: whole piece)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--arch", choices=ARCHS, default="improved", help="which shipped velocity model writes (default improved)")
    which.add_argument("--model", metavar="FILE.keras", help="a velocity model of the --to genre trained with `musicstyle train "
                       "velocity` (instead of a shipped one)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--route", choices=ROUTES, default=None,
                     help="mean (the model's mean), texture (mean + AR(1) chord texture, the default) or sampled (mean + "
                          "a draw along the notes whose spread each note's features decide; note models only, not "
                          "--arch paper)")
    how.add_argument("--no-texture", dest="texture", action="store_false",
                     help="write the model's mean prediction alone, without a draw of the genre's chord-to-chord texture "
                          "(the same as --route mean)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the texture draw (the same file and seed give the same output)")
    p.add_argument("--judge", action="store_true",
                   help="also print the trusted dynamics judge's verdict on the piece before and after (P(classical), "
                        "P(jazz), P(unrelated))")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_transfer)

    p = groups["bench"].add_parser("velocity", help="training s/epoch and 5-minute inference, paper vs improved")
    p.add_argument("--data", help="folder with the TPD dataset (default: found as usual)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_bench)


def _refit_parser(groups, name: str, summary: str):
    """A ``train`` subcommand that rewrites a trained note model file: its model, ``--data`` and ``-o``."""
    p = groups["train"].add_parser(name, help=summary)
    p.add_argument("model", help="the velocity model file (improved or stylenet)")
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD, found as usual)")
    p.add_argument("-o", "--output", required=True, help="model file to write (.keras; not the input file)")
    return p


def _train(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from ..errors import MusicstyleError
    from ..velocity import pretrained_name, train_to_file

    if args.init:
        options = {"--members": args.members not in (None, 1), "--channels": args.channels is not None,
                   "--loudness-penalty": args.loudness_penalty is not None}
        if given := [name for name, set_ in options.items() if set_]:
            raise MusicstyleError(args.init, f"--init keeps the file's network, width and loudness estimate: "
                                  f"{', '.join(given)} cannot change them")
    emit(train_to_file(
        args.output or pretrained_name(args.genre, args.arch), args.genre, args.arch, data=args.data, members=args.members, epochs=args.epochs, batch=args.batch,
        seed=args.seed, fixed=not args.literal, windows_per_epoch=args.windows_per_epoch, verbose=1,
        learning_rate=args.lr, patience=args.patience, init=args.init, channels=args.channels or 48,
        transpose=args.transpose, loudness_penalty=args.loudness_penalty, strategy=args.strategy,
        checkpoint_dir=args.checkpoint_dir, hold_out=args.hold_out, loudness_inputs=args.loudness_inputs,
        minutes=args.minutes,
    ), False)
    return 0


def _spread(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from ..velocity import add_spread

    emit(add_spread(args.model, args.output, data=args.data), False)
    return 0


def _loudness(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from ..velocity import refit_loudness
    from ..velocity.loudness import LAMBDAS

    lambdas = LAMBDAS if args.loudness_penalty is None else tuple(args.loudness_penalty)
    result = refit_loudness(args.model, args.output, data=args.data, inputs=args.loudness_inputs, lambdas=lambdas,
                            choose=args.choose)
    tried = result.pop("tried")
    result["validation_rmse_by_penalty"] = " | ".join(f"{t['lambda']:g}: {t['validation_rmse']:.2f}" for t in tried)
    emit(result, False)
    return 0


def _evaluate(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from ..velocity import GENRES, evaluate
    from ..velocity.evaluate import model_files

    result = evaluate(args.data, args.split, models=model_files(args.model), hold_out=args.hold_out, per_piece=args.per_piece,
                      by_group=args.by_group, progress=shows_progress(args))
    if args.json:
        emit(result, True)
        return 0
    from ..figures.velocity import LEGEND, evaluation_table, group_table, per_piece_table

    emit({k: v for k, v in result.items() if k not in GENRES}, False)
    print(f"\n{evaluation_table(result)}")
    if args.by_group:
        print(f"\n{group_table(result)}")
    if args.per_piece:
        print(f"\n{per_piece_table(result)}")
    print(f"\n{LEGEND}")
    return 0


def _transfer(args) -> int:
    from ..data.examples import default_piece
    from ..errors import MusicstyleError
    from ..settings import quiet_tensorflow

    files = args.files or [str(default_piece())]
    for option, value in (("-o", args.output), ("--wav", args.wav), ("--plot", args.plot)):
        if isinstance(value, str) and not value.strip():
            raise MusicstyleError(option, "an empty file name (an unset shell variable?)")
    if (args.output is None) == (args.out_dir is None):
        raise MusicstyleError("-o/--out-dir", "give one: -o OUT.mid for one input, or --out-dir DIR")
    if args.output and len(files) > 1:
        raise MusicstyleError(args.output, f"-o names one file: give --out-dir DIR for {len(files)} inputs")
    if args.out_dir and (isinstance(args.wav, str) or isinstance(args.plot, str)):
        raise MusicstyleError("--wav/--plot", "with --out-dir they take no name: each is written beside its MIDI")
    if args.seconds is not None and not args.wav:
        raise MusicstyleError("--seconds", "sets the length of the WAV: give --wav too")
    from ..figures.velocity import transfer_outputs, transfer_to_files

    # every output checked against every input before any work: a result may not replace a later input
    reads = [*files, *([args.model] if args.model else [])]
    targets = {name: transfer_outputs(name, *_transfer_targets(args, name), inputs=reads) for name in files}
    midis = [t[0] for t in targets.values()]
    if len(set(midis)) < len(midis):
        same = next(m for m in midis if midis.count(m) > 1)
        raise MusicstyleError(same, "two inputs of one name would be written here: give them separate --out-dir runs")
    quiet_tensorflow()

    def one(name: str) -> dict:
        midi, wav, plot = targets[name]
        result = {"file": name, **transfer_to_files(name, args.genre, midi, args.arch, texture=args.texture, seed=args.seed,
                                                    route=args.route, wav=wav, seconds=args.seconds, plot=plot,
                                                    model_file=args.model)}
        if args.judge:
            from .. import dynamics
            from ..core.midi import read_midi

            pieces = {side: read_midi(path.read_bytes(), name=str(path)) for side, path in (("before", Path(name)), ("after", midi))}
            result["judged"] = {side: with_verdict(dynamics.verdict(perf)) for side, perf in pieces.items()}
            if note := dynamics.caution(pieces["before"]):
                result["judged"]["caution"] = note
        return result

    return each_file(files, one, args.json)


def _transfer_targets(args, name: str) -> tuple:
    """The MIDI, WAV (or None) and figure (or None) ``transfer`` writes for input ``name``."""
    midi = Path(args.output) if args.output is not None else Path(args.out_dir) / f"{Path(name).stem}_to_{args.genre}.mid"
    beside = {"wav": midi.with_suffix(".wav"), "plot": midi.with_suffix(".png")}
    return midi, *(None if not v else Path(v) if isinstance(v, str) else beside[k]
                   for k, v in (("wav", args.wav), ("plot", args.plot)))


def _bench(args) -> int:
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    from ..bench.velocity import bench_velocity

    emit(bench_velocity(args.data), args.json)
    return 0

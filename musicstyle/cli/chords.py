"""Chords-LSTM commands: ``generate``, ``train chords``, ``evaluate chords`` and ``bench generate`` (notebook 04)."""

from __future__ import annotations

from . import add_run_options, at_least, emit, positive, seed, up_to
from .classifier import add_evaluate

GENRES = ("classical", "jazz")


def register(groups) -> None:
    p = groups["top"].add_parser("generate", help="music of one genre started from the style vector of a piece")
    p.add_argument("--genre", choices=GENRES, required=True, help="the genre whose LSTM generates")
    p.add_argument("--inspired-by", required=True, metavar="PIECE.mid", help="the piece whose style vector (the classifier's features) conditions the LSTM")
    p.add_argument("-o", "--out", "--output", dest="out", required=True, metavar="OUT.mid", help="MIDI file to write")
    p.add_argument("--seconds", type=up_to(600), default=30.0, help="seconds of music (default 30, at most 600)")
    p.add_argument("--temperature", type=positive, default=1.0, help="sampling temperature (default 1; lower: safer, higher: wilder)")
    p.add_argument("--seed", type=seed, default=0, help="random seed of the sampling (0 to 2**32 - 1; default 0)")
    p.add_argument("--model", metavar="FILE.keras", help="a chords LSTM of the --genre trained with `musicstyle train chords` "
                   "(default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_generate)

    p = groups["train"].add_parser("chords", help="train one genre's LSTM, conditioned on the shipped classifier's style "
                                   "vectors, on a folder's piece-level split")
    p.add_argument("--genre", choices=GENRES, required=True, help="the genre whose pieces it learns")
    p.add_argument("--data", help="a folder with classical/ and jazz/ (default: TPD, found as for tpd)")
    p.add_argument("--units", type=at_least(1), default=128, help="LSTM units (the shipped models: 128)")
    p.add_argument("--length", type=at_least(1), default=128, help="grid steps per training window (default 128)")
    p.add_argument("--batch", type=at_least(1), default=64, help="windows per batch (default 64)")
    p.add_argument("--learning-rate", type=positive, default=2e-3, help="Adam learning rate (default 0.002)")
    p.add_argument("--epochs", type=at_least(1), default=100, help="most epochs (default 100; early stopping and --minutes end sooner)")
    p.add_argument("--minutes", type=positive, default=30.0, help="stop after the epoch that passes this budget")
    p.add_argument("--unconditioned", action="store_true", help="all style vectors zero (a warm start for --init)")
    p.add_argument("--init", help="start from the weights of this .keras model (layers of the same name)")
    p.add_argument("--seed", type=seed, default=0, help="random seed: weights and every draw (0 to 2**32 - 1; default 0)")
    p.add_argument("-o", "--out", "--output", dest="out", default=None, help="default: chords_GENRE.keras (written by the chief only)")
    add_run_options(p)
    p.set_defaults(func=_train)

    add_evaluate(groups, "chords", "per-step BCE of each genre's LSTM against three baselines",
                 "a chords .keras file, measured on the pieces of its genre (default: both shipped ones)", _evaluate)

    p = groups["bench"].add_parser("generate", help="compiled generation loop against one model.predict per step")
    p.add_argument("--genre", choices=GENRES, default="classical", help="whose shipped LSTM (default classical)")
    p.add_argument("--steps", type=at_least(1), default=None, help="steps to generate (default: 30 s of music)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_bench)


def _generate(args) -> int:
    from ..chords import generate_file

    emit(generate_file(args.inspired_by, args.out, args.genre, args.seconds, args.temperature, args.seed, args.model), args.json)
    return 0


def _train(args) -> int:
    from ..chords import train_command

    emit(train_command(args.genre, args.data, units=args.units, length=args.length, batch_size=args.batch,
                       learning_rate=args.learning_rate, epochs=args.epochs, minutes=args.minutes,
                       unconditioned=args.unconditioned, init=args.init, seed=args.seed, out=args.out,
                       strategy=args.strategy, checkpoint_dir=args.checkpoint_dir), False)
    return 0


def _evaluate(args) -> int:
    from ..chords import evaluate_split

    emit(evaluate_split(args.data, args.split, args.model), args.json)
    return 0


def _bench(args) -> int:
    from ..bench.generate import bench_generate

    emit(bench_generate(args.genre, args.steps), args.json)
    return 0

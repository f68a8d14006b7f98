"""Genre-classifier commands: ``classify``, ``train classifier`` and ``evaluate classifier`` (notebook 03)."""

from __future__ import annotations

from . import add_run_options, at_least, each_file, emit, positive, seed


def add_evaluate(groups, what: str, help_text: str, model_help: str, func):
    """Add ``evaluate WHAT [--data DIR] [--split S] [--model FILE] [--json]`` (also ``evaluate chords``).

    Args:
        groups: the command groups (``groups["evaluate"]``).
        what: the sub-command's name.
        help_text, model_help: help of the command and of its ``--model``.
        func: its handler.

    Returns:
        The sub-command's parser.
    """
    p = groups["evaluate"].add_parser(what, help=help_text)
    p.add_argument("--data", help="folder with classical/ and jazz/ (default: TPD)")
    p.add_argument("--split", choices=("all", "train", "validation", "test"), default="all",
                   help="TPD piece-level split (musicstyle.data.SPLIT_SEED) to use")
    p.add_argument("--model", help=model_help)
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=func)
    return p


def register(groups) -> None:
    p = groups["top"].add_parser("classify", help="classical or jazz? the shipped keys-only classifier's verdict")
    p.add_argument("files", nargs="+", metavar="FILE", help="MIDI files (several: one result each; with --json one line each)")
    p.add_argument("--model", help="a classifier .keras file (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_classify)

    p = groups["train"].add_parser("classifier", help="train the genre classifier on a folder's piece-level split")
    p.add_argument("--data", help="a folder with classical/ and jazz/ (default: TPD, found as for tpd)")
    p.add_argument("--arch", choices=("improved", "paper"), default="improved", help="improved (shipped) or the paper's CNN")
    p.add_argument("--layout", choices=("keys", "paper"), default="keys", help="keys only (shipped) or the paper's 59 columns")
    p.add_argument("--epochs", type=at_least(1), default=14, help="epochs (default 14)")
    p.add_argument("--length", type=at_least(1), default=512, help="grid steps per training segment (default 512)")
    p.add_argument("--minutes", type=positive, default=None, help="stop after the epoch that passes this budget (default: none)")
    p.add_argument("--seed", type=seed, default=0, help="random seed: weights and every draw (0 to 2**32 - 1; default 0)")
    p.add_argument("-o", "--out", "--output", dest="out", default="classifier.keras", help="the .keras file (written by the chief only)")
    add_run_options(p)
    p.set_defaults(func=_train)

    p = add_evaluate(groups, "classifier", "segment and piece accuracy against the majority baseline",
                     "a classifier .keras file (default: the shipped one)", _evaluate)
    p.add_argument("--by-group", action="store_true",
                   help="also the figures on each recording-source group of the pieces (quantised, no-pedal, loud, "
                        "soft): does it tell the genres apart within each kind of file?")
    p.add_argument("--by-length", action="store_true",
                   help="also the piece accuracy on the pieces cut to their first 8, 16, 32 and 64 beats: how much "
                        "music does it need?")


def _classify(args) -> int:
    from ..classifier import classify

    return each_file(args.files, lambda name: {"file": name, **classify(name, args.model)}, args.json)


def _train(args) -> int:
    from ..classifier import train_command

    emit(train_command(args.data, arch=args.arch, layout=args.layout, epochs=args.epochs, length=args.length,
                       seed=args.seed, out=args.out, strategy=args.strategy, checkpoint_dir=args.checkpoint_dir,
                       minutes=args.minutes), False)
    return 0


def _evaluate(args) -> int:
    from ..classifier import evaluate_command

    emit(evaluate_command(args.data, args.split, args.model, by_group=args.by_group, by_length=args.by_length), args.json)
    return 0

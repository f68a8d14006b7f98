"""Note-token LSTM commands: ``compose``, ``tokenize``, ``train tokens``, ``evaluate tokens``, ``evaluate composed``, ``bench tokens``."""

from __future__ import annotations

from . import add_run_options, at_least, emit, positive, seed, shows_progress
from ..errors import MusicstyleError

GENRES = ("classical", "pop", "jazz")
GROUPS = ("quantised", "no-pedal", "loud", "soft")  # musicstyle.data.GROUPS (not imported: keeps the CLI light)
MAX_TOKENS = 100_000  # musicstyle.tokens.MAX_TOKENS (not imported: keeps the CLI light)


def register(groups) -> None:
    p = groups["top"].add_parser("compose", help="write a new piece with a genre's note-token LSTM")
    p.add_argument("--genre", choices=GENRES, required=True, help="the genre whose shipped model composes (and whose seed and playing it uses)")
    p.add_argument("-o", "--out", "--output", dest="out", required=True, help="output MIDI file")
    p.add_argument("--tokens", type=at_least(1, most=MAX_TOKENS), default=500,
                   help=f"tokens to generate (default 500, at most {MAX_TOKENS}: about 2 minutes on a CPU)")
    p.add_argument("--temperature", type=positive, default=None, help="sampling temperature (default: the model's; 1.0, the shipped pop model 1.5)")
    p.add_argument("--top-k", type=at_least(0), default=None, help="sample among the k most likely tokens (default 0: all)")
    p.add_argument("--max-run", type=at_least(0), default=None, help="longest run of one token allowed (default 8; 0: no limit)")
    p.add_argument("--penalty", type=at_least(0, float), default=None, help="logit penalty per recent use of a token (default: the model's)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token (shows why it fails)")
    p.add_argument("--seed", type=seed, default=0, help="random seed: same seed, same piece")
    p.add_argument("--seed-file", help="MIDI file whose first tokens start the piece (default: a held-out piece)")
    p.add_argument("--model", help="a .keras token model (default: the shipped model of --genre)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_compose)

    p = groups["top"].add_parser("tokenize", help="every TPD and POP909 file through music21, in parallel (cached)")
    p.add_argument("--data", help="folder holding tpd/ and pop909/ (default: MUSICSTYLE_DATA, else where fetch downloads)")
    p.add_argument("-o", "--out", "--output", dest="out", help="write the element tables here (.npz): the package's shipped tables")
    p.add_argument("--workers", type=at_least(1), default=None, help="parallel music21 processes (default: every core)")
    p.add_argument("--no-cache", action="store_true", help="parse every file again (an honest cold time)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_tokenize)

    p = groups["bench"].add_parser("tokens", help="music21 tokenization: cold parallel, cached, plain sequential")
    p.add_argument("--data", help="folder holding tpd/ and pop909/ (default: MUSICSTYLE_DATA, else where fetch downloads)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.add_argument("--files", type=at_least(1), default=10, help="files parsed cold and sequentially (timings scaled up)")
    p.set_defaults(func=_bench)

    p = groups["train"].add_parser("tokens", help="train a genre's note-token LSTM")
    p.add_argument("--genre", choices=GENRES, required=True, help="the genre whose pieces it learns (classical, jazz: TPD; pop: POP909)")
    p.add_argument("--data", help="data folder (holding tpd/ and pop909/, or the genre's files)")
    p.add_argument("-o", "--out", "--output", dest="out", help="output .keras (default: tokens_GENRE.keras in the current folder)")
    p.add_argument("--arch", choices=("lstm", "tutorial"), default="lstm",
                   help="lstm (embedding, every position trained) or tutorial (the popular recipe, as a baseline)")
    p.add_argument("--epochs", type=at_least(1), default=60, help="most epochs (default 60; early stopping and --minutes end sooner)")
    p.add_argument("--minutes", type=positive, default=38.0, help="time budget: stop after the epoch that passes it")
    p.add_argument("--units", type=at_least(1), default=None, help="LSTM units per layer (default 256; the tutorial 512)")
    p.add_argument("--layers", type=at_least(1), default=None, help="LSTM layers (default 2; the tutorial 3)")
    p.add_argument("--embedding", type=at_least(1), default=None, help="token embedding size (default 96; the tutorial has none)")
    p.add_argument("--window", type=at_least(2), default=None, help="tokens per training window (default 128; the tutorial 100)")
    p.add_argument("--batch", type=at_least(1), default=None, help="windows per batch (default 32; the tutorial 64)")
    p.add_argument("--min-count", type=at_least(1), default=None, help="rarer training tokens become <unk>")
    p.add_argument("--transpose", type=at_least(0), default=None, help="random shift of up to this many semitones per piece and epoch (default 5; the tutorial 0)")
    p.add_argument("--rich", action="store_true", help="tokens with real chord pitches, durations and rests")
    p.add_argument("--quick", action="store_true", help="tiny subset (same as MUSICSTYLE_QUICK=1)")
    p.add_argument("--seed", type=seed, default=0, help="random seed: weights and every draw (0 to 2**32 - 1; default 0)")
    p.add_argument("--init", help="a .keras token model (same data and settings) to train on from")
    p.add_argument("--learning-rate", type=positive, default=None, help="Adam's starting rate (default 3e-3, the tutorial 1e-3; lower to train on from --init)")
    p.add_argument("--hold-out", choices=GROUPS, help="a recording-source group left out of training and measured on (leave-group-out)")
    add_run_options(p)
    p.set_defaults(func=_train)

    p = groups["evaluate"].add_parser("tokens", help="next-token accuracy and perplexity against unigram/bigram")
    p.add_argument("--genre", choices=GENRES, required=True, help="the genre whose model (and whose files) to measure")
    p.add_argument("--data", help="a MIDI file or a folder of MIDI files of --genre; a folder holding classical/, jazz/ or pop/ "
                                  "subfolders (or tpd/ and pop909/) is measured on the --genre one only, and refused when it "
                                  "has none; with --split test, validation or held-out, the folder holding tpd/ and pop909/ "
                                  "(default there: MUSICSTYLE_DATA, else where fetch downloads)")
    p.add_argument("--split", choices=("all", "test", "validation", "held-out"), default="all",
                   help="pieces to measure: all (default): every file of --data; test, validation: only the held-out "
                        "pieces of TPD/POP909; held-out: every piece of the --hold-out group")
    p.add_argument("--hold-out", choices=GROUPS, help="a recording-source group left out of every side (with --split test, validation or held-out)")
    p.add_argument("--by-group", action="store_true", help="also the figures of each recording-source group (with --split test or validation)")
    p.add_argument("--model", help="a .keras token model (default: the shipped model of --genre)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_evaluate)

    p = groups["evaluate"].add_parser("composed", help="composed pieces per genre: classifier verdict, histograms, repetition")
    p.add_argument("--genre", choices=GENRES, action="append", help="a genre (repeatable; default classical and jazz)")
    p.add_argument("--pieces", type=at_least(1), default=20, help="pieces per genre (seeds 1..N, default 20)")
    p.add_argument("--tokens", type=at_least(1, most=MAX_TOKENS), default=500,
                   help=f"tokens per piece (default 500, at most {MAX_TOKENS})")
    p.add_argument("--data", help="folder holding tpd/ and pop909/ (default: MUSICSTYLE_DATA, else where fetch downloads)")
    p.add_argument("--model", action="append", default=[], metavar="FILE.keras",
                   help="a token model of one's own (`musicstyle train tokens`) composes for its genre (repeatable; "
                        "default: the shipped ones)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_composed)


def _compose(args) -> int:
    from .. import tokens as T

    result = T.compose(args.genre, args.out, args.tokens, seed=args.seed, greedy=args.greedy, seed_file=args.seed_file,
                       model=args.model, temperature=args.temperature, top_k=args.top_k, max_run=args.max_run,
                       penalty=args.penalty)
    emit(result, args.json)
    return 0


def _train(args) -> int:
    from .. import tokens as T
    from ..training.device import is_chief
    from ..training.modelfile import model_path

    out = model_path(args.out or f"tokens_{args.genre}.keras", inputs=(args.init,))
    _, meta = T.train(
        args.genre, args.data, rich=args.rich, arch=args.arch, epochs=args.epochs, minutes=args.minutes, quick=True if args.quick else None,
        out=out, seed=args.seed, strategy=args.strategy, checkpoint_dir=args.checkpoint_dir, init=args.init, units=args.units,
        layers=args.layers, embedding=args.embedding, window=args.window, batch=args.batch, min_count=args.min_count,
        transpose=args.transpose, learning_rate=args.learning_rate, hold_out=args.hold_out,
    )
    done = f"saved {out}" if is_chief() else "trained (not the chief worker: nothing saved)"
    print(f"{done}: vocabulary {len(meta['vocabulary'])}, {meta['epochs']} epochs, val_loss {meta['val_loss']:.3f}")
    if "evaluation" in meta:
        emit(meta["evaluation"], False)
    return 0


def _evaluate(args) -> int:
    from .. import tokens as T

    if not args.data and args.split == "all":
        raise MusicstyleError("--data/--split", "give a folder of MIDI files to measure on (--data DIR), or the dataset's "
                              "held-out pieces (--split test)")
    if (args.hold_out or args.by_group) and args.split == "all":
        raise MusicstyleError("--hold-out/--by-group", "need --split test, validation or held-out")
    if args.by_group and args.split == "held-out":
        raise MusicstyleError("--by-group", "figures by group are for --split test or validation (held-out is one group)")
    emit(T.evaluate_command(args.genre, args.data, args.split, args.model, progress=shows_progress(args), hold_out=args.hold_out,
                            by_group=args.by_group), args.json)
    return 0


def _composed(args) -> int:
    from .. import tokens as T

    from ..errors import MusicstyleError
    from ..training import read_metadata

    models = {}
    for path in args.model:
        meta = read_metadata(path)
        if meta.get("kind") != "tokens":
            raise MusicstyleError(path, f"holds a '{meta.get('kind')}' model, expected 'tokens'")
        genre = meta.get("genre")
        if genre in models:
            raise MusicstyleError(path, f"a second {genre} model (give one per genre)")
        models[genre] = path
    genres = tuple(args.genre or (models or ("classical", "jazz")))
    if stray := [g for g in models if g not in genres]:
        raise MusicstyleError(models[stray[0]], f"a {stray[0]} model: add --genre {stray[0]}")
    emit(T.genre_table(genres, args.pieces, args.tokens, args.data, models=models or None), args.json)
    return 0


def _tokenize(args) -> int:
    from .. import tokens as T
    from ..core.outputs import output_file

    if args.out:
        output_file(args.out, (".npz",), "token tables", exact=True)
    result = T.tokenize_all(args.data, args.out, args.workers, cache=not args.no_cache, progress=shows_progress(args))
    emit(result, args.json)
    return 0


def _bench(args) -> int:
    from ..bench.tokens import bench_tokens

    emit(bench_tokens(args.data, args.files), args.json)
    return 0

"""Note-token LSTM commands: ``compose``, ``train tokens``, ``evaluate tokens``, ``bench tokens``."""

from __future__ import annotations

from pathlib import Path

from . import emit
from ..errors import MusicstyleError

GENRES = ("classical", "pop", "jazz")


def register(groups) -> None:
    p = groups["top"].add_parser("compose", help="write a new piece with a genre's note-token LSTM")
    p.add_argument("--genre", choices=GENRES, required=True)
    p.add_argument("-o", "--out", required=True, help="output MIDI file")
    p.add_argument("--tokens", type=int, default=500, help="tokens to generate (default 500)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 1.0)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens (default 0: all)")
    p.add_argument("--max-run", type=int, default=None, help="longest run of one token allowed (default 8; 0: no limit)")
    p.add_argument("--penalty", type=float, default=None, help="logit penalty per recent use of a token (default: the model's)")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token (shows why it fails)")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same piece")
    p.add_argument("--seed-file", help="MIDI file whose first tokens start the piece (default: a held-out piece)")
    p.add_argument("--model", help="a .keras token model (default: the shipped model of --genre)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_compose)

    p = groups["train"].add_parser("tokens", help="train a genre's note-token LSTM")
    p.add_argument("--genre", choices=GENRES, required=True)
    p.add_argument("--data", help="data folder (holding tpd/ and pop909/, or the genre's files)")
    p.add_argument("--out", help="output .keras (default: tokens_GENRE.keras in the current folder)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--minutes", type=float, default=38.0, help="time budget: stop after the epoch that passes it")
    p.add_argument("--units", type=int, default=None)
    p.add_argument("--layers", type=int, default=None)
    p.add_argument("--embedding", type=int, default=None)
    p.add_argument("--window", type=int, default=None, help="tokens per training window (default 64)")
    p.add_argument("--batch", type=int, default=None, help="windows per batch (default 16)")
    p.add_argument("--min-count", type=int, default=None, help="rarer training tokens become <unk>")
    p.add_argument("--rich", action="store_true", help="tokens with real chord pitches, durations and rests")
    p.add_argument("--quick", action="store_true", help="tiny subset (same as MUSICSTYLE_QUICK=1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train)

    p = groups["evaluate"].add_parser("tokens", help="next-token accuracy and perplexity against unigram/bigram")
    p.add_argument("--genre", choices=GENRES, required=True)
    p.add_argument("--data", required=True, help="folder (or file) of MIDI files; with --split, the dataset folder")
    p.add_argument("--split", choices=("test", "validation"), help="only the held-out pieces of TPD/POP909")
    p.add_argument("--model", help="a .keras token model (default: the shipped model of --genre)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)

    p = groups["bench"].add_parser("tokens", help="music21 tokenization: cold parallel, cached, plain sequential")
    p.add_argument("--data", help="folder holding tpd/ and pop909/ (default: MUSICSTYLE_DATA)")
    p.add_argument("--files", type=int, default=10, help="files parsed cold and sequentially (timings scaled up)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench)


def _model(args):
    from .. import tokens as T

    return T.load(args.model or args.genre)


def _compose(args) -> int:
    import time

    from .. import tokens as T
    from ..tokenize import elements
    from ..tokenize import tokens as to_tokens

    if args.tokens < 1:
        raise MusicstyleError("--tokens", f"must be at least 1 (got {args.tokens})")
    if args.temperature is not None and args.temperature <= 0:
        raise MusicstyleError("--temperature", f"must be > 0 (got {args.temperature})")
    out = Path(args.out)
    if out.suffix.lower() not in (".mid", ".midi"):
        raise MusicstyleError(out, "output must end in .mid or .midi")
    model, meta, vocab = _model(args)
    if args.seed_file:
        seed = to_tokens(elements(args.seed_file), meta.get("rich", False))
    else:
        seed = meta.get("seed_tokens") or T.seed_tokens(args.genre)
    seed = seed[: meta["settings"]["window"]]
    dec = T.decoding(meta)
    for key, value in (("temperature", args.temperature), ("top_k", args.top_k), ("max_run", args.max_run), ("penalty", args.penalty)):
        if value is not None:
            dec[key] = value
    gen = T.Generator(model, meta)
    t0 = time.perf_counter()
    toks = gen.generate(seed, args.tokens, greedy=args.greedy, seed=args.seed, **dec)
    seconds = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(T.to_midi(toks))
    result = {"out": str(out), "genre": args.genre, "tokens": len(toks), **T.run_stats(toks), "decoding": "greedy" if args.greedy else dec,
              "seconds_with_tracing": round(seconds, 2), "first_tokens": toks[:12]}
    emit(result, args.json)
    return 0


def _train(args) -> int:
    from .. import tokens as T

    out = Path(args.out or f"tokens_{args.genre}.keras")
    if out.suffix != ".keras":
        raise MusicstyleError(out, "model files must end in .keras")
    _, meta = T.train(
        args.genre, args.data, rich=args.rich, epochs=args.epochs, minutes=args.minutes, quick=True if args.quick else None,
        out=out, seed=args.seed, units=args.units, layers=args.layers, embedding=args.embedding, window=args.window, batch=args.batch,
        min_count=args.min_count,
    )
    print(f"saved {out}: vocabulary {len(meta['vocabulary'])}, {meta['epochs']} epochs, val_loss {meta['val_loss']:.3f}")
    if "evaluation" in meta:
        emit(meta["evaluation"], False)
    return 0


def _evaluate(args) -> int:
    from .. import tokens as T

    model, meta, _ = _model(args)
    rich = meta.get("rich", False)
    if args.split:
        from ..tokenize import tokenize_files, tokens

        files = T.split_files(args.genre, args.data, T.GENRE_FILES.get(args.genre, T.TRAIN_FILES))[args.split]
        table, _ = tokenize_files(files, progress=not args.json)
        seqs = [tokens(e, rich) for e in table.values()]
        skipped = {}
    else:
        seqs, skipped = T.folder_tokens(args.data, rich, progress=not args.json)
    result = T.evaluate(model, meta, seqs)
    result["skipped"] = len(skipped)
    emit(result, args.json)
    return 0


def _bench(args) -> int:
    from ..tokenize import bench_tokens

    emit(bench_tokens(args.data, args.files), args.json)
    return 0

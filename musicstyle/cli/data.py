"""Data commands: ``inspect``, ``fetch``, ``explore`` and ``bench preprocess``."""

from __future__ import annotations

from . import at_least, each_file, emit, folder, positive


def register(groups) -> None:
    top = groups["top"]
    p = top.add_parser("inspect", help="numbers of MIDI files")
    p.add_argument("files", nargs="+", metavar="FILE", help="MIDI files (several: one result each; with --json one line each)")
    p.add_argument("--layout", choices=("paper", "full88"), default="paper", help="matrix layout counted: the paper's 59 columns (default) or all 88 keys")
    p.add_argument("--json", action="store_true", help="print a JSON object per file, one line each")
    p.add_argument("--strict", action="store_true", help="refuse a file that needs repairs (the standard to the letter)")
    p.set_defaults(func=_inspect)

    p = top.add_parser("fetch", help="download a dataset from its public source, verified by SHA-256")
    p.add_argument("dataset", choices=("tpd", "pop909"), help="The Piano Dataset or POP909")
    p.add_argument("--dest", help="folder to download into (default: the user cache)")
    p.add_argument("--mirror", metavar="URL", help="another copy of the same files (each is still checked by its SHA-256)")
    p.set_defaults(func=_fetch)

    p = top.add_parser("explore", help="heat maps (chords, velocity, onsets) and audio of a piece")
    p.add_argument("file", nargs="?", help="MIDI file (default: the bundled default piece)")
    p.add_argument("-o", "--out-dir", "--out", dest="out", metavar="DIR", type=folder, default="out",
                   help="folder to write the heat maps and audio into (default: out)")
    p.add_argument("--seconds", type=positive, default=30.0, help="length of the audio excerpt (default: 30)")
    p.set_defaults(func=_explore)

    p = groups["bench"].add_parser("preprocess", help="MIDI -> matrices: cold, warm, against music21")
    p.add_argument("--data", help="folder with the dataset (default: found as for tpd)")
    p.add_argument("--music21-files", type=at_least(1), default=12, help="files parsed by music21 (timing scaled up)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_bench)


def _inspect(args) -> int:
    from ..data.inspection import inspect_file
    from ..core.roll import FULL88, PAPER

    def one(name: str) -> dict:
        result = inspect_file(name, FULL88 if args.layout == "full88" else PAPER, strict=args.strict)
        if not args.json:
            result["repairs"] = ", ".join(f"{kind} x{count}" for kind, count in result["repairs"].items()) or "none"
            if smpte := result["smpte"]:
                result["smpte"] = f"{smpte['frame_rate']} frames a second, {smpte['ticks_per_frame']} ticks a frame"
            else:
                del result["smpte"]
        return result

    return each_file(args.files, one, args.json)


def _fetch(args) -> int:
    from ..data import fetch

    print(fetch(args.dataset, args.dest, base_url=args.mirror))
    return 0


def _explore(args) -> int:
    from ..figures.explore import explore

    emit(explore(args.file, args.out, args.seconds), False)
    return 0


def _bench(args) -> int:
    from ..bench.preprocess import bench_preprocess

    emit(bench_preprocess(args.data, args.music21_files), args.json)
    return 0

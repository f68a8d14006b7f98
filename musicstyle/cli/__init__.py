"""The ``musicstyle`` command line: one parser, one module per command family (``musicstyle.cli.*``).

Every command prints ``error: FILE: reason`` on stderr and exits 2 on bad input, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
import sys
from pathlib import Path

from .. import __version__
from ..core.outputs import MIDI, file_in_the_way, unwritable
from ..errors import MusicstyleError

#: What ``musicstyle --help`` says the tool does, and shows first.
DESCRIPTION = """Music style transfer between jazz and classical piano, and note-sequence generation.
Bad input prints one line, error: FILE: reason, and exits with status 2; no command writes over its input."""
EXAMPLES = """examples:
  musicstyle transfer piece.mid --to jazz -o piece_jazz.mid --wav piece_jazz.wav --judge
  musicstyle transfer my_pieces/*.mid --to classical --out-dir out --wav --plot
  musicstyle classify piece.mid
  musicstyle judge my_pieces/*.mid --json
  musicstyle compose --genre pop -o pop.mid
  musicstyle evaluate velocity --data DIR --json

'musicstyle COMMAND --help' (or 'musicstyle train --help') for each command's options."""

#: Command families in the order their commands are listed (any other module of this package follows).
FAMILIES = ("velocity", "dynamics", "data", "classifier", "chords", "tokens")

#: Sub-command groups that hold one command per capability.
GROUPS = {
    "train": "train a model and save it as .keras",
    "evaluate": "evaluate on held-out pieces against baselines",
    "bench": "measure speed",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musicstyle", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = {"top": top}
    for name, help_text in GROUPS.items():
        sub = top.add_parser(name, help=help_text)
        groups[name] = sub.add_subparsers(dest="what", required=True, metavar="WHAT")
    # every module of this package adds its sub-commands with register(groups)
    names = [m.name for m in pkgutil.iter_modules(__path__)]
    for module in sorted(names, key=lambda n: (FAMILIES.index(n) if n in FAMILIES else len(FAMILIES), n)):
        importlib.import_module(f"{__name__}.{module}").register(groups)
    return parser


def at_least(low: int, kind=int, most: float | None = None):
    """An argparse type: a number (``int`` or ``float``) of at least ``low`` (and at most ``most``), else a clear
    usage error."""

    def parse(text: str):
        value = kind(text)  # a ValueError becomes argparse's "invalid int value"
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low:g} (got {text})")
        if most is not None and not value <= most:
            raise argparse.ArgumentTypeError(f"must be at most {most:g} (got {text})")
        return value

    parse.__name__ = kind.__name__
    return parse


def positive(text: str) -> float:
    """An argparse type: a finite float above 0 (a length, a temperature, a rate, a time budget)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text})")
    return value


def up_to(high: float):
    """An argparse type: a :func:`positive` number of at most ``high``."""

    def parse(text: str) -> float:
        value = positive(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g} (got {text})")
        return value

    parse.__name__ = "float"
    return parse


def seed(text: str) -> int:
    """An argparse type: a random seed, a whole number from 0 to 2**32 - 1 (:func:`musicstyle.settings.check_seed`)."""
    from ..settings import SEED_LIMIT

    value = int(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {SEED_LIMIT - 1} (got {text})")
    return value


#: Suffixes of the files the commands write: a folder option given such a name was meant as a file.
FILE_SUFFIXES = (*MIDI, ".json", ".keras", ".npz", ".ogg", ".png", ".wav")


def folder(text: str) -> str:
    """An argparse type: a folder to write into, which may not exist yet but may not be (inside) a file, nor
    a new name ending like a file the commands write (``piece.png``), and where this process may write."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (an unset shell variable?)")
    try:
        blocker = file_in_the_way(text)
    except OSError as err:  # a folder on the way that cannot be entered
        raise argparse.ArgumentTypeError(f"cannot be written ({err.strerror or err}: {err.filename or text})") from None
    if blocker:
        raise argparse.ArgumentTypeError(f"{blocker} is a file, not a folder")
    if Path(text).suffix.lower() in FILE_SUFFIXES and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} names a file, but this option takes a folder to write into")
    if reason := unwritable(Path(text) / "probe"):
        raise argparse.ArgumentTypeError(f"cannot be written: {reason}")
    return text


def add_run_options(p) -> None:
    """Add ``--checkpoint-dir`` and ``--strategy`` to a ``train`` command (every model's).

    Args:
        p: the command's parser.
    """
    p.add_argument("--checkpoint-dir", type=folder, help="folder of a resumable checkpoint (run again with it to resume)")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"), default="auto",
                   help="tf.distribute strategy (auto: multi-worker when TF_CONFIG names several workers; "
                        "only the chief writes the model)")


def shows_progress(args) -> bool:
    """Whether a long command shows progress bars (on stderr): always, except with ``--json`` when stderr
    is not a terminal (a script reading the JSON wants nothing else)."""
    return not args.json or sys.stderr.isatty()


def with_verdict(probabilities: dict) -> dict:
    """A judge's probabilities (as floats) after its ``verdict``, the most probable outcome."""
    return {"verdict": max(probabilities, key=probabilities.get), **{k: float(p) for k, p in probabilities.items()}}


def emit(result: dict, as_json: bool) -> None:
    """Print a command's result.

    Args:
        result: the figures.
        as_json: one JSON object on one line (else aligned ``key  value`` lines, a nested dictionary
            under its key, indented).
    """
    if as_json:  # strict JSON: a figure that could not be computed (NaN) is null
        print(json.dumps(_json_ready(result), indent=None, default=str, allow_nan=False))
        return
    for line in _lines(result):
        print(line)


def each_file(files: list[str], one, as_json: bool) -> int:
    """Print ``one(file)`` for each file: one JSON object per line with ``as_json``, else blocks apart.

    Args:
        files: the files named on the command line.
        one: file -> result dict; raises :class:`MusicstyleError` on bad input.
        as_json: as for :func:`emit`.

    Returns:
        The exit status. Of several files, one that cannot be read prints its ``error: FILE: reason``
        line and the others go on (status 2 at the end); any other error (a bad model file) stops.
    """
    failed = False
    for i, name in enumerate(files):
        try:
            result = one(name)
        except MusicstyleError as err:
            if len(files) == 1 or err.source not in (name, str(Path(name))):
                raise
            print(f"error: {err}", file=sys.stderr)
            failed = True
            continue
        if i and not as_json:
            print()
        emit(result, as_json)
    return 2 if failed else 0


def _lines(result: dict, indent: str = ""):
    width = max((len(str(k)) for k in result), default=0)
    for key, value in result.items():
        if isinstance(value, dict) and value:
            yield f"{indent}{key}"
            yield from _lines(value, indent + "  ")
        elif isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            yield f"{indent}{key}"
            yield from _table(value, indent + "  ")
        else:
            yield f"{indent}{str(key):<{width}}  {_shown(value)}"


def _table(rows: list[dict], indent: str):
    """Rows of figures as aligned columns under their keys, floats to 3 decimals (a key a row lacks is left blank)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    body = [[(f"{row[k]:.3f}" if isinstance(row[k], float) else _shown(row[k])) if k in row else "" for k in keys]
            for row in rows]
    widths = [max(len(str(k)), *(len(line[i]) for line in body)) for i, k in enumerate(keys)]
    numeric = [all(isinstance(row.get(k, 0), (int, float)) for row in rows) for k in keys]
    for line in [keys, *body]:
        yield indent + "  ".join(str(c).rjust(w) if right else str(c).ljust(w)
                                 for c, w, right in zip(line, widths, numeric)).rstrip()


def _shown(value) -> str:
    """A value as text output shows it: floats to 3 decimals (3 significant digits below 0.01), yes or no, and
    ``-`` for nothing (JSON keeps the figures as measured, true/false and null)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{round(value, 3)}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (dict, list, tuple)) for v in value):
        return f"[{', '.join(_shown(v) for v in value)}]"
    return str(value)


def _json_ready(value):
    """``value`` with numpy's numbers and arrays as Python's, and NaN or an infinity as None (JSON has neither)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _chosen(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser:
    """The command's own parser (``musicstyle train velocity``'s, say), whose usage an error should show."""
    for dest in ("command", "what"):
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or getattr(args, dest, None) not in sub.choices:
            break
        parser = sub.choices[getattr(args, dest)]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # with the command's usage, not the top level's
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code = args.func(args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except MusicstyleError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resumable = getattr(args, "checkpoint_dir", False) is None  # a training command run without one
        print("interrupted" + ("; a training run given --checkpoint-dir DIR resumes where it stopped" * resumable),
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

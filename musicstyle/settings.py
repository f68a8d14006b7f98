"""Run-wide settings: quick mode, seeds and quiet TensorFlow (taught in every notebook's first cell)."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import random
import sys

import numpy as np

#: Environment variable that turns every notebook and default load into the quick mode.
QUICK_ENV = "MUSICSTYLE_QUICK"


def quick_mode() -> bool:
    """True when ``MUSICSTYLE_QUICK`` is set to 1/true/yes: small fixed subsets, few epochs."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up chatter (must run before TensorFlow is imported).

    ``TF_CPP_MIN_LOG_LEVEL=3`` quiets TensorFlow's own log and ``TF_ENABLE_ONEDNN_OPTS=0`` removes
    the oneDNN notice (results are unchanged). The CUDA probe of TensorFlow's GPU build still writes
    "Could not find cuda drivers" straight to file descriptor 2 while ``tensorflow`` is imported,
    before any log setting applies: that one import runs with descriptor 2 silenced. Python errors
    of the import still surface as exceptions. Without this, stored notebook outputs and the command
    line's error output would carry machine-specific lines.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietImportFinder("tensorflow"))


@contextlib.contextmanager
def _descriptor_2_silenced():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _descriptor_2_silenced():
            self.loader.exec_module(module)


class QuietImportFinder(importlib.abc.MetaPathFinder):
    """Finds the module ``name`` as usual, then imports it with descriptor 2 silenced (once)."""

    def __init__(self, name: str):
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


#: Seeds are whole numbers in [0, SEED_LIMIT), what every random generator here accepts.
SEED_LIMIT = 2**32


def check_seed(seed) -> int:
    """``seed`` once it is a whole number in [0, :data:`SEED_LIMIT`), else a clear :class:`MusicstyleError`."""
    from .errors import MusicstyleError

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise MusicstyleError("seed", f"must be a whole number from 0 to {SEED_LIMIT - 1} (got {seed!r})")
    return int(seed)


def check_positive(value, name: str) -> float:
    """``value`` once it is a finite number above 0 (a length, a temperature), else a clear :class:`MusicstyleError`."""
    from .errors import MusicstyleError

    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value < float("inf"):
        raise MusicstyleError(name, f"must be a finite number above 0 (got {value!r})")
    return float(value)


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (if imported) Keras, for repeatable runs."""
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


def notebook_setup(seed: int = 0) -> bool:
    """First code cell of every notebook: seeds set, mode announced; returns True in quick mode."""
    seed_everything(seed)
    quick = quick_mode()
    print(f"mode: {'quick (small fixed subset, few epochs)' if quick else 'full'}; seed {seed}")
    return quick

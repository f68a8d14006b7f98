"""Run-wide settings: quick mode, seeds and quiet TensorFlow (taught in every notebook's first cell)."""

from __future__ import annotations

import os
import random

import numpy as np

#: Environment variable that turns every notebook and default load into the quick mode.
QUICK_ENV = "MUSICSTYLE_QUICK"


def quick_mode() -> bool:
    """True when ``MUSICSTYLE_QUICK`` is set to 1/true/yes: small fixed subsets, few epochs."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up chatter (must run before TensorFlow is imported).

    ``TF_ENABLE_ONEDNN_OPTS=0`` also removes the oneDNN notice that would otherwise make stored
    notebook outputs differ between runs; results are unchanged.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (if imported) Keras, for repeatable runs."""
    random.seed(seed)
    np.random.seed(seed)
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


def notebook_setup(seed: int = 0) -> bool:
    """First code cell of every notebook: seeds set, mode announced; returns True in quick mode."""
    seed_everything(seed)
    quick = quick_mode()
    print(f"mode: {'quick (small fixed subset, few epochs)' if quick else 'full'}; seed {seed}")
    return quick

"""Shared fixtures: real data where MUSICSTYLE_DATA points at it, an isolated cache always."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/midibytes.py


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session caches into its own folder, never the user's."""
    monkeypatch.setenv("MUSICSTYLE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _data_root() -> Path | None:
    root = os.environ.get("MUSICSTYLE_DATA")
    return Path(root) if root and Path(root).is_dir() else None


def _dataset(name: str) -> Path:
    root = _data_root()
    if root is None or not (root / name).is_dir():
        pytest.skip(f"MUSICSTYLE_DATA with {name}/ not set")
    return root / name


@pytest.fixture
def tpd_folder() -> Path:
    """The Piano Dataset folder (with classical/ and jazz/); skips the test where it is absent."""
    return _dataset("tpd")


@pytest.fixture
def pop909_folder() -> Path:
    """The POP909 folder; skips the test where it is absent."""
    return _dataset("pop909")

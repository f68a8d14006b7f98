"""``musicstyle bench tokens`` times what its figures are named after: cold runs parse with music21 even when the
files' tables are shipped, and the cached figure reads the files whose tables are cached."""

import numpy as np

from midibytes import SCALE, smf, track
from musicstyle.bench.tokens import bench_tokens
from musicstyle.data import sha256_file
from musicstyle.tokens import Elements
from musicstyle.tokens import cache as token_cache


def test_cold_runs_parse_and_cached_runs_read_the_shipped_tables(tmp_path, monkeypatch):
    files = []
    for rel in ("tpd/classical/a.mid", "tpd/jazz/b.mid", "pop909/001/001.mid"):
        path = tmp_path / "data" / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(smf(track(SCALE)))
        files.append(path)
    fake = Elements("", np.zeros(1, np.int16), np.zeros(1), np.ones(1), np.asarray([0, 1]), np.asarray([60], np.int16),
                    np.asarray(["shipped"]), ["piano"])  # tokens music21 would never give
    monkeypatch.setattr(token_cache, "shipped_tables", lambda version: {sha256_file(p): fake for p in files})
    r = bench_tokens(tmp_path / "data", files=2, repeats=1)
    assert r["identical_tokens"] is True  # music21's tables, not the shipped ones
    assert (r["cached_files_timed"], r["cached_tokens"]) == (3, 3) and r["cached_s"] >= 0

"""The reading and tokenizing benchmarks (``musicstyle bench preprocess`` / ``bench tokens``) run on a tiny
dataset folder built in code and report consistent figures; the cache they time in is theirs alone."""

import os

import pytest

from midibytes import SCALE, smf, track
from musicstyle.bench.preprocess import bench_preprocess
from musicstyle.bench.tokens import bench_tokens
from musicstyle.errors import MusicstyleError


@pytest.fixture
def tiny_data(tmp_path, monkeypatch):
    """tpd/classical, tpd/jazz and pop909/001, one scale each; the user cache in a folder of its own."""
    for rel in ("tpd/classical/a.mid", "tpd/jazz/b.mid", "pop909/001/001.mid"):
        path = tmp_path / "data" / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(smf(track(SCALE)))
    monkeypatch.setenv("MUSICSTYLE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "data"


def test_bench_preprocess_reads_every_file_cold_and_warm_and_leaves_the_cache_setting_as_it_was(tiny_data):
    before = os.environ["MUSICSTYLE_CACHE"]
    r = bench_preprocess(tiny_data, music21_files=1)
    assert os.environ["MUSICSTYLE_CACHE"] == before
    assert (r["files"], r["pieces"], r["skipped"], r["music21_files_timed"]) == (2, 2, 0, 1)
    assert r["steps"] > 0 and r["cold_s"] > 0 and r["warm_s"] > 0 and r["speedup_vs_music21"] > 0
    assert r["readers_files_timed"] == 2 and "musicstyle_parse_s" in r
    assert all(r[f"{other}_vs_musicstyle"] > 0 for other in ("symusic", "mido", "pretty_midi"))  # installed with the test extras


def test_bench_tokens_finds_music21_routes_identical_and_times_only_its_own_cache(tiny_data):
    r = bench_tokens(tiny_data, files=2, repeats=1)
    assert (r["files"], r["cold_files_timed"]) == (3, 2)
    assert r["identical_tokens"] is True
    assert len(r["runs_cold_s"]) == len(r["runs_sequential_s"]) == 1 and r["speedup_parallel"] > 0
    assert r["cached_files_timed"] == 0 and r["scaled"] is True  # the cold runs' cache was a temporary one


def test_benchmarks_name_a_missing_dataset(tmp_path):
    with pytest.raises(MusicstyleError, match=r"no MIDI files in classical/ or jazz/ subfolders \(give the folder that holds classical/ and jazz/, as tpd does\)"):
        bench_preprocess(tmp_path)
    with pytest.raises(MusicstyleError, match="tpd: dataset not found"):
        bench_tokens(tmp_path)

"""Datasets: piece-level splits, loading with skipped-file reports, cache, and verified downloads."""

import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from midibytes import cc, off, on, smf, track
from musicstyle import data as datasets
from musicstyle.data import Source, fetch, load_folder, split_names
from musicstyle.errors import MusicstyleError


def piece(pitch, velocity=90):
    return smf(track([(0, on(pitch, velocity)), (480, off(pitch))]))


def make_folder(root: Path, n=6, bad=True):
    for g, base in (("classical", 60), ("jazz", 40)):
        (root / g).mkdir(parents=True)
        for i in range(n):
            (root / g / f"piece {i}'s.mid").write_bytes(piece(base + i))
    if bad:
        (root / "jazz" / "broken.mid").write_bytes(b"not midi")
    return root


def test_split_is_reproducible_disjoint_and_stratified():
    names = [f"c{i}" for i in range(50)] + [f"j{i}" for i in range(30)]
    genres = ["classical"] * 50 + ["jazz"] * 30
    a = split_names(names, genres, seed=0)
    b = split_names(list(reversed(names)), list(reversed(genres)), seed=0)
    assert {k: sorted(v) for k, v in a.items()} == {k: sorted(v) for k, v in b.items()}
    assert sorted(a["train"] + a["validation"] + a["test"]) == sorted(names)
    assert sum(n.startswith("c") for n in a["test"]) == 5 and sum(n.startswith("j") for n in a["test"]) == 3
    assert split_names(names, genres, seed=1)["test"] != a["test"]


def test_load_reports_skipped_files_and_never_stops(tmp_path):
    c = load_folder(make_folder(tmp_path / "d"), progress=False)
    assert len(c) == 12 and len(c.genre("jazz")) == 6
    assert [(s.path, s.reason) for s in c.skipped] == [("jazz/broken.mid", "not a MIDI file (no 'MThd' header)")]
    assert "skipped jazz/broken.mid" in c.report()
    assert {p.name for p in c.genre("classical")} == {f"piece {i}'s" for i in range(6)}


def test_genre_folders_are_found_in_any_case_with_files_in_subfolders(tmp_path):
    root = tmp_path / "other source"
    (root / "Classical" / "Bach").mkdir(parents=True)
    (root / "JAZZ").mkdir()
    (root / "Classical" / "Bach" / "a.MID").write_bytes(piece(60))
    (root / "Classical" / "b.midi").write_bytes(piece(62))
    (root / "JAZZ" / "c.mid").write_bytes(piece(40))
    (root / "JAZZ" / "notes.txt").write_bytes(b"not a piece")
    c = load_folder(root, progress=False)
    assert sorted((p.genre, p.path) for p in c.pieces) == [
        ("classical", "Classical/Bach/a.MID"), ("classical", "Classical/b.midi"), ("jazz", "JAZZ/c.mid")]
    assert c.skipped == []


def test_cache_is_used_and_equal_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSTYLE_CACHE", str(tmp_path / "cache"))  # empty, whatever other tests cached
    folder = make_folder(tmp_path / "d")
    first = load_folder(folder, progress=False)
    cached = list((datasets.cache_home() / "parsed").glob("pieces-*.npz"))
    assert len(cached) == 1
    second = load_folder(folder, progress=False)
    assert [p.path for p in second.pieces] == [p.path for p in first.pieces]
    for a, b in zip(first.pieces, second.pieces):
        np.testing.assert_array_equal(a.performance.notes, b.performance.notes)
        assert a.performance.sha256 == b.performance.sha256 and a.genre == b.genre
    assert [s.reason for s in second.skipped] == [s.reason for s in first.skipped]
    cached[0].write_bytes(b"damaged")
    third = load_folder(folder, progress=False)
    assert len(third) == 12
    # a changed file gives a new cache entry
    (folder / "classical" / "piece 0's.mid").write_bytes(piece(72))
    fourth = load_folder(folder, progress=False)
    assert 72 in {int(p.performance.notes["pitch"][0]) for p in fourth.pieces}


def test_a_file_timed_in_smpte_frames_keeps_its_seconds_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSTYLE_CACHE", str(tmp_path / "cache"))
    folder = make_folder(tmp_path / "d", bad=False)
    drop_frame = ((256 - 29) << 8) | 80  # 29.97 frames a second, 80 ticks a frame
    (folder / "jazz" / "framed.mid").write_bytes(smf(track([(0, on(60, 90)), (2400, off(60))]), division=drop_frame))
    (folder / "jazz" / "stuck.mid").write_bytes(smf(track([(0, on(60, 90)), (480, on(62, 80)), (480, off(62))])))
    seconds, kept = [], []
    for _ in range(2):  # parsed, then read from the cache
        pieces = {p.name: p.performance for p in load_folder(folder, progress=False).pieces}
        seconds.append(pieces["framed"].duration_s)
        kept.append((pieces["framed"].smpte, pieces["stuck"].unreleased, pieces["stuck"].smpte))
    assert seconds == [pytest.approx(1.001)] * 2
    assert kept == [((29, 80), 1, None)] * 2  # the SMPTE timing and the note-on never released, cached too
    assert len(list((datasets.cache_home() / "parsed").glob("pieces-*.npz"))) == 1


def test_a_cache_folder_that_cannot_be_written_costs_a_warning_not_the_work(tmp_path, monkeypatch, capsys):
    from musicstyle.data.cache import save_npz
    from musicstyle.tokens import tokenize_files

    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MUSICSTYLE_CACHE", str(blocker))
    folder = make_folder(tmp_path / "d")
    for _ in range(2):  # nothing cached: parsed both times, one warning
        c = load_folder(folder, progress=False)
        assert len(c) == 12 and [s.path for s in c.skipped] == ["jazz/broken.mid"]
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and f"{blocker / 'parsed'}: cannot be written" in err and "MUSICSTYLE_CACHE" in err
    with pytest.raises(MusicstyleError, match="x.npz: cannot be written"):
        save_npz(blocker / "x.npz", {"a": np.zeros(1)})
    # music21 parses in this process instead of through the cache, failures keep their reason
    files = [folder / "classical" / "piece 0's.mid", folder / "jazz" / "broken.mid"]
    tables, skipped = tokenize_files(files, progress=False)
    assert [t.name for t in tables.values()] == ["piece 0's"] and len(tables[str(files[0])].token) == 1
    assert skipped == {str(files[1]): "not a MIDI file (no 'MThd' header)"}
    piece = datasets.default_piece()  # rendered once into a temporary folder
    assert piece.is_file() and blocker not in piece.parents and datasets.default_piece() == piece
    err = capsys.readouterr().err
    assert err.count("warning:") == 2 and f"{blocker / 'tokens'}: cannot be written" in err
    assert f"{blocker / 'examples'}: cannot be written" in err and blocker.read_text() == "not a folder"


def test_quick_subset_is_fixed_and_small(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "d", n=20, bad=False)
    monkeypatch.setenv("MUSICSTYLE_QUICK", "1")
    a = load_folder(folder, progress=False)
    assert len(a.genre("classical")) == 12 and len(a.genre("jazz")) == 12
    assert [p.path for p in a.pieces] == [p.path for p in load_folder(folder, progress=False).pieces]
    assert len(load_folder(folder, quick=False, progress=False)) == 40


def test_find_order_explicit_then_env_then_cache(tmp_path, monkeypatch):
    explicit = make_folder(tmp_path / "explicit" / "tpd", bad=False)
    env = make_folder(tmp_path / "env" / "tpd", bad=False)
    monkeypatch.setenv("MUSICSTYLE_DATA", str(tmp_path / "env"))
    assert datasets.find("tpd", tmp_path / "explicit") == explicit
    assert datasets.find("tpd", explicit) == explicit
    assert datasets.find("tpd") == env
    monkeypatch.delenv("MUSICSTYLE_DATA")
    assert datasets.find("tpd") is None
    with pytest.raises(MusicstyleError, match="nowhere: no such folder$"):
        datasets.find("tpd", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MusicstyleError, match="empty: no MIDI files in classical/ or jazz/ subfolders"):
        datasets.find("tpd", tmp_path / "empty")  # a folder, but not laid out as the dataset


def test_shipped_checksum_lists_cover_the_datasets():
    tpd = datasets.SOURCES["tpd"].checksums()
    pop = datasets.SOURCES["pop909"].checksums()
    assert len(tpd) == 698 and sum(k.startswith("jazz/") for k in tpd) == 349
    assert len(pop) == 909
    assert datasets.SOURCES["tpd"].url("jazz/A Sleepin' Bee.mid").endswith("/TPD/jazz/A%20Sleepin%27%20Bee.mid")
    assert datasets.SOURCES["pop909"].url("001.mid").endswith("/POP909/001/001.mid")


def test_shipped_checksums_match_the_shared_data(tpd_folder):
    sums = datasets.SOURCES["tpd"].checksums()
    for rel in list(sums)[::70]:
        assert hashlib.sha256((tpd_folder / rel).read_bytes()).hexdigest() == sums[rel]


def test_the_files_the_shipped_models_learned_from_are_known_by_content():
    from musicstyle.data.learned import learned_digests, learned_share

    tpd, pop = datasets.SOURCES["tpd"].checksums(), datasets.SOURCES["pop909"].checksums()
    test = datasets.split_names(list(tpd), [rel.split("/")[0] for rel in tpd])["test"]
    assert len(test) == 70 and not {tpd[rel] for rel in tpd if rel not in test} - learned_digests()
    # one test file is a copy of a training file: "02. Christe Eleison" of bjsbmm02.mid
    assert [rel for rel in test if tpd[rel] in learned_digests()] == ["classical/02. Christe Eleison .mid"]
    assert tpd["classical/bjsbmm02.mid"] == tpd["classical/02. Christe Eleison .mid"]
    assert not set(pop.values()) & learned_digests() and 700 < len(set(pop.values()) & learned_digests("tokens")) < 909
    unseen = "0" * 64
    assert learned_share([unseen]) is None
    note = learned_share([tpd["classical/bjsbmm02.mid"], unseen, unseen])
    assert note.startswith("1 of the 3 pieces are public files the shipped models were trained or chosen on")
    assert note.endswith("(--split test keeps to the held-out pieces)")
    assert "copies of files" in learned_share([tpd["classical/bjsbmm02.mid"]], split="test")
    with pytest.raises(ValueError, match="unknown family"):
        learned_digests("chords")


def test_the_learned_files_are_the_train_and_validation_sides_each_family_loads(tpd_folder, pop909_folder):
    from musicstyle.data.learned import learned_digests
    from musicstyle.tokens.data import split_files

    collection = datasets.load_folder(tpd_folder, quick=False)  # the whole dataset, as the shipped models split it
    sides = {side: {p.performance.sha256 for p in datasets.select(collection, side)} for side in ("train", "validation", "test")}
    assert sides["train"] | sides["validation"] == learned_digests()
    for genre in ("classical", "jazz", "pop"):  # the token models split each genre's folder by file name
        parts = {side: {datasets.sha256_file(p) for p in paths} for side, paths in split_files(genre).items()}
        assert parts["train"] | parts["validation"] <= learned_digests("tokens")
        assert len(parts["test"] & learned_digests("tokens")) == {"classical": 0, "jazz": 2, "pop": 0}[genre]  # copies


# --- downloads against a local HTTP server ------------------------------------------------------


class Server:
    """Serves ``files`` (path -> bytes) on 127.0.0.1; ``cut`` paths send half and hang up."""

    def __init__(self, files, cut=()):
        outer = self
        self.files, self.cut, self.requests = files, set(cut), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.lstrip("/")
                outer.requests.append(path)
                import urllib.parse

                body = outer.files.get(urllib.parse.unquote(path))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if urllib.parse.unquote(path) in outer.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


FILES = {f"classical/c{i}.mid": piece(60 + i) for i in range(3)} | {"jazz/it's 1.mid": piece(50)}


def tiny_source(files=FILES):
    sums = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    return Source("tiny", "http://unused", lambda rel: rel, ("classical", "jazz"), "test", sums=sums)


def leftovers(dest: Path):
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def test_download_verifies_and_is_reused(tmp_path):
    dest = tmp_path / "tiny"
    with Server(FILES) as url:
        fetch(tiny_source(), dest, base_url=url, progress=False)
    assert leftovers(dest) == sorted(FILES)
    assert all((dest / rel).read_bytes() == data for rel, data in FILES.items())
    server = Server(FILES)
    with server as url:
        fetch(tiny_source(), dest, base_url=url, progress=False)
    assert server.requests == []  # everything present and verified: nothing fetched again
    assert len(load_folder(dest, progress=False)) == 4


def test_corrupted_download_is_rejected(tmp_path):
    dest = tmp_path / "tiny"
    served = dict(FILES)
    served["classical/c1.mid"] = piece(99)  # not what the checksum list says
    with Server(served) as url:
        with pytest.raises(MusicstyleError) as err:
            fetch(tiny_source(), dest, base_url=url, progress=False)
    assert "classical/c1.mid" in str(err.value) and "SHA-256" in str(err.value)
    assert leftovers(dest) == sorted(set(FILES) - {"classical/c1.mid"})


def test_interrupted_download_leaves_no_half_written_file(tmp_path):
    dest = tmp_path / "tiny"
    big = dict(FILES)
    big["jazz/long.mid"] = smf(track([(0, on(60, 90)), (480, off(60))] * 4000))
    with Server(big, cut={"jazz/long.mid"}) as url:
        with pytest.raises(MusicstyleError, match="jazz/long.mid"):
            fetch(tiny_source(big), dest, base_url=url, progress=False)
    assert leftovers(dest) == sorted(FILES)


def test_missing_remote_file_is_reported(tmp_path):
    with Server({}) as url:
        with pytest.raises(MusicstyleError, match="4 of 4 downloads failed"):
            fetch(tiny_source(), tmp_path / "tiny", base_url=url, progress=False)


def test_a_destination_that_cannot_be_written_is_named_before_any_download(tmp_path, monkeypatch):
    (tmp_path / "a file").write_text("not a folder")
    monkeypatch.setattr("pooch.retrieve", lambda *a, **k: pytest.fail("no download may start"))
    with pytest.raises(MusicstyleError) as err:
        fetch(tiny_source(), tmp_path / "a file" / "tiny", base_url="http://mirror.invalid", progress=False)
    assert str(err.value) == f"{tmp_path / 'a file' / 'tiny'}: cannot be written (Not a directory)"


def test_unreachable_source_stops_early_and_names_the_host(tmp_path, monkeypatch):
    import pooch
    import requests

    tried = []

    def offline(url, **kwargs):
        tried.append(url)
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch, "retrieve", offline)
    many = {f"jazz/j{i}.mid": piece(40 + i) for i in range(60)}
    with pytest.raises(MusicstyleError, match="cannot reach mirror.invalid:8080 .*ConnectionError: Name or service") as err:
        fetch(tiny_source(many), tmp_path / "tiny", base_url="http://mirror.invalid:8080/x", progress=False, workers=2)
    assert len(tried) < len(many) and "the rest were not tried" in str(err.value)
    assert "`musicstyle fetch tiny --mirror URL`" in str(err.value) and "`--data DIR` or MUSICSTYLE_DATA" in str(err.value)
    assert not (tmp_path / "tiny").exists() or leftovers(tmp_path / "tiny") == []


def test_a_few_failures_after_a_success_are_listed_not_stopped(tmp_path, monkeypatch):
    import pooch
    import requests

    real, tried = pooch.retrieve, []

    def flaky(url, **kwargs):
        tried.append(url)
        if len(tried) > 1:
            raise requests.ConnectionError("reset")
        return real(url, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", flaky)
    many = {f"jazz/j{i}.mid": piece(40 + i) for i in range(20)}
    with Server(many) as url:
        with pytest.raises(MusicstyleError, match="19 of 20 downloads failed"):
            fetch(tiny_source(many), tmp_path / "tiny", base_url=url, progress=False, workers=1)
    assert len(tried) == 20


def test_pieces_checksum_depends_on_content_not_order(tmp_path):
    c = load_folder(make_folder(tmp_path / "d"), progress=False)
    a = datasets.pieces_checksum(c.pieces)
    assert a == datasets.pieces_checksum(list(reversed(c.pieces))) and len(a) == 64
    assert a != datasets.pieces_checksum(c.pieces[1:])


def _perf(onsets, velocity, pedal):
    from musicstyle.core.midi import read_midi

    pairs = [(0, cc(64, 127))] if pedal else []
    for i, delta in enumerate(onsets):
        pairs += [(delta, on(60 + i % 12, velocity)), (50, off(60 + i % 12))]
    return read_midi(smf(track(pairs)), "x.mid")


def test_recording_groups_read_quantisation_pedal_then_loudness():
    live = [7, 33, 101, 5, 77, 13, 61, 29]  # onsets off the 120-tick 16th grid
    assert datasets.recording_group(_perf([0] + [70] * 7, 60, True)) == "quantised"
    assert datasets.recording_group(_perf(live, 90, False)) == "no-pedal"
    assert datasets.recording_group(_perf(live, 90, True)) == "loud"
    assert datasets.recording_group(_perf(live, 50, True)) == "soft"
    assert datasets.group_counts([]) == {}


def test_hold_out_takes_a_group_off_every_side_and_gives_it_back_whole(tmp_path):
    root = tmp_path / "d"
    for g in ("classical", "jazz"):
        (root / g).mkdir(parents=True)
        for i in range(10):
            vel = 100 if i % 3 == 0 else 40
            (root / g / f"{g}{i}.mid").write_bytes(smf(track([(0, cc(64, 127)), (7, on(60, vel)), (50, off(60))])))
    c = load_folder(root, progress=False)
    held = datasets.select(c, "held-out", "jazz", hold_out="loud")
    assert sorted(p.name for p in held) == ["jazz0", "jazz3", "jazz6", "jazz9"]
    rest = [p.name for side in ("train", "validation", "test") for p in datasets.select(c, side, "jazz", hold_out="loud")]
    assert sorted(rest + [p.name for p in held]) == sorted(p.name for p in c.genre("jazz"))
    with pytest.raises(MusicstyleError, match="needs a group"):
        datasets.select(c, "held-out")
    with pytest.raises(MusicstyleError, match="hold_out must be one of"):
        datasets.select(c, "train", hold_out="noisy")

"""Genre classifier: inputs, architectures, evaluation by vote, style vector, verdict, training, CLI."""

import importlib
import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

from midibytes import cc, off, on, smf, tempo, track
from musicstyle import classifier
from musicstyle.cli import main
from musicstyle.data import Piece
from musicstyle.core.midi import read_midi
from musicstyle.core.roll import KEYS_ONLY, PAPER, Layout


def tiny_midi() -> bytes:
    """C4 (velocity 127) for one beat, then E4 (velocity 64), sustain pedal and soft pedal down."""
    events = [(0, tempo(500000)), (0, cc(67, 127)), (0, on(60, 127)), (480, off(60)), (0, on(64, 64)), (0, cc(64, 100)), (480, off(64)), (0, cc(64, 0))]
    return smf(track(events))


def test_features_are_held_then_velocity_without_pedals():
    perf = read_midi(tiny_midi())
    f = classifier.features(perf, KEYS_ONLY)
    assert f.shape == (17, 2 * KEYS_ONLY.columns) and f.dtype == np.float32
    c4, e4 = 60 - 32, 64 - 32
    np.testing.assert_array_equal(f[:8, c4], 1)
    assert f[8, c4] == 0 and f[8:16, e4].sum() == 8
    assert f[0, KEYS_ONLY.columns + c4] == 1.0 and f[1, KEYS_ONLY.columns + c4] == 0
    assert f[8, KEYS_ONLY.columns + e4] == pytest.approx(64 / 127)
    assert f.sum() == pytest.approx(16 + 1 + 64 / 127)  # no pedal anywhere
    paper = classifier.features(perf, PAPER)
    assert paper.shape[1] == 2 * 59 and paper[:, 57].sum() == 8 and paper[:, 58].sum() > 0  # CC64, CC67 columns


def test_windows_end_aligned_and_transpose_shifts_keys_only():
    feat = np.arange(10, dtype=np.float32)[:, None].repeat(4, 1)
    w = classifier.windows(feat, 4)
    assert w.shape == (3, 4, 4)
    np.testing.assert_array_equal(w[:, 0, 0], [0, 4, 6])  # the last window ends with the piece, never padded
    short = classifier.windows(feat[:3], 4)
    assert short.shape == (1, 4, 4) and short[0, 3].sum() == 0
    layout = Layout(low=60, high=62, pedals=(64,))  # 3 keys + 1 pedal, two channel blocks
    x = np.zeros((2, 1, 8), np.float32)
    x[:, 0, [0, 3, 4, 7]] = 1  # key 60 and pedal, in both blocks
    t = classifier.transpose(x, np.array([2, -1]), layout.keys, layout.columns)
    np.testing.assert_array_equal(t[0, 0], [0, 0, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(t[1, 0], [0, 0, 0, 1, 0, 0, 0, 1])  # shifted off the bottom: gone


def test_paper_architecture_as_described():
    model = classifier.build("paper", 512, KEYS_ONLY.columns)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv1D"]
    assert [(c.filters, c.kernel_size[0], c.dilation_rate[0]) for c in convs] == [(4, 32, 4), (16, 16, 2)]
    pools = [layer.pool_size[0] for layer in model.layers if layer.__class__.__name__ == "AveragePooling1D"]
    assert pools == [4, 2]
    assert model.get_layer("style").units == 50 and model.output_shape == (None, 1)
    assert model.count_params() == 114 * 32 * 4 + 4 + 4 * 4 + 4 * 16 * 16 + 16 + 4 * 16 + 64 * 16 * 50 + 50 + 51
    improved = classifier.build("improved", 512, KEYS_ONLY.columns)
    assert improved.get_layer("style").units == 50 and improved.output_shape == (None, 1)


class Fixed:
    """A stand-in model: probability of jazz per window, from a table keyed by the window's sum."""

    def __init__(self, table):
        self.table = table

    def __call__(self, x, training=False):
        return np.array([[self.table[round(float(w.sum()))]] for w in x], np.float32)


def test_evaluate_votes_by_mean_probability(monkeypatch):
    wins = {"a": [0.9, 0.4, 0.4], "b": [0.1, 0.2], "c": [0.6]}  # jazz by vote, classical, jazz
    module = importlib.import_module("musicstyle.classifier.evaluate")  # the module (the package's name is the function)
    monkeypatch.setattr(module, "window_probabilities", lambda m, meta, perf: np.array(wins[perf]))
    pieces = [Piece("a", "jazz", "a", "a"), Piece("b", "jazz", "b", "b"), Piece("c", "classical", "c", "c")]
    r = classifier.evaluate(None, {}, pieces)
    assert r["segments"] == 6
    assert r["segment_accuracy"] == pytest.approx(1 / 6)  # 0.9 of a; none of b; c wrong
    assert r["pieces"] == 3 and r["piece_accuracy"] == pytest.approx(1 / 3)
    assert r["confusion"]["counts"] == [[0, 1], [1, 1]]
    assert r["majority_baseline"] == pytest.approx(2 / 3)
    assert "by_group" not in r
    monkeypatch.setattr(module, "recording_group", lambda perf: {"a": "loud", "b": "soft", "c": "loud"}[perf])
    by_group = classifier.evaluate(None, {}, pieces, by_group=True)["by_group"]
    assert list(by_group) == ["loud", "soft"]  # in the order of GROUPS
    assert [(g["pieces"], g["segments"], g["piece_accuracy"]) for g in by_group.values()] == [(2, 4, 0.5), (1, 2, 0.0)]
    assert by_group["loud"]["segment_accuracy"] == pytest.approx(1 / 4)
    assert by_group["loud"]["confusion"]["counts"] == [[0, 1], [0, 1]]


def test_project_2d_finds_the_main_axis():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    v = np.outer(t, np.linspace(1, 2, 50)) + 0.01 * rng.normal(size=(200, 50))
    coords, explained = classifier.project_2d(v)
    assert coords.shape == (200, 2) and explained[0] > 0.99
    assert abs(np.corrcoef(coords[:, 0], t)[0, 1]) > 0.999


def test_shipped_classifier_verdict_and_style_vector():
    verdict = classifier.verdict(tiny_midi())
    assert set(verdict) == {"classical", "jazz"} and verdict["classical"] + verdict["jazz"] == pytest.approx(1)
    perf = read_midi(tiny_midi())
    v = classifier.style_vector(perf)
    assert v.shape == (50,) and v.dtype == np.float32 and np.isfinite(v).all()
    np.testing.assert_allclose(classifier.style_vector(perf), v)
    _, meta = classifier.load()
    assert Layout.from_dict(meta["layout"]) == KEYS_ONLY  # the shipped model never sees the pedals
    assert meta["test"]["piece_accuracy"] >= 0.96


def test_classify_command(tmp_path, capsys, monkeypatch):
    f = tmp_path / "tiny.mid"
    f.write_bytes(tiny_midi())
    assert main(["classify", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classical"] + out["jazz"] == pytest.approx(1) and out["genre"] in ("classical", "jazz")
    assert (out["model"], out["model_file"]) == ("improved", "classifier.keras (shipped)")  # the architecture, the file
    # a bare name that is no file here is the shipped file of that name, and the output says so
    monkeypatch.chdir(tmp_path)
    assert main(["classify", str(f), "--model", "classifier_paper.keras", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "classifier_paper.keras (shipped)"
    from musicstyle.training.shipped import pretrained_path

    own = tmp_path / "classifier_paper.keras"  # one's own file of that name is read, and named by its path
    own.write_bytes(pretrained_path("classifier_paper.keras").read_bytes())
    assert main(["classify", str(f), "--model", "classifier_paper.keras", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "classifier_paper.keras"
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    assert main(["classify", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}")
    model = tmp_path / "m.keras"
    model.write_bytes(b"nope")
    assert main(["classify", str(f), "--model", str(model)]) == 2
    capsys.readouterr()
    # several files: one JSON line each, an unreadable one reported and skipped, status 2 at the end
    assert main(["classify", str(f), str(bad), str(f), "--json"]) == 2
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["file"] for r in lines] == [str(f), str(f)] and lines[0] == lines[1]
    assert captured.err.startswith(f"error: {bad}: ") and captured.err.count("\n") == 1
    # a bad model stops at once, not once per file
    assert main(["classify", str(f), str(f), "--model", str(model)]) == 2
    assert capsys.readouterr().err.count("error: ") == 1


def test_real_pieces_classified(tpd_folder):
    """Two pieces of each genre of the quick subset, by the shipped classifier."""
    from musicstyle.data import load_dataset

    pieces = load_dataset("tpd", tpd_folder, quick=True, progress=False).pieces
    test = [p for p in pieces if p.genre == "classical"][:2] + [p for p in pieces if p.genre == "jazz"][:2]
    model, meta = classifier.load()
    r = classifier.evaluate(model, meta, test)
    assert r["pieces"] == 4 and r["piece_accuracy"] >= 0.75


def test_shipped_reference_models_metadata():
    from musicstyle.training import pretrained_path, read_metadata

    for name, layout in (("classifier_paper.keras", KEYS_ONLY), ("classifier_paper59.keras", PAPER)):
        meta = read_metadata(pretrained_path(name))
        assert meta["kind"] == "classifier" and meta["arch"] == "paper"
        assert Layout.from_dict(meta["layout"]) == layout
        assert meta["test"]["pieces"] == 70


def test_style_vector_of_the_shipped_model_equals_the_one_passed_and_its_sub_model():
    perf = read_midi(tiny_midi())
    model, meta = classifier.load()
    v = classifier.style_vector(perf, model, meta)
    np.testing.assert_allclose(classifier.style_vector(perf), v)
    x = classifier.windows(classifier.features(perf, KEYS_ONLY), meta["length"])
    np.testing.assert_allclose(np.asarray(classifier.style_model(model)(x)).mean(0), v, rtol=1e-5)
    assert classifier.load() is classifier.load()  # loaded once (musicstyle.training.shipped)


def genre_midi(genre: str, i: int, beats: int = 24) -> bytes:
    """Classical: soft sustained low triads; jazz: loud short high notes off the beat (easy to tell apart)."""
    events = [(0, tempo(500000))]
    for b in range(beats):
        if genre == "classical":
            root = 48 + (b + i) % 5
            events += [(0, on(root, 45)), (0, on(root + 4, 45)), (0, on(root + 7, 45))]
            events += [(480, off(root)), (0, off(root + 4)), (0, off(root + 7))]
        else:
            for k in range(2):
                p = 72 + (3 * (2 * b + k) + i) % 7
                events += [(180, on(p, 100)), (60, off(p))]
    return smf(track(events))


def genre_pieces(n: int, start: int = 0) -> list:
    return [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(genre_midi(g, i))) for g in classifier.CLASSES
            for i in range(start, start + n)]


def tiny_folder(root, n: int = 10):
    """``root/classical`` and ``root/jazz`` with ``n`` pieces each: 1 test, 1 validation, the rest train."""
    for g in classifier.CLASSES:
        (root / g).mkdir(parents=True)
        for i in range(n):
            (root / g / f"{g}{i}.mid").write_bytes(genre_midi(g, i))
    return root


def test_epoch_windows_are_fresh_transposed_and_labelled():
    pieces = genre_pieces(2)
    chans = [classifier.channels(p.performance, KEYS_ONLY) for p in pieces]
    assert chans[0].dtype == np.uint8
    np.testing.assert_array_equal(classifier.as_features(chans[0]), classifier.features(pieces[0].performance))
    labels = np.array([0, 0, 1, 1], np.float32)

    def epoch(seed, augment):
        ex = classifier.epoch_windows(chans, labels, 64, np.random.default_rng(seed), KEYS_ONLY, augment)
        return ex.take(np.arange(ex.count))

    x, y = epoch(0, False)
    assert x.shape[1:] == (64, 2 * KEYS_ONLY.columns) and x.dtype == np.float32 and y.shape == (len(x), 1)
    assert sorted(set(y[:, 0].tolist())) == [0.0, 1.0]
    f = classifier.features(pieces[0].performance)
    assert any((x[0] == f[o : o + 64]).all() for o in range(len(f) - 63))  # a window of the first piece, as float32
    starts = [epoch(s, False)[0] for s in (1, 2)]
    assert any((a.shape != b.shape) or (a != b).any() for a, b in zip(starts, starts[1:]))  # random offsets
    t, _ = epoch(0, True)
    assert t.shape == x.shape and (t != x).any() and t.sum() == pytest.approx(x.sum(), rel=0.2)
    ex = classifier.epoch_windows(chans, labels, 64, np.random.default_rng(0), KEYS_ONLY, True)
    order = np.array([3, 0, 2])
    np.testing.assert_array_equal(ex.take(order)[0], t[order])  # a batch is the same windows, in its order


def test_training_through_the_trainer_learns():
    train, validation, test = genre_pieces(8), genre_pieces(2, 8), genre_pieces(3, 10)
    model, meta = classifier.train(train, validation, arch="paper", length=64, epochs=5, batch_size=8,
                                   learning_rate=3e-3, verbose=0)
    history = meta["history"]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5] and meta["train_pieces"] == 16
    assert history[-1]["loss"] < history[0]["loss"]
    best = max(history, key=lambda r: (r["val_piece_accuracy"], r["val_segment_accuracy"]))  # the epoch kept
    kept = classifier.evaluate(model, meta, validation)
    assert (kept["piece_accuracy"], kept["segment_accuracy"]) == (best["val_piece_accuracy"], best["val_segment_accuracy"])
    r = classifier.evaluate(model, meta, test)
    assert r["piece_accuracy"] > r["majority_baseline"]


def test_train_command_on_a_tiny_folder(tmp_path, capsys):
    data, out, checkpoints = tiny_folder(tmp_path / "tpd"), tmp_path / "c.keras", tmp_path / "checkpoints"
    args = ["train", "classifier", "--data", str(data), "--arch", "paper", "--length", "64", "--epochs", "2",
            "--checkpoint-dir", str(checkpoints), "--strategy", "default", "-o", str(out)]
    assert main(args + ["--minutes", "60"]) == 0
    printed = capsys.readouterr().out
    assert ["saved", str(out)] in [line.split() for line in printed.splitlines()]
    assert re.search(r"\nmeasured_on +the 2 test pieces of the split\n", printed)
    assert not list(checkpoints.glob("*"))  # the finished run leaves no checkpoint behind
    model, meta = classifier.load(str(out))
    assert meta["arch"] == "paper" and meta["length"] == 64 and len(meta["history"]) == 2
    assert meta["test"]["pieces"] == 2 and meta["split"].endswith("seed 0")
    assert meta["learned_sha256"] == learned_sides(data)
    import hashlib

    seen = sum(hashlib.sha256(f.read_bytes()).hexdigest()[:16] in meta["learned_sha256"] for f in data.glob("*/*.mid"))
    assert main(["evaluate", "classifier", "--data", str(data), "--model", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["learned_from"].startswith(f"{seen} of the 20 pieces are files {out.name} was")
    (data / "jazz" / "broken.mid").write_bytes(b"not midi")  # named in the figures; the split is unchanged
    assert main(["evaluate", "classifier", "--data", str(data), "--model", str(out), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pieces"] == 2 and result["split"] == "test" and result["layout_columns"] == KEYS_ONLY.columns
    assert result["skipped"] == 1 and result["skipped_files"] == {"jazz/broken.mid": "not a MIDI file (no 'MThd' header)"}
    assert (result["model"], result["model_file"]) == ("paper", str(out))  # the architecture, and the file read
    assert main(["evaluate", "classifier", "--data", str(data), "--model", str(out), "--split", "test", "--by-group",
                 "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["by_group"]
    assert sum(g["pieces"] for g in groups.values()) == 2 and sum(g["segments"] for g in groups.values()) == result["segments"]
    assert main(["evaluate", "classifier", "--data", str(data), "--model", str(out), "--split", "test", "--by-length"]) == 0
    table = capsys.readouterr().out.split("by_length\n")[1].splitlines()  # the genre_midi pieces last 24 beats
    assert table[0].split() == ["beats", "pieces", "piece_accuracy", "segments"]
    assert [line.split()[:2] for line in table[1:6]] == [["8", "2"], ["16", "2"], ["32", "0"], ["64", "0"], ["-", "2"]]
    (data / "jazz" / "high.mid").write_bytes(smf(track([(0, on(100, 80)), (480, off(100))])))  # read, nothing to classify
    assert main(["evaluate", "classifier", "--data", str(data), "--model", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pieces"] == 20 and list(result["left_out"]) == ["jazz/high.mid"]
    assert "no notes in the key range" in result["left_out"]["jazz/high.mid"]
    assert main(["train", "classifier", "--data", str(data), "-o", str(tmp_path / "c.h5")]) == 2
    assert "model files must end in .keras" in capsys.readouterr().err


def test_first_beats_cuts_notes_and_pedal_at_the_beat_and_keeps_the_tempo_map():
    perf = read_midi(smf(track([(0, tempo(400_000)), (0, cc(64, 127)), (0, on(60, 90)), (960, off(60)), (0, on(62, 80)),
                                (480, cc(64, 0)), (0, off(62)), (0, on(64, 70)), (480, off(64))])))
    cut = classifier.first_beats(perf, 2.5)  # 1,200 ticks: the second note is cut, the third never starts
    assert cut.notes[["start", "end", "pitch"]].tolist() == [(0, 960, 60), (960, 1200, 62)]
    assert cut.controls["tick"].tolist() == [0] and cut.tempos.tolist() == perf.tempos.tolist()


def test_accuracy_by_length_leaves_out_pieces_no_longer_than_the_cut(monkeypatch):
    module = importlib.import_module("musicstyle.classifier.evaluate")
    seen = []

    def jazz_when_long(model, meta, perf):  # jazz whenever more than 8 beats are read
        seen.append(perf.end_tick / perf.ticks_per_quarter)
        return np.array([0.9 if seen[-1] > 8 else 0.1])

    monkeypatch.setattr(module, "window_probabilities", jazz_when_long)
    pieces = [Piece(f"{g}{i}", g, f"{g}{i}", read_midi(genre_midi(g, i, beats))) for g, i, beats in
              (("jazz", 0, 24), ("jazz", 1, 6), ("classical", 0, 24), ("classical", 1, 12))]
    rows = classifier.accuracy_by_length(None, {}, pieces, lengths=(4, 10, None))
    assert [(r["beats"], r["pieces"], r["piece_accuracy"]) for r in rows] == [
        (4, 4, 0.5), (10, 3, pytest.approx(1 / 3)), (None, 4, 0.25)]  # the 6-beat piece sits out the 10-beat row
    assert seen[:4] == [4, 4, 4, 4] and seen[4:7] == [10, 10, 10]


def test_a_piece_shorter_than_one_window_gets_a_caution(tmp_path, capsys):
    _, meta = classifier.load()
    short, long = (read_midi(genre_midi("classical", 0, beats)) for beats in (24, 80))
    assert classifier.caution(short, meta).startswith("only 24 beats of music: the classifier reads windows of 64 beats")
    assert classifier.caution(long, meta) is None
    f = tmp_path / "short.mid"
    f.write_bytes(genre_midi("classical", 0, 24))
    assert main(["classify", str(f), "--json"]) == 0
    assert "notebook 03, section 7" in json.loads(capsys.readouterr().out)["caution"]


def learned_sides(folder, genre=None):
    """What a model trained on ``folder``'s piece split should record it learned from: its train and validation sides."""
    from musicstyle.data import load_folder, select
    from musicstyle.data.learned import learned_record

    collection = load_folder(folder, quick=False, progress=False)
    return learned_record(p.performance.sha256 for side in ("train", "validation") for p in select(collection, side, genre))


def test_metadata_without_its_classifier_is_refused(tmp_path):
    """classifier.verdict(piece, meta=...) alone would have been the shipped classifier under another's metadata."""
    from musicstyle.errors import MusicstyleError

    f = tmp_path / "tiny.mid"
    f.write_bytes(tiny_midi())
    _, meta = classifier.load("classifier_paper.keras")
    with pytest.raises(MusicstyleError, match="metadata given without its classifier"):
        classifier.verdict(f.read_bytes(), meta=meta)
    with pytest.raises(MusicstyleError, match="a model file's path is expected here"):
        classifier.classify(f, classifier.load())  # a loaded model where its file is meant: said in one line

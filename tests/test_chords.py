"""The conditioned chords LSTM: next-step targets along time, exact baselines, conditioning, sampling, MIDI out, training."""

import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

from midibytes import cc, off, on, smf, tempo, track
from musicstyle import chords
from musicstyle.cli import main
from musicstyle.core.midi import read_midi
from musicstyle.core.roll import PAPER, Layout, piano_roll

TINY = Layout(low=60, high=63, pedals=(64,))  # 4 keys + sustain = 5 columns


def hand_matrix():
    """(6, 2 x 2) held|onset matrix of two columns, written out by hand."""
    held = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 0], [1, 0]], np.uint8)
    onset = np.array([[1, 0], [0, 0], [0, 1], [0, 0], [0, 0], [1, 0]], np.uint8)
    return np.concatenate([held, onset], 1)


def test_next_step_targets_shift_along_time_not_songs():
    m = np.arange(10 * 3).reshape(10, 3)
    x, y = chords.next_step_pairs(m, 4)
    assert x.shape == y.shape == (2, 4, 3)
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])  # target[t] == input[t + 1]
    np.testing.assert_array_equal(x[1, 0], m[4])
    np.testing.assert_array_equal(y[1, -1], m[8])
    x, y = chords.next_step_pairs(m, 4, hop=1)
    assert len(x) == 6 and (y[:, :-1] == x[:, 1:]).all()
    assert chords.next_step_pairs(m[:4], 4)[0].shape[0] == 0  # no room for a target


def test_chunks_count_every_pair_once():
    m = np.arange(11)[:, None]
    parts = chords.chunks(m, 4)
    assert [len(x) for x, _ in parts] == [4, 4, 2]
    pairs = [(int(a), int(b)) for x, y in parts for a, b in zip(x[:, 0], y[:, 0])]
    assert pairs == [(t, t + 1) for t in range(10)]


def test_baselines_exact_on_hand_matrix():
    m = hand_matrix()
    b = chords.fit_baselines([m], 2)
    np.testing.assert_allclose(b["marginal"], [4 / 6, 2 / 6])
    # 10 (t, column) pairs: 5 held before, 3 of them still held; 2 of the other 5 start to be held
    prev, nxt = m[:-1, :2], m[1:, :2]
    assert b["copy_a"] == pytest.approx(3 / 5) and (prev * nxt).sum() == 3 and prev.sum() == 5
    assert b["copy_b"] == pytest.approx(2 / 5)
    sums = chords.baseline_sums(prev, nxt, b)
    y = nxt.astype(float)
    p_copy = np.where(prev > 0, 0.6, 0.4)
    expected_copy = -(y * np.log(p_copy) + (1 - y) * np.log(1 - p_copy)).sum()
    assert sums["copy"] == pytest.approx(expected_copy)
    assert sums["zeros"] == pytest.approx(-np.log(1e-7) * y.sum(), rel=1e-6)
    p_m = np.array([4 / 6, 2 / 6])[None].repeat(5, 0)
    assert sums["marginal"] == pytest.approx(-(y * np.log(p_m) + (1 - y) * np.log(1 - p_m)).sum())
    assert chords.bce_sum(np.full(4, 0.5), np.array([0, 1, 0, 1])) == pytest.approx(4 * np.log(2))


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    return chords.build(units=8, columns=TINY.columns, style_dim=3)


def test_model_shapes_and_initial_state_depends_on_style(tiny_model):
    x = np.zeros((2, 7, 2 * TINY.columns), np.float32)
    x[:, ::2, 0] = 1
    styles = np.array([[0, 0, 0], [3, -2, 1]], np.float32)
    held, onset = (np.asarray(a) for a in tiny_model([x, styles]))
    assert held.shape == onset.shape == (2, 7, TINY.columns)
    assert ((held > 0) & (held < 1)).all()
    assert np.abs(held[0] - held[1]).max() > 1e-4  # same roll, other style vector -> other predictions
    gen = chords.Generator(tiny_model)
    h0, c0 = gen.initial_state(styles[:1])
    h1, c1 = gen.initial_state(styles[1:])
    assert h0.shape == (1, 8)
    assert np.abs(np.asarray(h0) - np.asarray(h1)).max() > 1e-4
    assert np.abs(np.asarray(c0) - np.asarray(c1)).max() > 1e-4


def test_generation_reproducible_and_equal_to_step_by_step_reference(tiny_model):
    gen = chords.Generator(tiny_model)
    style = np.array([1.0, 0.5, -1.0], np.float32)
    a = gen.sample(style, 40, temperature=1.0, seed=7)
    b = gen.sample(style, 40, temperature=1.0, seed=7)
    c = gen.sample(style, 40, temperature=1.0, seed=8)
    assert a.shape == (40, 2 * TINY.columns) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    cols = TINY.columns
    assert (a[:, cols:] <= a[:, :cols]).all()  # struck keys sound
    np.testing.assert_array_equal(gen.reference(style, 40, 1.0, 7), a)
    hot = gen.sample(style, 200, temperature=50.0, seed=1)
    assert abs(hot[:, :cols].mean() - 0.5) < 0.1  # very high temperature: coin flips


def test_to_midi_round_trip_keeps_held_matrix_and_pedal():
    m = np.zeros((16, 2 * PAPER.columns), np.uint8)
    m[0:4, 60 - 32] = 1  # C4 held 4 steps
    m[0, PAPER.columns + 60 - 32] = 1
    m[0:2, 52 - 32] = 1  # E3 below it
    m[0, PAPER.columns + 52 - 32] = 1
    m[2:6, 64 - 32] = 1  # E4 starts to be held: struck there
    m[8:12, 67 - 32] = 1
    m[8, PAPER.columns + 67 - 32] = 1
    m[10, PAPER.columns + 67 - 32] = 1  # struck again while held: two notes
    m[1:9, PAPER.keys] = 1  # sustain down
    data = chords.to_midi(m, PAPER, steps_per_second=16.0, velocity=60)
    perf = read_midi(data)
    roll = piano_roll(perf, PAPER)
    np.testing.assert_array_equal(roll.held[:12], m[:12, : PAPER.columns])
    assert sorted(perf.notes["pitch"].tolist()) == [52, 60, 64, 67, 67]
    assert perf.seconds(480) == pytest.approx(0.5)  # 8 steps per beat at 16 steps/s = 120 qpm
    velocity = dict(zip(perf.notes["pitch"].tolist(), perf.notes["velocity"].tolist()))
    assert velocity[52] == 60 and velocity[60] == 72 and velocity[64] == 72  # the top note of a strike is louder


def test_evaluate_counts_every_pair_once(tiny_model):
    meta = {"layout": TINY.to_dict(), "train_length": 4, "baselines": {"marginal": [0.5] * 5, "copy_a": 0.9, "copy_b": 0.1}}
    m = np.zeros((11, 10), np.uint8)
    m[2:8, 1] = 1
    m[2, 6] = 1
    r = chords.evaluate(tiny_model, meta, [m], [np.zeros(3, np.float32)], length=4)
    assert r["steps"] == 10 and r["pieces"] == 1
    assert r["bce_marginal_baseline"] == pytest.approx(np.log(2))
    assert r["ratio"] == pytest.approx(r["bce"] / r["bce_copy_baseline"])


def test_generate_command_rejects_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file")
    code = main(["generate", "--genre", "jazz", "--inspired-by", str(bad), "-o", str(tmp_path / "o.mid")])
    assert code == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}")
    assert main(["generate", "--genre", "jazz", "--inspired-by", str(tmp_path / "none.mid"), "-o", str(tmp_path / "o.mid")]) == 2


def test_generate_command_writes_no_file_of_silence(tmp_path, capsys, monkeypatch):
    import importlib

    G = importlib.import_module("musicstyle.chords.generate")  # the module (the package exports its function)
    src = tmp_path / "in.mid"
    src.write_bytes(smf(track([(0, on(60, 80)), (480, off(60))])))
    monkeypatch.setattr(G, "generate", lambda genre, style, seconds, temperature, seed: np.zeros((40, 2 * PAPER.columns)))
    assert main(["generate", "--genre", "jazz", "--inspired-by", str(src), "-o", str(tmp_path / "out.mid")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'out.mid'}: the jazz LSTM wrote no notes in 30 s from in.mid (try a "
                                       "higher --temperature, more --seconds or another --seed); nothing written\n")
    assert [p.name for p in tmp_path.iterdir()] == ["in.mid"]


def test_generate_command_writes_playable_midi(tmp_path, capsys):
    src = tmp_path / "in.mid"
    events = [(0, tempo(500000)), (0, cc(64, 127)), (0, on(60, 80)), (240, on(64, 70)), (0, on(67, 70))]
    events += [(480, off(60)), (0, off(64)), (0, off(67)), (0, cc(64, 0))]
    src.write_bytes(smf(track(events)))
    out = tmp_path / "out.mid"
    assert main(["generate", "--genre", "classical", "--inspired-by", str(src), "-o", str(out), "--seconds", "5", "--seed", "3"]) == 0
    perf = read_midi(out.read_bytes())
    assert len(perf.notes) > 0
    assert perf.duration_s < 5.2
    again = tmp_path / "again.mid"
    main(["generate", "--genre", "classical", "--inspired-by", str(src), "-o", str(again), "--seconds", "5", "--seed", "3"])
    assert again.read_bytes() == out.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--genre", "classical", "--inspired-by", str(src), "-o", str(out), "--temperature", "0"])
    assert exit_.value.code == 2
    # one's own LSTM (here a copy of the shipped classical one) writes the same music, and the output names it
    from musicstyle.training import pretrained_path

    own = tmp_path / "my chords.keras"
    own.write_bytes(pretrained_path(chords.shipped_name("classical")).read_bytes())
    mine = tmp_path / "mine.mid"
    assert main(["generate", "--genre", "classical", "--model", str(own), "--inspired-by", str(src), "-o", str(mine),
                 "--seconds", "5", "--seed", "3", "--json"]) == 0
    assert mine.read_bytes() == out.read_bytes()
    result = json.loads(capsys.readouterr().out.splitlines()[-1])  # the file written and the model read, named as every command names them
    assert (result["midi"], result["model_file"]) == (str(mine), str(own)) and not {"written", "model"} & set(result)
    assert main(["generate", "--genre", "jazz", "--model", str(own), "--inspired-by", str(src), "-o", str(tmp_path / "j.mid")]) == 2
    assert "holds a classical LSTM: give --genre classical (not jazz)" in capsys.readouterr().err
    assert not (tmp_path / "j.mid").exists()


def test_shipped_models_have_metadata():
    from musicstyle.training import pretrained_path, read_metadata

    for genre in chords.GENRES:
        meta = read_metadata(pretrained_path(chords.shipped_name(genre)))
        assert meta["kind"] == "chords" and meta["genre"] == genre
        assert Layout.from_dict(meta["layout"]) == PAPER
        assert 0 < meta["baselines"]["copy_b"] < meta["baselines"]["copy_a"] < 1


def test_load_rejects_wrong_files(tmp_path):
    from musicstyle.errors import MusicstyleError

    bad = tmp_path / "x.keras"
    bad.write_bytes(b"zip? no")
    with pytest.raises(MusicstyleError, match="not a .keras model"):
        chords.load(str(bad))
    with pytest.raises(MusicstyleError, match="unknown genre"):
        chords.load("polka")


def test_start_at_copy_makes_the_untrained_output_layer_the_copy_baseline():
    model = chords.build(units=8, columns=TINY.columns, style_dim=3)
    chords.start_at_copy(model, {"marginal": [0.1] * 5, "copy_a": 0.9, "copy_b": 0.05}, onset_rate=0.02)
    kernel, bias = model.get_layer("held_logits").get_weights()
    assert np.abs(kernel[:8]).max() > 0  # the LSTM's share is kept, only scaled down
    kernel[:8] = 0.0
    model.get_layer("held_logits").set_weights([kernel, bias])
    x = (np.random.default_rng(0).random((1, 20, 2 * TINY.columns)) < 0.3).astype(np.float32)
    held = np.asarray(model([x, np.zeros((1, 3), np.float32)])[0])
    np.testing.assert_allclose(held[0], np.where(x[0, :, : TINY.columns] > 0, 0.9, 0.05), rtol=1e-4)


def test_epoch_pairs_draw_whole_windows_from_a_random_offset():
    m = np.arange(100 * 4).reshape(100, 4).astype(np.uint8)
    vectors = np.array([[1.0, 2.0]], np.float32)

    def epoch(seed, limit=None):
        ex = chords.epoch_pairs([m], vectors, 10, np.random.default_rng(seed), limit)
        return ex.take(np.arange(ex.count))

    (x, s), (held, onset) = epoch(0)
    assert x.shape[1:] == (10, 4) and held.shape == onset.shape == (len(x), 10, 2) and s.shape == (len(x), 2)
    assert len(x) in (8, 9) and (s == vectors).all() and x.dtype == np.uint8
    np.testing.assert_array_equal(np.concatenate([held, onset], -1)[:, :-1], x[:, 1:])  # next step along time
    np.testing.assert_array_equal(np.concatenate([held, onset], -1)[:, -1], m[x[:, -1, 0] // 4 + 1])
    offsets = {int(epoch(r)[0][0][:, 0, 0].min()) // 4 for r in range(8)}
    assert len(offsets) > 1  # a fresh offset each epoch
    assert len(epoch(0, limit=3)[0][0]) == 3
    assert chords.epoch_pairs([m[:5]], vectors, 10, np.random.default_rng(0)).count == 0  # too short for a window


def test_training_through_the_trainer_learns():
    from test_classifier import genre_pieces

    pieces = [p for p in genre_pieces(8) if p.genre == "classical"]
    train, validation = pieces[:6], pieces[6:]
    rng = np.random.default_rng(0)
    vt, vv = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    rows = []
    model, meta = chords.train(train, vt, "classical", validation, vv, units=16, length=32, batch_size=8, epochs=4,
                               learning_rate=1e-2, verbose=0, on_epoch_end=lambda e, row, m: rows.append(row))
    history = meta["history"]
    assert rows == history and [r["epoch"] for r in history] == [1, 2, 3, 4] and meta["train_pieces"] == 6
    assert history[-1]["loss"] < history[0]["loss"]
    r = chords.evaluate(model, meta, validation, vv, length=32)
    assert r["bce"] == pytest.approx(min(row["val_bce"] for row in history))  # the best epoch is kept
    assert r["bce"] < r["bce_copy_baseline"] < r["bce_marginal_baseline"]


def test_train_command_on_a_tiny_folder(tmp_path, capsys):
    from test_classifier import tiny_folder

    data, out, checkpoints = tiny_folder(tmp_path / "tpd"), tmp_path / "c.keras", tmp_path / "checkpoints"
    args = ["train", "chords", "--genre", "jazz", "--data", str(data), "--units", "8", "--length", "16", "--batch", "8",
            "--epochs", "2", "--checkpoint-dir", str(checkpoints), "--strategy", "default", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "saved" in printed and re.search(r"\ntrain_pieces +8\n", printed) and re.search(r"\nepochs_run +2\n", printed)
    assert re.search(r"\nskipped +0\n", printed)
    assert not list(checkpoints.glob("*"))  # the finished run leaves no checkpoint behind
    model, meta = chords.load(str(out))
    assert meta["genre"] == "jazz" and meta["units"] == 8 and meta["conditioned"] and meta["train_pieces"] == 8
    assert len(meta["history"]) == 2 and "val_bce" in meta["history"][0]
    from test_classifier import learned_sides

    assert meta["learned_sha256"] == learned_sides(data, "jazz")
    (data / "classical" / "broken.mid").write_bytes(b"not midi")  # named in the figures; the split is unchanged
    assert main(["evaluate", "chords", "--data", str(data), "--model", str(out), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "classical" not in result and result["jazz"]["pieces"] == 1 and result["ratio"] == result["jazz"]["ratio"]
    assert result["model_file"] == str(out)
    assert result["skipped"] == 1 and list(result["skipped_files"]) == ["classical/broken.mid"]
    (data / "jazz" / "high.mid").write_bytes(smf(track([(0, on(100, 80)), (480, off(100))])))  # read, nothing to measure
    assert main(["evaluate", "chords", "--data", str(data), "--model", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["jazz"]["pieces"] == 10 and list(result["jazz"]["left_out"]) == ["jazz/high.mid"]
    only = tmp_path / "only"
    (only / "jazz").mkdir(parents=True)
    (only / "jazz" / "high.mid").write_bytes((data / "jazz" / "high.mid").read_bytes())
    assert main(["evaluate", "chords", "--data", str(only), "--model", str(out)]) == 2
    assert "no classical or jazz pieces to measure (jazz/high.mid: no notes in the key range" in capsys.readouterr().err
    assert main(["train", "chords", "--genre", "jazz", "--data", str(data), "-o", str(tmp_path / "c.h5")]) == 2
    assert "model files must end in .keras" in capsys.readouterr().err
    assert main(["train", "chords", "--genre", "classical", "--data", str(data), "--init", str(out), "-o", str(tmp_path / "x.keras")]) == 2
    assert capsys.readouterr().err == f"error: {out}: holds a jazz chords model, not classical\n"


def test_real_pieces_are_judged_on_as_many_seconds_as_the_generated_ones():
    from musicstyle.chords.generate import _opening

    notes = [e for _ in range(120) for e in ((0, on(60, 70)), (480, off(60)))]  # 0.5 s a note at 120 qpm
    perf = read_midi(smf(track([(0, on(60, 70)), (480, off(60)), (9 * 960, on(62, 70)), (480, off(62)), *notes])))
    cut, end = _opening(perf, 30.0)  # a note, 9 s of silence, then the rest: 30 s from the first note
    assert end == pytest.approx(30.0) and len(cut.notes) == 2 + 40 and cut.tempos is perf.tempos  # 10 s to 30 s
    late = read_midi(smf(track([(40 * 960, on(60, 70)), *notes])))  # 40 s of silence first: measured on its music
    cut, end = _opening(late, 30.0)
    assert end == pytest.approx(70.0) and len(cut.notes) == 60


def test_the_shipped_sampler_is_traced_once_per_loaded_model():
    from musicstyle.training import shipped

    gen, meta = chords.shipped_generator("jazz")
    assert chords.shipped_generator("jazz")[0] is gen and gen.model is chords.load("jazz")[0]
    style = np.zeros(50, np.float32)
    a = chords.generate("jazz", style, seconds=1, seed=2)
    shipped.clear()
    again, _ = chords.shipped_generator("jazz")
    assert again is not gen and again.model is chords.load("jazz")[0]  # a reloaded model gets its own sampler
    np.testing.assert_array_equal(chords.generate("jazz", style, seconds=1, seed=2), a)
    assert len(a) == round(meta["steps_per_second"])


def test_a_loaded_lstm_is_traced_once_and_must_come_with_its_own_metadata():
    from musicstyle.chords import model as M
    from musicstyle.errors import MusicstyleError

    model, meta = chords.load("jazz")
    style = np.zeros(50, np.float32)
    a = chords.generate("jazz", style, seconds=1, seed=2, model=model, meta=meta)
    gen = M.generator_of(model)
    chords.generate("jazz", style, seconds=1, seed=2, model=model, meta=meta)
    assert M.generator_of(model) is gen  # not traced again
    np.testing.assert_array_equal(a, chords.generate("jazz", style, seconds=1, seed=2))  # the same LSTM as shipped
    with pytest.raises(MusicstyleError, match="give an LSTM and its metadata together"):
        chords.generate("jazz", style, meta=meta)  # would have been the shipped LSTM under this metadata
    with pytest.raises(MusicstyleError, match="the LSTM given plays jazz, not classical"):
        chords.generate("classical", style, model=model, meta=meta)


def test_bench_generate_and_architecture_figure():
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.bench.generate import bench_generate
    from musicstyle.figures.chords import architecture_figure

    r = bench_generate("classical", steps=5, repeats=1)
    assert r["steps"] == 5 and r["compiled_steps_per_s"] > 0 and r["naive_steps_per_s"] > 0 and r["units"] == 128
    ax = architecture_figure(units=128)
    assert any("LSTM(128)" in t.get_text() for t in ax.texts)

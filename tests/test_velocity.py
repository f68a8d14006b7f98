"""Velocity CNNs: masked loss, shapes, onset and note masks, transfer that changes only velocities, model files,
training through the one trainer (resumable), CLI."""

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from midibytes import cc, off, on, smf, tempo, track  # noqa: E402
from musicstyle import velocity as V  # noqa: E402
from musicstyle.bench.velocity import TIMED, bench_velocity  # noqa: E402
from musicstyle.cli import main  # noqa: E402
from musicstyle.errors import MusicstyleError  # noqa: E402
from musicstyle.core.midi import read_midi  # noqa: E402
from musicstyle.core.midiscan import scan_events  # noqa: E402
from musicstyle.core.notes import NOTE_FEATURES, note_features  # noqa: E402
from musicstyle.core.roll import PAPER, piano_roll  # noqa: E402
from musicstyle.velocity.data import PIECE_INPUT, RECORDING_FEATURES, recording_features, targets  # noqa: E402
from musicstyle.velocity.loudness import LAMBDAS, fit_loudness  # noqa: E402

# the submodules whose names the package's functions train and evaluate shadow
TRAIN = importlib.import_module("musicstyle.velocity.train")
TEXTURE = importlib.import_module("musicstyle.velocity.texture")


def _np(tensor):
    from keras import ops

    return ops.convert_to_numpy(tensor)


def piece_bytes(shift=0) -> bytes:
    """Two hands, a note out of the key range (100), a re-struck key, sustain pedal and a tempo change."""
    ev = [(0, tempo(500_000)), (0, cc(64, 127)), (0, on(60 + shift, 80)), (0, on(48, 50)), (0, on(100, 33)),
          (240, off(60 + shift)), (0, on(64, 90)), (240, off(64)), (0, off(48)), (0, tempo(400_000)),
          (0, on(60 + shift, 70)), (120, cc(64, 0)), (360, off(60 + shift)), (0, off(100)), (0, on(72, 20)), (480, off(72))]
    return smf(track(ev))


def test_masked_loss_exact_values():
    y_true = np.array([[[0, 10], [20, 0]], [[0, 0], [0, 0]]], np.float32)
    y_pred = np.array([[[5, 12], [17, 3]], [[9, 9], [9, 9]]], np.float32)
    loss = _np(V.masked_mse(y_true, y_pred))
    # window 1: errors 2 and -3 at the two onsets, (4 + 9) / 2; window 2 has no onset: 0
    np.testing.assert_allclose(loss, [6.5, 0.0])


def test_features_and_targets_of_a_tiny_piece():
    roll = piano_roll(read_midi(piece_bytes()), PAPER)
    x, y = V.features(roll), targets(roll)
    assert x.shape == (roll.steps, 118) and y.shape == (roll.steps, 57)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    struck = {(int(t), int(c) + 32, int(y[t, c])) for t, c in zip(*np.nonzero(y))}
    assert struck == {(0, 60, 80), (0, 48, 50), (4, 64, 90), (8, 60, 70), (16, 72, 20)}
    assert x[0, 57] == 1 and x[0, 59 + 57] == 1  # sustain pedal onset and held, input only


def test_recording_features_of_a_tiny_piece():
    f = recording_features(read_midi(piece_bytes()))
    # every onset and end on the 16th grid; median tempo 133.3 qpm; 2 tempo events in 1.3 s; pedal; 6 notes;
    # lengths 0.5 0.25 0.9 0.25 0.4 0.4 s (onsets 0 0 0 .25 .5 .9); onset times 0 .25 .5 .9; pitches 48 60 64 60 72 100
    lengths = [0.5, 0.25, 0.9, 0.25, 0.4, 0.4]
    expected = [1.0, np.log(60e6 / 450_000), np.log1p(2 / (1.3 / 60)), 1.0, np.log(6 / 1.3), 1.0,
                np.log(np.median(lengths)), 0.0, np.log(0.25 + 1e-3), 0.0, np.std([48, 60, 64, 60, 72, 100]) / 12, np.log(6 / 4)]
    np.testing.assert_allclose(f, expected, rtol=1e-5)
    prepared = V.Prepared([read_midi(piece_bytes(i % 3), name=str(i)) for i in range(4)])
    fit = fit_loudness(prepared, prepared)
    assert fit["lambda"] in LAMBDAS and np.all(np.isfinite(fit["w"]))
    assert len(fit["w"]) == PIECE_INPUT == 2 * len(NOTE_FEATURES) + len(RECORDING_FEATURES)
    assert prepared.piece[0].shape == (PIECE_INPUT,) and prepared.notes[0].shape == (6, len(NOTE_FEATURES))


def test_prepared_grid_is_the_roll_and_its_windows_cut_it():
    perfs = [read_midi(piece_bytes(i), name=str(i)) for i in range(3)]
    prepared = V.Prepared(perfs)
    assert len(prepared) == 3 and prepared.steps == sum(piano_roll(p).steps for p in perfs)
    for i, perf in enumerate(perfs):
        roll = piano_roll(perf)
        x, y = prepared.grid(i)
        np.testing.assert_array_equal(x, V.features(roll))
        np.testing.assert_array_equal(y, targets(roll))
        xs, ys = prepared.grid(i, 3, 9)
        np.testing.assert_array_equal(xs, x[3:9])
        np.testing.assert_array_equal(ys, y[3:9])
    wx, wy = prepared.windows(8)  # consecutive windows, zero-padded past a piece's end
    x0, y0 = prepared.grid(0)
    n = min(8, len(x0))
    np.testing.assert_array_equal(wx[0, :n], x0[:n])
    np.testing.assert_array_equal(wy[0, :n], y0[:n])
    assert not wx[0, n:].any() and not wy[0, n:].any()


def test_paper_model_outputs_velocity_only_at_key_onsets():
    import keras

    keras.utils.set_random_seed(0)
    model = V.build_model("paper", PAPER, 60.0)
    x = np.zeros((2, 96, 118), np.float32)
    x[0, ::5, 10] = 1  # key onsets
    x[0, :, 69] = 1  # held
    x[1, 7, 57] = 1  # a pedal onset is not a key onset
    out = _np(model(x, training=False))
    assert out.shape == (2, 96, 57)
    assert np.all(out[x[..., :57] == 0] == 0)
    assert np.all(out[0, ::5, 10] > 0) and not out[1].any()


def test_improved_model_outputs_a_velocity_per_note_and_none_on_padding():
    import keras

    keras.utils.set_random_seed(0)
    model = V.build_model("improved", PAPER, 60.0)
    assert V.is_note_model(model) and not V.is_note_model(V.build_model("paper", PAPER, 60.0))
    perf = read_midi(piece_bytes())
    notes = np.zeros((2, 10, len(NOTE_FEATURES)), np.float32)
    notes[0, :6] = note_features(perf)  # 6 notes, then 4 padding rows
    piece = np.stack([V.piece_input(perf)] * 2)
    out = _np(model([notes, piece], training=False))
    assert out.shape == (2, 10)
    assert np.all(np.abs(out[0, :6] - 60) < 10) and not out[0, 6:].any() and not out[1].any()
    # two-sided: the first note's output depends on a later note
    later = notes.copy()
    later[0, 5, 0] = 30
    assert _np(model([later, piece], training=False))[0, 0] != out[0, 0]


def test_paper_model_literal_is_stuck_at_zero_fixed_is_not():
    import keras

    x = np.zeros((1, 256, 118), np.float32)
    t = np.arange(0, 256, 3)
    x[0, t, (t * 7) % 57] = 1
    x[0, t, 59 + (t * 7) % 57] = 1
    keras.utils.set_random_seed(0)
    literal = _np(V.paper_model(PAPER, 60.0, fixed=False)(x, training=False))[0, t, (t * 7) % 57]
    keras.utils.set_random_seed(0)
    fixed = _np(V.paper_model(PAPER, 60.0, fixed=True)(x, training=False))[0, t, (t * 7) % 57]
    assert (literal == 0).mean() > 0.2 and np.abs(literal).max() < 10
    assert np.all(np.abs(fixed - 60) < 10)


def test_receptive_fields():
    assert V.receptive_field("paper") == 186
    assert V.receptive_field("improved") == 1023


def test_baselines_and_windows_never_cross_pieces():
    perfs = [read_midi(piece_bytes(0), name="a"), read_midi(piece_bytes(2), name="b")]
    prepared = V.Prepared(perfs)
    base = V.baselines(prepared)
    assert base["train_onsets"] == 10 and base["train_mean"] == pytest.approx(np.mean([80, 50, 90, 70, 20] * 2))
    assert base["pitch_means"][48 - 32] == 50 and base["pitch_means"][33 - 32] == base["train_mean"]
    xs, ys = prepared.windows(16)
    assert xs.shape == (4, 16, 118) and ys.shape == (4, 16, 57)
    xs, ys = prepared.windows(8, np.random.default_rng(0), count=5)
    assert xs.shape == (5, 8, 118)
    (ns, ps), vs = prepared.note_windows(4)
    assert ns.shape == (4, 4, len(NOTE_FEATURES)) and ps.shape == (4, PIECE_INPUT) and vs.shape == (4, 4)
    assert vs[:2].tolist() == [[50, 80, 33, 90], [70, 20, 0, 0]]  # notes in order, the window padded with 0
    assert not ns[1, 2:].any()


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    model = V.improved_model(100.0)
    meta = {"kind": "velocity", "genre": "jazz", "arch": "improved", "layout": PAPER.to_dict(), "train_mean": 100.0,
            "pitch_means": [100.0] * 57}
    return model, meta


def test_predict_notes_keeps_order_and_out_of_range_notes(tiny_model):
    import keras

    model, meta = tiny_model
    perf = read_midi(piece_bytes())
    pred = V.predict_notes(model, meta, perf)
    assert pred.shape == (len(perf.notes),) and pred.dtype == np.float32
    assert np.all(np.abs(pred - 100) < 15)  # the note model predicts every key, 100 included
    keras.utils.set_random_seed(0)
    paper = V.build_model("paper", PAPER, 60.0)
    pred = V.predict_notes(paper, {"layout": PAPER.to_dict()}, perf)
    outside = perf.notes["pitch"] == 100
    assert pred[outside].tolist() == [33.0]  # outside the paper's columns: its own velocity
    assert np.all(np.abs(pred[~outside] - 60) < 10)


def test_transfer_changes_only_velocity_bytes(tiny_model):
    model, meta = tiny_model
    data = piece_bytes()
    out = V.transfer_bytes(model, data, "tiny.mid", meta)
    assert len(out) == len(data)
    raw = scan_events(data)
    note_on = ((raw.status & 0xF0) == 0x90) & (raw.data2 > 0)
    diff = np.nonzero(np.frombuffer(out, np.uint8) != np.frombuffer(data, np.uint8))[0]
    assert set(diff.tolist()) <= set(raw.offset[note_on].tolist()) and len(diff) >= 5
    a, b = read_midi(data), read_midi(out)
    for field in ("start", "end", "pitch"):
        assert np.array_equal(a.notes[field], b.notes[field])
    assert np.array_equal(a.controls, b.controls) and np.array_equal(a.tempos, b.tempos)
    assert np.all((b.notes["velocity"] >= 1) & (b.notes["velocity"] <= 127))
    expected = np.clip(np.rint(V.predict_notes(model, meta, a)), 1, 127)
    assert b.notes["velocity"].tolist() == expected.tolist()
    assert not np.array_equal(a.notes["velocity"], b.notes["velocity"])


def test_transfer_of_bad_bytes_names_the_file(tiny_model):
    model, meta = tiny_model
    with pytest.raises(MusicstyleError, match="notes.txt: not a MIDI file"):
        V.transfer_bytes(model, b"hello", "notes.txt", meta)


def test_save_load_round_trip_with_metadata(tmp_path, tiny_model):
    model, meta = tiny_model
    path = V.save(model, meta, tmp_path / "v.keras")
    loaded, meta2 = V.load_file(path)
    assert {k: meta2[k] for k in meta} == meta and "musicstyle_version" in meta2
    perf = read_midi(piece_bytes())
    x, f = note_features(perf)[None], V.piece_input(perf)[None]
    np.testing.assert_allclose(_np(loaded([x, f])), _np(model([x, f])), rtol=1e-5, atol=1e-4)
    # the loaded model with its loaded metadata transfers exactly as the original
    assert V.transfer_bytes(loaded, piece_bytes(), "t.mid", meta2) == V.transfer_bytes(model, piece_bytes(), "t.mid", meta)


def test_wrong_or_corrupt_model_files(tmp_path, tiny_model):
    model, meta = tiny_model
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(MusicstyleError, match="not a zip archive"):
        V.load_file(garbage)
    other = V.save(model, {**meta, "kind": "classifier"}, tmp_path / "other.keras")
    with pytest.raises(MusicstyleError, match="expected 'velocity'"):
        V.load_file(other)
    good = V.save(model, meta, tmp_path / "good.keras")
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            dst.writestr(item, body[: len(body) // 2] if item.filename.endswith(".h5") else body)
    with pytest.raises(MusicstyleError, match="cannot load model"):
        V.load_file(broken)
    with pytest.raises(MusicstyleError, match="unknown genre"):
        V.load("pop")


STRATEGY_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, sys.argv[1])
    from musicstyle.training import device
    from musicstyle import velocity
    from musicstyle.data import Collection, Piece
    from musicstyle.core.midi import read_midi
    from test_velocity import piece_bytes
    devices = device.split_cpu(2)
    pieces = [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(piece_bytes(i % 3), name=f"{g}{i}"))
              for g in ("classical", "jazz") for i in range(6)]
    for p in pieces:
        p.performance.sha256 = p.name
    strategy = device.strategy("mirrored", devices)
    model, meta, history = velocity.train("jazz", "paper", collection=Collection("mem", pieces), epochs=2,
                                          window=16, batch=4, windows_per_epoch=8, strategy=strategy, verbose=0)
    import json, math
    print(json.dumps({"replicas": meta["replicas"], "devices": len(devices), "epochs": meta["epochs_run"],
                      "finite": all(math.isfinite(v) for v in history["loss"] + history["val_loss"])}))
""")


def test_training_with_a_strategy_over_two_logical_cpus():
    tests = str(Path(__file__).parent)
    proc = subprocess.run([sys.executable, "-c", STRATEGY_SCRIPT, tests], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": tests})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"replicas": 2, "devices": 2, "epochs": 2, "finite": True}


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"hello")
    assert main(["transfer", str(bad), "--to", "jazz", "-o", str(tmp_path / "x.mid")]) == 2
    assert capsys.readouterr().err == f"error: {bad}: not a MIDI file (no 'MThd' header)\n"
    assert not (tmp_path / "x.mid").exists()
    missing = tmp_path / "missing.mid"
    assert main(["transfer", str(missing), "--to", "classical", "-o", str(tmp_path / "x.mid")]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"
    assert main(["train", "velocity", "--genre", "jazz", "-o", str(tmp_path / "m.h5")]) == 2
    assert "must end in .keras" in capsys.readouterr().err
    assert main(["evaluate", "velocity", "--data", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nowhere'}: no such folder\n"
    assert main(["evaluate", "classifier", "--data", str(missing)]) == 2  # every --data alike
    assert capsys.readouterr().err == f"error: {missing}: no such folder\n"
    (tmp_path / "a.mid").write_bytes(b"MThd")
    assert main(["train", "velocity", "--genre", "jazz", "--data", str(tmp_path / "a.mid"), "-o", str(tmp_path / "m.keras")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'a.mid'}: is a file, not a folder\n"
    with pytest.raises(SystemExit):
        main(["transfer", str(bad), "--to", "pop", "-o", "x.mid"])


def test_cli_transfer_with_shipped_model_keeps_everything_but_velocities(tmp_path, capsys):
    src = tmp_path / "it's tiny.mid"
    src.write_bytes(piece_bytes())
    out, wav, png = tmp_path / "out.mid", tmp_path / "out.wav", tmp_path / "out.png"
    assert main(["transfer", str(src), "--to", "classical", "-o", str(out), "--wav", str(wav), "--plot", str(png)]) == 0
    a, b = read_midi(src), read_midi(out)
    assert out.stat().st_size == src.stat().st_size
    for field in ("start", "end", "pitch"):
        assert np.array_equal(a.notes[field], b.notes[field])
    assert np.array_equal(a.controls, b.controls) and np.array_equal(a.tempos, b.tempos)
    assert wav.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert [line.split(None, 1) for line in capsys.readouterr().out.splitlines()[:2]] == [["file", str(src)], ["midi", str(out)]]
    assert main(["transfer", str(src), "--to", "jazz", "-o", str(out), "--judge", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["notes"] == len(a.notes)
    for side, midi in (("before", a), ("after", read_midi(out))):
        v = midi.notes["velocity"]
        assert result["velocity"][side] == pytest.approx({"mean": float(v.mean()), "std": float(v.std())})
        judged = dict(result["judged"][side])
        assert judged.pop("verdict") == max(judged, key=judged.get) and set(judged) == {"classical", "jazz", "unrelated"}
        assert sum(judged.values()) == pytest.approx(1, abs=0.002)
    from musicstyle import dynamics

    before = {k: v for k, v in result["judged"]["before"].items() if k != "verdict"}
    assert before == pytest.approx(dynamics.verdict(src.read_bytes()), rel=1e-6, abs=1e-9)
    assert result["judged"]["caution"] == dynamics.caution(a)  # a tiny piece: too short to judge


def test_cli_transfer_of_several_files_into_a_folder(tmp_path, capsys):
    a, b, bad = tmp_path / "a.mid", tmp_path / "sub" / "b.mid", tmp_path / "bad.mid"
    b.parent.mkdir()
    a.write_bytes(piece_bytes())
    b.write_bytes(piece_bytes(shift=2))
    bad.write_bytes(b"hello")
    out = tmp_path / "out"
    assert main(["transfer", str(a), str(bad), str(b), "--to", "jazz", "--out-dir", str(out), "--wav", "--plot", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {bad}: not a MIDI file (no 'MThd' header)\n"
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [(r["file"], r["midi"]) for r in results] == [(str(a), str(out / "a_to_jazz.mid")), (str(b), str(out / "b_to_jazz.mid"))]
    assert [r["wav"] for r in results] == [str(out / "a_to_jazz.wav"), str(out / "b_to_jazz.wav")]  # a path, nothing else
    assert {r["audio_backend"] for r in results} <= {"fluidsynth", "plain"}
    assert sorted(p.name for p in out.iterdir()) == [f"{n}_to_jazz.{e}" for n in "ab" for e in ("mid", "png", "wav")]
    for src in (a, b):
        moved = read_midi(out / f"{src.stem}_to_jazz.mid")
        assert np.array_equal(moved.notes["pitch"], read_midi(src).notes["pitch"])
    # -o with --wav and no name: the audio beside it
    assert main(["transfer", str(a), "--to", "classical", "-o", str(tmp_path / "one.mid"), "--wav"]) == 0
    assert (tmp_path / "one.wav").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["x.mid", "y.mid", "-o", "z.mid"], "z.mid: -o names one file: give --out-dir DIR for 2 inputs"),
    (["x.mid"], "-o/--out-dir: give one"),
    (["x.mid", "-o", "z.mid", "--out-dir", "d"], "-o/--out-dir: give one"),
    (["x.mid", "--out-dir", "d", "--wav", "w.wav"], "--wav/--plot: with --out-dir they take no name"),
    (["x.mid", "sub/x.mid", "--out-dir", "d"], "d/x_to_jazz.mid: two inputs of one name would be written here"),
])
def test_cli_transfer_outputs_are_settled_before_any_work(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["transfer", *argv, "--to", "jazz"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")
    assert list(tmp_path.iterdir()) == []


def test_evaluate_json_on_held_out_real_pieces(tpd_folder, capsys, monkeypatch):
    monkeypatch.setenv("MUSICSTYLE_QUICK", "0")  # the whole held-out side, also under make test
    assert main(["evaluate", "velocity", "--data", str(tpd_folder), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["learned_from"].startswith("1 of the 70 pieces are public files the shipped models were trained or chosen on")
    for genre in ("classical", "jazz"):
        r = result[genre]
        assert {"onsets", "rmse", "rmse_mean_baseline", "rmse_ratio", "pearson_r", "rmse_paper", "within_piece_rmse",
                "within_piece_r"} <= set(r)
        assert r["within_piece_r"] > r["figures"]["pitch_mean_baseline"]["within_piece_r"]
        assert r["pieces"] == 35 and r["onsets"] > 50_000
        assert r["no_dynamics"] == {"classical": 1, "jazz": 0}[genre]  # "02. Christe Eleison", a score as exported
        # the bars on TPD's held-out pieces, and the improved model beats the paper's architecture
        assert r["rmse_ratio"] <= {"classical": 0.78, "jazz": 0.90}[genre] and r["rmse"] < r["rmse_paper"]


def test_a_routes_draw_is_what_transfer_adds_to_the_mean():
    perf = read_midi(piece_bytes())
    for arch in ("improved", "paper"):
        model, meta = V.load("jazz", arch)
        pred = V.predict_notes(model, meta, perf).astype(np.float64)
        for route in V.ROUTES if arch == "improved" else ("mean", "texture"):
            draw = V.route_draw(model, meta, perf, route)
            assert np.array_equal(V.transferred_velocities(model, meta, perf, route=route), np.clip(np.rint(pred + draw), 1, 127))
            assert draw.any() == (route != "mean")
    with pytest.raises(MusicstyleError, match="unknown route"):
        V.route_draw(model, meta, perf, "loud")


def test_evaluate_velocity_prints_a_table_per_genre(tmp_path, capsys):
    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        for i in range(2):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(piece_bytes(shift=i))
    flat = smf(track([(0, on(60, 64)), (0, on(64, 64)), (480, off(60)), (0, off(64)), (0, on(67, 64)), (480, off(67))]))
    (tmp_path / "classical" / "score.mid").write_bytes(flat)  # one velocity for every note: measured, and said
    assert main(["evaluate", "velocity", "--data", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "{" not in out and "classical: 3 pieces (1 with one velocity for every note)" in out and "jazz: 2 pieces," in out
    assert "classical improved: 100%" in err and "jazz paper: 100%" in err  # a bar per model, on stderr
    from musicstyle.figures.velocity import LEGEND

    assert " ".join(out.split()).endswith(" ".join(LEGEND.split())) and "velocity units" in LEGEND  # what the columns mean
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--json"]) == 0
    assert "100%" not in capsys.readouterr().err  # not for a script reading the JSON (stderr is no terminal here)
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert rows[0] == ["model", "RMSE", "MAE", "r", "within", "within", "r", "ratio"]
    assert {r[0] for r in rows} >= {"improved", "paper", "mean_baseline", "pitch_mean_baseline"}
    assert all(r[-1] == "1.000" for r in rows if r[0] == "mean_baseline")


def test_evaluate_velocity_names_each_file_it_could_not_read_and_each_piece_it_left_out(tmp_path, capsys):
    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        (tmp_path / genre / f"{genre}.mid").write_bytes(piece_bytes())
    (tmp_path / "jazz" / "broken.mid").write_bytes(b"not midi")
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["skipped"] == 1 and result["skipped_files"] == {"jazz/broken.mid": "not a MIDI file (no 'MThd' header)"}
    assert result["jazz"]["pieces"] == 1
    assert main(["evaluate", "velocity", "--data", str(tmp_path)]) == 0
    assert re.search(r"\n  jazz/broken\.mid +not a MIDI file", capsys.readouterr().out)
    (tmp_path / "jazz" / "broken.mid").unlink()
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["skipped"] == 0 and "skipped_files" not in result and "left_out" not in result["jazz"]
    # a piece read but with nothing to measure is named with the reason too
    (tmp_path / "jazz" / "high.mid").write_bytes(smf(track([(0, on(100, 80)), (480, off(100))])))
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["jazz"]["pieces"] == 1 and result["jazz"]["left_out"] == {"jazz/high.mid": "no notes in the key range 32-88"}
    assert main(["evaluate", "velocity", "--data", str(tmp_path)]) == 0
    assert "\n  left out jazz/high.mid: no notes in the key range 32-88" in capsys.readouterr().out


def test_evaluate_velocity_per_piece_adds_up_to_the_whole(tmp_path, capsys):
    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        for i in range(3):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(piece_bytes(shift=i))
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--per-piece", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for genre in ("classical", "jazz"):
        r, rows = result[genre], result[genre]["per_piece"]
        assert [p["name"] for p in rows] == [f"{genre}{i}" for i in range(3)]
        onsets = np.array([p["onsets"] for p in rows])
        assert onsets.sum() == r["onsets"]
        for key, whole in (("rmse", "rmse"), ("rmse_mean_baseline", "rmse_mean_baseline")):  # onset-weighted
            assert np.sqrt(np.sum(onsets * np.array([p[key] for p in rows]) ** 2) / onsets.sum()) == pytest.approx(r[whole], abs=0.01)
        levels = np.array([p["level_error"] for p in rows])
        within = np.array([p["within_piece_rmse"] for p in rows])
        assert np.array([p["rmse"] for p in rows]) ** 2 == pytest.approx(levels ** 2 + within ** 2, abs=0.05)
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--per-piece"]) == 0
    out = capsys.readouterr().out
    assert "classical, piece by piece:" in out and "jazz, piece by piece:" in out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("  jazz")] == ["jazz0", "jazz1", "jazz2"]


def test_evaluate_velocity_by_group_splits_the_whole_by_recording_source(tmp_path, capsys):
    quantised = piece_bytes()
    live = smf(track([(d + 7 if d else d, e) for d, e in [  # pedalled, onsets off the grid: the soft group
        (0, tempo(500_000)), (0, cc(64, 127)), (0, on(60, 80)), (0, on(48, 50)), (0, on(100, 33)), (240, off(60)),
        (0, on(64, 90)), (240, off(64)), (0, off(48)), (0, on(62, 70)), (120, cc(64, 0)), (360, off(62)), (0, off(100)),
        (0, on(72, 20)), (480, off(72))]]))
    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        for i, data in enumerate((quantised, live, quantised, live)):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(data)
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--by-group", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for genre in ("classical", "jazz"):
        r, groups = result[genre], result[genre]["by_group"]
        assert list(groups) == ["quantised", "soft"] and [g["pieces"] for g in groups.values()] == [2, 2]
        onsets = np.array([g["onsets"] for g in groups.values()])
        assert onsets.sum() == r["onsets"]
        for key in ("rmse", "rmse_mean_baseline"):  # onset-weighted
            squares = onsets * np.array([g[key] for g in groups.values()]) ** 2
            assert np.sqrt(squares.sum() / onsets.sum()) == pytest.approx(r[key], abs=0.01)
        for g in groups.values():
            assert g["rmse_ratio"] == pytest.approx(g["rmse"] / g["rmse_mean_baseline"], abs=1e-3)
            assert g["rmse"] ** 2 >= g["within_piece_rmse"] ** 2 - 0.05
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--by-group"]) == 0
    out = capsys.readouterr().out
    assert "classical, by recording-source group:" in out and "jazz, by recording-source group:" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("  quantised", "  soft"))] == [
        ["quantised", "2"], ["soft", "2"]] * 2


def test_within_piece_figures_leave_out_each_pieces_level():
    from musicstyle.velocity.evaluate import metrics

    rng = np.random.default_rng(0)
    soft, loud = rng.normal(50, 10, 400), rng.normal(90, 10, 400)
    shaped = metrics([(soft, soft - soft.mean() + 70), (loud, loud - loud.mean() + 70)])  # right shape, wrong levels
    assert shaped["within_piece_r"] == 1.0 and shaped["within_piece_rmse"] == 0.0 and shaped["pearson_r"] < 0.5
    levels = metrics([(soft, rng.permutation(soft)), (loud, rng.permutation(loud))])  # right levels, no shape
    assert abs(levels["within_piece_r"]) < 0.1 and levels["pearson_r"] > 0.8
    assert metrics([(soft, np.full_like(soft, 50.0))])["within_piece_r"] == 0.0
    assert metrics([])["within_piece_r"] == 0.0


def test_texture_draw_is_seeded_and_has_the_fitted_statistics():
    chord = np.repeat(np.arange(20_000), 2)  # 20,000 chords of two notes
    texture = {"sigma_note": 0.0, "sigma_chord": 10.0, "rho": 0.6}
    a = V.sample_texture(texture, chord, seed=[0, 1])
    assert np.array_equal(a, V.sample_texture(texture, chord, seed=[0, 1]))
    assert not np.array_equal(a, V.sample_texture(texture, chord, seed=[1, 1]))
    assert np.array_equal(a[::2], a[1::2])  # no note noise: a chord's notes share its value
    series = a[::2]
    assert series.std() == pytest.approx(10.0, rel=0.05)
    assert np.corrcoef(series[1:], series[:-1])[0, 1] == pytest.approx(0.6, abs=0.03)
    b = V.sample_texture({"sigma_note": 5.0, "sigma_chord": 0.0, "rho": 0.0}, chord, seed=0)
    assert b.std() == pytest.approx(5.0, rel=0.05) and abs(np.corrcoef(b[::2], b[1::2])[0, 1]) < 0.03
    assert V.sample_texture(texture, np.zeros(0, np.int64)).shape == (0,)


def test_fit_texture_recovers_a_known_texture(monkeypatch):
    rng = np.random.default_rng(0)
    truth = {"sigma_note": 6.0, "sigma_chord": 9.0, "rho": 0.7}
    prepared = V.Prepared([])
    per_piece = []
    for i in range(8):
        size = rng.integers(1, 4, 1500)  # chords of 1-3 notes
        chord = np.repeat(np.arange(len(size)), size)
        residual = V.sample_texture(truth, chord, seed=i) + 20.0 * i  # each piece its own loudness error
        pred = rng.uniform(40, 80, len(chord))
        per_piece.append((pred + residual, pred, np.zeros(len(chord), np.int64)))
        prepared.chord.append(chord)
        prepared.column.append(np.zeros(len(chord), np.int64))
    monkeypatch.setattr(TEXTURE, "onset_predictions", lambda model, p: per_piece)
    fit = V.fit_texture(None, prepared)
    assert fit["pieces"] == 8
    assert fit["sigma_note"] == pytest.approx(6.0, rel=0.05)
    assert fit["sigma_chord"] == pytest.approx(9.0, rel=0.08)
    assert fit["rho"] == pytest.approx(0.7, abs=0.05)


def test_transferred_velocities_mean_or_with_texture(tiny_model):
    model, meta = tiny_model
    perf = read_midi(piece_bytes())
    mean = V.transferred_velocities(model, meta, perf)  # no texture in the metadata: the mean
    assert mean.tolist() == np.clip(np.rint(V.predict_notes(model, meta, perf)), 1, 127).tolist()
    textured = {**meta, "texture": {"sigma_note": 8.0, "sigma_chord": 12.0, "rho": 0.5}}
    a = V.transferred_velocities(model, textured, perf, seed=0)
    assert np.array_equal(a, V.transferred_velocities(model, textured, perf, seed=0))
    assert not np.array_equal(a, mean) and not np.array_equal(a, V.transferred_velocities(model, textured, perf, seed=1))
    assert np.all((a >= 1) & (a <= 127)) and np.all(a == np.rint(a))
    assert np.array_equal(V.transferred_velocities(model, textured, perf, texture=False), mean)
    out = read_midi(V.transfer_bytes(model, piece_bytes(), "t.mid", textured, seed=0))
    assert out.notes["velocity"].tolist() == a.astype(int).tolist()


def test_cli_transfer_seed_and_no_texture(tmp_path):
    src = tmp_path / "p.mid"
    src.write_bytes(piece_bytes())
    outs = {}
    for name, extra in (("a", []), ("b", []), ("c", ["--seed", "3"]), ("mean", ["--no-texture"])):
        outs[name] = tmp_path / f"{name}.mid"
        assert main(["transfer", str(src), "--to", "jazz", "-o", str(outs[name]), *extra]) == 0
    v = {k: read_midi(p).notes["velocity"].tolist() for k, p in outs.items()}
    assert v["a"] == v["b"] and v["a"] != v["c"] and v["mean"] != v["a"]
    model, meta = V.load("jazz")
    assert v["mean"] == np.clip(np.rint(V.predict_notes(model, meta, read_midi(src))), 1, 127).astype(int).tolist()


def _tiny_collection():
    from musicstyle.data import Collection, Piece

    pieces = [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(piece_bytes(i % 3), name=f"{g}{i}"))
              for g in ("classical", "jazz") for i in range(6)]
    for p in pieces:
        p.performance.sha256 = f"{hash(p.name) & 0xFFFFFFFF:08x}"
    return Collection("mem", pieces)


def test_training_several_members_gives_one_averaging_model(tmp_path):
    model, meta, history = V.train("jazz", "improved", collection=_tiny_collection(), epochs=2, window=8, batch=2,
                                   windows_per_epoch=4, members=2, verbose=0)
    assert meta["members"] == 2 and sorted(set(history["member"])) == [0, 1] and V.is_note_model(model)
    assert set(meta["texture"]) == {"sigma_note", "sigma_chord", "rho", "pieces"}
    perf = read_midi(piece_bytes())
    x, f = note_features(perf)[None], V.piece_input(perf)[None]
    inner = [layer for layer in model.layers if layer.name.startswith("velocity_improved_")]
    assert len(inner) == 2
    expected = np.mean([_np(m([x, f])) for m in inner], axis=0)
    np.testing.assert_allclose(_np(model([x, f])), expected, rtol=1e-5)
    loaded, _ = V.load_file(V.save(model, meta, tmp_path / "avg.keras"))
    np.testing.assert_allclose(_np(loaded([x, f])), expected, rtol=1e-5)


def test_bench_times_both_architectures_on_real_data(tpd_folder, monkeypatch):
    monkeypatch.setenv("MUSICSTYLE_QUICK", "0")  # the real densest held-out piece, also under make test
    out = bench_velocity(tpd_folder, windows=4, batch=2)
    assert out["windows_timed"] == 4 and out["five_minute_notes"] > 1000
    assert TIMED == ("improved", "paper")  # the StyleNet-style model is compared in evaluate velocity
    for arch in TIMED:
        r = out[arch]
        assert r["train_s_per_epoch"] > 0 and 0 < r["inference_s_5min"] < 30 and r["transfer_file_s"] > 0
        assert r["inference_layer_by_layer_s_5min"] > 0 and r["graph_speedup"] > 0
    assert out["improved"]["shipped_networks"] == V.load("classical")[1].get("members", 1)
    assert out["inference_ok"] == (max(out[a][k] for a in TIMED for k in ("inference_s_5min", "transfer_file_s")) <= 2.0)


def test_a_member_far_behind_the_best_is_left_out(monkeypatch):
    monkeypatch.setattr(TRAIN, "KEEP_WITHIN", 1.0)  # only the best member is within 1.0 of the best
    model, meta, history = V.train("jazz", "improved", collection=_tiny_collection(), epochs=1, window=8, batch=2,
                                   windows_per_epoch=4, members=2, verbose=0)
    assert meta["members_trained"] == 2 and meta["members"] == 1 and len(meta["member_val_rmse"]) == 2
    best = int(np.argmin(meta["member_val_rmse"])) + 1
    assert meta["members_kept"] == [best] and meta["best_val_rmse"] == min(meta["member_val_rmse"])
    assert not any(layer.name == "mean" for layer in model.layers) and V.is_note_model(model)


class _TrainerSpy:
    """Stands in for :func:`musicstyle.training.trainer.train`: records each call and its result; ``stop_call``
    interrupts that call (1-based) after its first epoch, as a Ctrl-C would."""

    def __init__(self, stop_call=None):
        from musicstyle.training import trainer

        self.real, self.args, self.calls, self.results, self.stop_call = trainer.train, [], [], [], stop_call

    def __call__(self, *args, **kwargs):
        self.args.append(args)
        self.calls.append(kwargs)
        if len(self.calls) == self.stop_call:
            def interrupt(epoch, row, model):
                raise KeyboardInterrupt

            kwargs = {**kwargs, "on_epoch_end": interrupt}
        out = self.real(*args, **kwargs)
        self.results.append(out)
        return out


def test_training_goes_through_the_one_trainer(monkeypatch):
    from musicstyle.training import trainer

    spy = _TrainerSpy()
    monkeypatch.setattr(trainer, "train", spy)
    model, meta, history = V.train("jazz", "improved", collection=_tiny_collection(), epochs=2, window=8, batch=2,
                                   windows_per_epoch=4, members=2, patience=5, seed=7, verbose=0)
    assert len(spy.calls) == 2 and [c["seed"] for c in spy.calls] == [7, 8]
    schedule = spy.calls[0]["schedule"]
    assert (schedule.halve_after, schedule.revert_on_halve, schedule.patience, schedule.batch_size) == (2, True, 5, 2)
    rows = [r for t in spy.results for r in t.history]
    assert history["loss"] == [r["loss"] for r in rows] and history["val_loss"] == [r["val_loss"] for r in rows]
    assert history["member"] == [0, 0, 1, 1] and meta["epochs_run"] == 4
    # every epoch draws fresh random windows, moved by a transposition; validation windows are fixed, not moved
    build, draw, loss, (vx, vy) = spy.args[0][:4]
    assert loss is V.masked_mse and V.is_note_model(build())
    (a, _), _ = draw(0, np.random.default_rng([7, 0]))
    (b, _), _ = draw(1, np.random.default_rng([7, 1]))
    assert a.shape == b.shape == (4, 8, len(NOTE_FEATURES)) and not np.array_equal(a, b)
    played = {0.0, 48.0, 60.0, 61.0, 62.0, 64.0, 72.0, 100.0}
    assert set(np.unique(vx[0][..., 0])) <= played and not set(np.unique(a[..., 0])) <= played


def _tiny_folder(root: Path) -> Path:
    for g in ("classical", "jazz"):
        (root / g).mkdir(parents=True)
        for i in range(6):
            (root / g / f"{g}{i}.mid").write_bytes(piece_bytes(i))
    return root


def test_cli_train_resumes_from_its_checkpoint_dir(tmp_path, monkeypatch, capsys):
    from musicstyle.training import trainer

    data, ckpt, out = _tiny_folder(tmp_path / "data"), tmp_path / "ckpt", tmp_path / "m.keras"
    args = ["train", "velocity", "--genre", "jazz", "--data", str(data), "--epochs", "2", "--members", "2",
            "--windows-per-epoch", "4", "--batch", "2", "--strategy", "default", "--checkpoint-dir", str(ckpt), "-o", str(out)]
    first = _TrainerSpy(stop_call=2)  # member 1 finishes, member 2 is interrupted after its first epoch
    monkeypatch.setattr(trainer, "train", first)
    assert main(args) == 130 and not out.exists()
    assert (ckpt / "member-1" / "done.npz").is_file() and list((ckpt / "member-2").glob("checkpoint-*.npz"))
    again = _TrainerSpy()
    monkeypatch.setattr(trainer, "train", again)
    capsys.readouterr()
    assert main(args) == 0
    # member 1 is read back, member 2 resumes at its second epoch
    assert len(again.calls) == 1 and again.results[0].resumed_at_epoch == 1
    model, meta = V.load_file(out)
    assert meta["history"]["member"] == [0, 0, 1, 1] and meta["members_trained"] == 2 and "test" in meta
    assert meta["history"]["loss"][:2] == [round(r["loss"], 6) for r in first.results[0].history]
    assert not list(ckpt.rglob("*.npz"))
    assert ["saved", str(out)] in [line.split() for line in capsys.readouterr().out.splitlines()]


def test_cli_train_names_each_piece_it_leaves_out(tmp_path, capsys):
    from musicstyle.data import split_names

    data, out = _tiny_folder(tmp_path / "data"), tmp_path / "m.keras"
    names = [f"jazz/{p.name}" for p in (data / "jazz").iterdir()]
    high = next(n for n in (f"jazz/high{i}.mid" for i in range(20))
                if n in split_names([*names, n], ["jazz"] * (len(names) + 1))["train"])
    (data / high).write_bytes(smf(track([(0, on(100, 80)), (480, off(100))])))  # read, but no note in the key range
    assert main(["train", "velocity", "--genre", "jazz", "--arch", "paper", "--data", str(data), "--epochs", "1",
                 "--windows-per-epoch", "4", "--batch", "2", "--strategy", "default", "-o", str(out)]) == 0
    assert f"\n  {high}  no notes in the key range 32-88\n" in capsys.readouterr().out
    assert V.load_file(out)[1]["left_out"] == {high: "no notes in the key range 32-88"}
    from test_classifier import learned_sides

    assert V.load_file(out)[1]["learned_sha256"] == learned_sides(data, "jazz")  # what evaluate's caution reads
    model, meta = V.load_file(out)  # a model started from another (--init) has learned what that one did, too
    init = V.save(model, {**meta, "learned_sha256": ["f" * 16]}, tmp_path / "init.keras")
    assert main(["train", "velocity", "--genre", "jazz", "--arch", "paper", "--data", str(data), "--epochs", "1", "--init", str(init),
                 "--windows-per-epoch", "4", "--batch", "2", "--strategy", "default", "-o", str(tmp_path / "again.keras")]) == 0
    assert V.load_file(tmp_path / "again.keras")[1]["learned_sha256"] == sorted([*learned_sides(data, "jazz"), "f" * 16])


def test_cli_train_writes_only_on_the_chief(tmp_path, monkeypatch, capsys):
    data, out = _tiny_folder(tmp_path / "data"), tmp_path / "m.keras"
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    assert main(["train", "velocity", "--genre", "jazz", "--arch", "paper", "--data", str(data), "--epochs", "1",
                 "--windows-per-epoch", "4", "--batch", "2", "--strategy", "default", "-o", str(out)]) == 0
    assert not out.exists() and ["saved", "-"] in [line.split() for line in capsys.readouterr().out.splitlines()]


def _mixed_collection():
    """The tiny collection with half its pieces moved off the 16th-note grid: ``quantised`` and ``soft`` groups."""
    collection = _tiny_collection()
    for p in collection.pieces[::2]:
        p.performance.notes["start"] += 7
        p.performance.notes["end"] += 7
    return collection


def test_loudness_played_inputs_leave_the_setup_features_out():
    from musicstyle.velocity.data import PIECE_INPUT_NAMES, SETUP_FEATURES, loudness_columns

    assert len(PIECE_INPUT_NAMES) == PIECE_INPUT and loudness_columns("all").all()
    played = loudness_columns("played")
    assert [n for n, used in zip(PIECE_INPUT_NAMES, played) if not used] == list(SETUP_FEATURES)
    with pytest.raises(MusicstyleError):
        loudness_columns("everything")
    prepared = V.Prepared([p.performance for p in _mixed_collection().pieces])
    for i, v in enumerate(prepared.velocity):  # piece loudness follows the on-grid share here
        v[:] = 40 + 40 * (i % 2)
    fit = fit_loudness(prepared, prepared, inputs="played", lambdas=(0.1,))
    assert fit["inputs"] == "played" and np.all(fit["w"][~played] == 0)
    assert np.any(fit_loudness(prepared, prepared, inputs="all", lambdas=(0.1,))["w"][~played] != 0)


def test_stylenet_model_is_a_bilstm_note_model_that_saves_and_loads(tmp_path):
    import keras

    assert V.ARCHS == ("improved", "paper", "stylenet") and V.NOTE_ARCHS == ("improved", "stylenet")
    keras.utils.set_random_seed(0)
    model = V.build_model("stylenet", mean_velocity=70.0, channels=8)
    assert V.is_note_model(model) and V.receptive_field("stylenet") == 0
    assert [type(layer).__name__ for layer in model.layers].count("Bidirectional") == 2
    x = np.zeros((1, 6, len(NOTE_FEATURES)), np.float32)
    x[0, :4, 0] = [60, 64, 67, 72]
    out = _np(model([x, np.zeros((1, PIECE_INPUT), np.float32)]))
    assert out.shape == (1, 6) and np.all(out[0, 4:] == 0) and np.all(np.abs(out[0, :4] - 70) < 5)
    whole = _np(model([x[:, :4], np.zeros((1, PIECE_INPUT), np.float32)]))[0]  # the backward LSTM sees the padding
    np.testing.assert_allclose(V.predict_whole(model, x[0, :4], np.zeros(PIECE_INPUT)), whole, atol=1e-4)
    meta = {"kind": "velocity", "genre": "jazz", "arch": "stylenet", "layout": PAPER.to_dict(), "train_mean": 70.0,
            "pitch_means": [70.0] * 57}
    loaded, back = V.load_file(V.save(model, meta, tmp_path / "s.keras"))
    assert back["arch"] == "stylenet"
    np.testing.assert_allclose(V.predict_whole(loaded, x[0, :4], np.zeros(PIECE_INPUT)), whole, atol=1e-4)
    assert V.pretrained_name("jazz", "stylenet") == "velocity_stylenet_jazz.keras"


def test_training_stylenet_without_a_group_and_measuring_on_it():
    collection = _mixed_collection()
    model, meta, _ = V.train("jazz", "stylenet", collection=collection, epochs=1, window=8, batch=2, windows_per_epoch=2,
                             channels=8, hold_out="soft", verbose=0)
    assert meta["arch"] == "stylenet" and meta["hold_out"] == "soft" and meta["loudness"]["inputs"] == "played"
    assert set(meta["spread"]) >= {"w", "b", "chord_share", "rho", "sigma"}
    # the 3 quantised jazz pieces remain: jazz1 and jazz3 train, jazz5 validates (jazz4, the test piece, is soft)
    assert (meta["train_pieces"], meta["validation_pieces"]) == (2, 1)
    result = V.evaluate(collection=collection, split="held-out", hold_out="soft", models={"jazz": {"s": (model, meta)}})
    assert result["hold_out"] == "soft" and result["jazz"]["pieces"] == 3
    assert result["jazz"]["trained_hold_out"] == "soft" and "s" in result["jazz"]["figures"]
    with pytest.raises(MusicstyleError, match="^mem: no jazz pieces in the train split outside the quantised group$"):
        V.train("jazz", "stylenet", collection=_tiny_collection(), epochs=1, hold_out="quantised", verbose=0)
    # holding the quantised pieces out takes jazz5, the one validation piece: never validated on the train side
    with pytest.raises(MusicstyleError, match="^mem: no jazz pieces in the validation split outside the quantised group "):
        V.train("jazz", "stylenet", collection=collection, epochs=1, hold_out="quantised", verbose=0)


def test_fit_spread_follows_the_notes_and_the_sampled_route(monkeypatch, tiny_model):
    rng = np.random.default_rng(0)
    prepared, per_piece = V.Prepared([]), []
    for i in range(6):
        notes = np.zeros((3000, len(NOTE_FEATURES)), np.float32)
        notes[:, 0] = rng.integers(40, 80, 3000)
        notes[:, 2] = rng.integers(0, 2, 3000)  # "top": the top notes vary three times as much
        residual = rng.standard_normal(3000) * np.where(notes[:, 2] > 0, 12.0, 4.0)
        pred = np.full(3000, 60.0)
        per_piece.append((pred + residual, pred, np.zeros(3000, np.int64)))
        prepared.notes.append(notes)
        prepared.column.append(np.zeros(3000, np.int64))
        prepared.chord.append(np.arange(3000) // 2)  # chords of two notes, each note its own noise
    monkeypatch.setattr(TEXTURE, "onset_predictions", lambda model, p: per_piece)
    texture = V.fit_texture(None, prepared)
    spread = V.fit_spread(None, prepared, texture)
    assert spread["pieces"] == 6 and spread["chord_share"] < 0.2
    sd = V.note_spread(spread, prepared.notes[0])
    top = prepared.notes[0][:, 2] > 0
    assert sd[top].mean() > 2 * sd[~top].mean()
    draw = V.sample_spread(spread, prepared.notes[0], prepared.chord[0], seed=1)
    assert np.array_equal(draw, V.sample_spread(spread, prepared.notes[0], prepared.chord[0], seed=1))
    assert draw[top].std() > 2 * draw[~top].std()
    model, meta = tiny_model
    perf = read_midi(piece_bytes())
    with pytest.raises(MusicstyleError, match="give it one with musicstyle train spread"):  # no spread in the metadata
        V.transferred_velocities(model, meta, perf, route="sampled")
    with pytest.raises(MusicstyleError):
        V.transferred_velocities(model, meta, perf, route="loudest")
    with pytest.raises(MusicstyleError, match="^paper: the sampled route needs a model of the notes"):  # not train spread
        V.transferred_velocities(*V.load("jazz", "paper"), perf, route="sampled")
    both = {**meta, "spread": spread, "texture": texture}
    sampled = V.transferred_velocities(model, both, perf, route="sampled")
    assert np.array_equal(sampled, V.transferred_velocities(model, both, perf, route="sampled"))
    assert not np.array_equal(sampled, V.transferred_velocities(model, both, perf, route="mean"))
    assert np.array_equal(V.transferred_velocities(model, both, perf, route="mean"),
                          V.transferred_velocities(model, both, perf, texture=False))
    assert np.array_equal(V.transferred_velocities(model, both, perf, route="texture"), V.transferred_velocities(model, both, perf))
    assert V.ROUTES == ("mean", "texture", "sampled")


def test_cli_transfer_route_mean_is_no_texture_and_texture_the_default(tmp_path):
    src = tmp_path / "p.mid"
    src.write_bytes(piece_bytes())
    outs = {}
    for name, extra in (("default", []), ("texture", ["--route", "texture"]), ("no", ["--no-texture"]), ("mean", ["--route", "mean"])):
        outs[name] = tmp_path / f"{name}.mid"
        assert main(["transfer", str(src), "--to", "jazz", "-o", str(outs[name]), *extra]) == 0
    v = {k: read_midi(p).notes["velocity"].tolist() for k, p in outs.items()}
    assert v["default"] == v["texture"] and v["no"] == v["mean"] and v["mean"] != v["texture"]


def test_cli_evaluate_model_files_on_a_held_out_group(tmp_path, capsys):
    model, meta, _ = V.train("jazz", "improved", collection=_mixed_collection(), epochs=1, window=8, batch=2,
                             windows_per_epoch=2, channels=8, hold_out="soft", verbose=0)
    path = V.save(model, meta, tmp_path / "jazz_no_soft.keras")
    data = _tiny_folder(tmp_path / "data")  # every file on the grid: none is soft
    assert main(["evaluate", "velocity", "--data", str(data), "--split", "held-out", "--hold-out", "quantised",
                 "--model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hold_out"] == "quantised" and result["jazz"]["pieces"] == 6
    assert result["jazz"]["trained_hold_out"] == "soft" and list(result["jazz"]["figures"])[0] == "jazz_no_soft"
    assert result["classical"]["trained_hold_out"] is None  # the shipped classical models
    assert main(["evaluate", "velocity", "--data", str(data), "--split", "held-out"]) == 2


def test_train_spread_gives_an_older_model_file_the_sampled_route(tpd_folder, tmp_path, capsys):
    from musicstyle.data import SPLIT_SEED, select
    from musicstyle.training.shipped import pretrained_path
    from musicstyle.velocity.data import pieces_of

    model, meta = V.load_file(pretrained_path(V.pretrained_name("jazz")))
    meta = {k: v for k, v in meta.items() if not k.startswith("spread")}  # as written before the spread existed
    old, out = tmp_path / "old.keras", tmp_path / "with_spread.keras"
    V.save(model, meta, old)
    perf = read_midi(piece_bytes(1))
    with pytest.raises(MusicstyleError, match="train spread"):
        V.transferred_velocities(model, meta, perf, route="sampled")
    assert main(["train", "spread", str(old), "--data", str(tpd_folder), "-o", str(out)]) == 0
    assert ["saved", str(out)] in [line.split() for line in capsys.readouterr().out.splitlines()]
    model2, meta2 = V.load_file(out)
    assert 0 < meta2["spread"]["pieces"] <= len(select(pieces_of(tpd_folder), "validation", "jazz", seed=SPLIT_SEED))
    assert meta2["spread"]["sigma"] > 0 and len(meta2["spread"]["w"]) == len(NOTE_FEATURES)
    assert {k: v for k, v in meta2.items() if not k.startswith("spread")} == meta  # nothing else changed
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)
    sampled = V.transferred_velocities(model2, meta2, perf, route="sampled")
    mean = V.transferred_velocities(model2, meta2, perf, route="mean")
    assert sampled.shape == mean.shape and np.all((sampled >= 1) & (sampled <= 127)) and not np.array_equal(sampled, mean)
    paper = pretrained_path(V.pretrained_name("jazz", "paper"))
    for args, reason in (([str(paper), "-o", str(tmp_path / "p.keras")], "only a note model"),
                         ([str(out), "-o", str(out)], "is also the input"), ([str(old), "-o", str(tmp_path / "x.h5")], ".keras")):
        assert main(["train", "spread", *args, "--data", str(tpd_folder)]) == 2
        assert reason in capsys.readouterr().err
    assert V.load("jazz")[1]["spread"] and V.load("classical")[1]["spread"]  # the shipped models carry one


def test_whole_piece_pass_is_one_graph_for_every_length_and_frees_its_model():
    import gc
    import weakref

    import keras

    from musicstyle.training.graph import compiled

    keras.utils.set_random_seed(0)
    for arch in V.ARCHS:
        model = V.build_model(arch, mean_velocity=70.0, channels=8)
        for n in (5, 37, 300):  # notes, or grid steps of the paper model
            if V.is_note_model(model):
                rows = np.zeros((n, len(NOTE_FEATURES)), np.float32)
                rows[:, 0] = 40 + np.arange(n) % 40
                piece = np.linspace(-1, 1, PIECE_INPUT).astype(np.float32)
                eager = _np(model([rows[None], piece[None]], training=False))[0]
                whole = V.predict_whole(model, rows, piece)
            else:
                rows = (np.random.default_rng(n).random((n, 2 * PAPER.columns)) < 0.1).astype(np.float32)
                eager = _np(model(np.pad(rows, ((0, -n % 256), (0, 0)))[None], training=False))[0, :n]
                whole = V.predict_whole(model, rows)
            np.testing.assert_allclose(whole, eager, atol=1e-3)
        assert compiled(model).graph.experimental_get_tracing_count() == 1, arch  # traced once for the three lengths
        gone = weakref.ref(model)
        del model
        gc.collect()
        assert gone() is None  # the compiled pass does not keep its model alive


def test_compiling_many_models_is_not_warned_about_as_retracing(caplog):
    import keras

    from musicstyle.training.graph import compiled

    models = [keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)]) for _ in range(8)]
    with caplog.at_level("WARNING"):
        for model in models:
            for n in (4, 9):
                assert compiled(model)(np.ones((1, n, 3))).shape == (1, n, 2)
    assert all(compiled(m).graph.experimental_get_tracing_count() == 1 for m in models)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_long_piece_names_keep_their_end_in_the_tables():
    from musicstyle.figures import clip_name

    name = "Disc 2 - Track 14 - Autumn Leaves (take 3)"
    assert clip_name(name, 20) == "...n Leaves (take 3)" and len(clip_name(name, 20)) == 20
    assert clip_name("ADIG01", 20) == "ADIG01"


@pytest.mark.parametrize("genre", ["classical", "jazz"])
def test_a_shipped_models_mean_reads_the_notes_never_the_velocities(genre):
    """The README's promise: a score exported with one velocity for every note gets the same dynamics."""
    model, meta = V.load(genre)
    flat = smf(track(sum([[(0, on(48 + i % 24, 80)), (240, off(48 + i % 24))] for i in range(300)], [])))
    played = smf(track(sum([[(0, on(48 + i % 24, 20 + (i * 37) % 100)), (240, off(48 + i % 24))] for i in range(300)], [])))
    a, b = (read_midi(V.transfer_bytes(model, data, "x.mid", meta, texture=False)).notes["velocity"] for data in (flat, played))
    assert np.array_equal(a, b) and a.std() > 0


@pytest.mark.parametrize("causal, kernel, field", [(True, 2, 8), (False, 3, 15)])
def test_dilation_figure_traces_the_receptive_field_of_one_output(causal, kernel, field):
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.figures.velocity import draw_dilations

    ax = draw_dilations((1, 2, 4), kernel=kernel, causal=causal, width=20)
    assert ax.get_title().endswith(f"receptive field {field} steps")
    inputs = ax.collections[-1].get_offsets()  # the input steps the output sees, in orange
    assert len(inputs) == field and (inputs[:, 1] == 0).all()
    assert inputs[:, 0].max() - inputs[:, 0].min() == field - 1  # a dense span


def test_cli_transfer_with_a_model_file_of_ones_own(tiny_model, tmp_path, capsys):
    """`transfer --model FILE` writes with that model (here one that plays about 100 everywhere), says so, and
    refuses a model of the other genre or beside --arch."""
    model, meta = tiny_model
    own = V.save(model, meta, tmp_path / "my jazz.keras")
    src = tmp_path / "piece.mid"
    src.write_bytes(piece_bytes())
    out = tmp_path / "out.mid"
    assert main(["transfer", str(src), "--to", "jazz", "--model", str(own), "--route", "mean", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model_file"] == str(own) and result["midi"] == str(out) and "model" not in result
    assert np.all(np.abs(read_midi(out).notes["velocity"].astype(float) - 100) < 15)
    assert main(["transfer", str(src), "--to", "classical", "--model", str(own), "-o", str(tmp_path / "c.mid")]) == 2
    assert capsys.readouterr().err == f"error: {own}: holds a jazz velocity model: give --to jazz (not classical)\n"
    assert not (tmp_path / "c.mid").exists()
    with pytest.raises(SystemExit):
        main(["transfer", str(src), "--to", "jazz", "--model", str(own), "--arch", "paper", "-o", str(out)])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["transfer", str(src), "--to", "jazz", "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "velocity_jazz.keras (shipped)"


def test_evaluate_velocity_says_which_pieces_ones_own_model_learned_from(tiny_model, tmp_path, capsys, monkeypatch):
    """A model trained here records the files it learned from; measured on them, the figures say so. The caution
    of the shipped model still measured for the other genre stays beside it."""
    import hashlib

    from musicstyle.data import learned
    from musicstyle.data.learned import LEARNED_KEY, learned_record

    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        for i in range(3):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(piece_bytes(shift=i + (genre == "jazz")))
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.glob("*/*.mid")}
    model, meta = tiny_model
    jazz = sorted((tmp_path / "jazz").iterdir())
    own = V.save(model, {**meta, LEARNED_KEY: learned_record(digest[p] for p in jazz[:2])}, tmp_path / "mine.keras")
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--model", str(own), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["learned_from"] == ("2 of the 3 pieces are files mine.keras was trained or chosen on, so its figures "
                                      "flatter it (--split test keeps to the held-out side of the same split)")
    # as if classical0.mid were a public file the shipped models learned from: the shipped classical model measured
    # it, and its caution comes first
    monkeypatch.setattr(learned, "learned_digests", lambda family="collection": frozenset({digest[tmp_path / "classical/classical0.mid"]}))
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--model", str(own), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["learned_from"].split("; ")
    assert notes[0].startswith("1 of the 3 pieces are public files the shipped models") and notes[1].startswith("2 of the 3")
    from musicstyle.training.shipped import pretrained_path

    with pytest.raises(MusicstyleError, match="a jazz velocity model, given for classical"):
        V.evaluate(tmp_path, models={"classical": {"mine": (model, meta)}})
    shipped = pretrained_path(V.pretrained_name("classical"))  # a shipped model given by its path is still shipped
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--model", str(shipped), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["learned_from"].startswith("1 of the 6 pieces are public files the shipped")


def test_every_package_loads_a_model_file_by_its_path(tmp_path):
    """velocity.load and dynamics.load take a file, as classifier.load, chords.load and tokens.load do."""
    from musicstyle import chords, classifier, dynamics, tokens
    from musicstyle.training.shipped import pretrained_path

    for load, name in ((V.load, "velocity_jazz.keras"), (dynamics.load, "dynamics_relations.keras"),
                       (classifier.load, "classifier.keras"), (chords.load, "chords_jazz.keras"), (tokens.load, "tokens_jazz.keras")):
        copy = tmp_path / f"my {name}"
        copy.write_bytes(pretrained_path(name).read_bytes())
        loaded = load(str(copy))
        assert loaded[1]["kind"] in ("velocity", "dynamics", "classifier", "chords", "tokens"), name
    with pytest.raises(MusicstyleError, match="holds a 'velocity' model, expected 'dynamics'"):
        dynamics.load(str(tmp_path / "my velocity_jazz.keras"))

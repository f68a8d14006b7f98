"""Velocity CNNs: masked loss, shapes, onset mask, transfer that changes only velocities, model files, CLI."""

import json
import os
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
from musicstyle.cli import main  # noqa: E402
from musicstyle.errors import MusicstyleError  # noqa: E402
from musicstyle.midi import read_midi, scan_events  # noqa: E402
from musicstyle.roll import PAPER, piano_roll  # noqa: E402


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
    x, y = V.features(roll), V.targets(roll)
    assert x.shape == (roll.steps, 118) and y.shape == (roll.steps, 57)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    struck = {(int(t), int(c) + 32, int(y[t, c])) for t, c in zip(*np.nonzero(y))}
    assert struck == {(0, 60, 80), (0, 48, 50), (4, 64, 90), (8, 60, 70), (16, 72, 20)}
    assert x[0, 57] == 1 and x[0, 59 + 57] == 1  # sustain pedal onset and held, input only


def test_piece_features_of_a_tiny_piece():
    f = V.piece_features(read_midi(piece_bytes()))
    # every onset and end on the 16th grid; median tempo 133.3 qpm; 2 tempo events in 1.3 s; pedal; 6 notes;
    # lengths 0.5 0.25 0.9 0.25 0.4 0.4 s (onsets 0 0 0 .25 .5 .9); onset times 0 .25 .5 .9; pitches 48 60 64 60 72 100
    lengths = [0.5, 0.25, 0.9, 0.25, 0.4, 0.4]
    expected = [1.0, np.log(60e6 / 450_000), np.log1p(2 / (1.3 / 60)), 1.0, np.log(6 / 1.3), 1.0,
                np.log(np.median(lengths)), 0.0, np.log(0.25 + 1e-3), 0.0, np.std([48, 60, 64, 60, 72, 100]) / 12, np.log(6 / 4)]
    np.testing.assert_allclose(f, expected, rtol=1e-5)
    prepared = V.Prepared([read_midi(piece_bytes(i % 3), name=str(i)) for i in range(4)])
    fit = V.fit_loudness(prepared, prepared)
    assert fit["lambda"] in (1.0, 10.0, 100.0, 1000.0) and np.all(np.isfinite(fit["w"])) and len(fit["w"]) == 118 + len(V.PIECE_FEATURES)


@pytest.mark.parametrize("arch", ["paper", "improved"])
def test_models_output_velocity_only_at_key_onsets(arch):
    import keras

    keras.utils.set_random_seed(0)
    model = V.build_model(arch, PAPER, 60.0)
    call = (lambda x: model([x, np.zeros((len(x), len(V.PIECE_FEATURES)), np.float32)], training=False)) if arch == "improved" else (lambda x: model(x, training=False))
    x = np.zeros((2, 96, 118), np.float32)
    x[0, ::5, 10] = 1  # key onsets
    x[0, :, 69] = 1  # held
    x[1, 7, 57] = 1  # a pedal onset is not a key onset
    out = _np(call(x))
    assert out.shape == (2, 96, 57)
    assert np.all(out[x[..., :57] == 0] == 0)
    assert np.all(out[0, ::5, 10] > 0) and not out[1].any()


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


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    model = V.improved_model(PAPER, 100.0)
    meta = {"kind": "velocity", "genre": "jazz", "arch": "improved", "layout": PAPER.to_dict(), "train_mean": 100.0,
            "pitch_means": [100.0] * 57}
    return model, meta


def test_predict_notes_keeps_order_and_out_of_range_notes(tiny_model):
    model, meta = tiny_model
    perf = read_midi(piece_bytes())
    pred = V.predict_notes(model, meta, perf)
    assert pred.shape == (len(perf.notes),) and pred.dtype == np.float32
    outside = perf.notes["pitch"] == 100
    assert pred[outside].tolist() == [33.0]
    assert np.all(np.abs(pred[~outside] - 100) < 15)


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
    assert b.notes["velocity"][a.notes["pitch"] == 100].tolist() == [33]
    assert np.all((b.notes["velocity"] >= 1) & (b.notes["velocity"] <= 127))
    assert not np.array_equal(a.notes["velocity"], b.notes["velocity"])


def test_transfer_of_bad_bytes_names_the_file(tiny_model):
    with pytest.raises(MusicstyleError, match="notes.txt: not a MIDI file"):
        V.transfer_bytes(tiny_model[0], b"hello", "notes.txt")


def test_save_load_round_trip_with_metadata(tmp_path, tiny_model):
    model, meta = tiny_model
    path = V.save(model, meta, tmp_path / "v.keras")
    loaded, meta2 = V.load_file(path)
    assert {k: meta2[k] for k in meta} == meta and "musicstyle_version" in meta2
    perf = read_midi(piece_bytes())
    x = V.features(piano_roll(perf, PAPER))[None].astype(np.float32)
    f = V.piece_features(perf)[None]
    np.testing.assert_allclose(_np(loaded([x, f])), _np(model([x, f])), rtol=1e-5, atol=1e-4)
    # transfer without meta uses the layout remembered at load time
    assert V.transfer_bytes(loaded, piece_bytes(), "t.mid") == V.transfer_bytes(model, piece_bytes(), "t.mid", meta)


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
    from musicstyle import device, velocity
    from musicstyle.datasets import Collection, Piece
    from musicstyle.midi import read_midi
    from test_velocity import piece_bytes
    devices = device.split_cpu(2)
    pieces = [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(piece_bytes(i % 3), name=f"{g}{i}"))
              for g in ("classical", "jazz") for i in range(6)]
    for p in pieces:
        p.performance.sha256 = p.name
    strategy = device.strategy(devices)
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
    assert capsys.readouterr().out.splitlines()[0].split() == ["midi", str(out)]


def test_evaluate_json_on_real_pieces(tpd_folder, capsys):
    assert main(["evaluate", "velocity", "--data", str(tpd_folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for genre in ("classical", "jazz"):
        r = result[genre]
        assert {"onsets", "rmse", "rmse_mean_baseline", "rmse_ratio", "pearson_r", "rmse_paper"} <= set(r)
        assert r["onsets"] > 1000 and r["rmse"] < r["rmse_mean_baseline"] and r["pearson_r"] > 0.2

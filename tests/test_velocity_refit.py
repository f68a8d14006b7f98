"""A trained note model's loudness estimate replaced (``with_loudness``) and refitted (``musicstyle train loudness``)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from midibytes import off, on, smf, tempo, track  # noqa: E402
from musicstyle import velocity as V  # noqa: E402
from musicstyle.cli import main  # noqa: E402
from musicstyle.core.midi import read_midi  # noqa: E402
from musicstyle.errors import MusicstyleError  # noqa: E402
from musicstyle.training.ensemble import average_model  # noqa: E402
from musicstyle.data import SPLIT_SEED, select  # noqa: E402
from musicstyle.velocity.data import PIECE_INPUT, loudness_columns, pieces_of  # noqa: E402
from musicstyle.velocity.evaluate import onset_predictions  # noqa: E402


def _piece(shift: int) -> bytes:
    """A few chords and a melody note, moved by ``shift`` semitones."""
    ev = [(0, tempo(500_000)), (0, on(48 + shift, 50)), (0, on(60 + shift, 80)), (240, off(60 + shift)), (0, on(64 + shift, 90)),
          (240, off(64 + shift)), (0, off(48 + shift)), (0, on(67 + shift, 70)), (480, off(67 + shift))]
    return smf(track(ev))


def _loudness(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"mu": rng.normal(0, 1, PIECE_INPUT), "var": rng.uniform(0.5, 2, PIECE_INPUT), "w": rng.normal(0, 8, PIECE_INPUT)}


def _inputs(count: int = 3):
    prepared = V.Prepared([read_midi(_piece(i), name=str(i)) for i in range(count)])
    return [(prepared.notes[i][None], prepared.piece[i][None]) for i in range(count)]


def _outputs(model, inputs) -> np.ndarray:
    return np.concatenate([np.asarray(model(list(x), training=False)).ravel() for x in inputs])


@pytest.mark.parametrize("arch", ["improved", "stylenet"])
def test_with_loudness_equals_the_model_built_with_that_estimate(arch, tmp_path):
    import keras

    inputs = _inputs()

    def built(loudness):  # the same seed: the same weights but for the estimate
        keras.utils.set_random_seed(0)
        return V.build_model(arch, mean_velocity=60.0, loudness=loudness, channels=8)

    first, second = built(_loudness(1)), built(_loudness(2))
    before = _outputs(first, inputs)
    moved = V.with_loudness(first, _loudness(2))
    np.testing.assert_allclose(_outputs(moved, inputs), _outputs(second, inputs), atol=1e-4)
    np.testing.assert_array_equal(_outputs(first, inputs), before)  # the original is unchanged
    assert np.abs(_outputs(moved, inputs) - before).max() > 0.5  # and the level did move
    V.save(moved, {"kind": "velocity", "layout": {}, "train_mean": 60.0}, tmp_path / "moved.keras")
    again, _ = V.load_file(tmp_path / "moved.keras")  # the new standardisation is in the file
    np.testing.assert_allclose(_outputs(again, inputs), _outputs(second, inputs), atol=1e-4)


def test_with_loudness_reaches_every_member_of_a_seed_ensemble():
    import keras

    inputs = _inputs(2)
    members, targets = [], []
    for seed in (0, 1):
        for target, loudness in ((targets, _loudness(2)), (members, _loudness(1))):
            keras.utils.set_random_seed(seed)
            target.append(V.improved_model(60.0, channels=8, loudness=loudness, name=f"m{seed}"))
    moved = V.with_loudness(average_model(members), _loudness(2))
    np.testing.assert_allclose(_outputs(moved, inputs), _outputs(average_model(targets), inputs), atol=1e-4)
    with pytest.raises(MusicstyleError, match="no piece loudness estimate"):
        V.with_loudness(V.build_model("paper"), _loudness(2))


def test_train_loudness_refits_the_estimate_on_played_inputs_and_keeps_the_network(tpd_folder, tmp_path, capsys):
    import json

    from musicstyle.training.shipped import pretrained_path

    model, meta = V.load_file(pretrained_path(V.pretrained_name("jazz")))
    meta = {**meta, "loudness": {**meta["loudness"], "inputs": "all"}}
    old, out = tmp_path / "old.keras", tmp_path / "played.keras"
    V.save(V.with_loudness(model, {"mu": np.zeros(PIECE_INPUT), "var": np.ones(PIECE_INPUT), "w": np.full(PIECE_INPUT, 3.0)}),
           meta, old)
    penalties = (10.0, 1000.0, 1e4)
    code = main(["train", "loudness", str(old), "--data", str(tpd_folder), *[f"--loudness-penalty={p}" for p in penalties],
                 "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and ["saved", str(out)] in [line.split() for line in printed.splitlines()]
    assert "validation_rmse_by_penalty" in printed and "| 1000: " in printed
    new, new_meta = V.load_file(out)
    loud = new_meta["loudness"]
    assert loud["inputs"] == "played" and loud["replaced"]["inputs"] == "all"
    collection = pieces_of(tpd_folder)
    for side in ("train", "validation"):  # the pieces of the folder given, not those the network was trained on
        assert loud[f"{side}_pieces"] == len(V.Prepared(select(collection, side, "jazz", seed=SPLIT_SEED)))
    tried = {t["lambda"]: t["validation_rmse"] for t in loud["tried"]}
    assert set(tried) == set(penalties) and tried[loud["lambda"]] == min(tried.values()) == loud["validation_rmse"]
    assert loud["validation_rmse"] < loud["validation_rmse_before"]  # the bad estimate (every weight 3) is undone
    assert len(new.weights) == len(model.weights)
    for w, before in zip(new.weights, model.weights):  # the network is the same; only the estimate's kernel changed
        if not w.path.endswith("loudness/kernel"):
            np.testing.assert_array_equal(np.asarray(w), np.asarray(before))
    kernel = next(np.asarray(w) for w in new.weights if w.path.endswith("loudness/kernel")).ravel()
    played = loudness_columns("played")
    assert np.all(kernel[~played] == 0) and np.any(kernel[played] != 0)
    test = V.Prepared(select(collection, "test", "jazz", seed=SPLIT_SEED))
    err = np.concatenate([p - t for t, p, _ in onset_predictions(new, test)])
    assert new_meta["test"]["rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)), abs=1e-3)  # the stored test figures are its own  # the stored test figures are the model's
    assert json.dumps(V.load_file(old)[1]["loudness"]) == json.dumps(meta["loudness"])  # the original file is kept
    loo = tmp_path / "loo.keras"
    assert main(["train", "loudness", str(old), "--data", str(tpd_folder), *[f"--loudness-penalty={p}" for p in penalties],
                 "--choose", "leave-one-out", "-o", str(loo)]) == 0
    loud = V.load_file(loo)[1]["loudness"]
    assert loud["chosen_by"].startswith("leave-one-out")
    assert loud["loo_piece_rmse"] == min(t["loo_piece_rmse"] for t in loud["tried"])
    paper = pretrained_path(V.pretrained_name("jazz", "paper"))
    for args, reason in (([str(paper), "-o", str(tmp_path / "p.keras")], "only a note model"),
                         ([str(out), "-o", str(out)], "is also the input"), ([str(old), "-o", str(tmp_path / "x.h5")], ".keras")):
        assert main(["train", "loudness", *args, "--data", str(tpd_folder)]) == 2
        assert reason in capsys.readouterr().err
    with pytest.raises(MusicstyleError, match="unknown way"):
        V.refit_loudness(old, tmp_path / "y.keras", data=tpd_folder, choose="test")

"""The dynamics discriminator: standardisation, features on hand-built velocities, verdicts, CLI errors."""

import json

import numpy as np
import pytest

from midibytes import off, on, smf, track
from musicstyle import dynamics as D
from musicstyle.cli import main
from musicstyle.errors import MusicstyleError
from musicstyle.core.midi import read_midi


def melody(velocities, step=240, pitches=None):
    """One note after another (480 ticks per quarter, 120 qpm: 0.25 s apart)."""
    pitches = pitches or [60 + (i % 12) for i in range(len(velocities))]
    events = []
    for p, v in zip(pitches, velocities):
        events += [(0, on(p, int(v))), (step, off(p))]
    return smf(track(events))


def chord_piece(chords):
    """Chords of (pitch, velocity) pairs struck together, one after another."""
    events = []
    for chord in chords:
        events += [(0, on(p, v)) for p, v in chord]
        events += [(480 if i == 0 else 0, off(p)) for i, (p, _) in enumerate(chord)]
    return smf(track(events))


def test_standardise_exact():
    assert np.allclose(D.standardise([10, 20, 30]), [-np.sqrt(1.5), 0, np.sqrt(1.5)])
    assert np.allclose(D.standardise([1, 2, 3]), [-1, 0, 1])  # spread under MIN_STD: divided by 1
    assert np.allclose(D.standardise([10, 30]), [-1, 1])
    # a constant piece stays finite: divided by MIN_STD, not by zero
    assert np.array_equal(D.standardise([64, 64, 64]), [0, 0, 0])
    v = np.array([20, 45, 33, 90, 61])
    assert np.allclose(D.standardise(2 * v + 10), D.standardise(v))


def test_chords_group_near_simultaneous_onsets():
    t = np.array([0.0, 0.01, 0.02, 0.5, 0.52, 0.6, 2.0])
    assert D.chords(t).tolist() == [0, 0, 0, 1, 1, 2, 3]
    assert D.chords(np.zeros(0)).tolist() == []


def test_onset_jump_on_alternating_velocities():
    # z alternates -1, +1: every successive jump is 2 piece standard deviations
    perf = read_midi(melody([40, 80] * 8))
    assert D.onset_jump(perf) == pytest.approx(2.0)
    # a steady crescendo: z rises by the same small step each onset
    v = np.arange(30, 110, 5)
    expected = 5 / v.std()
    assert D.onset_jump(read_midi(melody(v))) == pytest.approx(expected)


def test_top_note_emphasis_on_built_chords():
    # C-E-G with the top note 30 louder than the others, then an evenly voiced chord
    perf = read_midi(chord_piece([[(60, 60), (64, 60), (67, 90)], [(62, 70), (65, 70), (69, 70)]]))
    d = D.dynamics_of(perf)
    assert d.chord.tolist() == [0, 0, 0, 1, 1, 1]
    assert d.top.tolist() == [False, False, True, False, False, True]
    assert d.bottom.tolist() == [True, False, False, True, False, False]
    assert D.top_note_emphasis(perf, standardised=False) == pytest.approx((30 + 0) / 2)
    assert D.top_note_emphasis(perf) == pytest.approx(15 / np.std([60, 60, 90, 70, 70, 70]))
    # single notes have no chord: NaN, not a made-up number
    assert np.isnan(D.top_note_emphasis(read_midi(melody([50, 60, 70]))))


def test_segment_features_on_hand_built_piece():
    perf = read_midi(chord_piece([[(60, 40), (64, 40), (67, 100)]] * 4 + [[(60, 70)]] * 4))
    d = D.dynamics_of(perf)
    f = dict(zip(D.FEATURES, D.piece_features(d)[0]))
    z = d.z
    assert f["top_emphasis"] == pytest.approx(z[2] - z[0])
    assert f["bass_emphasis"] == pytest.approx(z[0] - (z[1] + z[2]) / 2)
    assert f["onset_jump"] == pytest.approx(np.abs(np.diff(z)).mean())
    means = [z[:3].mean()] * 4 + [z[12]] * 4
    assert f["chord_jump"] == pytest.approx(np.abs(np.diff(means)).mean())
    assert f["seg_std"] == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(D.piece_features(d)).all()


def test_segments_cover_the_piece():
    assert D.segments(100) == [slice(0, 100)]
    s = D.segments(1100, 512, 256)
    assert [x.start for x in s] == [0, 256, 512, 588] and s[-1].stop == 1100


def test_shuffle_keeps_the_velocities():
    d = D.dynamics_of(read_midi(melody(list(range(20, 100, 3)))))
    s = D.shuffled(d, seed=1)
    assert sorted(s.velocity) == sorted(d.velocity) and not np.array_equal(s.velocity, d.velocity)


def test_summarise_counts_shares():
    def row(genre, real, own, transfer):
        obs = {"top_emphasis_z": 0.1, "top_emphasis_velocity": 1.0, "onset_jump_z": 0.5}
        return {"name": "x", "genre": genre, "real": {"cnn": real}, "own": {"cnn": own},
                "transfer": {"cnn": transfer}, "shuffled": {"cnn": 0.9},
                **{k + "_obs": obs for k in ("real", "own", "transfer", "shuffled")}}

    rows = [row("jazz", 0.9, 0.8, 0.2), row("jazz", 0.4, 0.7, 0.6), row("classical", 0.1, 0.2, 0.7)]
    out = D.summarise(rows, "cnn")
    assert out["discriminator_accuracy"] == pytest.approx(2 / 3)
    j2c = out["jazz_to_classical"]
    assert (j2c["pieces"], j2c["share_before"], j2c["moved_share"], j2c["control_share"]) == (2, 0.5, 0.5, 1.0)
    c2j = out["classical_to_jazz"]
    assert (c2j["pieces"], c2j["share_before"], c2j["moved_share"], c2j["control_share"]) == (1, 0.0, 1.0, 1.0)
    assert out["shuffled_jazz_judged_jazz"] == 1.0 and out["shuffled_classical_judged_classical"] == 0.0


@pytest.mark.parametrize("kind", sorted(D.SHIPPED))
def test_shipped_discriminators_blind_to_level_and_spread(kind):
    model, meta = D.load(kind)
    assert meta["kind"] == "dynamics" and meta["arch"] == kind
    rng = np.random.default_rng(0)
    v = rng.integers(5, 59, 600)
    pitches = list(rng.integers(40, 90, 600))
    a = D.p_jazz(model, meta, read_midi(melody(v, pitches=pitches)))
    b = D.p_jazz(model, meta, read_midi(melody(2 * v + 10, pitches=pitches)))
    assert 0.0 < a < 1.0
    assert a == pytest.approx(b, abs=1e-5)


def test_verdict_two_probabilities_summing_to_one():
    data = chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(40)])
    out = D.verdict(data)
    assert set(out) == {"classical", "jazz"}
    assert 0.0 <= out["jazz"] <= 1.0 and out["classical"] + out["jazz"] == pytest.approx(1.0)
    assert D.verdict(read_midi(data)) == pytest.approx(out)


def test_verdict_bad_input_names_the_reason():
    with pytest.raises(MusicstyleError, match="not a MIDI file"):
        D.verdict(b"hello")


def test_cli_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["evaluate", "transfer", "--data", str(missing), "--json"]) == 2
    assert capsys.readouterr().err == f"error: {missing}: not a folder\n"
    empty = tmp_path / "empty"
    (empty / "jazz").mkdir(parents=True)
    assert main(["evaluate", "transfer", "--data", str(empty), "--json"]) == 2
    assert "no readable classical pieces" in capsys.readouterr().err
    assert main(["evaluate", "transfer", "--data", str(empty), "--split", "test", "--json"]) == 2
    assert "no held-out classical pieces" in capsys.readouterr().err
    assert main(["train", "dynamics", "-o", str(tmp_path / "model.h5")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'model.h5'}: model files must end in .keras\n"


def test_unknown_kind():
    with pytest.raises(MusicstyleError, match="unknown discriminator kind"):
        D.load("svm")
    assert json.loads(json.dumps(D.FEATURES))  # plain names, stored in model metadata


def test_train_command_on_a_tiny_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for genre, jumpy in (("classical", 3), ("jazz", 25)):
        (tmp_path / genre).mkdir()
        for i in range(4):
            v = np.clip(64 + np.cumsum(rng.normal(0, 2, 300)) * 0.5 + rng.normal(0, jumpy, 300), 5, 120)
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(melody(v, step=120))
    out = tmp_path / "d.keras"
    args = ["train", "dynamics", "--data", str(tmp_path), "--kind", "stats", "--real-only", "--epochs", "2", "-o", str(out)]
    assert main(args) == 0
    assert "saved" in capsys.readouterr().out
    model, meta = D.load_model_file(out)
    assert meta["arch"] == "stats" and meta["trained_on"] == "real" and meta["features"] == list(D.FEATURES)
    assert 0.0 <= D.p_jazz(model, meta, read_midi((tmp_path / "jazz" / "jazz0.mid").read_bytes())) <= 1.0


def test_ensemble_is_the_mean_log_odds_of_its_members():
    perf = read_midi(chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(40)]))
    d = D.dynamics_of(perf)
    members = {k: D.load(k) for k in D.SHIPPED}
    model, meta = D.load(D.ENSEMBLE)
    assert meta["arch"] == D.ENSEMBLE and meta["members"] == list(D.SHIPPED) and D.TRUSTED == D.ENSEMBLE
    expected = np.mean([D.jazz_logit(m, mm, d) for m, mm in members.values()])
    assert D.jazz_logit(model, meta, d) == pytest.approx(expected)
    assert D.verdict(perf)["jazz"] == pytest.approx(1 / (1 + np.exp(-expected)))


def test_texture_alone_is_the_training_mean_plus_the_draw():
    from musicstyle import velocity as V

    perf = read_midi(melody(list(range(30, 90, 2))))
    meta = {"train_mean": 60.0, "texture": {"sigma_note": 3.0, "sigma_chord": 7.0, "rho": 0.4}}
    v = D.texture_alone(meta, perf)
    draw = V.sample_texture(meta["texture"], D.chords(perf.seconds(perf.notes["start"])), V.piece_seed(perf))
    assert v.tolist() == np.clip(np.rint(60 + draw), 1, 127).tolist()
    assert np.array_equal(v, D.texture_alone(meta, perf)) and v.std() > 2

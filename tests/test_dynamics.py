"""The dynamics discriminator: standardisation, features on hand-built velocities, verdicts, training, CLI errors."""

import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from midibytes import off, on, smf, track
from musicstyle import dynamics as D
from musicstyle.cli import main
from musicstyle.errors import MusicstyleError
from musicstyle.core.midi import read_midi
from musicstyle.core.notes import chord_ids


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
    assert chord_ids(t).tolist() == [0, 0, 0, 1, 1, 2, 3]
    assert chord_ids(np.zeros(0)).tolist() == []
    # the judge groups a piece's onsets with the same function
    perf = read_midi(chord_piece([[(60, 60), (64, 60)], [(62, 70)]]))
    assert D.dynamics_of(perf).chord.tolist() == chord_ids(perf.seconds(perf.notes["start"])).tolist()


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
    f = dict(zip(D.FEATURES, D.segment_table(d)[0]))
    z = d.z
    assert f["top_emphasis"] == pytest.approx(z[2] - z[0])
    assert f["bass_emphasis"] == pytest.approx(z[0] - (z[1] + z[2]) / 2)
    assert f["onset_jump"] == pytest.approx(np.abs(np.diff(z)).mean())
    means = [z[:3].mean()] * 4 + [z[12]] * 4
    assert f["chord_jump"] == pytest.approx(np.abs(np.diff(means)).mean())
    assert f["seg_std"] == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(D.segment_table(d)).all()


def test_segments_cover_the_piece():
    assert D.segment_slices(100) == [slice(0, 100)]
    s = D.segment_slices(1100, 512, 256)
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


def test_verdict_three_probabilities_summing_to_one():
    data = chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(40)])
    out = D.verdict(data)
    assert set(out) == set(D.OUTCOMES) == {"classical", "jazz", "unrelated"} and D.TRUSTED == "relations"
    assert all(0.0 <= p <= 1.0 for p in out.values()) and sum(out.values()) == pytest.approx(1.0)
    assert D.verdict(read_midi(data)) == pytest.approx(out)


def test_caution_without_dynamics_or_below_the_fewest_notes_a_verdict_needs():
    perf = read_midi(chord_piece([[(60, 50 + i % 7), (64, 60)] for i in range(D.MIN_NOTES // 2)]))
    assert D.MIN_NOTES == 256 and len(perf.notes) == D.MIN_NOTES and D.caution(perf) is None
    cut = D.first_notes(perf, D.MIN_NOTES - 1)
    assert np.array_equal(cut.notes, perf.notes[:-1]) and np.array_equal(cut.tempos, perf.tempos)
    assert D.caution(cut).startswith(f"only {D.MIN_NOTES - 1} notes")
    flat = read_midi(chord_piece([[(60, 70), (64, 70)] for i in range(D.MIN_NOTES)]))
    assert not D.has_dynamics(flat) and D.has_dynamics(perf)
    assert D.caution(flat).startswith("the piece has one velocity for every note") and "notes:" not in D.caution(flat)
    assert "; only 6 notes" in D.caution(D.first_notes(flat, 6))
    assert "; only 1 note:" in D.caution(D.first_notes(flat, 1))
    assert D.verdict(flat) == {"classical": 0.0, "jazz": 0.0, "unrelated": 1.0}  # its velocities relate to nothing


def test_judge_command_gives_the_verdict_and_its_caution(tmp_path, capsys):
    path = tmp_path / "short piece.mid"
    path.write_bytes(chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(40)]))
    assert main(["judge", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    perf = read_midi(path.read_bytes())
    assert out["file"] == str(path) and out["notes"] == 120 and out["caution"] == D.caution(perf)
    assert {k: out[k] for k in D.OUTCOMES} == pytest.approx(D.verdict(perf), rel=1e-6, abs=1e-9)  # --json keeps every digit
    assert out["verdict"] == max(D.OUTCOMES, key=out.get)  # the outcome in a word
    assert main(["judge", str(tmp_path / "none.mid")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none.mid'}: no such file\n"
    cnn = Path(D.__file__).parent.parent / "pretrained" / "dynamics_cnn.keras"
    assert main(["judge", str(path), "--relations", str(cnn)]) == 2
    assert "not a relations judge (a cnn discriminator)" in capsys.readouterr().err
    own = tmp_path / "my judge.keras"
    own.write_bytes((cnn.parent / "dynamics_relations.keras").read_bytes())
    assert main(["judge", str(path), "--relations", str(own), "--json"]) == 0
    judged = json.loads(capsys.readouterr().out)
    assert judged["judge_file"] == str(own) and "judge" not in judged  # the file read, named as every command names it
    # several files: one verdict each (text: blocks apart), the missing one reported, status 2 at the end
    assert main(["judge", str(path), str(tmp_path / "none.mid"), str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {tmp_path / 'none.mid'}: no such file\n"
    blocks = captured.out.rstrip("\n").split("\n\n")
    assert len(blocks) == 2 and blocks[0] == blocks[1] and blocks[0].startswith(f"file       {path}")
    assert main(["judge", str(path), str(path), "--relations", str(cnn)]) == 2
    assert capsys.readouterr().err.count("error: ") == 1


def test_stretch_verdicts_average_to_the_pieces_and_are_drawn(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.figures.dynamics import plot_stretches

    rng = np.random.default_rng(5)
    perf = read_midi(chord_piece([[(60 + int(rng.integers(0, 12)), int(rng.integers(30, 100))), (72, int(rng.integers(30, 100)))]
                                  for _ in range(450)]))
    judge, meta = D.load(D.TRUSTED)
    rows = D.stretch_probabilities(judge, meta, perf)
    assert [r["notes"] for r in rows] == [[0, 299], [300, 599], [600, 899]] and rows[0]["start_s"] == 0.0
    assert rows[1]["start_s"] == pytest.approx(perf.seconds(perf.notes["start"][300]), abs=0.01)
    mean = np.mean([np.log([r[o] for o in D.OUTCOMES]) for r in rows], axis=0)
    assert np.allclose(np.exp(mean) / np.exp(mean).sum(), [D.outcome_probabilities(judge, meta, perf)[o] for o in D.OUTCOMES])
    flat = read_midi(chord_piece([[(60, 70), (64, 70)]] * 200))
    assert [r["unrelated"] for r in D.stretch_probabilities(judge, meta, flat)] == [1.0]
    with pytest.raises(MusicstyleError, match="^cnn: stretches are read by a relations judge"):
        D.stretch_probabilities(*D.load("cnn"), perf)
    ax = plot_stretches({"a": rows, "b": rows})
    assert len(ax.patches) == 4  # P(jazz) and P(classical) of each version
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    many = [{"start_s": 10.0 * i, "end_s": 10.0 * i + 9, "jazz": 0.5, "classical": 0.3, "unrelated": 0.2} for i in range(100)]
    assert {p.get_linewidth() for p in plot_stretches({"long": many}).patches} == {0.8}  # narrow steps, thin outline
    assert len(plot_stretches({"none": [], "a": rows}).patches) == 2  # a version without a stretch draws nothing
    path = tmp_path / "p.mid"
    path.write_bytes(chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(200)]))
    assert main(["judge", str(path), "--stretches", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["notes"] for r in out["stretches"]] == [[0, 299], [300, 599]]
    assert main(["judge", str(path), "--stretches"]) == 0
    assert re.search(r"\n  0\.0-\d+\.\d s +classical \d\.\d\d  jazz \d\.\d\d  unrelated \d\.\d\d\n", capsys.readouterr().out)


def test_pieces_without_dynamics_are_left_out_of_the_judges_figures(tmp_path, monkeypatch, capsys):
    from musicstyle.data import load_folder

    for genre in D.GENRES:
        (tmp_path / genre).mkdir()
        (tmp_path / genre / "played.mid").write_bytes(melody(list(range(30, 110, 3)), step=120))
        (tmp_path / genre / "flat.mid").write_bytes(melody([64] * 27, step=120))
    collection = D.judgeable(load_folder(tmp_path, genres=D.GENRES))
    assert sorted(p.path for p in collection.pieces) == ["classical/played.mid", "jazz/played.mid"]
    assert sorted((s.path, s.reason) for s in collection.skipped) == [("classical/flat.mid", D.NO_DYNAMICS),
                                                                      ("jazz/flat.mid", D.NO_DYNAMICS)]
    result = D.evaluate_command(tmp_path, progress=False)
    assert result["no_dynamics"] == 2 and result["skipped"] == 0 and result["pieces"] == 2  # a count, 0 when none
    assert result["skipped_files"] == {"classical/flat.mid": D.NO_DYNAMICS, "jazz/flat.mid": D.NO_DYNAMICS}
    assert main(["evaluate", "transfer", "--data", str(tmp_path)]) == 0
    assert re.search(r"\nskipped_files\n  classical/flat\.mid +no dynamics to judge\n", capsys.readouterr().out)
    (tmp_path / "jazz" / "played.mid").unlink()
    result = D.evaluate_command(tmp_path, progress=False)  # one genre: its direction only
    assert result["pieces"] == 1 and result["no_dynamics"] == 2 and result["real_classical_judged_classical"] in (0, 1)
    assert result["classical_to_jazz"]["pieces"] == 1 and result["jazz_to_classical"]["pieces"] == 0
    assert result["jazz_to_classical"]["moved_share"] is None and result["real_jazz_judged_jazz"] is None
    (tmp_path / "classical" / "played.mid").unlink()
    with pytest.raises(MusicstyleError, match="no pieces with dynamics"):
        D.evaluate_command(tmp_path, progress=False)


def test_verdicts_by_length_on_real_pieces(tpd_folder):
    pieces = D.held_out(tpd_folder, per_genre=2).pieces
    short, whole = D.verdicts_by_length(pieces, lengths=(400, None))
    assert short["notes"] == 400 and short["pieces"] == sum(len(p.performance.notes) >= 400 for p in pieces)
    assert whole["notes"] is None and whole["pieces"] == len(pieces) >= 3
    judge, meta = D.load(D.TRUSTED)
    assert whole["real_correct"] == np.mean([D.judged_as(judge, meta, p.performance) == p.genre for p in pieces])
    assert all(0.0 <= row[k] <= 1.0 for row in (short, whole) for k in ("real_correct", "shuffled_as_a_genre", "moved"))


def test_verdict_bad_input_names_the_reason():
    with pytest.raises(MusicstyleError, match="not a MIDI file"):
        D.verdict(b"hello")


def test_cli_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["evaluate", "transfer", "--data", str(missing), "--json"]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such folder\n"
    empty = tmp_path / "empty"
    (empty / "jazz").mkdir(parents=True)
    assert main(["evaluate", "transfer", "--data", str(empty), "--json"]) == 2
    assert f"error: {empty}: no MIDI files" in capsys.readouterr().err
    (empty / "jazz" / "one.mid").write_bytes(melody([50, 60, 70]))
    assert main(["train", "dynamics", "--data", str(empty), "-o", str(tmp_path / "m.keras")]) == 2
    assert "no readable classical pieces (need classical/ and jazz/ subfolders)" in capsys.readouterr().err
    assert main(["evaluate", "transfer", "--data", str(empty), "--split", "test", "--json"]) == 2
    assert "no held-out classical or jazz pieces" in capsys.readouterr().err
    assert main(["train", "dynamics", "-o", str(tmp_path / "model.h5")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'model.h5'}: model files must end in .keras\n"


def test_unknown_kind():
    with pytest.raises(MusicstyleError, match="unknown discriminator kind"):
        D.load("svm")
    assert json.loads(json.dumps(D.FEATURES))  # plain names, stored in model metadata


def tiny_folder(root, notes=300, n=6):
    """``n`` smooth (classical) and ``n`` jumpy (jazz) melodies of ``notes`` notes under ``root`` (6: the fewest
    that give each genre a validation piece)."""
    rng = np.random.default_rng(0)
    for genre, jumpy in (("classical", 3), ("jazz", 25)):
        (root / genre).mkdir()
        for i in range(n):
            v = np.clip(64 + np.cumsum(rng.normal(0, 2, notes)) * 0.5 + rng.normal(0, jumpy, notes), 5, 120)
            (root / genre / f"{genre}{i}.mid").write_bytes(melody(v, step=120))


def test_train_command_on_a_tiny_folder(tmp_path, capsys):
    tiny_folder(tmp_path)
    (tmp_path / "jazz" / "notes.mid").write_bytes(b"not midi")  # named, as every train command names what it skips
    out, checkpoints = tmp_path / "d.keras", tmp_path / "checkpoints"
    args = ["train", "dynamics", "--data", str(tmp_path), "--kind", "stats", "--real-only", "--epochs", "2",
            "--hidden", "0", "--strategy", "default", "--checkpoint-dir", str(checkpoints), "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "saved" in printed and re.search(r"\n  jazz/notes\.mid +not a MIDI file", printed) and "train_pieces" in printed
    assert re.search(r"\nskipped +1\n", printed)  # counted, as every command that reads a folder counts them
    assert not list(checkpoints.glob("*"))  # the finished run leaves no checkpoint behind
    model, meta = D.load_model_file(out)
    assert meta["arch"] == "stats" and meta["trained_on"] == "real" and meta["features"] == list(D.FEATURES)
    from test_classifier import learned_sides

    assert meta["learned_sha256"] == learned_sides(tmp_path)
    assert "hidden" not in [layer.name for layer in model.layers]  # --hidden 0: logistic regression (default 32 units)
    assert 0.0 <= D.p_jazz(model, meta, read_midi((tmp_path / "jazz" / "jazz0.mid").read_bytes())) <= 1.0


def test_train_refuses_a_folder_too_small_for_a_validation_side(tmp_path, capsys):
    tiny_folder(tmp_path, n=3)  # 3 pieces a genre: all on the train side, none to choose the epoch on
    out = tmp_path / "d.keras"
    assert main(["train", "dynamics", "--data", str(tmp_path), "--kind", "stats", "--real-only", "--epochs", "1",
                 "--strategy", "default", "-o", str(out)]) == 2
    assert capsys.readouterr().err.endswith(f"\nerror: {tmp_path}: no classical pieces in the validation split (the "
                                            "validation side is 10% of each genre's files, rounded: a genre needs 6 files for one)\n")
    assert not out.exists()
    classical = tmp_path / "classical"
    for i in range(3, 6):  # six classical pieces give classical a validation piece; jazz still has none
        (classical / f"classical{i}.mid").write_bytes((classical / f"classical{i - 3}.mid").read_bytes())
    with pytest.raises(MusicstyleError, match="no jazz pieces in the validation split"):
        D.train("stats", data=tmp_path, epochs=1, own_model=False, verbose=0)


def test_a_relations_judges_validation_figures_read_its_stretches(tmp_path, monkeypatch):
    T = importlib.import_module("musicstyle.dynamics.train")
    tiny_folder(tmp_path, notes=240)
    metas = []
    accuracy = T.piece_accuracy
    monkeypatch.setattr(T, "piece_accuracy", lambda m, meta, items: metas.append(meta) or accuracy(m, meta, items))
    model, meta = D.train("relations", data=tmp_path, epochs=3, quick=True, verbose=0, segment_notes=60)
    assert metas and all(m["segment_notes"] == meta["segment_notes"] == 60 for m in metas)  # as the saved judge reads
    assert meta["validation_outcome_accuracy"] == max(h["val_outcome_accuracy"] for h in meta["history"])
    assert 0.0 <= meta["validation_unrelated_accuracy"] <= 1.0


def test_a_relations_judge_of_several_members_averages_their_log_probabilities(tmp_path):
    from scipy.special import log_softmax

    from musicstyle.training.modelfile import save_model

    tiny_folder(tmp_path, notes=240)
    checkpoints = tmp_path / "checkpoints"
    model, meta = D.train("relations", data=tmp_path, epochs=2, quick=True, verbose=0, segment_notes=60, members=2,
                          checkpoint_dir=checkpoints)
    assert meta["members"] == 2 and len(meta["member_validation_outcome_accuracy"]) == 2
    assert [h["member"] for h in meta["history"]] == [1, 1, 2, 2]
    assert meta["validation_piece_accuracy"] == meta["validation_outcome_accuracy"]  # the ensemble's own
    assert not list(checkpoints.glob("*"))  # no member's checkpoint is left behind
    x = np.random.default_rng(0).normal(size=(5, len(D.RELATIONS))).astype("float32")
    members = [layer for layer in model.layers if layer.name.startswith("dynamics_relations_")]
    outputs = [log_softmax(np.asarray(m(x), np.float64), axis=1) for m in members]
    assert len(members) == 2 and not np.allclose(*outputs)  # seeds 0 and 1
    np.testing.assert_allclose(np.asarray(model(x)), np.mean(outputs, axis=0), atol=1e-5)
    save_model(model, tmp_path / "judge.keras", meta)
    loaded, loaded_meta = D.load_model_file(tmp_path / "judge.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.mean(outputs, axis=0), atol=1e-5)
    p = D.outcome_probabilities(loaded, loaded_meta, read_midi((tmp_path / "jazz" / "jazz0.mid").read_bytes()))
    assert set(p) == set(D.OUTCOMES) and abs(sum(p.values()) - 1) < 1e-9
    with pytest.raises(MusicstyleError, match="only for the relations judge"):
        D.train("cnn", data=tmp_path, members=2)


def test_an_interrupted_relations_ensemble_resumes_member_by_member(tmp_path, monkeypatch):
    from musicstyle.training import trainer

    (tmp_path / "data").mkdir()
    tiny_folder(tmp_path / "data", notes=240)
    real, seeds = trainer.train, []

    def interrupt(epoch, row, model):
        raise KeyboardInterrupt

    def spy(*args, **kwargs):
        seeds.append(kwargs["seed"])
        return real(*args, **({**kwargs, "on_epoch_end": interrupt} if len(seeds) == 2 else kwargs))

    monkeypatch.setattr(trainer, "train", spy)
    checkpoints = tmp_path / "checkpoints"
    options = dict(data=tmp_path / "data", epochs=2, quick=True, verbose=0, segment_notes=60, members=2,
                   checkpoint_dir=checkpoints)
    with pytest.raises(KeyboardInterrupt):  # member 2 is interrupted after its first epoch
        D.train("relations", **options)
    assert (checkpoints / "member-1" / "done.npz").is_file() and list((checkpoints / "member-2").glob("checkpoint-*"))
    seeds.clear()
    model, meta = D.train("relations", **options)
    assert seeds == [1]  # member 1 (seed 0) is read back; member 2 resumes at its second epoch
    assert [(h["member"], h["epoch"]) for h in meta["history"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert not list(checkpoints.glob("*"))


def test_a_judges_metadata_says_what_it_reads():
    from musicstyle.dynamics.train import _input_description

    assert _input_description("relations", 300) == ("onset velocities standardised over each stretch of about 300 "
                                                    "notes, related to the notes' attributes (standardised over the piece)")
    assert "over the piece, related" in _input_description("relations", None)
    assert _input_description("stats", None).endswith("-> segment statistics")
    assert _input_description("cnn", None) == "per-piece standardised onset velocities"


def test_train_dynamics_passes_segment_notes_only_when_given(tmp_path, monkeypatch, capsys):
    import musicstyle.dynamics as dyn

    calls = []
    monkeypatch.setattr(dyn, "train_command", lambda *a, **k: calls.append(k) or {"saved": "x"})
    out = str(tmp_path / "j.keras")
    assert main(["train", "dynamics", "--kind", "relations", "--segment-notes", "0", "--members", "3", "-o", out]) == 0
    assert main(["train", "dynamics", "--kind", "relations", "-o", out]) == 0
    assert calls[0]["segment_notes"] == 0 and "segment_notes" not in calls[1]  # the default is the package's
    assert calls[0]["members"] == 3 and calls[1]["members"] is None  # None: RELATIONS_MEMBERS for relations, else 1
    with pytest.raises(MusicstyleError, match="notes per segment"):
        D.train("relations", segment_notes=-1)
    import inspect

    from musicstyle.dynamics.train import train_command

    assert inspect.signature(train_command).parameters["segment_notes"].default == D.SEGMENT_NOTES
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "dynamics", "--help"])
    assert f"default: {D.SEGMENT_NOTES})" in " ".join(capsys.readouterr().out.split())  # the help says the package's default


def test_evaluate_transfer_prints_its_tables(tmp_path, capsys):
    for genre in D.GENRES:
        (tmp_path / genre).mkdir()
        for i in range(2):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(melody(list(range(30 + 5 * i, 110, 3)), step=120))
    assert main(["evaluate", "transfer", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["data", str(tmp_path)]
    for line in ("real pieces judged correctly", "jazz texture on the classical model -> jazz", "texture alone (no model) -> jazz",
                 "routes, judged by the trusted judge:", "on source", "classical_to_jazz"):
        assert line in out
    assert "{" not in out  # tables, not dictionaries
    assert re.search(rf"short_pieces +4 of 4 pieces have fewer than {D.MIN_NOTES} notes", out)  # melodies of at most 27 notes


def test_evaluate_transfer_per_piece_verdicts_give_the_shares(tmp_path, capsys):
    for genre in D.GENRES:
        (tmp_path / genre).mkdir()
        for i in range(3):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(melody(list(range(30 + 5 * i, 110, 3 + i)), step=120))
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--per-piece", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["per_piece"]
    assert sorted(r["name"] for r in rows) == sorted(f"{g}{i}" for g in D.GENRES for i in range(3))
    assert result["discriminator_accuracy"] == pytest.approx(np.mean([r["real"] == r["genre"] for r in rows]))
    for src, dst in (("jazz", "classical"), ("classical", "jazz")):
        rs, f = [r for r in rows if r["genre"] == src], result[f"{src}_to_{dst}"]
        assert all(r["target"] == dst and 0 <= r["p_target_after"] <= 1 for r in rs)
        for key, version, wanted in (("moved_share", "transfer", dst), ("control_share", "own", src),
                                     ("texture_alone_share", "texture_alone", dst), ("shuffled_share", "shuffled", dst),
                                     ("texture_on_source_model_share", "texture_on_source_model", dst)):
            assert f[key] == pytest.approx(np.mean([r[version] == wanted for r in rs])), key
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--per-piece"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("piece "))
    assert lines[head].split()[-1] == "P(target)" and len(lines) - head - 1 == len(rows)
    assert {line.split()[0] for line in lines[head + 1:]} == {r["name"] for r in rows}


def test_evaluate_transfer_by_group_gives_each_recording_sources_shares(tmp_path, capsys):
    for genre in D.GENRES:
        (tmp_path / genre).mkdir()
        for i in range(4):  # on the 16th grid (quantised), or off it with no pedal (no-pedal)
            velocities = list(range(30 + 5 * i, 110, 3 + i % 2))
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(melody(velocities, step=120 if i < 2 else 127))
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--by-group", "--per-piece", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {g: f["pieces"] for g, f in result["by_group"].items()} == {"quantised": 4, "no-pedal": 4}
    for group, names in (("quantised", {"0", "1"}), ("no-pedal", {"2", "3"})):
        f, rows = result["by_group"][group], [r for r in result["per_piece"] if r["name"][-1] in names]
        assert f["discriminator_accuracy"] == pytest.approx(np.mean([r["real"] == r["genre"] for r in rows]))
        for src, dst in (("jazz", "classical"), ("classical", "jazz")):
            rs = [r for r in rows if r["genre"] == src]
            assert f[f"{src}_to_{dst}"]["pieces"] == 2
            assert f[f"{src}_to_{dst}"]["moved_share"] == pytest.approx(np.mean([r["transfer"] == dst for r in rs]))
            assert f[f"{src}_to_{dst}"]["control_share"] == pytest.approx(np.mean([r["own"] == src for r in rs]))
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--by-group"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines().index("trusted judge, by recording-source group:") + 1
    assert out.splitlines()[head].split() == ["quantised", "(4)", "no-pedal", "(4)"]


def test_ensemble_is_the_mean_log_odds_of_its_members():
    perf = read_midi(chord_piece([[(60, 50 + i % 7), (64, 60), (67, 90 - i % 11)] for i in range(40)]))
    d = D.dynamics_of(perf)
    members = {k: D.load(k) for k in D.SHIPPED}
    model, meta = D.load(D.ENSEMBLE)
    assert meta["arch"] == D.ENSEMBLE and meta["members"] == list(D.SHIPPED)
    expected = np.mean([D.jazz_logit(m, mm, d) for m, mm in members.values()])
    assert D.jazz_logit(model, meta, d) == pytest.approx(expected)
    assert D.outcome_probabilities(model, meta, perf) == pytest.approx(
        {"classical": 1 / (1 + np.exp(expected)), "jazz": 1 / (1 + np.exp(-expected)), "unrelated": 0.0})


def test_texture_alone_is_the_training_mean_plus_the_draw():
    from musicstyle import velocity as V

    perf = read_midi(melody(list(range(30, 90, 2))))
    meta = {"train_mean": 60.0, "texture": {"sigma_note": 3.0, "sigma_chord": 7.0, "rho": 0.4}}
    v = D.texture_alone(meta, perf)
    draw = V.sample_texture(meta["texture"], chord_ids(perf.seconds(perf.notes["start"])), V.piece_seed(perf))
    assert v.tolist() == np.clip(np.rint(60 + draw), 1, 127).tolist()
    assert np.array_equal(v, D.texture_alone(meta, perf)) and v.std() > 2


def test_a_routes_draw_on_its_own_models_mean_is_the_transfer():
    perf = read_midi(melody(list(range(30, 90, 2))))
    for route in ("texture", "sampled"):
        target, mean = D.velocity_predictors(route=route)["jazz"], D.velocity_predictors(route="mean")["jazz"]
        drawn = np.clip(np.rint(mean(perf) + target.draw(perf)), 1, 127)  # the mean is stored rounded: within 1
        assert np.abs(drawn - target(perf)).max() <= 1 and np.mean(drawn == target(perf)) > 0.5
        assert target.draw(perf).std() > 2
    assert not D.velocity_predictors(route="mean")["jazz"].draw(perf).any()


def golden_piece():
    """834 onsets (three 512-onset segments), every third onset a three-note chord."""
    rng = np.random.default_rng(7)
    events = []
    for i in range(500):
        p, v = int(rng.integers(40, 80)), int(rng.integers(20, 110))
        chord = [(p, v), (p + 4, max(v - 15, 1)), (p + 7, min(v + 10, 127))] if i % 3 == 0 else [(p, v)]
        events += [(0, on(q, w)) for q, w in chord]
        events += [(120 if j == 0 else 0, off(q)) for j, (q, _) in enumerate(chord)]
    return smf(track(events))


#: P(jazz) of :func:`golden_piece` by each shipped judge, as the flat module ``musicstyle/dynamics.py`` gave it.
GOLDEN = {"cnn": 0.9704886925062637, "stats": 0.9772593116631813, "stats_raw": 0.8362044517268795,
          "ensemble": 0.9740883987772232}


@pytest.mark.parametrize("kind", sorted(GOLDEN))
def test_shipped_judges_give_the_same_verdicts(kind):
    perf = read_midi(golden_piece())
    assert D.segment_table(D.dynamics_of(perf)).shape == (3, len(D.FEATURES))
    model, meta = D.load(kind)
    assert D.p_jazz(model, meta, perf) == pytest.approx(GOLDEN[kind], abs=1e-7)
    assert D.load(kind)[0] is model or kind == D.ENSEMBLE  # loaded once (musicstyle.training.shipped)


class _Fake:
    """A stand-in velocity model: the played velocities moved by ``shift``, with a texture to draw."""

    texture = True

    def __init__(self, shift):
        self.shift = shift
        self.meta = {"train_mean": 64.0, "texture": {"sigma_note": 3.0, "sigma_chord": 7.0, "rho": 0.4}}

    def __call__(self, perf):
        return np.clip(perf.notes["velocity"].astype(np.float64) + self.shift, 1, 127)

    def draw(self, perf):
        return np.where(np.arange(len(perf.notes)) % 2, 4.0, -4.0)


#: The keys of ``evaluate transfer``'s figures, as the flat module wrote them.
SHARES = {"discriminator_accuracy", "real_classical_judged_classical", "shuffled_classical_judged_classical",
          "real_jazz_judged_jazz", "shuffled_jazz_judged_jazz", "shuffled_accuracy", "jazz_to_classical",
          "classical_to_jazz"}
DIRECTION = {"pieces", "share_before", "moved_share", "control_share", "texture_alone_share", "shuffled_share",
             "texture_on_source_model_share", "mean_p_target_before", "mean_p_target_after"}
OBSERVATIONS = {f"{g}_{v}" for g, o in (("classical", "jazz"), ("jazz", "classical"))
                for v in ("real", "own_model", f"to_{o}", "shuffled")}


def test_transfer_figures_keep_their_keys():
    from musicstyle.data import Collection, Piece

    pieces = [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(melody(list(range(30 + i, 110, 3)))))
              for g in D.GENRES for i in range(2)]
    judges = {k: D.load(k) for k in (*D.RELATIONAL, *D.SHIPPED, *D.RAW)}
    routes = {"mean": {"classical": _Fake(-9), "jazz": _Fake(9)}, "texture": {"classical": _Fake(-5), "jazz": _Fake(5)}}
    out = D.evaluate_transfer(Collection("x", pieces), judges, routes["texture"], routes=routes)
    assert set(out) == {"trusted", "pieces", "others", "observations"} | SHARES
    assert out["trusted"] == D.TRUSTED and out["pieces"] == 4
    assert set(out["others"]) == {"cnn", "stats", "stats_raw", "ensemble"}
    for figures in [out, *out["others"].values()]:
        assert SHARES <= set(figures)
        assert set(figures["jazz_to_classical"]) - {"routes"} == set(figures["classical_to_jazz"]) - {"routes"} == DIRECTION
        assert figures["jazz_to_classical"]["texture_alone_share"] is not None
        assert figures["classical_to_jazz"]["texture_on_source_model_share"] is not None
        assert 0.0 <= figures["classical_to_jazz"]["shuffled_share"] <= 1.0
    for direction in ("jazz_to_classical", "classical_to_jazz"):  # the routes table: the trusted judge only
        assert set(out[direction]["routes"]) == {"mean", "texture"}
        assert all(set(r) == {"moved_share", "control_share", "drawn_on_source_model_share"}
                   for r in out[direction]["routes"].values())
        assert "routes" not in out["others"]["ensemble"][direction]
    assert set(out["observations"]) == OBSERVATIONS
    assert all(set(o) == {"top_emphasis_z", "top_emphasis_velocity", "onset_jump_z"} for o in out["observations"].values())


def test_transfer_judges_each_distinct_version_of_a_piece_once(monkeypatch):
    import musicstyle.dynamics.evaluate as E
    from musicstyle.data import Collection, Piece

    pieces = [Piece(f"{g}{i}", g, f"{g}/{g}{i}.mid", read_midi(melody(list(range(30 + i, 110, 3)))))
              for g in D.GENRES for i in range(2)]
    judges = {"relations": D.load("relations")}
    calls = []
    judge = E.outcome_probabilities
    monkeypatch.setattr(E, "outcome_probabilities", lambda m, meta, d: calls.append(d.velocity.copy()) or judge(m, meta, d))
    routes = {"mean": {"classical": _Fake(-9), "jazz": _Fake(9)}, "texture": {"classical": _Fake(-5), "jazz": _Fake(5)}}
    out = D.evaluate_transfer(Collection("x", pieces), judges, routes["texture"], routes=routes)
    # six versions of each piece, then the mean route's transfer and own output: the texture route is the
    # transfer itself, and every fake draws alike, so each route's draw on the source's mean is the
    # texture_on_source_model version
    assert len(calls) == 8 * len(pieces)
    assert all(len({c.tobytes() for c in calls[i:i + 8]}) == 8 for i in range(0, len(calls), 8))  # none twice
    for direction in ("jazz_to_classical", "classical_to_jazz"):
        same = out[direction]["routes"]["texture"]
        assert (same["moved_share"], same["control_share"], same["drawn_on_source_model_share"]) == (
            out[direction]["moved_share"], out[direction]["control_share"],
            out[direction]["texture_on_source_model_share"])


def _toy_items(per_genre=10, n=400, seed=0):
    """Smooth (classical) and jumpy (jazz) velocity sequences, single notes."""
    rng = np.random.default_rng(seed)
    items = []
    for genre, jumpy in (("classical", 1.0), ("jazz", 12.0)):
        for i in range(per_genre):
            v = 64 + np.cumsum(rng.normal(0, 2, n)) + rng.normal(0, jumpy, n)
            d = D.Dynamics(v, np.arange(n), np.zeros(n, bool), np.zeros(n, bool))
            items.append(D.Item(d, genre, "real", f"{genre}{i}"))
    return items


@pytest.fixture
def trainer_calls(monkeypatch):
    """Every call of the one trainer, recorded (its keywords, and its positional arguments as ``args``)."""
    from musicstyle.training import trainer

    calls, real = [], trainer.train

    def spy(*args, **kwargs):
        calls.append({**kwargs, "args": args})
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "train", spy)
    return calls


def test_a_tiny_cnn_trains_through_the_trainer(trainer_calls):
    train, validation = _toy_items(), _toy_items(per_genre=4, seed=1)
    model, history = D.train_cnn(train, validation, epochs=4, crops=4, verbose=0)
    assert len(trainer_calls) == 1 and trainer_calls[0]["schedule"].monitor == "val_piece_accuracy"
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert all("learning_rate" in h and 0 <= h["val_piece_accuracy"] <= 1 for h in history)
    best = max(h["val_piece_accuracy"] for h in history)
    assert best > 0.5  # beats the coin
    assert D.piece_accuracy(model, {"arch": "cnn"}, validation) == best  # the best epoch is kept


def test_a_tiny_stats_model_trains_through_the_trainer(trainer_calls):
    train, validation = _toy_items(), _toy_items(per_genre=4, seed=1)
    model, history = D.train_stats(train, validation, epochs=8, hidden=8, verbose=0)
    assert len(trainer_calls) == 1
    assert history[-1]["loss"] < history[0]["loss"]
    scored = [h for h in history if "val_piece_accuracy" in h]
    assert len(scored) == 1 and scored[0]["val_piece_accuracy"] > 0.5


def test_only_the_chief_saves(tmp_path, monkeypatch):
    T = importlib.import_module("musicstyle.dynamics.train")
    members = []
    monkeypatch.setattr(T, "train", lambda *a, **k: members.append(k["members"]) or
                        (D.build_cnn(), {"kind": "dynamics", "validation_piece_accuracy": 1.0, "skipped_files": {},
                                         "split": {"train": 2, "validation": 1}}))
    out = tmp_path / "d.keras"
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}))
    assert D.train_command("cnn", out, strategy="default")["saved"] is None and not out.exists()
    monkeypatch.delenv("TF_CONFIG")
    assert D.train_command("cnn", out, strategy="default")["saved"] == str(out) and out.is_file()
    D.train_command("relations", out, strategy="default")
    D.train_command("relations", out, strategy="default", members=2)
    assert members == [1, 1, D.RELATIONS_MEMBERS, 2]  # the relations judge averages seeds by default


def test_judges_give_through_their_compiled_pass_what_they_give_layer_by_layer():
    from musicstyle.dynamics.model import relations_of, segment_table

    for i, notes in enumerate((list(range(30, 110, 2)), list(range(40, 100, 3)) * 3)):
        d = D.dynamics_of(read_midi(melody(notes)))
        for kind in ("cnn", "stats", "relations"):
            model, meta = D.load(kind)
            if kind == "relations":
                eager = np.asarray(model(relations_of(d)[None], training=False), np.float64).ravel()
                logit = eager[1] - eager[0]
            elif kind == "stats":
                logit = float(np.mean(np.asarray(model(segment_table(d), training=False))))
            else:
                z = np.pad(d.z.astype(np.float32), (0, max(16 - d.z.size, 0)))
                logit = float(np.asarray(model(z[None, :, None], training=False)).ravel()[0])
            assert D.jazz_logit(model, meta, d) == pytest.approx(logit, abs=1e-4), (kind, i)


def test_figures_of_the_judge():
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.figures.dynamics import observation_table, plot_sequences, table

    perf = read_midi(melody(list(range(30, 110, 2))))
    rows = [{"name": p, "genre": g, **{k: {"cnn": pj} for k in ("real", "own", "transfer", "shuffled")},
             **{k + "_obs": D.observations(perf) for k in ("real", "own", "transfer", "shuffled")}}
            for p, g, pj in (("a", "jazz", 0.9), ("b", "classical", 0.2))]
    result = D.summarise(rows, "cnn")
    lines = table(result).splitlines()
    assert len(lines) == 17 and lines[0].split()[-1] == "cnn*" and lines[1].endswith("100.0%")
    assert len({len(line) for line in lines}) == 1  # every row as wide as the header
    assert "texture alone (no model) -> jazz" in lines[-3] and lines[-3].endswith("-  ")  # no texture drawn
    assert "jazz texture on the classical model -> jazz" in lines[-5] and lines[-5].endswith("-  ")
    assert "shuffled -> jazz" in lines[-1] and lines[-1].endswith("0.0%")  # shuffled (P(jazz) 0.2) is not jazz
    assert len(observation_table(result).splitlines()) == 1 + len(OBSERVATIONS)
    d = D.dynamics_of(perf)
    fig = plot_sequences({"real": d, "shuffled": D.shuffled(d)}, onsets=20, title="t")
    real, shuffled = fig.axes
    assert len(real.get_lines()) == 2 and len(real.get_lines()[0].get_xdata()) == 20  # the sequence and the zero line
    assert [line.get_label() for line in shuffled.get_lines()[:2]] == ["real", "shuffled"]  # the real one behind
    assert np.allclose(shuffled.get_lines()[0].get_ydata(), d.z[:20]) and fig._suptitle.get_text() == "t"


def related_piece(rng, n_chords=120, loud_top=True, seed_shift=0):
    """Three-note chords and single notes whose velocities follow the notes: a loud top note (or a loud bass)
    and louder long notes, plus a little noise."""
    chords = []
    for i in range(n_chords):
        base = int(rng.integers(40, 70))
        size = 3 if i % 2 == 0 else 1
        notes = []
        for j in range(size):
            top, bottom = j == size - 1 and size > 1, j == 0 and size > 1
            v = 55 + (25 if (top if loud_top else bottom) else 0) + rng.normal(0, 3)
            notes.append((base + 4 * j, int(np.clip(v, 1, 127))))
        chords.append(notes)
    return read_midi(chord_piece(chords))


def test_relation_features_hear_velocities_against_the_notes():
    rng = np.random.default_rng(0)
    d = D.dynamics_of(related_piece(rng))
    f = dict(zip(D.RELATIONS, D.relations_of(d)))
    assert d.attributes.shape == (len(d.velocity), len(D.ATTRIBUTES))
    assert np.allclose(d.attributes.mean(0), 0, atol=1e-9)  # standardised over the piece
    assert f["r2"] > 0.8 and f["corr_top_of_chord"] > 0.7 and f["coef_top_of_chord"] > 0.3
    s = dict(zip(D.RELATIONS, D.relations_of(D.shuffled(d, seed=3))))
    assert s["r2"] < 0.15 and abs(s["corr_top_of_chord"]) < 0.25  # the same velocities, no relation left
    # blind to level and spread, and to the notes alone: a constant piece has no relation at all
    louder = dict(zip(D.RELATIONS, D.relations_of(d.with_velocity(2 * d.velocity + 10))))
    assert louder == pytest.approx(f, abs=1e-5)
    assert not D.relations_of(d.with_velocity(np.full(len(d.velocity), 64.0))).any()
    bass = dict(zip(D.RELATIONS, D.relations_of(D.dynamics_of(related_piece(rng, loud_top=False)))))
    assert bass["corr_bottom_of_chord"] > 0.7 and bass["corr_top_of_chord"] < 0


def test_relations_need_the_notes():
    d = D.Dynamics(np.arange(10.0), np.arange(10), np.zeros(10, bool), np.zeros(10, bool))
    with pytest.raises(MusicstyleError, match="needs the notes"):
        D.relations_of(d)
    assert not D.relation_features(np.zeros((2, len(D.ATTRIBUTES))), np.arange(2), np.array([-1.0, 1.0])).any()


def _relation_items(seed, per_genre=12):
    """Classical: a loud top note; jazz: a loud bass; unrelated: both shuffled, and flat lines with noise."""
    rng = np.random.default_rng(seed)
    items = []
    for genre, loud_top in (("classical", True), ("jazz", False)):
        for i in range(per_genre):
            d = D.dynamics_of(related_piece(rng, n_chords=60, loud_top=loud_top))
            items.append(D.Item(d, genre, "real", f"{genre}{i}"))
            items.append(D.Item(D.shuffled(d, seed=i), D.UNRELATED, "shuffled", f"{genre}{i}"))
            items.append(D.Item(d.with_velocity(60 + rng.normal(0, 8, len(d.velocity))), D.UNRELATED, "texture alone"))
    return items


def test_a_tiny_relations_judge_is_not_fooled_by_shuffles(trainer_calls):
    train, validation = _relation_items(0), _relation_items(1, per_genre=6)
    model, history = D.train_relations(train, validation, epochs=25, hidden=4, batch_size=8, verbose=0)
    assert len(trainer_calls) == 1 and trainer_calls[0]["schedule"].monitor == "val_outcome_accuracy"
    best = max(h["val_outcome_accuracy"] for h in history)
    assert D.outcome_accuracy(model, validation) == best >= 0.9
    shares = D.outcome_shares(model, validation, D.relation_table(validation))
    assert list(shares) == list(dict.fromkeys(it.source for it in validation)) and all(type(s) is str for s in shares)
    assert shares == {s: D.outcome_accuracy(model, [it for it in validation if it.source == s]) for s in shares}
    assert np.mean(list(shares.values())) == pytest.approx(best) and D.outcome_shares(model, []) == {}
    meta = {"arch": "relations"}
    for it in validation:
        p = D.outcome_probabilities(model, meta, it.dynamics)
        assert set(p) == set(D.OUTCOMES) and sum(p.values()) == pytest.approx(1.0)
    judged = {(it.source, it.genre): [] for it in validation}
    for it in validation:
        judged[it.source, it.genre].append(D.judged_as(model, meta, it.dynamics) == it.genre)
    assert {k: np.mean(v) >= 0.8 for k, v in judged.items()} == dict.fromkeys(judged, True)
    assert D.piece_accuracy(model, meta, [it for it in validation if it.source == "real"]) >= 0.8


def test_segments_of_a_piece():
    assert D.segment_bounds(0) == [(0, 0)] and D.segment_bounds(100, 300) == [(0, 100)]
    assert D.segment_bounds(1000, None) == D.segment_bounds(1000, 0) == [(0, 1000)]
    bounds = D.segment_bounds(1000, 300)
    assert len(bounds) == 3 and bounds[0][0] == 0 and bounds[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:])) and {b - a for a, b in bounds} <= {333, 334}
    d = D.dynamics_of(related_piece(np.random.default_rng(0), n_chords=300))  # 600 notes
    rows = D.relation_segments_of(d, 200)
    assert rows.shape == (3, len(D.RELATIONS)) and rows.dtype == np.float32
    r2 = D.RELATIONS.index("r2")
    assert (rows[:, r2] > 0.8).all()  # every stretch of the piece carries its relation
    assert (D.relation_segments_of(D.shuffled(d, seed=1), 200)[:, r2] < 0.2).all()
    assert np.array_equal(D.relation_segments_of(d, None), D.relations_of(d)[None])
    empty = D.Dynamics(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, bool), np.zeros((0, len(D.ATTRIBUTES))))
    assert not D.relation_segments_of(empty, 300).any()


def test_a_piece_verdict_is_its_segments_mean_log_probability():
    one = np.array([[2.0, 0.0, -1.0]])
    assert np.exp(D.segment_log_probabilities(one)) == pytest.approx(np.exp(one[0]) / np.exp(one[0]).sum())
    two = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    log_p = two - np.log(np.exp(two).sum(1, keepdims=True))
    assert D.segment_log_probabilities(two) == pytest.approx(log_p.mean(0))
    model = D.build_relations(np.zeros(len(D.RELATIONS)), np.ones(len(D.RELATIONS)), hidden=4)
    d = D.dynamics_of(related_piece(np.random.default_rng(1), n_chords=300))
    rows = D.relation_segments_of(d, 150)
    expected = D.segment_log_probabilities(np.asarray(model(rows, training=False)))
    expected = np.exp(expected) / np.exp(expected).sum()
    p = D.outcome_probabilities(model, {"arch": "relations", "segment_notes": 150}, d)
    assert list(p.values()) == pytest.approx(expected.tolist(), abs=1e-5) and len(rows) == 4
    whole = D.outcome_probabilities(model, {"arch": "relations"}, d)  # a judge file without segments
    logits = np.asarray(model(D.relations_of(d)[None], training=False)).ravel()
    assert list(whole.values()) == pytest.approx((np.exp(logits) / np.exp(logits).sum()).tolist(), abs=1e-5)


def test_relation_table_gives_each_item_its_segments():
    items = _relation_items(2, per_genre=2)
    x, index = D.relation_table(items, 50)
    sizes = [len(D.relation_segments_of(it.dynamics, 50)) for it in items]
    assert len(x) == sum(sizes) and np.array_equal(np.bincount(index), sizes) and min(sizes) >= 2
    assert np.array_equal(x[index == 3], D.relation_segments_of(items[3].dynamics, 50))


def test_a_relations_judge_on_segments_weighs_each_item_alike(trainer_calls):
    train, validation = _relation_items(0), _relation_items(1, per_genre=6)
    model, history = D.train_relations(train, validation, epochs=25, hidden=4, batch_size=32, verbose=0, notes=50)
    x, y, w = trainer_calls[0]["args"][1](0, np.random.default_rng(0))
    _, index = D.relation_table(train, 50)
    per_item = np.bincount(index, weights=w)
    outcome = np.array([it.outcome for it in train])
    for k in range(len(D.OUTCOMES)):  # every item of an outcome weighs the same, every outcome in all the same
        assert np.ptp(per_item[outcome == k]) < 1e-4
    assert np.ptp([per_item[outcome == k].sum() for k in range(len(D.OUTCOMES))]) < 1e-3 * len(w)
    assert D.outcome_accuracy(model, validation, notes=50) == max(h["val_outcome_accuracy"] for h in history) >= 0.8


def test_shuffled_share_and_routes_from_rows():
    def row(genre, shuffled, route_transfer, route_own, drawn=None):
        v = {"classical": 0.1, "jazz": 0.1, "unrelated": 0.8}
        obs = {"top_emphasis_z": 0.1, "top_emphasis_velocity": 1.0, "onset_jump_z": 0.5}
        route = {"transfer": route_transfer, "own": route_own, **({"drawn_on_source_model": drawn} if drawn else {})}
        return {"genre": genre, "real": {"relations": v}, "own": {"relations": v}, "transfer": {"relations": v},
                "shuffled": {"relations": shuffled}, "routes": {"sampled": route},
                **{k + "_obs": obs for k in ("real", "own", "transfer", "shuffled")}}

    jazzy = {"classical": 0.2, "jazz": 0.5, "unrelated": 0.3}
    classy = {"classical": 0.5, "jazz": 0.2, "unrelated": 0.3}
    rows = [row("classical", jazzy, jazzy, classy, jazzy), row("classical", classy, classy, classy, classy),
            row("jazz", jazzy, classy, jazzy)]
    out = D.summarise(rows, "relations")
    c2j, j2c = out["classical_to_jazz"], out["jazz_to_classical"]
    assert (c2j["shuffled_share"], j2c["shuffled_share"]) == (0.5, 0.0)
    assert c2j["routes"] == {"sampled": {"moved_share": 0.5, "control_share": 1.0, "drawn_on_source_model_share": 0.5}}
    assert j2c["routes"] == {"sampled": {"moved_share": 1.0, "control_share": 1.0}}
    assert out["discriminator_accuracy"] == 0.0 and c2j["moved_share"] == 0.0  # "unrelated" is neither genre
    assert c2j["mean_p_target_after"] == pytest.approx(0.1)
    from musicstyle.figures.dynamics import routes_table

    lines = routes_table(out).splitlines()
    assert len(lines) == 2 and lines[1].split() == ["sampled", "100.0%", "100.0%", "-", "50.0%", "100.0%", "50.0%"]


def test_transfer_command_errors(tmp_path, capsys):
    assert main(["evaluate", "transfer", "--split", "held-out", "--json"]) == 2
    assert "error: --split held-out: give the group whose pieces to judge: --hold-out GROUP" in capsys.readouterr().err
    assert main(["evaluate", "transfer", "--hold-out", "loud", "--json"]) == 2  # the option is named, not the split
    assert "error: --hold-out: judges that group's pieces alone, with --split held-out (not --split all)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "transfer", "--split", "held-out", "--hold-out", "noisy"])
    capsys.readouterr()
    with pytest.raises(ValueError, match="not among"):
        D.evaluate_transfer(None, {"cnn": D.load("cnn")}, {}, trusted="relations")


def test_relations_figure_has_one_bar_per_attribute_and_group():
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.figures.dynamics import plot_relations

    rng = np.random.default_rng(2)
    d = D.dynamics_of(related_piece(rng, n_chords=30))
    ax = plot_relations({"real": [d], "shuffled": [D.shuffled(d)]})
    assert len(ax.patches) == 2 * len(D.ATTRIBUTES) and len(ax.get_xticklabels()) == len(D.ATTRIBUTES)
    top = D.ATTRIBUTES.index("top_of_chord")
    assert ax.patches[top].get_height() == pytest.approx(D.relations_of(d)[D.RELATIONS.index("corr_top_of_chord")])


def test_velocity_models_given_in_the_wrong_order_are_refused():
    """`train dynamics --extra-models CLASSICAL.keras JAZZ.keras` swapped would teach jazz output as classical."""
    from musicstyle import velocity
    from musicstyle.dynamics import velocity_predictors
    from musicstyle.errors import MusicstyleError
    from musicstyle.training.shipped import pretrained_path

    classical, jazz = (pretrained_path(velocity.pretrained_name(g)) for g in ("classical", "jazz"))
    with pytest.raises(MusicstyleError, match="holds a jazz velocity model, given as the classical one"):
        velocity_predictors(files={"classical": jazz, "jazz": classical})
    assert set(velocity_predictors(files={"classical": classical, "jazz": jazz})) == {"classical", "jazz"}


def test_evaluate_transfer_judges_the_velocity_models_given(tmp_path, capsys):
    """`--velocity-models CLASSICAL JAZZ`: those models' transfers are judged (here the shipped ones swapped in as
    one's own, so the figures must be the shipped run's), named in the output; a swapped pair is refused."""
    from musicstyle import velocity
    from musicstyle.training.shipped import pretrained_path

    for genre in D.GENRES:
        (tmp_path / genre).mkdir()
        for i in range(2):
            (tmp_path / genre / f"{genre}{i}.mid").write_bytes(melody(list(range(30 + 5 * i, 110, 3)), step=120))
    files = []
    for genre in D.GENRES:
        own = tmp_path / f"my {genre}.keras"
        own.write_bytes(pretrained_path(velocity.pretrained_name(genre)).read_bytes())
        files.append(str(own))
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--json"]) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--velocity-models", *files, "--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert mine.pop("velocity_models") == dict(zip(D.GENRES, files))
    assert mine == shipped
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--velocity-models", *files[::-1], "--json"]) == 2
    assert "holds a jazz velocity model, given as the classical one" in capsys.readouterr().err
    judge = tmp_path / "my judge.keras"  # a judge of one's own is named too (its table label is the kind's)
    judge.write_bytes(pretrained_path("dynamics_relations.keras").read_bytes())
    assert main(["evaluate", "transfer", "--data", str(tmp_path), "--relations", str(judge)]) == 0
    assert re.search(rf"\njudge_files\n +relations +{re.escape(str(judge))}\n", capsys.readouterr().out)


def test_verdict_takes_a_relations_judge_of_ones_own(tmp_path):
    from musicstyle.errors import MusicstyleError
    from musicstyle.training.shipped import pretrained_path

    piece = melody(list(range(30, 110, 3)), step=120)
    own = tmp_path / "my judge.keras"
    own.write_bytes(pretrained_path("dynamics_relations.keras").read_bytes())
    assert D.verdict(piece, judge=own) == pytest.approx(D.verdict(piece))
    assert D.verdict(piece, judge=D.load_model_file(own)) == pytest.approx(D.verdict(piece))  # loaded, too
    cnn = tmp_path / "cnn.keras"
    cnn.write_bytes(pretrained_path("dynamics_cnn.keras").read_bytes())
    with pytest.raises(MusicstyleError, match="not a relations judge"):
        D.verdict(piece, judge=cnn)

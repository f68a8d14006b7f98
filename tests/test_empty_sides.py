"""Nothing to measure or to validate on is an error naming the folder, never figures of nothing.

A folder of 3 pieces a genre has no test and no validation side (each is 10% of a genre's files, rounded):
``evaluate`` refuses such a side, ``train`` refuses to choose its epochs without validation pieces.
"""

import dataclasses
import json
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from midibytes import off, on, smf, track
from musicstyle import classifier
from musicstyle import velocity as V
from musicstyle.cli import main
from musicstyle.core.midi import read_midi
from musicstyle.errors import MusicstyleError
from test_classifier import genre_midi, tiny_folder


def too_small(side: str) -> str:
    return f"(the {side} side is 10% of each genre's files, rounded: a genre needs 6 files for one)"


def high_note() -> bytes:
    """One note above every model's key range: read, but nothing to measure."""
    return smf(track([(0, on(100, 80)), (480, off(100))]))


@pytest.fixture
def small(tmp_path):
    """3 classical and 3 jazz pieces: every one on the train side."""
    return tiny_folder(tmp_path / "small", 3)


@pytest.mark.parametrize("what", ["classifier", "velocity"])
@pytest.mark.parametrize("split", ["test", "validation"])
def test_evaluate_refuses_an_empty_side(small, capsys, what, split):
    assert main(["evaluate", what, "--data", str(small), "--split", split, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {small}: no classical or jazz pieces in the {split} split {too_small(split)}\n"
    assert captured.out == ""


def test_evaluate_velocity_on_one_genres_side_gives_its_figures_only(small, capsys):
    for i in range(3, 6):  # six jazz pieces: one of them on the test side; classical has none there
        (small / "jazz" / f"jazz{i}.mid").write_bytes(genre_midi("jazz", i))
    assert main(["evaluate", "velocity", "--data", str(small), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["classical"]["pieces"] == 0 and "rmse" not in result["classical"]
    assert result["jazz"]["pieces"] == 1 and result["jazz"]["rmse"] > 0


@pytest.mark.parametrize("what", ["classifier", "velocity"])
def test_evaluate_refuses_pieces_with_nothing_to_measure(tmp_path, capsys, what):
    for g in ("classical", "jazz"):
        (tmp_path / g).mkdir()
        (tmp_path / g / "high.mid").write_bytes(high_note())
    assert main(["evaluate", what, "--data", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path}: no classical or jazz pieces to measure (classical/high.mid: no notes in "
                          "the key range") and "; jazz/high.mid: no notes in the key range" in err


def test_a_classifier_gives_no_accuracy_of_no_piece():
    model, meta = classifier.load()
    result = classifier.evaluate(model, meta, [])
    assert (result["pieces"], result["segments"]) == (0, 0)
    assert result["segment_accuracy"] is result["piece_accuracy"] is result["majority_baseline"] is None
    rows = classifier.accuracy_by_length(model, meta, [], lengths=(8,))
    assert rows == [{"beats": 8, "pieces": 0, "piece_accuracy": None, "segments": 0}]


@pytest.mark.parametrize("command, genre", [
    (["classifier", "--length", "64"], "classical"),
    (["velocity", "--genre", "jazz", "--members", "1", "--windows-per-epoch", "2", "--batch", "2"], "jazz"),
    (["chords", "--genre", "jazz", "--units", "8", "--length", "16", "--batch", "8"], "jazz"),
])
def test_train_refuses_a_folder_without_a_validation_side(small, tmp_path, capsys, command, genre):
    out = tmp_path / "m.keras"
    assert main(["train", *command, "--data", str(small), "--epochs", "1", "--strategy", "default", "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {small}: no {genre} pieces in the validation split {too_small('validation')}\n"
    assert not out.exists()


def test_train_classifier_needs_validation_pieces_of_both_genres(small, tmp_path, capsys):
    for i in range(3, 6):  # six classical pieces give classical a validation piece; jazz still has none
        (small / "classical" / f"classical{i}.mid").write_bytes(genre_midi("classical", i))
    out = tmp_path / "c.keras"
    assert main(["train", "classifier", "--data", str(small), "--length", "64", "--epochs", "1", "--strategy", "default",
                 "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {small}: no jazz pieces in the validation split {too_small('validation')}\n"


def test_train_classifier_names_validation_pieces_it_cannot_read(tmp_path, capsys):
    from musicstyle.data import load_folder, select

    data = tiny_folder(tmp_path / "data", 6)
    (only,) = select(load_folder(data, quick=False, progress=False), "validation", "jazz")
    (data / only.path).write_bytes(high_note())  # the one jazz validation piece: read, nothing to learn from
    assert main(["train", "classifier", "--data", str(data), "--length", "64", "--epochs", "1", "--strategy", "default",
                 "-o", str(tmp_path / "c.keras")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {data}: no jazz validation piece the layout can read ({only.path}: ") and "10%" not in err


def test_train_velocity_refuses_validation_pieces_without_a_note_to_learn(tmp_path):
    from musicstyle.data import load_folder, select

    collection = load_folder(tiny_folder(tmp_path / "data", 6), quick=False, progress=False)
    (only,) = select(collection, "validation", "jazz")
    only.performance = dataclasses.replace(only.performance, notes=read_midi(high_note()).notes)
    reason = "no jazz piece of the validation split has notes in the key range"
    with pytest.raises(MusicstyleError, match=f"^{re.escape(collection.root)}: {reason}$"):
        V.train("jazz", "paper", collection=collection, epochs=1, window=16, batch=2, windows_per_epoch=2, verbose=0)


def test_train_tokens_refuses_to_validate_on_its_training_files(small, capsys):
    assert main(["train", "tokens", "--genre", "jazz", "--data", str(small), "--epochs", "1",
                 "-o", str(small / "t.keras")]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after music21's progress bar
    assert last == f"error: {small / 'jazz'}: no jazz pieces in the validation split {too_small('validation')}"
    assert not (small / "t.keras").exists()

"""The public functions take a piece in any form a notebook holds, and refuse bad arguments with a
MusicstyleError that names them, before any model runs (no raw numpy or TensorFlow error)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from midibytes import SCALE, off, on, smf, track
from musicstyle import classifier, dynamics, velocity
from musicstyle.core.midi import Performance, as_performance, read_midi
from musicstyle.core.roll import FULL88, Layout, piano_roll
from musicstyle.errors import MusicstyleError
from musicstyle.settings import check_positive, check_seed

DATA = smf(track(SCALE))


@pytest.fixture
def piece(tmp_path):
    path = tmp_path / "scale.mid"
    path.write_bytes(DATA)
    return path


def test_a_piece_is_taken_as_a_performance_bytes_or_a_path(piece):
    perf = read_midi(piece)
    assert as_performance(perf) is perf
    for given in (DATA, bytearray(DATA), piece, str(piece)):
        assert as_performance(given).notes.tolist() == perf.notes.tolist()
    from musicstyle.data import Piece

    assert as_performance(Piece("scale", "jazz", "jazz/scale.mid", perf)) is perf  # a dataset's piece, as loaded
    with pytest.raises(MusicstyleError, match="expected a Performance, MIDI bytes, a path or a dataset's piece, not int"):
        as_performance(3)
    with pytest.raises(MusicstyleError, match=f"{piece.parent / 'none.mid'}: no such file"):
        as_performance(piece.parent / "none.mid")


def test_judges_and_cautions_take_any_form_of_a_piece(piece):
    from musicstyle.data import Piece

    loaded = Piece("scale", "jazz", "jazz/scale.mid", read_midi(DATA))
    assert dynamics.verdict(piece) == dynamics.verdict(DATA) == dynamics.verdict(read_midi(DATA)) == dynamics.verdict(loaded)
    assert dynamics.caution(piece) == dynamics.caution(read_midi(DATA)) and "only 8 notes" in dynamics.caution(DATA)
    assert classifier.caution(piece) == classifier.caution(read_midi(DATA)) and "beats of music" in classifier.caution(DATA)
    model, meta = velocity.load("jazz")
    assert np.array_equal(velocity.predict_notes(model, meta, piece), velocity.predict_notes(model, meta, read_midi(DATA)))
    assert velocity.transfer_bytes(model, piece, "scale", meta) == velocity.transfer_bytes(model, DATA, "scale", meta)


def test_a_model_without_its_metadata_is_named():
    model, _ = classifier.load()
    with pytest.raises(MusicstyleError, match="^meta: a classifier given as model needs its metadata"):
        classifier.verdict(DATA, model)
    with pytest.raises(MusicstyleError, match="^meta: not a classifier's metadata"):
        classifier.caution(DATA, {})
    with pytest.raises(MusicstyleError, match="stretches are read by a relations judge"):
        dynamics.stretch_probabilities(*dynamics.load("cnn"), DATA)


def test_a_piece_without_notes_is_named_by_the_judge():
    empty = Performance("empty", 480, read_midi(DATA).notes[:0])
    with pytest.raises(MusicstyleError, match="^empty: no notes to judge"):
        dynamics.verdict(empty)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, True, "3", None])
def test_seeds_are_whole_numbers_a_generator_accepts(bad):
    with pytest.raises(MusicstyleError, match="^seed: must be a whole number from 0 to 4294967295"):
        check_seed(bad)


def test_good_seeds_and_lengths_pass():
    assert check_seed(0) == 0 and check_seed(np.int64(2**32 - 1)) == 2**32 - 1
    assert check_positive(2, "seconds") == 2.0
    for bad in (0, -3, float("nan"), float("inf"), None):
        with pytest.raises(MusicstyleError, match="^seconds: must be a finite number above 0"):
            check_positive(bad, "seconds")


def test_transfer_refuses_a_bad_seed_and_an_output_over_its_input(piece, tmp_path):
    model, meta = velocity.load("jazz")
    with pytest.raises(MusicstyleError, match="^seed: must be a whole number"):
        velocity.transfer_bytes(model, DATA, "scale", meta, seed=-1)
    for dest, reason in ((piece, "is also the input"), (tmp_path / "out.txt", "must end in .mid or .midi"),
                         (tmp_path, "must end in .mid or .midi")):
        with pytest.raises(MusicstyleError, match=reason):
            velocity.transfer_file(model, piece, dest, meta)
    assert piece.read_bytes() == DATA and sorted(p.name for p in tmp_path.iterdir()) == ["scale.mid"]


def test_chords_generation_checks_its_settings_and_the_style_vector():
    from musicstyle import chords

    style = np.zeros(50, np.float32)
    for kwargs, message in (({"temperature": float("nan")}, "^temperature: must be a finite number above 0"),
                            ({"seconds": 0}, "^seconds: must be a finite number above 0"),
                            ({"seed": -1}, "^seed: must be a whole number")):
        with pytest.raises(MusicstyleError, match=message):
            chords.generate("jazz", style, **{"seconds": 1, **kwargs})
    with pytest.raises(MusicstyleError, match=r"^style: must be one style vector, a 1-d array \(got shape \(1, 50\)\)"):
        chords.generate("jazz", style[None], seconds=1)
    with pytest.raises(MusicstyleError, match="^style: has 10 values; this LSTM starts from 50"):
        chords.generate("jazz", np.zeros(10), seconds=1)
    assert chords.generate("jazz", style, seconds=1).shape[1] == 2 * 59


def test_compose_checks_its_settings_before_generating(tmp_path):
    tokens = importlib.import_module("musicstyle.tokens")
    for kwargs, message in (({"seed": -1}, "^seed: must be a whole number"), ({"n": -5}, "^n: tokens to generate"),
                            ({"n": tokens.MAX_TOKENS + 1}, "^n: tokens to generate must be a whole number from 1 to 100000"),
                            ({"temperature": float("nan")}, "^temperature: must be a finite number above 0"),
                            ({"penalty": -1.0}, "^penalty: must be a finite number of at least 0")):
        with pytest.raises(MusicstyleError, match=message):
            tokens.compose("pop", tmp_path / "x.mid", **{"n": 5, **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_bounds_tokens_as_compose_does():
    from musicstyle.cli import tokens as cli_tokens

    assert cli_tokens.MAX_TOKENS == importlib.import_module("musicstyle.tokens").MAX_TOKENS


@pytest.mark.parametrize("kwargs, message", [
    ({"steps_per_beat": 0}, "steps_per_beat must be a whole number of at least 1"),
    ({"low": 80, "high": 40}, "keys 80-40 are not a range of MIDI pitches"),
    ({"low": 0, "high": 200}, "keys 0-200 are not a range of MIDI pitches"),
    ({"pedals": (64, 300)}, "pedals must be controller numbers 0-127"),
])
def test_a_layout_is_a_range_of_pitches_on_a_grid(kwargs, message):
    with pytest.raises(MusicstyleError, match=f"^layout: {message}"):
        Layout(**kwargs)


def test_a_heat_map_refuses_a_matrix_of_another_layout():
    from musicstyle.figures.rolls import heatmap

    roll = piano_roll(read_midi(DATA))
    with pytest.raises(MusicstyleError, match=r"^matrix: has shape \(\d+, 59\); the layout has 90 columns"):
        heatmap(roll.held, FULL88)


def test_select_names_a_genre_the_collection_does_not_have(tmp_path):
    from musicstyle.data import load_folder, select

    for genre in ("classical", "jazz"):
        (tmp_path / genre).mkdir()
        (tmp_path / genre / "a.mid").write_bytes(smf(track([(0, on(60, 90)), (480, off(60))])))
    collection = load_folder(tmp_path, cache=False, progress=False)
    assert len(select(collection, genre="jazz")) == 1
    with pytest.raises(MusicstyleError, match="^Jazz: no readable Jazz piece in .* \\(it has classical, jazz\\)"):
        select(collection, genre="Jazz")
    (tmp_path / "jazz" / "a.mid").write_bytes(b"not MIDI")
    collection = load_folder(tmp_path, cache=False, progress=False)
    with pytest.raises(MusicstyleError, match="^jazz: no readable jazz piece in .* \\(it has classical; 1 of its files "
                                              "could not be read, the first jazz/a.mid: not a MIDI file"):
        select(collection, genre="jazz")

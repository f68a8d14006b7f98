"""Bad files and folders around the MIDI: what cannot be read or written is named with its reason before any
work (permissions are simulated: these tests may run as root), a folder being loaded names what it passes
over, a file that spans days is refused before music21 or the synthesizer spend memory on it, and a
transfer that fails leaves its outputs as they were."""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile

import numpy as np
import pytest

from midibytes import off, on, smf, track
from musicstyle.cli import main
from musicstyle.core import audio
from musicstyle.core.inputs import input_file
from musicstyle.core.midi import read_midi
from musicstyle.core.outputs import output_file
from musicstyle.data import load_folder
from musicstyle.errors import MusicstyleError

GOOD = smf(track([(0, on(60, 90)), (480, off(60)), (0, on(64, 70)), (480, off(64))]))
# one note held 30,000 quarter notes (over four hours at 120 qpm): 240,000 grid steps
HELD_FOR_HOURS = smf(track([(0, on(60, 90)), (480 * 30_000, off(60))]))


def _refuse(monkeypatch, method: str, target: pathlib.Path, error=PermissionError):
    """Make ``Path.<method>`` fail with ``error`` on ``target`` (permission bits do not stop root)."""
    real = getattr(pathlib.Path, method)

    def fake(self, *args, **kwargs):
        if self == target:
            raise error(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, method, fake)


def test_an_input_that_cannot_be_read_is_named_with_the_reason(tmp_path, monkeypatch, capsys):
    piece = tmp_path / "locked.mid"
    piece.write_bytes(GOOD)
    _refuse(monkeypatch, "open", piece)
    with pytest.raises(MusicstyleError, match=r"locked.mid: cannot be read \(Permission denied\)"):
        input_file(piece)
    assert main(["judge", str(piece)]) == 2
    assert capsys.readouterr().err == f"error: {piece}: cannot be read (Permission denied)\n"


def test_an_empty_file_name_is_refused_not_taken_as_the_default_piece(tmp_path, capsys):
    with pytest.raises(MusicstyleError, match="an empty file name"):
        input_file("")
    assert main(["transfer", "", "--to", "jazz", "-o", str(tmp_path / "x.mid")]) == 2
    assert "error: '': an empty file name (an unset shell variable?)" in capsys.readouterr().err
    assert main(["transfer", "--to", "jazz", "-o", ""]) == 2
    assert "error: -o: an empty file name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_pipe_is_read_as_a_file(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    assert input_file(fifo) == fifo  # not opened to check: that would consume it


def test_an_output_where_this_process_may_not_write_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    real = tempfile.TemporaryFile

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and pathlib.Path(dir) == tmp_path / "ro":
            raise PermissionError(13, "Permission denied", str(pathlib.Path(dir) / "tmpx6pr6oxb"))  # as the OS names it
        return real(*args, dir=dir, **kwargs)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    for out in (tmp_path / "ro" / "x.mid", tmp_path / "ro" / "new" / "x.mid"):  # its folder, or the nearest one there
        with pytest.raises(MusicstyleError, match=r"cannot be written: \S*/ro is not writable \(Permission denied\)$"):
            output_file(out, (".mid",))  # the folder is named, not the temporary file tried in it
    with pytest.raises(MusicstyleError, match="an empty name for the output file"):
        output_file("", (".mid",))
    with pytest.raises(SystemExit) as exit_:
        main(["explore", "-o", str(tmp_path / "ro")])
    assert exit_.value.code == 2 and "argument -o/--out-dir/--out: cannot be written" in capsys.readouterr().err
    assert main(["train", "velocity", "--genre", "jazz", "-o", str(tmp_path / "ro" / "v.keras")]) == 2  # before training
    assert "v.keras: cannot be written" in capsys.readouterr().err and list((tmp_path / "ro").iterdir()) == []


def test_a_folder_names_what_it_passes_over_and_reads_the_rest(tmp_path, monkeypatch):
    jazz = tmp_path / "jazz"
    (jazz / "locked").mkdir(parents=True)
    (jazz / "good.mid").write_bytes(GOOD)
    (jazz / "secret.mid").write_bytes(GOOD)
    (jazz / "gone.mid").symlink_to(tmp_path / "nowhere.mid")
    _refuse(monkeypatch, "read_bytes", jazz / "secret.mid")
    real_scandir = os.scandir

    def scandir(path="."):
        if pathlib.Path(path) == jazz / "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    collection = load_folder(tmp_path, genres=("jazz",), quick=False, cache=False, progress=False)
    assert [p.path for p in collection.pieces] == ["jazz/good.mid"]
    assert {s.path: s.reason for s in collection.skipped} == {
        "jazz/locked": "a folder that cannot be listed (Permission denied)",
        "jazz/gone.mid": "a link to a file that is not there",
        "jazz/secret.mid": "cannot be read (Permission denied)",
    }


def test_a_folder_without_one_readable_piece_is_an_error_naming_a_file(tmp_path, capsys):
    (tmp_path / "jazz").mkdir()
    (tmp_path / "jazz" / "text.mid").write_bytes(b"not midi")
    assert main(["evaluate", "velocity", "--data", str(tmp_path), "--json"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: no readable MIDI files in classical/ or jazz/ "
                                              "(1 could not be read; jazz/text.mid: not a MIDI file")


def test_music21_is_not_given_a_file_spanning_days(tmp_path):
    from musicstyle.tokens.tokenizer import parse_elements

    days = smf(track([(0, on(60, 90)), (480 * 60_000, off(60))]))
    with pytest.raises(MusicstyleError, match=r"days.mid: spans 60,000 quarter notes, more than the 50,000 music21"):
        parse_elements(days, "days.mid")


def test_a_file_without_pitched_notes_is_a_clear_error_on_the_music21_path():
    from musicstyle.tokens.tokenizer import parse_elements

    silent = smf(track([(0, on(60, 0)), (480, off(60))]))  # a note-on at velocity 0 is a note-off
    with pytest.raises(MusicstyleError, match="silent.mid: no notes or chords"):
        parse_elements(silent, "silent.mid")


def test_audio_longer_than_a_render_makes_is_refused_and_a_stuck_note_stays_short():
    with pytest.raises(MusicstyleError, match=r"days.mid: 1,800,0\d\d s of audio is more than a render makes"):
        audio.render(read_midi(smf(track([(0, on(60, 90)), (480 * 3_600_000, off(60))])), name="days.mid"))
    held = read_midi(HELD_FOR_HOURS)
    assert len(audio.synthesize(held, 8000)) <= 5.1 * 8000  # a note sounds 4.3 s at most, whatever its length
    assert len(audio.render(held, seconds=2.0, sample_rate=8000)) == 16000


def test_a_transfer_whose_figure_fails_writes_nothing(tmp_path, capsys):
    src, out = tmp_path / "held.mid", tmp_path / "result.mid"
    src.write_bytes(HELD_FOR_HOURS)
    out.write_bytes(b"precious")
    assert main(["transfer", str(src), "--to", "jazz", "-o", str(out), "--plot", str(tmp_path / "p.png")]) == 2
    assert "too long for a matrix" in capsys.readouterr().err
    assert out.read_bytes() == b"precious" and not (tmp_path / "p.png").exists()


def test_a_bare_model_name_is_the_local_file_when_there_is_one(tmp_path, monkeypatch):
    import shutil

    from musicstyle import classifier
    from musicstyle.training.shipped import pretrained_path

    monkeypatch.chdir(tmp_path)
    shutil.copy(pretrained_path("classifier_paper.keras"), tmp_path / "classifier.keras")
    assert classifier.load("classifier.keras")[1]["arch"] == "paper"  # the user's file, named
    assert classifier.load()[1]["arch"] == "improved"  # the default is the shipped file, whatever is here
    assert classifier.load("classifier_paper.keras")[1]["arch"] == "paper"  # a shipped name with no file here
    with pytest.raises(MusicstyleError, match="nothing.keras: no such model file \\(nor a model of that name shipped"):
        classifier.load("nothing.keras")
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(MusicstyleError, match="dir.keras: is a folder, not a model file"):
        classifier.load("dir.keras")


def test_every_model_option_takes_a_shipped_models_bare_name(tmp_path, monkeypatch, capsys):
    from musicstyle import chords, dynamics, tokens, velocity
    from musicstyle.training.modelfile import read_metadata

    monkeypatch.chdir(tmp_path)  # no file of these names here
    assert velocity.load_file("velocity_stylenet_jazz.keras")[1]["arch"] == "stylenet"
    assert chords.load("chords_jazz.keras")[1]["genre"] == "jazz"
    assert tokens.load("tokens_pop.keras")[1]["genre"] == "pop"
    assert read_metadata("dynamics_relations.keras")["kind"] == "dynamics"
    with pytest.raises(MusicstyleError, match="^none.keras: no such model file \\(nor a model of that name shipped"):
        chords.load("none.keras")
    with pytest.raises(MusicstyleError, match="^sub/velocity_jazz.keras: no such model file$"):
        velocity.load_file("sub/velocity_jazz.keras")  # a path is never looked up among the shipped files
    (tmp_path / "p.mid").write_bytes(smf(track([(0, on(60, 80)), (480, off(60)), (0, on(64, 60)), (480, off(64))])))
    assert main(["transfer", "p.mid", "--to", "jazz", "-o", "o.mid", "--model", "velocity_paper_jazz.keras", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "velocity_paper_jazz.keras (shipped)"
    seen = {}
    trainer = sys.modules["musicstyle.dynamics.train"]  # the module (the package's name "train" is its function)
    monkeypatch.setattr(trainer, "train", lambda *a, **k: seen.update(k) or (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        dynamics.train_command("relations", "j.keras", extra_models=[("velocity_classical.keras", "velocity_jazz.keras")])
    assert [pathlib.Path(p).parent.name for p in seen["extra_models"][0].values()] == ["pretrained", "pretrained"]
    from musicstyle.training.modelfile import model_path

    # --init with a shipped name, the output by default of that name here: the shipped file is read, this one written
    assert model_path("velocity_jazz.keras", inputs=("velocity_jazz.keras",)) == pathlib.Path("velocity_jazz.keras")
    (tmp_path / "velocity_jazz.keras").write_bytes(b"mine")  # now that name is a file here: read and written, refused
    with pytest.raises(MusicstyleError, match="velocity_jazz.keras: is also the input"):
        model_path("velocity_jazz.keras", inputs=("velocity_jazz.keras",))


def test_model_metadata_that_is_not_an_object_is_named_corrupt(tmp_path):
    import zipfile

    from musicstyle.training.modelfile import METADATA_NAME, read_metadata

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(METADATA_NAME, "[1, 2]")
    with pytest.raises(MusicstyleError, match="m.keras: corrupt model metadata \\(a JSON list, not an object\\)"):
        read_metadata(path)


def test_json_output_is_strict_json_with_null_for_nan(capsys):
    import json

    from musicstyle.cli import emit

    emit({"perplexity": float("nan"), "r": np.float32(0.5), "a": np.array([1.0, np.inf])}, True)
    line = capsys.readouterr().out
    assert json.loads(line) == {"perplexity": None, "r": 0.5, "a": [1.0, None]} and "NaN" not in line


def test_fluidsynth_failing_or_stalling_is_a_clear_error(monkeypatch):
    import subprocess

    def stall(*args, **kwargs):
        raise subprocess.TimeoutExpired("fluidsynth", 600)

    def fail(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "fluidsynth", stderr=b"fluidsynth: warning\nfluidsynth: error: bad soundfont")

    monkeypatch.setattr(audio, "backend", lambda: "fluidsynth")
    monkeypatch.setattr(audio, "soundfont", lambda: "/x.sf2")
    for run, message in ((stall, "took over 600 s to render"), (fail, r"failed \(exit 1\): fluidsynth: error: bad soundfont")):
        monkeypatch.setattr(subprocess, "run", run)
        with pytest.raises(MusicstyleError, match=f"^fluidsynth: {message}"):
            audio.render(GOOD)


def test_a_file_of_another_kind_is_refused_from_its_first_bytes(tmp_path, monkeypatch):
    path = tmp_path / "film.mid"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100_000))
    sizes, real_open = [], pathlib.Path.open

    class Recording:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, n=-1):
            sizes.append(n)
            return self.f.read(n)

    monkeypatch.setattr(pathlib.Path, "open", lambda self, *a, **k: Recording(real_open(self, *a, **k)))
    with pytest.raises(MusicstyleError, match="film.mid: not a MIDI file \\(no 'MThd' header\\)"):
        read_midi(path)
    assert sizes == [4]  # the first four bytes, not the whole file


def test_note_ons_all_at_velocity_zero_are_named_as_such(tmp_path):
    with pytest.raises(MusicstyleError, match="no notes: its 2 note-ons all have velocity 0, which MIDI reads as a note-off"):
        read_midi(smf(track([(0, on(60, 0)), (10, on(62, 0))])))


def test_a_folder_on_the_way_that_cannot_be_entered_is_named_not_a_traceback(tmp_path, monkeypatch, capsys):
    from musicstyle.data.sources import find
    from musicstyle.training.modelfile import read_metadata

    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = pathlib.Path.stat

    def stat(self, *args, **kwargs):
        if locked in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    with pytest.raises(MusicstyleError, match=r"x.mid: cannot be written \(Permission denied: .*locked/x.mid\)"):
        output_file(locked / "x.mid", (".mid",))
    with pytest.raises(MusicstyleError, match=r"m.keras: cannot be read \(Permission denied\)"):
        read_metadata(locked / "m.keras")
    with pytest.raises(MusicstyleError, match=r"cannot be read \(Permission denied\)"):
        find("tpd", locked / "data")
    with pytest.raises(SystemExit):
        main(["explore", "-o", str(locked / "out")])
    assert "argument -o/--out-dir/--out: cannot be written (Permission denied" in capsys.readouterr().err


def test_the_token_path_names_what_a_folder_passes_over(tmp_path):
    from musicstyle.tokens import folder_tokens

    (tmp_path / "good.mid").write_bytes(smf(track([(0, on(60, 90)), (480, off(60)), (0, on(64, 90)), (480, off(64)),
                                                   (0, on(67, 90)), (480, off(67))])))
    (tmp_path / "gone.mid").symlink_to(tmp_path / "nowhere.mid")
    seqs, skipped = folder_tokens(tmp_path, progress=False)
    assert len(seqs) == 1 and skipped == {str(tmp_path / "gone.mid"): "a link to a file that is not there"}
    with pytest.raises(MusicstyleError, match="gone.mid: a link to a file that is not there$"):  # named alike on its own
        input_file(tmp_path / "gone.mid")


def test_empty_names_are_refused_wherever_a_file_is_named(tmp_path, capsys):
    from musicstyle import tokens

    with pytest.raises(MusicstyleError, match="^'': an empty file name"):
        read_midi("")
    with pytest.raises(MusicstyleError, match="is a folder: give a MIDI file"):
        read_midi(tmp_path)
    for option in ("--wav", "--plot"):
        assert main(["transfer", "--to", "jazz", "-o", str(tmp_path / "x.mid"), option, ""]) == 2
        assert f"error: {option}: an empty file name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["transfer", "--to", "jazz", "--out-dir", ""])
    assert "argument --out-dir: an empty folder name" in capsys.readouterr().err
    with pytest.raises(MusicstyleError, match="^'': an empty file name"):
        tokens.compose("jazz", tmp_path / "c.mid", 5, seed_file="")
    assert list(tmp_path.iterdir()) == []

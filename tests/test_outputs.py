"""Files a command writes are checked before any work: the right kind, not a folder, never one of its inputs."""

import os
from pathlib import Path

import pytest

from midibytes import SCALE, smf, track
from musicstyle.cli import main
from musicstyle.core.outputs import MIDI, output_file, plot_suffixes
from musicstyle.errors import MusicstyleError


def test_a_new_file_of_the_right_kind_is_returned_as_a_path(tmp_path):
    assert output_file(str(tmp_path / "a" / "b.MID"), MIDI) == tmp_path / "a" / "b.MID"


@pytest.mark.parametrize("name, suffixes, message", [
    ("x.txt", MIDI, "output must end in .mid or .midi"),
    ("x", MIDI, "output must end in .mid or .midi"),
    ("x.jpgg", (".png", ".pdf", ".svg"), "output must end in one of .png, .pdf, .svg"),
])
def test_a_wrong_ending_is_refused(tmp_path, name, suffixes, message):
    with pytest.raises(MusicstyleError) as err:
        output_file(tmp_path / name, suffixes)
    assert str(err.value) == f"{tmp_path / name}: {message}"


def test_endings_a_writer_needs_exactly_are_matched_in_case_too(tmp_path):
    assert output_file(tmp_path / "a.MIDI", MIDI).name == "a.MIDI"
    with pytest.raises(MusicstyleError, match="model files must end in .keras"):
        output_file(tmp_path / "m.KERAS", (".keras",), "model files", exact=True)


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "d.mid").mkdir()
    with pytest.raises(MusicstyleError, match="is a folder"):
        output_file(tmp_path / "d.mid", MIDI)


def test_a_file_where_a_folder_of_the_path_would_be_is_refused(tmp_path):
    (tmp_path / "f").write_bytes(b"a file")
    for name in ("f/x.mid", "f/sub/x.mid"):
        with pytest.raises(MusicstyleError) as err:
            output_file(tmp_path / name, MIDI)
        assert str(err.value) == f"{tmp_path / name}: cannot be written: {tmp_path / 'f'} is a file, not a folder"
    assert (tmp_path / "f").read_bytes() == b"a file"


def test_an_input_is_refused_by_any_name(tmp_path, monkeypatch):
    src = tmp_path / "in.mid"
    src.write_bytes(b"x")
    os.symlink(src, tmp_path / "link.mid")
    monkeypatch.chdir(tmp_path)
    for name in ("in.mid", str(src), "./sub/../in.mid", "link.mid"):
        with pytest.raises(MusicstyleError, match="is also the input"):
            output_file(name, MIDI, inputs=(None, src))
    assert output_file("other.mid", MIDI, inputs=(None, src)).name == "other.mid"


def test_plots_take_every_ending_matplotlib_writes():
    assert {".png", ".pdf", ".svg"} <= set(plot_suffixes())


@pytest.fixture
def piece(tmp_path):
    src = tmp_path / "piece.mid"
    src.write_bytes(smf(track(SCALE)))
    return src


def _commands(src, tmp_path):
    src, other = Path(src), tmp_path / "other.mid"
    return {
        "transfer over its input": (["transfer", str(src), "--to", "jazz", "-o", str(src)], src, "is also the input"),
        "transfer audio over its input": (["transfer", str(src), "--to", "jazz", "-o", str(other), "--wav", str(src)], src,
                                          "--wav must end in .wav"),
        "transfer audio as mp3": (["transfer", str(src), "--to", "jazz", "-o", str(other), "--wav", str(tmp_path / "a.mp3")],
                                  tmp_path / "a.mp3", "--wav must end in .wav"),
        "transfer plot of an unknown kind": (["transfer", str(src), "--to", "jazz", "-o", str(other), "--plot",
                                              str(tmp_path / "p.xyz")], tmp_path / "p.xyz", "--plot must end in one of"),
        "generate over its input": (["generate", "--genre", "jazz", "--inspired-by", str(src), "-o", str(src)], src,
                                    "is also the input"),
        "compose over its seed file": (["compose", "--genre", "jazz", "--seed-file", str(src), "-o", str(src)], src,
                                       "is also the input"),
        "a model inside a file": (["train", "velocity", "--genre", "jazz", "-o", str(src / "m.keras")], src / "m.keras",
                                  f"cannot be written: {src} is a file, not a folder"),
    }


@pytest.mark.parametrize("case", list(_commands("piece.mid", Path("."))))
def test_a_command_refuses_before_writing_anything(case, piece, tmp_path, capsys):
    argv, named, reason = _commands(piece, tmp_path)[case]
    before = piece.read_bytes()
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {named}: {reason}")
    assert piece.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid"]


def test_transfer_into_a_folder_that_is_a_file_is_a_usage_error_before_any_work(piece, tmp_path, capsys):
    before = piece.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["transfer", str(piece), "--to", "jazz", "--out-dir", str(piece / "d")])
    assert exit_.value.code == 2 and f"argument --out-dir: {piece} is a file, not a folder" in capsys.readouterr().err
    assert piece.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid"]


def test_transfer_into_a_folder_never_replaces_another_of_its_inputs(piece, tmp_path, capsys):
    later = tmp_path / "piece_to_jazz.mid"  # an earlier result, given again as an input
    later.write_bytes(piece.read_bytes())
    before = {p: p.read_bytes() for p in (piece, later)}
    assert main(["transfer", str(piece), str(later), "--to", "jazz", "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {later}: is also the input")
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid", "piece_to_jazz.mid"]


def test_explore_never_writes_its_audio_over_its_input(tmp_path, capsys):
    src = tmp_path / "piece.wav"  # a MIDI file with an audio file's name, where explore writes the audio
    src.write_bytes(smf(track(SCALE)))
    assert main(["explore", str(src), "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {src}: is also the input")
    assert src.read_bytes() == smf(track(SCALE)) and [p.name for p in tmp_path.iterdir()] == ["piece.wav"]


def test_explore_whose_audio_fails_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUSICSTYLE_SOUNDFONT", str(tmp_path / "nowhere.sf2"))  # named, not there: an error
    assert main(["explore", "-o", str(tmp_path / "o")]) == 2
    assert "nowhere.sf2" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_checkpoint_folder_inside_a_file_is_a_usage_error(piece, capsys):
    argv = ["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--checkpoint-dir", str(piece / "c")]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: argument --checkpoint-dir: {piece} is a file, not a folder")


def test_library_calls_refuse_an_audio_length_of_zero_before_writing(piece, tmp_path):
    from musicstyle.figures.explore import explore
    from musicstyle.figures.velocity import transfer_to_files

    with pytest.raises(MusicstyleError, match=r"--seconds: must be > 0 \(got 0\)"):
        explore(piece, tmp_path / "ex", seconds=0)
    with pytest.raises(MusicstyleError, match=r"--seconds: must be > 0 \(got -1\)"):
        transfer_to_files(piece, "jazz", tmp_path / "o.mid", wav=tmp_path / "o.wav", seconds=-1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid"]


@pytest.mark.parametrize("argv", [
    ["train", "velocity", "--genre", "jazz", "--init", "m.keras", "-o", "m.keras"],
    ["train", "chords", "--genre", "jazz", "--init", "m.keras", "-o", "m.keras"],
    ["train", "tokens", "--genre", "jazz", "--init", "m.keras", "--out", "./m.keras"],
], ids=["velocity", "chords", "tokens"])
def test_training_never_writes_over_the_model_it_starts_from(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.keras").write_bytes(b"a model")
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {argv[-1].lstrip('./')}: is also the input")
    assert (tmp_path / "m.keras").read_bytes() == b"a model"

"""The command line: JSON output, and bad input as one clear line with exit code 2."""

import json
import re
import subprocess
import sys

import pytest

from midibytes import cc, off, on, smf, track
from musicstyle.cli import main
from musicstyle.core.midi import read_midi


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_inspect_json(tmp_path, capsys):
    path = write(tmp_path, "it's a piece.mid", smf(track([(0, cc(64, 127)), (0, on(60, 100)), (480, off(60)), (0, cc(64, 0))])))
    assert main(["inspect", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["notes"] == 1 and result["pedal_presses"] == 1 and result["columns"] == 59
    assert result["steps"] == 9 and result["duration_s"] == 0.5
    assert result["recording_group"] == "quantised"  # its one onset is on the 16th-note grid
    assert main(["inspect", str(path), "--json", "--layout", "full88"]) == 0
    assert json.loads(capsys.readouterr().out)["columns"] == 90


def test_inspect_names_the_smpte_timing_of_a_file_timed_in_frames(tmp_path, capsys):
    plain = write(tmp_path, "plain.mid", smf(track([(0, on(60, 100)), (480, off(60))])))
    framed = write(tmp_path, "framed.mid", smf(track([(0, on(60, 100)), (1000, off(60))]), division=0xE728))
    assert main(["inspect", str(plain), str(framed), "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["smpte"] for r in results] == [None, {"frame_rate": 25, "ticks_per_frame": 40}]
    assert [r["duration_s"] for r in results] == [0.5, 1.0]
    assert main(["inspect", str(plain), str(framed)]) == 0
    plain_text, framed_text = capsys.readouterr().out.split("\n\n")
    assert "\nsmpte " not in plain_text and "\nsmpte                25 frames a second, 40 ticks a frame" in framed_text


def test_inspect_bad_file_prints_one_line_and_exits_2(tmp_path, capsys):
    path = write(tmp_path, "notes.txt", b"hello")
    assert main(["inspect", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}: not a MIDI file (no 'MThd' header)\n"


def test_inspect_several_files_one_json_line_each_and_the_unreadable_one_reported(tmp_path, capsys):
    good = write(tmp_path, "a.mid", smf(track([(0, on(60, 100)), (480, off(60))])))
    bad = write(tmp_path, "b.mid", b"hello")
    assert main(["inspect", str(good), str(bad), str(good), "--json"]) == 2
    captured = capsys.readouterr()
    assert [json.loads(line)["file"] for line in captured.out.splitlines()] == [str(good), str(good)]
    assert captured.err == f"error: {bad}: not a MIDI file (no 'MThd' header)\n"
    assert main(["inspect", str(good), str(good)]) == 0
    first, second = capsys.readouterr().out.split("\n\n")
    assert first + "\n" == second and first.startswith("file ")


def test_entry_point_runs_without_traceback(tmp_path):
    path = write(tmp_path, "cut.mid", smf(track([(0, on(60, 100)), (480, off(60))]))[:-3])
    proc = subprocess.run([sys.executable, "-m", "musicstyle", "inspect", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}: truncated") and "Traceback" not in proc.stderr


def test_version_is_the_installed_packages(capsys):
    from importlib.metadata import version

    import musicstyle

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"musicstyle {musicstyle.__version__}\n"
    assert version("musicstyle") == musicstyle.__version__  # pyproject.toml reads it from the package


def test_citation_file_names_this_version():
    from pathlib import Path

    import yaml

    import musicstyle

    cff = yaml.safe_load((Path(__file__).resolve().parent.parent / "CITATION.cff").read_text())
    assert cff["version"] == musicstyle.__version__ and cff["license"] == "MIT"
    assert {r["title"] for r in cff["references"]} >= {"Dilated CNN and LSTMs for Music Style Transfer", "The Piano Dataset"}


def test_explore_writes_figure_and_audio(tmp_path, capsys):
    path = write(tmp_path, "p.mid", smf(track([(0, on(60, 100)), (480, off(60)), (0, on(64, 60)), (480, off(64))])))
    assert main(["explore", str(path), "-o", str(tmp_path / "out"), "--seconds", "2"]) == 0
    printed = capsys.readouterr().out  # its keys are transfer's for the same files
    assert re.search(r"^plot +\S+p_roll\.png$", printed, re.M) and re.search(r"^wav +\S+p\.wav$", printed, re.M)
    assert (tmp_path / "out" / "p_roll.png").stat().st_size > 1000
    wav = tmp_path / "out" / "p.wav"
    from musicstyle.core.audio import read_wav

    audio, rate = read_wav(wav)
    assert rate == 22050 and 1.0 < len(audio) / rate <= 2.0 and abs(audio).max() > 0.05


def test_player_is_small_ogg_in_an_audio_src_that_untrusted_notebooks_keep(tmp_path):
    import base64

    from musicstyle.core import audio

    path = write(tmp_path, "p.mid", smf(track([(0, on(60, 100)), (480, off(60)), (0, on(64, 60)), (480, off(64))])))
    player = audio.player(path, seconds=2.0, label="a <test>")
    page = player._repr_html_()
    assert page.startswith('<audio controls preload="auto" title="a &lt;test&gt;" src="data:audio/ogg;base64,') and "<source" not in page
    data = base64.b64decode(page.split("base64,")[1].split('"')[0])
    assert data == player.data and data[:4] == b"OggS" and len(data) < 40_000  # about 5 kB a second
    assert abs(player.seconds - 2.0) < 0.01 and "Ogg/Opus" in repr(player)


def test_excerpt_keeps_the_first_seconds_on_a_millisecond_clock():
    from musicstyle.core.audio import excerpt
    from musicstyle.core.midi import read_midi

    perf = read_midi(smf(track([(0, cc(64, 127)), (0, on(60, 100)), (960, off(60)), (0, on(64, 60)), (960, off(64)), (0, cc(64, 0))])))
    cut = read_midi(excerpt(perf, 1.5))  # 120 qpm: notes at 0-1 s and 1-2 s
    assert cut.notes["pitch"].tolist() == [60, 64] and cut.notes["velocity"].tolist() == [100, 60]
    assert cut.seconds(cut.notes["end"]).tolist() == [1.0, 2.0] and cut.controls["value"].tolist() == [127]


def test_before_after_figure_has_a_colour_bar_and_the_change(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from musicstyle.core.midi import read_midi, rewrite_velocities
    from musicstyle.figures.velocity import transfer_figure

    data = smf(track([(0, on(60, 100)), (480, off(60)), (0, on(64, 50)), (480, off(64))]))
    before, after = read_midi(data), read_midi(rewrite_velocities(data, lambda t, p, v: v / 2))
    fig = transfer_figure(before, after, ("original", "to classical"))
    titles = [ax.get_title() for ax in fig.axes]
    assert "original: velocity" in titles and "to classical: velocity" in titles
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    line = next(ax for ax in fig.axes if ax.get_ylabel() == "velocity (1-127)")
    assert [len(c.get_offsets()) for c in line.collections if hasattr(c, "get_sizes") and len(c.get_sizes())] == [2, 2]
    assert any("change per note" in t and "mean -37.5" in t for t in titles)
    fig.savefig(tmp_path / "f.png")


def test_text_output_lists_a_nested_dictionary_under_its_key(capsys):
    from musicstyle.cli import emit

    emit({"split": "test", "jazz": {"pieces": 35, "ratio": 0.8}, "empty": {}, "rows": [1, 2]}, False)
    assert capsys.readouterr().out.splitlines() == [
        "split  test", "jazz", "  pieces  35", "  ratio   0.8", "empty  {}", "rows   [1, 2]"]
    emit({"jazz": {"pieces": 35}}, True)
    assert capsys.readouterr().out == '{"jazz": {"pieces": 35}}\n'
    emit({"hold_out": None, "texture": True, "quick": False}, False)  # not Python's None, True, False
    assert capsys.readouterr().out.splitlines() == ["hold_out  -", "texture   yes", "quick     no"]
    emit({"hold_out": None, "texture": True}, True)
    assert capsys.readouterr().out == '{"hold_out": null, "texture": true}\n'


def test_text_output_rounds_floats_and_sets_rows_out_as_a_table_while_json_keeps_every_digit(capsys):
    from musicstyle.cli import emit

    result = {"jazz": 0.9962400197982788, "classical": 0.0037599802017211914, "none": 0.0, "range": [34, 92.123456],
              "rows": [{"genre": "jazz", "pieces": 2, "r": 0.1549664}, {"genre": "classical", "pieces": 20, "r": -0.0949301,
                                                                      "run": 3}]}
    emit(result, False)
    assert capsys.readouterr().out.splitlines() == [
        "jazz       0.996", "classical  0.00376", "none       0.0", "range      [34, 92.123]", "rows",
        "  genre      pieces       r  run",
        "  jazz            2   0.155",
        "  classical      20  -0.095    3"]
    emit(result, True)
    assert json.loads(capsys.readouterr().out) == result


def test_help_examples_are_valid_commands_and_the_main_job_is_listed_first(capsys):
    from musicstyle.cli import EXAMPLES, build_parser

    parser = build_parser()
    examples = [line.split()[1:] for line in EXAMPLES.splitlines() if line.startswith("  musicstyle ")]
    assert len(examples) == 6
    for argv in examples:
        assert callable(parser.parse_args(argv).func), argv
    parser.print_help()
    commands = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert commands.index("transfer") < commands.index("inspect") < commands.index("compose")


OUT_OF_RANGE = [
    (["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--epochs", "0"], "--epochs: must be at least 1 (got 0)"),
    (["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--minutes", "-1"], "--minutes: must be > 0 (got -1)"),
    (["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--patience", "0"], "--patience: must be at least 1"),
    (["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--lr", "nan"], "--lr/--learning-rate: must be > 0 (got nan)"),
    (["train", "classifier", "--epochs", "-2"], "--epochs: must be at least 1 (got -2)"),
    (["train", "dynamics", "-o", "d.keras", "--members", "0"], "--members: must be at least 1"),
    (["train", "dynamics", "-o", "d.keras", "--hidden", "-1"], "--hidden: must be at least 0"),
    (["train", "chords", "--genre", "jazz", "--units", "0"], "--units: must be at least 1"),
    (["train", "tokens", "--genre", "jazz", "--window", "1"], "--window: must be at least 2"),
    (["transfer", "--to", "jazz", "-o", "x.mid", "--seconds", "0"], "--seconds: must be > 0"),
    (["explore", "--seconds", "-3"], "--seconds: must be > 0"),
    (["generate", "--genre", "jazz", "--inspired-by", "p.mid", "-o", "x.mid", "--temperature", "0"], "--temperature: must be > 0"),
    (["compose", "--genre", "jazz", "-o", "x.mid", "--tokens", "0"], "--tokens: must be at least 1"),
    (["compose", "--genre", "jazz", "-o", "x.mid", "--tokens", "100001"], "--tokens: must be at most 100000"),
    (["evaluate", "composed", "--tokens", "1e9"], "--tokens: invalid int value"),
    (["evaluate", "composed", "--tokens", "1000000"], "--tokens: must be at most 100000"),
    (["compose", "--genre", "jazz", "-o", "x.mid", "--top-k", "-1"], "--top-k: must be at least 0"),
    (["compose", "--genre", "jazz", "-o", "x.mid", "--penalty", "-0.5"], "--penalty: must be at least 0 (got -0.5)"),
    (["evaluate", "composed", "--pieces", "0"], "--pieces: must be at least 1"),
    (["train", "velocity", "--genre", "jazz", "-o", "m.keras", "--epochs", "ten"], "--epochs: invalid int value: 'ten'"),
    (["explore", "--seconds", "inf"], "--seconds: must be a finite number (got inf)"),
    (["transfer", "--to", "jazz", "-o", "x.mid", "--wav", "--seconds", "nan"], "--seconds: must be > 0 (got nan)"),
    (["generate", "--genre", "jazz", "--inspired-by", "p.mid", "-o", "x.mid", "--seconds", "601"], "--seconds: must be at most 600"),
    (["transfer", "--to", "jazz", "-o", "x.mid", "--seed", "-1"], "--seed: must be a whole number from 0 to 4294967295"),
    (["compose", "--genre", "pop", "-o", "x.mid", "--seed", "-1"], "--seed: must be a whole number from 0"),
    (["generate", "--genre", "jazz", "--inspired-by", "p.mid", "-o", "x.mid", "--seed", "99999999999999999999"],
     "--seed: must be a whole number from 0"),
    (["explore", "p.mid", "-o", "p.mid/sub"], "-o/--out-dir/--out: p.mid is a file, not a folder"),
    (["explore", "p.mid", "-o", "p.mid"], "-o/--out-dir/--out: p.mid is a file, not a folder"),
    (["explore", "p.mid", "-o", "heat.png"], "-o/--out-dir/--out: heat.png names a file, but this option takes a folder"),
    (["transfer", "p.mid", "--to", "jazz", "--out-dir", "p_jazz.mid"], "--out-dir: p_jazz.mid names a file, but this option"),
]


@pytest.mark.parametrize("argv, message", OUT_OF_RANGE, ids=[" ".join(a[:2] + a[-2:]) for a, _ in OUT_OF_RANGE])
def test_numbers_out_of_range_are_refused_before_any_work(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "explore" in argv and "-o" in argv:
        (tmp_path / "p.mid").write_bytes(b"MThd")
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"error: argument {message}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] in ([], ["p.mid"])


def test_route_and_no_texture_cannot_both_be_given(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["transfer", "--to", "jazz", "-o", str(tmp_path / "x.mid"), "--route", "texture", "--no-texture"])
    assert exit_.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


COMBINATIONS = [  # options that would be accepted and then do nothing are refused before any work
    (["train", "velocity", "--genre", "jazz", "--init", "base.keras", "--members", "3", "--channels", "24"],
     "error: base.keras: --init keeps the file's network, width and loudness estimate: --members, --channels cannot change them"),
    (["train", "velocity", "--genre", "jazz", "--init", "base.keras", "--loudness-penalty", "30"],
     "--loudness-penalty cannot change them"),
    (["train", "dynamics", "--real-only", "--extra-models", "c.keras", "j.keras"],
     "error: --extra-models: model re-predictions are not used with --real-only"),
    (["evaluate", "tokens", "--genre", "jazz", "--data", ".", "--split", "held-out", "--hold-out", "loud", "--by-group"],
     "error: --by-group: figures by group are for --split test or validation"),
    (["transfer", "--to", "jazz", "-o", "x.mid", "--seconds", "10"], "error: --seconds: sets the length of the WAV: give --wav too"),
]


@pytest.mark.parametrize("argv, message", COMBINATIONS, ids=[" ".join(a[:2]) + " " + a[-2] for a, _ in COMBINATIONS])
def test_options_that_would_do_nothing_together_are_refused(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output = ["-o", "out.keras"] if argv[0] == "train" else []
    assert main(argv + output) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_init_with_one_member_is_accepted_as_the_default_it_is(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr("musicstyle.velocity.train_to_file", lambda *a, **k: seen.update(k) or {"ok": True})
    assert main(["train", "velocity", "--genre", "jazz", "--init", "base.keras", "--members", "1", "-o", str(tmp_path / "o.keras")]) == 0
    assert seen["members"] == 1 and seen["channels"] == 48 and seen["init"] == "base.keras"


@pytest.mark.parametrize("argv, written", [
    (["train", "velocity", "--genre", "jazz"], "velocity_jazz.keras"),
    (["train", "velocity", "--genre", "classical", "--arch", "stylenet"], "velocity_stylenet_classical.keras"),
    (["train", "dynamics", "--kind", "cnn"], "dynamics_cnn.keras"),
    (["train", "dynamics", "--kind", "stats", "--real-only"], "dynamics_stats_raw.keras"),
    (["train", "dynamics", "--output", "mine.keras"], "mine.keras"),
    (["train", "velocity", "--genre", "jazz", "--out", "mine.keras"], "mine.keras"),
])
def test_every_trainer_writes_the_shipped_name_unless_told(argv, written, monkeypatch):
    seen = []
    monkeypatch.setattr("musicstyle.velocity.train_to_file", lambda out, *a, **k: seen.append(out) or {})
    monkeypatch.setattr("musicstyle.dynamics.train_command", lambda kind, out, **k: seen.append(out) or {})
    assert main(argv) == 0 and seen == [written]


def test_transfer_takes_out_as_the_other_writers_do(tmp_path):
    assert main(["transfer", "--to", "jazz", "--out", str(tmp_path / "o.mid")]) == 0  # --out is not --out-dir's prefix
    assert read_midi(tmp_path / "o.mid").notes.size


def test_a_reader_that_goes_away_ends_the_command_without_a_traceback(tmp_path):
    path = write(tmp_path, "p.mid", smf(track([(0, on(60, 100)), (480, off(60))])))
    proc = subprocess.Popen([sys.executable, "-m", "musicstyle", "inspect", *[str(path)] * 200],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait() == 1 and "Traceback" not in err and "BrokenPipeError" not in err


@pytest.mark.parametrize("as_json, terminal, shown", [(False, False, True), (True, True, True), (True, False, False)])
def test_progress_bars_go_to_a_watching_terminal_and_stay_out_of_json_for_scripts(as_json, terminal, shown, monkeypatch, tmp_path,
                                                                                   capsys):
    import musicstyle.tokens as T

    seen = {}

    def evaluate_command(*args, progress, **kwargs):
        seen["progress"] = progress
        return {}

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    monkeypatch.setattr(T, "evaluate_command", evaluate_command)
    assert main(["evaluate", "tokens", "--genre", "jazz", "--data", str(tmp_path), *(["--json"] if as_json else [])]) == 0
    assert seen == {"progress": shown}


@pytest.mark.parametrize("argv", [["explore", "a.mid", "b.mid"], ["train", "tokens", "--genre", "jazz", "--bogus"]])
def test_an_unknown_argument_is_named_with_its_commands_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    command = " ".join(argv[:2] if argv[0] == "train" else argv[:1])
    assert exit_.value.code == 2 and err.startswith(f"usage: musicstyle {command} ")
    assert f"musicstyle {command}: error: unrecognized arguments: {argv[-1]}" in err


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from musicstyle.cli import build_parser

    def silent(parser, path):
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub:
            return [s for name, child in sub.choices.items() for s in silent(child, [*path, name])]
        return [f"{' '.join(path)} {(a.option_strings or [a.dest])[-1]}" for a in parser._actions if not a.help]

    assert silent(build_parser(), []) == []


def test_an_interrupted_training_run_without_a_checkpoint_says_how_to_resume_one(monkeypatch, tmp_path, capsys):
    import musicstyle.classifier as classifier

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier, "train_command", interrupt)
    monkeypatch.setattr(classifier, "classify", interrupt)
    assert main(["train", "classifier", "-o", str(tmp_path / "c.keras")]) == 130
    assert capsys.readouterr().err == "interrupted; a training run given --checkpoint-dir DIR resumes where it stopped\n"
    assert main(["train", "classifier", "--checkpoint-dir", str(tmp_path), "-o", str(tmp_path / "c.keras")]) == 130
    assert capsys.readouterr().err == "interrupted\n"
    piece = tmp_path / "p.mid"
    piece.write_bytes(b"MThd")
    assert main(["classify", str(piece)]) == 130
    assert capsys.readouterr().err == "interrupted\n"


#: What each command that reads a model file (and writes a piece) prints, and the file it names (--json).
NAMED_FILES = [
    (["transfer", "--to", "jazz", "-o", "OUT"], {"midi": "OUT", "model_file": "velocity_jazz.keras (shipped)"}),
    (["generate", "--genre", "jazz", "--inspired-by", "PIECE", "-o", "OUT", "--seconds", "5"],
     {"midi": "OUT", "model_file": "chords_jazz.keras (shipped)"}),
    (["compose", "--genre", "jazz", "-o", "OUT", "--tokens", "20"], {"midi": "OUT", "model_file": "tokens_jazz.keras (shipped)"}),
    (["classify", "PIECE"], {"model": "improved", "model_file": "classifier.keras (shipped)"}),  # model: the architecture
    (["judge", "PIECE", "--relations", "dynamics_relations.keras"], {"judge_file": "dynamics_relations.keras (shipped)"}),
]


@pytest.mark.parametrize("argv, named", NAMED_FILES, ids=[a[0] for a, _ in NAMED_FILES])
def test_every_command_names_the_file_it_reads_and_writes_the_same_way(argv, named, tmp_path, capsys):
    """One key per concept: ``midi`` a MIDI file written, ``model_file`` the model file read (``judge_file`` the
    judge's); ``model`` only ever the architecture, and no other command's old names."""
    from musicstyle.data.examples import default_piece

    out = tmp_path / "out.mid"
    given = {"OUT": str(out), "PIECE": str(default_piece())}
    assert main([given.get(a, a) for a in argv] + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {k: result.get(k) for k in named} == {k: given.get(v, v) for k, v in named.items()}
    assert not {"written", "out", "judge"} & set(result) and ("model" not in result or argv[0] == "classify")
    assert out.is_file() == ("midi" in named)

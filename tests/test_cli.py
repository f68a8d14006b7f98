"""The command line: JSON output, and bad input as one clear line with exit code 2."""

import json
import subprocess
import sys

from midibytes import cc, off, on, smf, track
from musicstyle.cli import main


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
    assert main(["inspect", str(path), "--json", "--layout", "full88"]) == 0
    assert json.loads(capsys.readouterr().out)["columns"] == 90


def test_inspect_bad_file_prints_one_line_and_exits_2(tmp_path, capsys):
    path = write(tmp_path, "notes.txt", b"hello")
    assert main(["inspect", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {path}: not a MIDI file (no 'MThd' header)\n"


def test_entry_point_runs_without_traceback(tmp_path):
    path = write(tmp_path, "cut.mid", smf(track([(0, on(60, 100)), (480, off(60))]))[:-3])
    proc = subprocess.run([sys.executable, "-m", "musicstyle", "inspect", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}: truncated") and "Traceback" not in proc.stderr


def test_explore_writes_figure_and_audio(tmp_path, capsys):
    path = write(tmp_path, "p.mid", smf(track([(0, on(60, 100)), (480, off(60)), (0, on(64, 60)), (480, off(64))])))
    assert main(["explore", str(path), "-o", str(tmp_path / "out"), "--seconds", "2"]) == 0
    assert (tmp_path / "out" / "p_roll.png").stat().st_size > 1000
    wav = tmp_path / "out" / "p.wav"
    from musicstyle.core.audio import read_wav

    audio, rate = read_wav(wav)
    assert rate == 22050 and 1.0 < len(audio) / rate <= 2.0 and abs(audio).max() > 0.05

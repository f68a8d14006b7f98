"""The README's "From Python" block runs as it is: every call it shows exists and does what its comment says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from musicstyle.data import default_piece

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_the_readmes_python_block_runs_as_written(tpd_folder, tmp_path, monkeypatch, capsys):  # tpd: its last lines
    block = re.search(r"## From Python\n.*?```python\n(.*?)```", README, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "piece.mid").write_bytes(default_piece().read_bytes())
    exec(compile(block, "README.md (From Python)", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and printed[1] in ("classical", "jazz")  # two verdicts and a genre
    assert all(set(ast.literal_eval(line)) == {"classical", "jazz", "unrelated"} for line in (printed[0], printed[2]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.mid", "piece_jazz.mid", "pop.mid"]

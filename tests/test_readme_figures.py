"""The README's key figures have their evidence: each equals a shipped model's metadata or a stored full-run output.

A figure that changes (a model retrained, a notebook re-run) without the README following fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from musicstyle.training.modelfile import read_metadata

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PRETRAINED = ROOT / "musicstyle" / "pretrained"


def section(title: str) -> str:
    """The README's text under the heading ``### title`` (up to the next heading)."""
    start = README.index(f"### {title}")
    end = re.search(r"\n##+ ", README[start + 4 :])
    return README[start : start + 4 + end.start()] if end else README[start:]


def prose(text: str) -> str:
    """Text with every run of white space (line breaks included) as one space."""
    return " ".join(text.split())


def meta(name: str) -> dict:
    return read_metadata(PRETRAINED / f"{name}.keras")


def stored_output(notebook: str) -> str:
    """Every text output of a stored notebook, joined."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    parts = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@pytest.mark.parametrize("genre", ["classical", "jazz"])
def test_velocity_table_is_the_shipped_models_test_figures(genre):
    t, text = meta(f"velocity_{genre}")["test"], section("Velocity style transfer")
    row = next(line for line in text.splitlines() if line.startswith(f"| {genre} |"))
    assert f"**{t['rmse_ratio']:.3f}**" in row and f"| {t['rmse']:.2f} |" in row
    assert f"| {t['pearson_r']:.2f} |" in row and f"| {t['within_piece_rmse']:.2f} |" in row
    stylenet = meta(f"velocity_stylenet_{genre}")["test"]
    assert f"| {stylenet['rmse']:.2f} |" in row and f"{stylenet['rmse_ratio']:.3f}" in prose(text)


def test_classifier_table_is_the_shipped_models_test_figures():
    text = section("Genre classifier")
    for name in ("classifier", "classifier_paper", "classifier_paper59"):
        t = meta(name)["test"]
        assert pct(t["segment_accuracy"]) in text and pct(t["piece_accuracy"]) in text, name


def test_chords_ratio_is_the_shipped_models_test_figure():
    text = prose(section("Genre classifier"))
    for genre in ("classical", "jazz"):
        assert f"{genre} {meta(f'chords_{genre}')['test']['ratio']:.2f}" in text


@pytest.mark.parametrize("genre", ["classical", "jazz", "pop"])
def test_token_table_is_the_shipped_models_evaluation(genre):
    e, text = meta(f"tokens_{genre}")["evaluation"], section("Note tokens")
    row = next(line for line in text.splitlines() if line.startswith(f"| {genre} "))
    assert f"**{pct(e['accuracy'])}**" in row and f"| {pct(e['top5_accuracy'])} |" in row
    assert f"| {pct(e['bigram_accuracy'])} |" in row and f"| {e['nats_per_token']:.2f} |" in row


def test_chords_pedal_figures_are_the_stored_full_run():
    out, text = stored_output("04_lstm_generation.ipynb"), prose(section("Genre classifier"))
    real = re.search(r"sustain down, real pieces \(first 30 s\): classical (\d+)%, jazz (\d+)%", out)
    lstm = re.search(r"classical LSTM, sustain down: inspired by classical (\d+)%, by jazz (\d+)%", out)
    assert real and lstm
    assert f"down {lstm.group(2)}% of the time" in text
    assert f"({real.group(1)}% and {real.group(2)}%)" in text


def test_transfer_judge_figures_are_the_stored_full_run():
    out, text = stored_output("02b_did_the_style_move.ipynb"), prose(section("Did the style move?"))
    real = re.search(r"real pieces judged correctly +([\d.]+)%", out)
    moved = re.search(r"relations controls pass: True; moved to the target genre: ([\d.]+) \(jazz->classical\), "
                      r"([\d.]+) \(classical->jazz\)", out)
    assert real and moved
    assert f"judges {round(float(real.group(1)))}% of the real pieces correctly" in text
    for share in moved.groups():
        assert f"**{round(100 * float(share))}%**" in text


def test_excerpt_figures_are_the_stored_full_run():
    out, text = stored_output("02b_did_the_style_move.ipynb"), prose(section("Did the style move?"))
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(r"^ *(\d+|whole) +\d+ +(\d+)% +(\d+)% +\d+%$", out, re.MULTILINE)}
    assert {"64", "128", "256", "whole"} <= set(rows)
    lengths = ("64", "128", "256")
    assert "right on " + " / ".join(f"{rows[n][0]}%" for n in lengths) + " of the real pieces" in text
    assert f"(whole pieces: {rows['whole'][0]}%)" in text
    assert "genre " + " / ".join(f"{rows[n][1]}%" for n in lengths) + " of the time" in text


def test_classifier_length_figures_are_the_stored_full_run():
    out, text = stored_output("03_genre_classifier.ipynb"), prose(section('Genre classifier and "jazz-inspired classical"'))
    acc = {m.group(1): float(m.group(2)) for m in re.finditer(r"first (\d+) beats +pieces +\d+ +piece accuracy ([\d.]+)$",
                                                              out, re.MULTILINE)}
    assert set(acc) == {"8", "16", "32", "64"}
    shown = ", ".join(f"{100 * acc[n]:.0f}%" for n in ("8", "16", "32")) + f" and {100 * acc['64']:.0f}%"
    assert f"voted right {shown} of the time" in text

"""The widget driven as a user would: set values, click, read the outputs."""

import base64
import datetime
import pytest

from midibytes import cc, off, on, smf, track
from musicstyle import widgets
from musicstyle.core.midi import read_midi, rewrite_velocities

PIECE = smf(track([(0, cc(64, 127)), (0, on(60, 100)), (480, off(60)), (0, on(64, 50)), (480, off(64)), (0, cc(64, 0))]))


def halve(data, name, target):
    return rewrite_velocities(data, lambda t, p, v: v / 2, name)


def fake_verdict(data):
    v = read_midi(data).notes["velocity"].mean()
    return {"classical": float(v / 127), "jazz": float(1 - v / 127)}


@pytest.fixture
def widget(tmp_path, monkeypatch):
    monkeypatch.setitem(widgets.MODES, "halve", halve)
    (tmp_path / "jazz piece.mid").write_bytes(PIECE)
    (tmp_path / "other.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"jazz/jazz piece": tmp_path / "jazz piece.mid", "classical/other": tmp_path / "other.mid"}, verdict=fake_verdict)
    w.mode.value = "halve"
    return w


def test_click_shows_audio_figure_verdict_and_download(widget):
    widget.picker.value = "jazz/jazz piece"
    widget.target.value = "classical"
    widget.button.click()
    assert widget.message.value == ""
    assert widget.progress.value == widget.progress.max
    assert widget.audio_before.value[:4] == b"RIFF" and widget.audio_after.value[:4] == b"RIFF"
    assert widget.audio_before.value != widget.audio_after.value  # quieter after halving
    assert widget.players.layout.display == "flex"
    axes = widget.last_figure.axes
    assert len(axes) == 2 and all(len(ax.images) == 1 for ax in axes)
    assert base64.b64decode(widget.figure.outputs[0]["data"]["image/png"])[:4] == b"\x89PNG"
    assert axes[1].get_title() == "classical velocity"
    assert 'download="jazz piece_halve_classical.mid"' in widget.download.value
    new = read_midi(widget.result.midi)
    assert new.notes["velocity"].tolist() == [50, 25]
    assert "before: classical 59%" in widget.verdicts.value and "after: classical 30%" in widget.verdicts.value


def test_bad_upload_shows_a_message_and_the_widget_stays_usable(widget):
    widget.upload.value = ({"name": "notes.txt", "type": "text/plain", "size": 5, "content": memoryview(b"hello"), "last_modified": datetime.datetime(2026, 1, 1)},)
    widget.button.click()
    assert "error: notes.txt: not a MIDI file" in widget.message.value
    assert widget.result is None and not widget.button.disabled
    widget.button.click()  # the upload is cleared: the picked piece runs
    assert widget.message.value == "" and widget.result is not None


def test_upload_is_used_before_the_picker(widget):
    data = smf(track([(0, on(70, 90)), (480, off(70))]))
    widget.upload.value = ({"name": "mine.mid", "type": "audio/midi", "size": len(data), "content": memoryview(data), "last_modified": datetime.datetime(2026, 1, 1)},)
    widget.button.click()
    assert widget.result.name == "mine.mid"
    assert read_midi(widget.result.midi).notes["pitch"].tolist() == [70]


def test_search_filters_the_picker(widget):
    widget.search.value = "JAZZ"
    assert widget.picker.options == ("jazz/jazz piece",)
    widget.search.value = ""
    assert len(widget.picker.options) == 2


def test_empty_piece_message(widget, tmp_path):
    (tmp_path / "empty.mid").write_bytes(smf(track([])))
    widget.pieces["empty"] = tmp_path / "empty.mid"
    widget.search.value = "empty"
    widget.picker.value = "empty"
    widget.button.click()
    assert "empty.mid: no notes" in widget.message.value


def test_download_link_round_trips():
    import base64

    link = widgets.download_link(b"MThd123", 'a "b".mid')
    assert 'download="a &quot;b&quot;.mid"' in link
    assert base64.b64decode(link.split("base64,")[1].split('"')[0]) == b"MThd123"


def test_each_mode_is_judged_by_its_own_judge(tmp_path, monkeypatch):
    monkeypatch.setitem(widgets.MODES, "halve", halve)
    monkeypatch.setitem(widgets.VERDICTS, "halve", ("loudness judge", fake_verdict))
    (tmp_path / "p.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"p": tmp_path / "p.mid"})
    w.mode.value = "halve"
    w.button.click()
    assert w.message.value == ""
    assert "verdict</b> of the loudness judge: before: classical 59%" in w.verdicts.value
    assert set(widgets.MODES) >= {"velocity transfer", "inspired generation"} and set(widgets.MODES) == set(widgets.VERDICTS)

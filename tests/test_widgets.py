"""The widget driven as a user would: set values, click, read the outputs."""

import base64
import datetime
import pytest

from midibytes import cc, off, on, smf, track
from musicstyle import widgets
from musicstyle.core.midi import read_midi, rewrite_velocities

PIECE = smf(track([(0, cc(64, 127)), (0, on(60, 100)), (480, off(60)), (0, on(64, 50)), (480, off(64)), (0, cc(64, 0))]))


def halve(data, name, target, **settings):
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
    maps = [ax for ax in widget.last_figure.axes if ax.images]
    assert len(maps) == 2 and any(ax.get_label() == "<colorbar>" for ax in widget.last_figure.axes)
    assert base64.b64decode(widget.figure.outputs[0]["data"]["image/png"])[:4] == b"\x89PNG"
    assert maps[1].get_title() == "to classical (halve): velocity"
    assert widget.results.children == (widget.caption, widget.verdicts, widget.players, widget.download, widget.figure)
    assert "result of:</b> jazz/jazz piece → classical (halve, route texture, seed 0)" in widget.caption.value
    assert "picked: jazz/jazz piece" in widget.source.value
    assert 'download="jazz piece_halve_classical.mid"' in widget.download.value
    new = read_midi(widget.result.midi)
    assert new.notes["velocity"].tolist() == [50, 25]
    assert "before: classical 59%" in widget.verdicts.value and "after: classical 30%" in widget.verdicts.value


def test_bad_upload_shows_a_message_and_the_widget_stays_usable(widget):
    widget.upload.value = ({"name": "notes.txt", "type": "text/plain", "size": 5, "content": memoryview(b"hello"), "last_modified": datetime.datetime(2026, 1, 1)},)
    widget.button.click()
    assert "uploaded: notes.txt" not in widget.source.value  # a failed upload is dropped
    assert "error: notes.txt: not a MIDI file" in widget.message.value and "upload cleared" in widget.message.value
    assert widget.result is None and not widget.button.disabled
    assert widget.results.children == (widget.message,)  # the error replaces the whole result area
    widget.button.click()  # the upload is cleared: the picked piece runs
    assert widget.message.value == "" and widget.result is not None


def test_an_error_after_a_run_leaves_no_stale_result(widget):
    widget.button.click()
    assert widget.result is not None and widget.figure in widget.results.children
    widget.upload.value = ({"name": "bad.mid", "type": "audio/midi", "size": 4, "content": memoryview(b"MThd"), "last_modified": datetime.datetime(2026, 1, 1)},)
    widget.button.click()
    assert widget.result is None and widget.results.children == (widget.message,)
    assert "error: bad.mid" in widget.message.value


def test_upload_is_used_before_the_picker(widget):
    data = smf(track([(0, on(70, 90)), (480, off(70))]))
    widget.upload.value = ({"name": "mine.mid", "type": "audio/midi", "size": len(data), "content": memoryview(data), "last_modified": datetime.datetime(2026, 1, 1)},)
    assert "uploaded: mine.mid" in widget.source.value and widget.picker.value is None  # the list no longer highlights a piece
    assert widget.clear_upload.layout.display != "none"
    widget.search.value = "other"  # filtering the list keeps the upload
    assert widget.upload.value and "uploaded: mine.mid" in widget.source.value
    widget.search.value = ""
    widget.button.click()
    assert widget.result.name == "mine.mid"
    assert read_midi(widget.result.midi).notes["pitch"].tolist() == [70]
    assert "uploaded: mine.mid" in widget.source.value  # kept for the next run
    widget.clear_upload.click()
    assert not widget.upload.value and "picked: jazz/jazz piece" in widget.source.value and widget.picker.value == "jazz/jazz piece"


def test_hint_when_the_target_is_the_sources_genre(widget):
    widget.picker.value = "jazz/jazz piece"
    widget.target.value = "jazz"
    assert "already jazz" in widget.hint.value
    widget.target.value = "classical"
    assert widget.hint.value == ""


def test_genre_filter(widget):
    widget.genre.value = "classical"
    assert widget.picker.options == ("classical/other",)
    widget.genre.value = "all"
    assert len(widget.picker.options) == 2 and "2 of 2" in widget.count.value


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


def _widget_in_mode(tmp_path, monkeypatch, mode: str, transfer):
    """A widget on one piece whose mode ``mode`` runs ``transfer``, judged by the fake loudness judge."""
    monkeypatch.setitem(widgets.MODES, mode, transfer)
    monkeypatch.setitem(widgets.VERDICTS, mode, ("loudness judge", fake_verdict))
    (tmp_path / "p.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"p": tmp_path / "p.mid"})
    w.mode.value = mode
    return w


def test_each_mode_is_judged_by_its_own_judge(tmp_path, monkeypatch):
    w = _widget_in_mode(tmp_path, monkeypatch, "halve", halve)
    w.button.click()
    assert w.message.value == ""
    assert "verdict</b> of the loudness judge: before: classical 59%" in w.verdicts.value
    assert "P(classical) fell by 29 percentage points." in w.verdicts.value


def test_a_piece_too_short_for_the_dynamics_judge_gets_a_caution(tmp_path, monkeypatch):
    w = _widget_in_mode(tmp_path, monkeypatch, "velocity transfer", halve)
    w.button.click()
    assert w.message.value == "" and "Caution: only 2 notes" in w.verdicts.value
    # velocity transfer also draws the dynamics judge's verdict stretch by stretch, under the before/after figure
    assert [o["data"]["text/plain"] for o in w.figure.outputs] == ["before/after figure", "verdict by stretch"]
    assert len(w.last_stretches.axes[0].patches) == 4
    w = _widget_in_mode(tmp_path, monkeypatch, "halve", halve)  # a judge of the notes needs no such caution
    w.button.click()
    assert w.message.value == "" and "Caution" not in w.verdicts.value
    assert len(w.figure.outputs) == 1 and w.last_stretches is None


def test_a_piece_shorter_than_a_window_gets_the_classifiers_caution_in_inspired_generation(tmp_path, monkeypatch):
    monkeypatch.setitem(widgets.MODES, "inspired generation", halve)
    (tmp_path / "p.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"p": tmp_path / "p.mid"})
    w.mode.value = "inspired generation"
    w.button.click()
    assert w.message.value == "" and "verdict</b> of the genre classifier" in w.verdicts.value
    assert "Caution: only 2 beats of music: the classifier reads windows of 64 beats" in w.verdicts.value


def test_verdict_says_what_the_judge_hears_and_links_its_notebook():
    line = widgets.verdict_html({"classical": 0.01, "jazz": 0.99}, {"classical": 0.19, "jazz": 0.81}, "jazz", "dynamics discriminator")
    assert "P(jazz) fell by 18 percentage points." in line and "less like its target" in line
    assert "how hard each note is struck" in line and 'href="02b_did_the_style_move.ipynb"' in line


def test_verdict_counts_the_move_in_points_of_the_percentages_it_shows():
    rose = widgets.verdict_html({"classical": 0.046, "jazz": 0.954}, {"classical": 0.967, "jazz": 0.033}, "classical", "x")
    assert "classical 5%" in rose and "classical 97%" in rose and "P(classical) rose by 92 percentage points." in rose
    one = widgets.verdict_html({"classical": 0.404, "jazz": 0.596}, {"classical": 0.414, "jazz": 0.586}, "classical", "x")
    assert "rose by 1 percentage point." in one
    same = widgets.verdict_html({"classical": 0.404, "jazz": 0.596}, {"classical": 0.401, "jazz": 0.599}, "classical", "x")
    assert "P(classical) did not move." in same


def test_readable_names(tmp_path):
    name = b"Sonata in C     Tanya Karyagina"
    named = tmp_path / "KARYAG06.mid"
    named.write_bytes(smf(track([(0, b"\xff\x03" + bytes([len(name)]) + name), (0, on(60, 90)), (480, off(60))])))
    plain = tmp_path / "chpn_op10_e01_format0.mid"
    plain.write_bytes(PIECE)
    assert widgets.readable_name(named) == "Sonata in C (Tanya Karyagina) · KARYAG06"
    assert widgets.readable_name(plain) == "chpn op10 e01"
    assert set(widgets.MODES) >= {"velocity transfer", "inspired generation"} and set(widgets.MODES) == set(widgets.VERDICTS)


def test_piece_list_is_the_default_piece_then_each_genre_cut_to_the_limit(tmp_path, monkeypatch):
    for rel in ("classical/b_piece.mid", "classical/a_piece.mid", "classical/c_piece.mid", "jazz/Blue_Monk.mid"):
        path = tmp_path / "tpd" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PIECE)
    monkeypatch.setenv("MUSICSTYLE_DATA", str(tmp_path))
    pieces = widgets.dataset_pieces(limit_per_genre=2)
    assert list(pieces) == ["default/Maple Leaf Rag (Joplin)", "classical/a piece", "classical/b piece", "jazz/Blue Monk"]
    assert pieces["jazz/Blue Monk"] == tmp_path / "tpd" / "jazz" / "Blue_Monk.mid" and pieces["default/Maple Leaf Rag (Joplin)"].is_file()
    assert len(widgets.dataset_pieces()) == 5


def test_first_run_of_a_mode_says_models_are_loading(tmp_path, monkeypatch):
    seen = []

    def watch(data, name, target, **settings):
        seen.append(w.status.value)
        return data

    w = _widget_in_mode(tmp_path, monkeypatch, "watch", watch)
    w.button.click()
    w.button.click()
    assert seen[0].startswith("loading models (first time only)") and seen[1] == "running…" and w.status.value == ""


def test_a_picked_piece_whose_file_is_gone_is_named(tmp_path):
    (tmp_path / "p.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"p": tmp_path / "p.mid"})
    (tmp_path / "p.mid").unlink()
    w.button.click()
    assert f"error: {tmp_path / 'p.mid'}: no such file</span>" in w.message.value


def test_the_classifiers_description_says_what_the_shipped_classifier_reads():
    from musicstyle import classifier
    from musicstyle.widgets.judges import JUDGES

    _, meta = classifier.load()
    words = JUDGES["genre classifier"][0]
    assert ("how hard" in words) == any("velocity" in c for c in meta["channels"])
    assert ("not the pedal" in words) == (not meta["layout"]["pedals"])


def test_a_unison_whose_louder_strike_changes_is_still_a_velocity_transfer(tmp_path, monkeypatch):
    """Two channels strike one key together, the louder one shorter: transfer makes the other the louder.
    The notes are the same, so the figure says 'to classical' and draws each note's change."""
    unison = smf(track([(0, on(60, 100, channel=0)), (0, on(60, 40, channel=2)), (0, on(64, 70)), (100, off(60, channel=0)),
                        (380, off(60, channel=2)), (0, off(64))]))
    flip = lambda data, name, target, **settings: rewrite_velocities(data, lambda t, p, v: 140 - v, name)  # noqa: E731
    monkeypatch.setitem(widgets.MODES, "flip", flip)
    (tmp_path / "u.mid").write_bytes(unison)
    w = widgets.StyleTransferWidget({"u": tmp_path / "u.mid"}, verdict=fake_verdict)
    w.mode.value = "flip"
    w.button.click()
    assert w.message.value == ""
    assert [ax.get_title() for ax in w.last_figure.axes if ax.images][1] == "to classical (flip): velocity"
    assert len(w.last_figure.axes) == 5  # two heat maps, their colour bar, the velocities, the change per note


def test_seed_and_route_reach_the_mode_and_the_caption(widget, monkeypatch):
    seen = []
    monkeypatch.setitem(widgets.MODES, "velocity transfer", lambda data, name, target, **settings: seen.append(settings) or data)
    widget.mode.value = "velocity transfer"
    assert widget.route.layout.display == "" and widget.button.description == "Transfer"
    widget.route.value, widget.seed.value = "sampled", 7
    widget.button.click()
    assert seen == [{"seed": 7, "route": "sampled"}]
    assert "(velocity transfer, route sampled, seed 7)" in widget.caption.value
    assert set(widgets.judges.ROUTES.values()) == set(__import__("musicstyle.velocity", fromlist=["ROUTES"]).ROUTES)
    widget.mode.value = "inspired generation"  # generation has a seed, not a route
    assert widget.route.layout.display == "none" and widget.button.description == "Generate"


def test_a_result_is_marked_when_the_settings_change_after_it(widget):
    widget.picker.value = "jazz/jazz piece"
    widget.target.value = "classical"
    widget.button.click()
    assert widget.results.children[0] is widget.caption and widget.progress.bar_style == "success"
    widget.target.value = "jazz"
    assert widget.results.children[0] is widget.stale and "settings changed" in widget.stale.value
    assert widget.results.children[1:] == (widget.caption, widget.verdicts, widget.players, widget.download, widget.figure)
    assert widget.progress.value == 0
    widget.target.value = "classical"  # back to the result's own settings
    assert widget.results.children[0] is widget.caption and widget.progress.value == widget.progress.max
    widget.seed.value = 3
    assert widget.results.children[0] is widget.stale
    widget.button.click()
    assert widget.stale not in widget.results.children and "seed 3" in widget.caption.value


def test_a_setting_changed_while_it_runs_marks_the_result(tmp_path, monkeypatch):
    def change_target(data, name, target, **settings):
        w.target.value = "jazz"  # as a student clicking during the run
        return data

    w = _widget_in_mode(tmp_path, monkeypatch, "change", change_target)
    w.target.value = "classical"
    w.button.click()
    assert w.results.children[0] is w.stale and "→ classical" in w.caption.value


def test_a_run_hides_the_previous_result_in_its_place(tmp_path, monkeypatch):
    seen = []

    def look(data, name, target, **settings):
        seen.append((w.results.layout.visibility, w.results.children[:1]))
        return data

    w = _widget_in_mode(tmp_path, monkeypatch, "look", look)
    w.button.click()
    w.button.click()  # the first result is hidden while the second runs, not removed: the page keeps its height
    assert seen[1] == ("hidden", (w.caption,)) and w.results.layout.visibility == "visible"
    monkeypatch.setitem(widgets.MODES, "look", lambda *a, **k: 1 / 0)
    w.button.click()
    assert w.results.children == (w.message,) and w.results.layout.visibility == "visible"
    # a run interrupted (Ctrl-C in the kernel) shows nothing rather than a half-overwritten result
    monkeypatch.setitem(widgets.MODES, "look", look)
    w.button.click()
    monkeypatch.setitem(widgets.MODES, "look", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        w.button.click()
    assert w.results.children == () and w.results.layout.visibility == "visible" and not w.button.disabled


def test_the_source_line_says_when_the_filter_hides_the_picked_piece(widget):
    widget.picker.value = "jazz/jazz piece"
    widget.genre.value = "classical"
    assert "picked: jazz/jazz piece" in widget.source.value and "hidden by the list's filter" in widget.source.value
    widget.genre.value = "all"
    assert "hidden" not in widget.source.value


def test_the_players_start_at_the_first_note(tmp_path):
    from musicstyle.core import audio

    late = smf(track([(480 * 80, on(60, 100)), (480, off(60))]))  # 40 s of silence at 120 qpm, then a note
    (tmp_path / "late.wav").write_bytes(widgets.wav_bytes(late, seconds=2.0))
    wav, rate = audio.read_wav(tmp_path / "late.wav")
    # the plain synthesizer stops after the note's release, FluidSynth at the excerpt's end
    assert rate <= len(wav) <= int(2.0 * rate) and abs(wav[: rate // 2]).max() > 0.01


def test_a_caution_comes_before_the_move_and_unrelated_is_named():
    line = widgets.verdict_html({"classical": 0.0, "jazz": 0.7, "unrelated": 0.3}, {"classical": 0.04, "jazz": 0.01, "unrelated": 0.95},
                                "classical", "x", note="only 4 notes")
    assert line.index("Caution: only 4 notes") < line.index("rose by 4 percentage points")
    assert "most likely answer for the result is <i>unrelated</i>" in line


def test_the_widget_uses_ones_own_velocity_model_and_judge(tmp_path):
    """Velocity transfer to jazz with a jazz model of one's own (one that plays about 100 everywhere), judged by a
    judge file of one's own; the caption names the model. A classical model given for jazz, a file that is not a
    relations judge, or a genre that does not exist is refused."""
    import keras

    from musicstyle import velocity
    from musicstyle.core.roll import PAPER
    from musicstyle.errors import MusicstyleError
    from musicstyle.training.shipped import pretrained_path

    keras.utils.set_random_seed(0)
    own = velocity.save(velocity.improved_model(100.0), {"kind": "velocity", "genre": "jazz", "arch": "improved",
                        "layout": PAPER.to_dict(), "train_mean": 100.0}, tmp_path / "my jazz.keras")
    judge, cnn, wrong = tmp_path / "my judge.keras", tmp_path / "cnn.keras", tmp_path / "classical.keras"
    judge.write_bytes(pretrained_path("dynamics_relations.keras").read_bytes())
    cnn.write_bytes(pretrained_path("dynamics_cnn.keras").read_bytes())
    wrong.write_bytes(pretrained_path(velocity.pretrained_name("classical")).read_bytes())
    (tmp_path / "p.mid").write_bytes(PIECE)
    w = widgets.StyleTransferWidget({"p": tmp_path / "p.mid"}, velocity_models={"jazz": own}, judge=judge)
    w.target.value, w.route.value = "jazz", "mean"
    w.button.click()
    assert w.message.value == "" and "model my jazz.keras" in w.caption.value
    assert all(abs(v - 100) < 15 for v in read_midi(w.result.midi).notes["velocity"])  # its model, not the shipped one
    assert "verdict</b> of the dynamics discriminator (my judge.keras)" in w.verdicts.value
    w.judge = cnn
    w.button.click()
    assert "not a relations judge (a cnn discriminator)" in w.message.value
    w.judge, w.velocity_models["jazz"] = judge, wrong
    w.button.click()
    assert "holds a classical velocity model, given for jazz" in w.message.value
    with pytest.raises(MusicstyleError, match="genres are classical, jazz, not Jazz"):
        widgets.StyleTransferWidget({"p": tmp_path / "p.mid"}, velocity_models={"Jazz": own})


def test_another_file_uploaded_under_the_same_name_marks_the_result(widget):
    def upload(data, when):
        return ({"name": "mine.mid", "type": "audio/midi", "size": len(data), "content": memoryview(data),
                 "last_modified": datetime.datetime(2026, 1, when)},)

    first = smf(track([(0, on(70, 90)), (480, off(70))]))
    widget.upload.value = upload(first, 1)
    widget.button.click()
    assert widget.results.children[0] is widget.caption
    second = smf(track([(0, on(72, 90)), (480, off(72)), (0, on(74, 80)), (480, off(74))]))
    widget.upload.value = upload(second, 2)
    assert widget.results.children[0] is widget.stale

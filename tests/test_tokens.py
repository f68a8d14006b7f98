"""Note tokens (music21), their cache, the token LSTM's metadata checks, sampling and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import midibytes as mb
from musicstyle import tokenize
from musicstyle import tokens as T
from musicstyle.cli import main
from musicstyle.errors import MusicstyleError

Q = 480  # ticks per quarter


def melody_bytes(first: int = 60) -> bytes:
    """C4 (1 quarter), chord E4-G4-C5 (1 quarter), a quarter rest, E5 (2 quarters), at 120 bpm."""
    events = [
        (0, mb.tempo(500_000)),
        (0, mb.on(first, 80)),
        (Q, mb.off(first)),
        (0, mb.on(64, 70)),
        (0, mb.on(67, 70)),
        (0, mb.on(72, 70)),
        (Q, mb.off(64)),
        (0, mb.off(67)),
        (0, mb.off(72)),
        (Q, mb.on(76, 90)),
        (2 * Q, mb.off(76)),
    ]
    return mb.smf(mb.track(events), division=Q)


@pytest.fixture
def melody(tmp_path) -> Path:
    path = tmp_path / "melody.mid"
    path.write_bytes(melody_bytes())
    return path


def test_simple_tokens_as_the_tutorial(melody):
    e = tokenize.elements(melody)
    # a note is its name with octave, a chord its normal-order pitch classes; music21 splits the
    # E5 that crosses the 4/4 bar line into two tied notes: two tokens
    assert tokenize.tokens(e) == ["C4", "0.4.7", "E5", "E5"]
    assert list(e.offset) == [0.0, 1.0, 3.0, 4.0] and list(e.duration) == [1.0, 1.0, 1.0, 1.0]


def test_rich_tokens_keep_octaves_durations_and_rests(melody):
    assert tokenize.tokens(tokenize.elements(melody), rich=True) == ["C4:1", "E4.G4.C5:1", "R:1", "E5:1", "E5:1"]


def test_rich_tokens_play_back_exactly(melody):
    from musicstyle.core.midi import read_midi

    perf = read_midi(T.to_midi(["C4:1", "E4.G4.C5:1", "R:1", "E5:2"]))
    notes = perf.notes[np.lexsort((perf.notes["pitch"], perf.notes["start"]))]
    assert notes["pitch"].tolist() == [60, 64, 67, 72, 76]
    assert notes["start"].tolist() == [0, Q, Q, Q, 3 * Q]
    assert (notes["end"] - notes["start"]).tolist() == [Q, Q, Q, Q, 2 * Q]


def test_simple_chords_voiced_below_the_melody_not_in_octave_4():
    from musicstyle.core.midi import read_midi

    perf = read_midi(T.to_midi(["E6", "0.4.7"]))
    chord = sorted(perf.notes["pitch"][perf.notes["start"] > 0].tolist())
    assert chord == [72, 76, 79]  # C5 E5 G5: the octave below E6, not C4 E4 G4


def test_pop909_keeps_melody_and_piano_tracks(tmp_path):
    def named(name, pitch, channel):
        return mb.track([(0, b"\xff\x03" + bytes([len(name)]) + name.encode()), (0, mb.on(pitch, 80, channel)), (Q, mb.off(pitch, channel))])

    data = mb.smf(mb.track([(0, mb.tempo(500_000))]), named("MELODY", 72, 0), named("BRIDGE", 67, 1), named("PIANO", 48, 2), division=Q)
    path = tmp_path / "001.mid"
    path.write_bytes(data)
    e = tokenize.elements(path)
    assert sorted(str(t) for t in e.token) == ["C3", "C5", "G4"]
    assert sorted(tokenize.tokens(e)) == ["C3", "C5"]


def test_cache_hit_never_reparses(melody, monkeypatch):
    first = tokenize.elements(melody)
    calls = []
    monkeypatch.setattr(tokenize, "parse_elements", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(AssertionError))
    again = tokenize.elements(melody)
    table, skipped = tokenize.tokenize_files([melody, melody], progress=False)
    assert calls == [] and not skipped
    assert tokenize.tokens(again) == tokenize.tokens(first) == tokenize.tokens(table[str(melody)])


def test_parallel_tokenization_matches_sequential(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"m{i}.mid"
        p.write_bytes(melody_bytes(60 + i))
        paths.append(p)
    table, skipped = tokenize.tokenize_files(paths, workers=2, progress=False)
    assert not skipped
    assert [list(table[str(p)].token) for p in paths] == [tokenize.tutorial_tokens(p) for p in paths]
    assert [tokenize.tokens(table[str(p)])[0] for p in paths] == ["C4", "C#4", "D4"]


def test_many_files_are_bundled_and_failures_remembered(tmp_path, monkeypatch):
    paths = []
    for i in range(16):
        p = tmp_path / f"b{i}.mid"
        p.write_bytes(melody_bytes(40 + i))
        paths.append(p)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd broken")
    first, skipped = tokenize.tokenize_files(paths + [bad], workers=2, progress=False)
    assert len(first) == 16 and list(skipped) == [str(bad)]
    monkeypatch.setattr(tokenize, "_parse_to_cache", lambda item: (_ for _ in ()).throw(AssertionError("reparsed")))
    monkeypatch.setattr(tokenize, "_load", lambda *a: (_ for _ in ()).throw(AssertionError("not from the bundle")))
    again, skipped_again = tokenize.tokenize_files(paths + [bad], workers=2, progress=False)
    assert skipped_again == skipped
    assert {k: tokenize.tokens(e, rich=True) for k, e in again.items()} == {k: tokenize.tokens(e, rich=True) for k, e in first.items()}
    assert [again[str(p)].name for p in paths] == [p.stem for p in paths]


def test_bad_files_are_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    table, skipped = tokenize.tokenize_files([bad, empty], progress=False)
    assert table == {} and "MThd" in skipped[str(bad)] and "empty" in skipped[str(empty)]
    with pytest.raises(MusicstyleError, match="bad.mid"):
        tokenize.elements(bad)


def test_vocabulary_and_baselines():
    v = T.Vocabulary.build([["a", "b", "a", "c"], ["a", "b"]], min_count=2)
    assert v.tokens == ["<unk>", "a", "b"]
    assert v.encode(["a", "c", "b"]).tolist() == [1, 0, 2]
    counts, follow = T.ngram_tables([v.encode(["a", "b", "a", "b", "a"])], len(v))
    assert counts.tolist() == [0, 3, 2] and follow.tolist()[1:] == [2, 1]
    b = T.baselines(counts, follow, [v.encode(["a", "b", "a", "c"])])
    # targets b, a, <unk>: unigram says a (1 of 3), bigram gets b and a (2 of 3); <unk> is an error
    assert b["unigram_accuracy"] == pytest.approx(1 / 3) and b["bigram_accuracy"] == pytest.approx(2 / 3)


# ---------------------------------------------------------------- tiny models

VOCAB = ["<unk>", "C4", "E4", "G4", "0.4.7", "B3"]


def tiny(bias=None):
    import keras

    keras.utils.set_random_seed(0)
    model = T.build_model(len(VOCAB), embedding=4, units=8, layers=2, dropout=0.0)
    if bias is not None:
        dense = model.get_layer("next_token")
        dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
        dense.bias.assign(np.asarray(bias, "float32"))
    meta = {"kind": "tokens", "genre": "jazz", "rich": False, "vocabulary": VOCAB, "settings": {**T.DEFAULTS, "embedding": 4, "units": 8},
            "unigram_counts": [0, 5, 4, 3, 2, 1], "bigram_next": [1, 2, 3, 4, 5, 1]}
    return model, meta


def test_vocabulary_mismatch_fails_clearly_on_load(tmp_path):
    from musicstyle.training.modelfile import save_model

    model, meta = tiny()
    path = save_model(model, tmp_path / "m.keras", {**meta, "vocabulary": VOCAB + ["D4"]})
    with pytest.raises(MusicstyleError, match="vocabulary mismatch: metadata has 7 tokens, network expects 6"):
        T.load(path)
    path = save_model(model, tmp_path / "ok.keras", meta)
    _, _, vocab = T.load(path)
    assert vocab.tokens == VOCAB


def test_sampling_is_reproducible_also_after_reload_in_a_fresh_process(tmp_path):
    from musicstyle.training.modelfile import save_model

    model, meta = tiny()
    gen = T.Generator(model, meta)
    a = gen.generate(["C4", "E4"], 40, seed=3)
    assert a == gen.generate(["C4", "E4"], 40, seed=3)
    assert a != gen.generate(["C4", "E4"], 40, seed=4)
    assert "<unk>" not in a and len(a) == 40
    path = save_model(model, tmp_path / "m.keras", meta)
    code = (
        "import json,sys; from musicstyle import tokens as T; m,meta,_=T.load(sys.argv[1]);"
        "print(json.dumps(T.Generator(m,meta).generate(['C4','E4'],40,seed=3)))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == a


def test_greedy_repeats_forever_sampling_does_not():
    model, meta = tiny(bias=[0.0, 3.0, 2.5, 2.5, 2.5, 2.5])  # C4 always the most likely token
    gen = T.Generator(model, meta)
    greedy = gen.generate(["E4"], 200, greedy=True, max_run=0)
    assert greedy == ["C4"] * 200 and T.run_stats(greedy)["longest_run"] == 200
    guarded = gen.generate(["E4"], 200, greedy=True, max_run=8)
    assert T.run_stats(guarded)["longest_run"] == 8
    sampled = gen.generate(["E4"], 200, temperature=1.0, seed=0)
    stats = T.run_stats(sampled)
    assert stats["longest_run"] <= 8 and set(sampled) == set(VOCAB[1:])
    assert gen.generate(["E4"], 50, top_k=1, seed=0, max_run=0) == ["C4"] * 50  # top-1 is greedy


def test_evaluate_counts_unknown_targets_as_errors():
    model, meta = tiny(bias=[0.0, 3.0, 0.0, 0.0, 0.0, 0.0])
    r = T.evaluate(model, meta, [["E4", "C4", "D9", "C4", "C4"]])
    assert r["tokens"] == 4 and r["oov_share"] == 0.25
    assert r["accuracy"] == 0.75  # C4 predicted every time: right except at the unknown D9
    # bigram: E4 -> G4 (wrong), C4 -> E4 (wrong), <unk> -> C4 (right), C4 -> E4 (wrong)
    assert r["unigram_accuracy"] == 0.75 and r["bigram_accuracy"] == 0.25


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compose", "--genre", "jazz", "-o", "x.mid", "--tokens", "0"], "--tokens: must be at least 1"),
        (["compose", "--genre", "jazz", "-o", "x.txt"], "output must end in .mid"),
        (["compose", "--genre", "jazz", "-o", "x.mid", "--temperature", "0"], "--temperature: must be > 0"),
        (["evaluate", "tokens", "--genre", "jazz", "--data", "NOWHERE", "--model", "NOWHERE.keras"], "no such model file"),
    ],
)
def test_cli_bad_input_exits_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_cli_evaluate_folder_without_midi_exits_2(tmp_path, capsys):
    from musicstyle.training.modelfile import save_model

    model, meta = tiny()
    path = save_model(model, tmp_path / "m.keras", meta)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bad.mid").write_bytes(b"junk")
    assert main(["evaluate", "tokens", "--genre", "jazz", "--data", str(tmp_path / "data"), "--model", str(path), "--json"]) == 2
    assert "bad.mid" in capsys.readouterr().err


def test_compiled_loop_matches_the_model_step_by_step():
    model, meta = tiny()
    gen = T.Generator(model, meta)
    out = gen.generate(["C4", "E4", "G4"], 12, greedy=True, max_run=0)
    ids = list(T.Vocabulary(VOCAB).encode(["C4", "E4", "G4"]))
    for _ in range(12):
        probs = model(np.asarray([ids], "int32"), training=False).numpy()[0, -1]
        probs[0] = 0  # <unk> is never emitted
        ids.append(int(probs.argmax()))
    assert out == T.Vocabulary(VOCAB).decode(ids[3:])


# ---------------------------------------------------------------- shipped models


@pytest.mark.parametrize("genre", ["classical", "pop", "jazz"])
def test_shipped_model_beats_baselines_and_composes_with_its_default(genre):
    model, meta, vocab = T.load(genre)
    ev = meta["evaluation"]  # measured on held-out test pieces when the model was shipped
    assert ev["accuracy"] >= 3 * ev["unigram_accuracy"] and ev["accuracy"] > ev["bigram_accuracy"]
    toks = T.Generator(model, meta).generate(meta["seed_tokens"], 500, seed=0, **T.decoding(meta))
    stats = T.run_stats(toks)
    assert len(toks) == 500 and stats["longest_run"] <= 8 and stats["distinct_share"] >= 0.25


def test_cli_compose_same_seed_same_file(tmp_path, capsys):
    a, b, c = tmp_path / "a.mid", tmp_path / "b.mid", tmp_path / "c.mid"
    assert main(["compose", "--genre", "jazz", "-o", str(a), "--tokens", "200", "--seed", "7", "--json"]) == 0
    assert main(["compose", "--genre", "jazz", "-o", str(b), "--tokens", "200", "--seed", "7"]) == 0
    assert main(["compose", "--genre", "jazz", "-o", str(c), "--tokens", "200", "--seed", "8"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert result["tokens"] == 200 and result["longest_run"] <= 8
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    from musicstyle.core.midi import read_midi

    assert len(read_midi(a).notes) >= 200

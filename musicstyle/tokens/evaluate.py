"""How good a token model is: next-token accuracy, top-5 accuracy and nats per token against n-gram baselines.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import find, midi_files, sha256_file
from ..errors import MusicstyleError
from ..training.shipped import learned_caution
from .cache import tokenize_files
from .data import GENRE_SOURCES, file_groups, folder_tokens, genre_folder, held_out_tokens, split_files
from .model import described_model, load
from .tokenizer import tokens
from .vocabulary import Vocabulary, baselines


def next_token_probs(model, ids: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's prediction of every token of a piece from up to ``window`` preceding tokens.

    Taught in ``notebooks/06_note_lstm.ipynb``. Windows overlap by half: every target is scored
    once, with at least ``window // 2`` tokens of context after the first window.

    Args:
        model: a token model.
        ids: an encoded piece.
        window: the model's window.

    Returns:
        ``(probability of ids[t], rank of ids[t])`` for each position ``t >= 1``; the rank counts
        the tokens the model finds more likely (0: its first choice).
    """
    n = len(ids)
    p_true = np.zeros(n - 1, np.float64)
    rank = np.zeros(n - 1, np.int32)
    hop = window // 2
    spans, done, s = [], 0, 0
    while done < n - 1:
        e = min(s + window, n - 1)
        spans.append((s, e, done))
        done, s = e, e - hop
    x = np.zeros((len(spans), window), np.int32)
    for k, (s, e, _) in enumerate(spans):
        x[k, : e - s] = ids[s:e]
    probs = np.asarray(model(x, training=False))  # one call; padding after a window cannot change it
    for k, (s, e, first) in enumerate(spans):
        t = np.arange(first, e)  # predictions of ids[t + 1], made at position t - s
        row = probs[k, t - s]
        p_true[t] = row[np.arange(len(t)), ids[t + 1]]
        rank[t] = (row > p_true[t, None]).sum(-1)
    return p_true, rank


def evaluate(model, meta: dict, sequences: list[list[str]], progress: bool = False) -> dict:
    """Next-token accuracy, top-5 accuracy and nats per token beside the n-gram baselines.

    Taught in ``notebooks/06_note_lstm.ipynb``. The baselines' tables (counted on the model's
    training pieces) are in its metadata. Targets outside the vocabulary count as errors for every
    predictor (their share: ``oov_share``); nats per token (the mean negative log-probability of
    the true next token, ``perplexity`` its exponential) are over in-vocabulary targets.

    Args:
        model: a token model.
        meta: its metadata.
        sequences: token lists (pieces shorter than two tokens are left out).
        progress: show a progress bar over the pieces.

    Returns:
        ``genre``, ``pieces``, ``tokens``, ``vocabulary``, ``accuracy``, ``top5_accuracy``, the
        baselines' figures (``unigram_accuracy``, ``bigram_accuracy``, ``trigram_accuracy`` when
        the model stores its table, ``unigram_perplexity``), ``accuracy_over_bigram``,
        ``nats_per_token``, ``perplexity`` and ``oov_share``.
    """
    vocab = Vocabulary(meta["vocabulary"])
    window = meta["settings"]["window"]
    ids = [vocab.encode(s) for s in sequences if len(s) >= 2]
    if not ids:
        raise MusicstyleError("evaluate", "no sequence with at least two tokens")
    from tqdm.auto import tqdm

    probs, ranks = [], []
    for s in tqdm(ids, desc=f"{meta['genre']} model", unit="piece", disable=not progress):
        p, rank = next_token_probs(model, s, window)
        probs.append(p[s[1:] != 0])
        ranks.append(np.where(s[1:] != 0, rank, len(vocab)))
    tgt_all = np.concatenate([s[1:] for s in ids])
    rank = np.concatenate(ranks)
    result = {
        "genre": meta["genre"],
        "pieces": len(ids),
        "tokens": int(len(tgt_all)),
        "vocabulary": len(vocab),
        "accuracy": float(np.mean(rank == 0)),
        "top5_accuracy": float(np.mean(rank < 5)),
    }
    trigram = (meta["trigram_contexts"], meta["trigram_next"]) if "trigram_contexts" in meta else None
    result.update(baselines(meta["unigram_counts"], meta["bigram_next"], ids, trigram))
    result["accuracy_over_bigram"] = result["accuracy"] / max(result["bigram_accuracy"], 1e-12)
    p = np.concatenate(probs)
    nats = float(-np.mean(np.log(np.maximum(p, 1e-12)))) if len(p) else float("nan")
    result["nats_per_token"] = nats
    result["perplexity"] = float(np.exp(nats))
    result["oov_share"] = float(np.mean(tgt_all == 0))
    return result


def evaluate_by_group(model, meta: dict, genre: str, data: str | Path | None = None, side: str = "test",
                      progress: bool = False, hold_out: str | None = None) -> dict:
    """:func:`evaluate` on the held-out pieces of each recording-source group separately.

    Taught in ``notebooks/06_note_lstm.ipynb``. Groups (:func:`musicstyle.data.recording_group`)
    say how a file was made; a model that only fits one source shows it here.

    Args:
        model, meta: a token model and its metadata.
        genre, data: see :func:`musicstyle.tokens.genre_folder`.
        side: ``test`` or ``validation``.
        progress: show music21's progress bar.
        hold_out: a group left out of every side, as :func:`split_files` leaves it.

    Returns:
        ``{group: figures}`` for each group with a piece on that side.
    """
    if side not in ("test", "validation"):
        raise MusicstyleError(side, "figures by group are for the test or validation side")
    paths = split_files(genre, data, hold_out=hold_out)[side]
    table, _ = tokenize_files(paths, progress=progress)
    rich = meta.get("rich", False)
    by: dict[str, list] = {}
    for path, group in file_groups(paths).items():
        if str(path) in table:
            by.setdefault(group, []).append(tokens(table[str(path)], rich))
    return {g: evaluate(model, meta, seqs) for g, seqs in sorted(by.items())}


def evaluate_command(genre: str, data: str | Path | None = None, split: str = "all", model: str | Path | None = None,
                     progress: bool = True, hold_out: str | None = None, by_group: bool = False) -> dict:
    """``musicstyle evaluate tokens``: a model on held-out pieces or on every file of a folder.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        genre: the genre whose shipped model (and whose files) to use.
        data: with ``split`` ``all``, a MIDI file or a folder of them: a folder holding genre folders (``classical/``,
            ``jazz/``, ``pop/``) or datasets (``tpd/``, ``pop909/``) is measured on the genre's (and refused without
            it), as :func:`genre_folder` finds it; otherwise the dataset folder (None: MUSICSTYLE_DATA, else where
            ``musicstyle fetch`` downloads).
        split: ``all``: every file of ``data``; ``test`` or ``validation``: only those held-out pieces of the genre;
            ``held-out``: every piece of the ``hold_out`` group.
        model: a ``.keras`` token model instead of the shipped one.
        progress: show music21's progress bar.
        hold_out: a recording-source group left out of every side (with a split other than ``all``).
        by_group: also ``by_group``, the figures of each group (:func:`evaluate_by_group`).

    Returns:
        ``split``, ``data`` (the folder or file measured), ``model_file`` (``NAME (shipped)`` or the file given), the
        figures of :func:`evaluate`, ``skipped`` (how many files music21 could not read), ``skipped_files`` (the
        reason for each, if any, named from ``data`` as given or the dataset folder found, as the other evaluate
        commands name them), when the model's genre (the figures' ``genre``) is not ``genre`` a ``caution`` saying
        so, and ``learned_from`` (the shipped model: :func:`musicstyle.data.learned.learned_share`; one's own:
        :func:`musicstyle.data.learned.model_learned_share`) if any.
    """
    if data is None and split == "all":
        raise MusicstyleError("data", "a folder of MIDI files is needed without a split")
    where = genre_folder(genre, data) if split != "all" or Path(data).is_dir() else Path(data)  # what is measured
    net, meta, _ = load(model or genre)
    rich = meta.get("rich", False)
    if split == "all":
        seqs, skipped = folder_tokens(where, rich, progress)
    else:
        seqs, skipped = held_out_tokens(genre, data, split, rich, progress, hold_out)
    if not any(len(s) >= 2 for s in seqs):
        raise MusicstyleError(where, f"no piece of at least two tokens to measure ({len(seqs)} read, "
                              f"{len(skipped)} that music21 could not parse)")
    out = {"split": split, "data": str(where), "model_file": described_model(model, genre),
           **evaluate(net, meta, seqs, progress), "skipped": len(skipped)}
    if meta["genre"] != genre:
        out["caution"] = f"the {meta['genre']} model measured on {genre} pieces"
    digests = _digests(genre, data, where, split, hold_out, skipped)
    if note := learned_caution(model, meta, digests, "tokens", split):
        out["learned_from"] = note
    if skipped:
        base = find(GENRE_SOURCES[genre][0]) if data is None else Path(data) if Path(data).is_dir() else Path(data).parent
        out["skipped_files"] = {Path(p).relative_to(base).as_posix(): reason for p, reason in skipped.items()}
    if by_group:
        out["by_group"] = evaluate_by_group(net, meta, genre, data, split, hold_out=hold_out)
    return out


def _digests(genre: str, data, where: Path, split: str, hold_out: str | None, skipped: dict) -> list[str]:
    """The SHA-256 of each file :func:`evaluate_command` measured (those music21 could read)."""
    if split == "all":
        files = [where] if where.is_file() else [p for _, p in midi_files(where)]
    else:
        files = split_files(genre, data, hold_out=hold_out)[split]
    return [sha256_file(p) for p in files if str(p) not in skipped]


def run_stats(tokens: list[str]) -> dict:
    """How repetitive a generated sequence is.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        tokens: a token list.

    Returns:
        ``longest_run`` (of one token) and ``distinct_share`` (distinct tokens / tokens).
    """
    longest, cur = (1 if tokens else 0), 1
    for a, b in zip(tokens, tokens[1:]):
        cur = cur + 1 if a == b else 1
        longest = max(longest, cur)
    return {"longest_run": longest, "distinct_share": len(set(tokens)) / max(1, len(tokens))}

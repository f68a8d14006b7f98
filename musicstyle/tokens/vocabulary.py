"""Token <-> integer, and the three n-gram baselines every token model is measured against.

Taught in ``notebooks/06_note_lstm.ipynb``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

#: Index 0 of every vocabulary: rare and unseen tokens.
UNK = "<unk>"


class Vocabulary:
    """Token <-> integer; index 0 is ``<unk>`` (rare and unseen tokens).

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        tokens: the tokens in index order (``<unk>`` is put first when missing).
    """

    def __init__(self, tokens: list[str]):
        self.tokens = list(tokens)
        if not self.tokens or self.tokens[0] != UNK:
            self.tokens = [UNK] + [t for t in self.tokens if t != UNK]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, sequences, min_count: int = 2) -> "Vocabulary":
        """The vocabulary of training sequences.

        Args:
            sequences: token lists.
            min_count: rarer tokens are left out (read as ``<unk>``).

        Returns:
            Tokens seen at least ``min_count`` times, most frequent first (ties by name).
        """
        counts = Counter(t for s in sequences for t in s)
        return cls([t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, seq) -> np.ndarray:
        """Token list -> ids.

        Args:
            seq: tokens.

        Returns:
            int32 ids (unknown tokens: 0).
        """
        return np.fromiter((self.index.get(t, 0) for t in seq), dtype=np.int32, count=len(seq))

    def decode(self, ids) -> list[str]:
        """Ids -> tokens.

        Args:
            ids: integer ids.

        Returns:
            The tokens.
        """
        return [self.tokens[int(i)] for i in ids]


def ngram_tables(train_ids: list, vocab_size: int) -> tuple:
    """The two baselines' tables, small enough to store in the model's metadata.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        train_ids: encoded training sequences.
        vocab_size: tokens in the vocabulary.

    Returns:
        ``(unigram counts, follow)``: ``follow[t]`` is the most frequent follower of token ``t`` in
        training (the most frequent token where ``t`` has none); ``<unk>`` is never counted.
    """
    counts = np.bincount(np.concatenate(train_ids), minlength=vocab_size).astype(np.int64)
    counts[0] = 0
    pairs = np.zeros((vocab_size, vocab_size), np.int32)
    for s in train_ids:
        np.add.at(pairs, (s[:-1], s[1:]), 1)
    pairs[:, 0] = 0
    follow = np.where(pairs.sum(1) > 0, pairs.argmax(1), int(counts.argmax()))
    return counts, follow


def trigram_table(train_ids: list, vocab_size: int, min_count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The trigram baseline's table: the most frequent follower of each frequent pair of tokens.

    Taught in ``notebooks/06_note_lstm.ipynb``.

    Args:
        train_ids: encoded training sequences.
        vocab_size: tokens in the vocabulary.
        min_count: pairs followed fewer times in training are left out (the baseline backs off to
            the bigram there).

    Returns:
        ``(contexts, nexts)``: sorted pair keys ``a * vocab_size + b`` and the follower of each
        (never ``<unk>``).
    """
    keys = [s[:-2].astype(np.int64) * vocab_size + s[1:-1] for s in train_ids if len(s) > 2]
    nxt = [s[2:] for s in train_ids if len(s) > 2]
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int32)
    keys, nxt = np.concatenate(keys), np.concatenate(nxt)
    keep = nxt != 0
    triples, counts = np.unique(keys[keep] * vocab_size + nxt[keep], return_counts=True)
    ctx, follower = triples // vocab_size, triples % vocab_size
    order = np.lexsort((-counts, ctx))  # per context, the most frequent follower first
    ctx, follower, counts = ctx[order], follower[order], counts[order]
    first = np.concatenate([[True], ctx[1:] != ctx[:-1]])
    total = np.add.reduceat(counts, np.flatnonzero(first))
    frequent = total >= min_count
    return ctx[first][frequent], follower[first][frequent].astype(np.int32)


def baselines(counts, follow, test_ids: list, trigram: tuple | None = None) -> dict:
    """Next-token accuracy of the unigram, bigram and trigram baselines, and the unigram perplexity.

    Taught in ``notebooks/06_note_lstm.ipynb``. Unigram predicts the most frequent training token,
    bigram the previous token's most frequent follower in training, trigram the most frequent
    follower of the previous two tokens (backing off to the bigram for pairs rare in training); a
    target ``<unk>`` (0) counts as an error.

    Args:
        counts, follow: the tables of :func:`ngram_tables`.
        test_ids: encoded sequences to score.
        trigram: the table of :func:`trigram_table` (None: no trigram figure).

    Returns:
        ``unigram_accuracy``, ``bigram_accuracy``, ``trigram_accuracy`` (with ``trigram``) and the
        add-one ``unigram_perplexity`` over in-vocabulary targets.
    """
    counts, follow = np.asarray(counts, np.float64), np.asarray(follow)
    prev = np.concatenate([s[:-1] for s in test_ids])
    tgt = np.concatenate([s[1:] for s in test_ids])
    ok = tgt != 0
    p = (counts + 1) / (counts.sum() + len(counts))
    out = {
        "unigram_accuracy": float(np.mean((tgt == int(counts.argmax())) & ok)),
        "bigram_accuracy": float(np.mean((tgt == follow[prev]) & ok)),
    }
    if trigram is not None:
        ctx, nexts = np.asarray(trigram[0], np.int64), np.asarray(trigram[1], np.int64)
        guess = follow[prev].astype(np.int64)
        # the pair ending at each target's previous token (a piece's first target has only the bigram)
        pair = np.concatenate([np.concatenate([[-1], s[:-2].astype(np.int64) * len(counts) + s[1:-1]]) for s in test_ids])
        at = np.minimum(np.searchsorted(ctx, pair), max(len(ctx) - 1, 0))
        seen = (ctx[at] == pair) if len(ctx) else np.zeros(len(pair), bool)
        guess[seen] = nexts[at[seen]]
        out["trigram_accuracy"] = float(np.mean((tgt == guess) & ok))
    out["unigram_perplexity"] = float(np.exp(-np.mean(np.log(p[tgt[ok]])))) if ok.any() else float("nan")
    return out

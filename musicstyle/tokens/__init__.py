"""The music21 note-token LSTM: tokens, vocabulary, model, training, evaluation and generation.

Taught in ``notebooks/06_note_lstm.ipynb``. Modules, each using only those before it:
:mod:`.tokenizer` (music21 elements -> tokens), :mod:`.cache` (cached, parallel parsing),
:mod:`.vocabulary` (ids, baselines), :mod:`.data` (files, splits, windows), :mod:`.model`,
:mod:`.evaluate`, :mod:`.generate`, :mod:`.train`. Figures are in :mod:`musicstyle.figures.tokens`,
the tokenization benchmark in :mod:`musicstyle.bench.tokens`.
"""

from .cache import cache_file, elements, tokenize_files
from .data import (GENRE_SOURCES, QUICK_FILES, folder_tokens, genre_folder, genre_tokens, held_out_tokens,
                   split_files, windows)
from .evaluate import evaluate, evaluate_command, next_token_probs, run_stats
from .generate import DECODING, GENRE_DECODING, Generator, compose, decoding, seed_tokens, to_midi
from .model import DEFAULTS, build_model, check_metadata, load
from .tokenizer import POP909_TRACKS, REST, Elements, parse_elements, parse_token, pitch_name, select_tracks, tokens, tutorial_tokens
from .train import train
from .vocabulary import UNK, Vocabulary, baselines, ngram_tables, trigram_table

__all__ = [
    "DECODING", "DEFAULTS", "GENRE_DECODING", "GENRE_SOURCES", "POP909_TRACKS", "QUICK_FILES", "REST",
    "UNK", "Elements", "Generator", "Vocabulary", "baselines", "build_model", "cache_file", "check_metadata", "compose",
    "decoding", "elements", "evaluate", "evaluate_command", "folder_tokens", "genre_folder", "genre_tokens",
    "held_out_tokens", "load", "ngram_tables", "next_token_probs", "parse_elements", "parse_token", "pitch_name",
    "run_stats", "seed_tokens", "select_tracks", "split_files", "to_midi", "tokenize_files", "tokens",
    "train", "trigram_table", "tutorial_tokens", "windows",
]

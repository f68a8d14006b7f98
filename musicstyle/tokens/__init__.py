"""The music21 note-token LSTM: tokens, vocabulary, model, training, evaluation and generation.

Taught in ``notebooks/06_note_lstm.ipynb``. Modules, each using only those before it:
:mod:`.tokenizer` (music21 elements -> tokens), :mod:`.shipped` (the tables of TPD and POP909
shipped in the package), :mod:`.cache` (cached, parallel parsing),
:mod:`.vocabulary` (ids, n-gram baselines), :mod:`.transpose` (tokens in every key), :mod:`.data`
(files, splits, windows), :mod:`.model` (the LSTM and the tutorial's recipe), :mod:`.evaluate`,
:mod:`.render` (how a genre is played), :mod:`.generate`, :mod:`.train`, :mod:`.judge` (does the
composed music sound like its genre). Figures are in :mod:`musicstyle.figures.tokens`, the
tokenization benchmark in :mod:`musicstyle.bench.tokens`.
"""

from .cache import cache_file, elements, tokenize_files
from .data import (GENRE_SOURCES, QUICK_FILES, epoch_windows, file_groups, folder_tokens, genre_folder, genre_tokens, held_out_tokens,
                   split_files, tokenize_all, windows)
from .evaluate import evaluate, evaluate_by_group, evaluate_command, next_token_probs, run_stats
from .generate import DECODING, GENRE_DECODING, MAX_TOKENS, Generator, compose, decoding, played_as, seed_tokens, to_midi
from .judge import choose_timing, genre_table, histograms
from .shipped import pack_tables, shipped_tables, unpack_tables
from .model import DEFAULTS, TUTORIAL, build, build_model, build_tutorial, check_metadata, load
from .render import draw_playing, files_playing, playing, voicings
from .tokenizer import POP909_TRACKS, REST, Elements, parse_elements, parse_token, pitch_name, select_tracks, tokens, tutorial_tokens
from .train import TUTORIAL_WINDOWS, train
from .transpose import transpose_token, transposition_table
from .vocabulary import UNK, Vocabulary, baselines, ngram_tables, trigram_table

__all__ = [
    "DECODING", "DEFAULTS", "GENRE_DECODING", "GENRE_SOURCES", "MAX_TOKENS", "POP909_TRACKS", "QUICK_FILES", "REST", "TUTORIAL",
    "TUTORIAL_WINDOWS", "UNK", "Elements", "Generator", "Vocabulary", "baselines", "build", "build_model",
    "build_tutorial", "cache_file", "check_metadata", "choose_timing", "compose", "decoding", "draw_playing", "elements",
    "epoch_windows", "evaluate", "evaluate_by_group", "evaluate_command", "file_groups", "files_playing", "folder_tokens", "genre_folder", "genre_table",
    "genre_tokens", "held_out_tokens", "histograms", "load", "ngram_tables", "next_token_probs", "parse_elements",
    "pack_tables", "parse_token", "pitch_name", "played_as", "playing", "run_stats", "seed_tokens", "select_tracks", "shipped_tables", "split_files", "to_midi",
    "tokenize_all", "tokenize_files", "tokens", "train", "transpose_token", "transposition_table", "trigram_table", "tutorial_tokens", "unpack_tables",
    "voicings", "windows",
]

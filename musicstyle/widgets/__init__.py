"""The style-transfer widget: pick or upload a piece, pick a genre, press a button, see and hear.

Taught in ``notebooks/07_style_transfer_widget.ipynb`` (and shown at the end of 02 and 04).
Works with the shipped pretrained models (no training, and no dataset needed: the bundled default piece or
an upload is enough), or with velocity models and a judge of one's own (``StyleTransferWidget(velocity_models=...,
judge=...)``). Errors appear in the widget as one message, never as a
traceback, and the widget stays usable.
"""

from .app import Result, StyleTransferWidget, download_link, show, wav_bytes
from .judges import AUDIO_SECONDS, GENRES, JUDGES, MODES, VERDICTS, verdict_html
from .pieces import dataset_pieces, readable_name

__all__ = ["AUDIO_SECONDS", "GENRES", "JUDGES", "MODES", "VERDICTS", "Result", "StyleTransferWidget", "dataset_pieces",
           "download_link", "readable_name", "show", "verdict_html", "wav_bytes"]

"""The training layer: registered layers, the one trainer, seed ensembles, model files with metadata,
shipped models.

Taught in ``notebooks/02_velocity_cnn.ipynb``. Depends on :mod:`musicstyle.core` and
:mod:`musicstyle.data`; every model package trains through :func:`musicstyle.training.trainer.train`
and loads its shipped files through :func:`musicstyle.training.shipped.load_shipped`. Importing
this package imports no Keras; :mod:`.layers` and :mod:`.trainer` do when used.
"""

from .modelfile import load_model, read_metadata, save_model
from .shipped import clear, load_shipped, pretrained_path

__all__ = ["clear", "load_model", "load_shipped", "pretrained_path", "read_metadata", "save_model"]

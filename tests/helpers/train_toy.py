"""A small model trained by the package's trainer in its own process (TF_CONFIG or two logical CPUs)."""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from musicstyle.training import device  # noqa: E402

kind = os.environ.get("TOY_STRATEGY", "auto")
devices = device.split_cpu(2) if kind == "mirrored" else None
strategy = device.strategy(kind, devices)

from musicstyle.training.trainer import Schedule, train  # noqa: E402
from test_trainer import VALIDATION, _build, _draw, _mse  # noqa: E402

out = train(_build, _draw, _mse, VALIDATION, schedule=Schedule(epochs=4, batch_size=16, learning_rate=1e-2),
            strategy=strategy, verbose=0)
print(json.dumps({"replicas": out.replicas, "first_loss": out.history[0]["loss"], "last_loss": out.history[-1]["loss"],
                  "weights_sum": float(sum(np.abs(w).sum() for w in out.model.get_weights()))}))

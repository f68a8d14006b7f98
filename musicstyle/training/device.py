"""Which device trains the models, mixed precision on a GPU, and ``tf.distribute`` strategies.

Taught in every model notebook (02, 03, 04, 06), whose training cells print the device. Several
machines train one model as the workers of a ``MultiWorkerMirroredStrategy``, each started with the
standard ``TF_CONFIG`` environment variable (``{"cluster": {"worker": [...]}, "task": {...}}``).
"""

from __future__ import annotations

import json
import os


def describe_device() -> str:
    """'GPU: name (n GPU(s))' for the GPUs TensorFlow sees, else 'CPU (n cores)'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)} ({len(gpus)} GPU(s))"
    return f"CPU ({os.cpu_count()} cores)"


def use_mixed_precision_if_gpu() -> bool:
    """Keras mixed precision (float16 compute) only when a GPU is present; returns whether it is on."""
    import keras
    import tensorflow as tf

    on = bool(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


def cluster_workers() -> int:
    """Workers named in ``TF_CONFIG`` (0 when it is unset or names no cluster)."""
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    except ValueError:
        return 0
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def is_chief() -> bool:
    """True unless ``TF_CONFIG`` makes this process a worker other than the first (or the chief)."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError:
        return True
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return int(task.get("index", 0)) == 0


def strategy(kind: str = "auto", devices: list[str] | None = None):
    """A ``tf.distribute`` strategy.

    Args:
        kind: ``auto`` (multi-worker when ``TF_CONFIG`` names several workers, mirrored over
            ``devices`` or over several GPUs, else the default), ``default``, ``mirrored`` or
            ``multiworker``.
        devices: devices of a mirrored strategy (for example two logical CPUs).

    Returns:
        The strategy (create it before any other TensorFlow work in a multi-worker run).
    """
    import tensorflow as tf

    if kind == "multiworker" or (kind == "auto" and cluster_workers() > 1):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored" or (kind == "auto" and (devices or len(tf.config.list_logical_devices("GPU")) > 1)):
        return tf.distribute.MirroredStrategy(devices)
    if kind not in ("auto", "default", "mirrored", "multiworker"):
        raise ValueError(f"unknown strategy {kind!r}")
    return tf.distribute.get_strategy()


def split_cpu(n: int = 2) -> list[str]:
    """Make ``n`` logical CPU devices (before TensorFlow initialises them), for testing strategies."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    return [d.name for d in tf.config.list_logical_devices("CPU")]

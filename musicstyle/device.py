"""Which device trains the models, mixed precision on a GPU, and distribution strategies.

Taught in every model notebook (02, 03, 04, 06), whose training cells print the device.
"""

from __future__ import annotations


def describe_device() -> str:
    """'GPU: name' for the first GPU TensorFlow sees, else 'CPU (n cores)'."""
    import os

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)} ({len(gpus)} GPU(s))"
    return f"CPU ({os.cpu_count()} cores)"


def use_mixed_precision_if_gpu() -> bool:
    """Turn on Keras mixed precision (float16 compute) only when a GPU is present; return whether it is on."""
    import keras
    import tensorflow as tf

    on = bool(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


def strategy(devices: list[str] | None = None):
    """A ``tf.distribute`` strategy: mirrored over ``devices`` (or all GPUs if several), else the default."""
    import tensorflow as tf

    if devices:
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def split_cpu(n: int = 2) -> list[str]:
    """Make ``n`` logical CPU devices (before TensorFlow initialises them), for testing strategies."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    return [d.name for d in tf.config.list_logical_devices("CPU")]

"""``keras.layers.experimental``: tf.keras 2's namespace, for ``RandomFourierFeatures`` (Keras 3 dropped both)."""
from ...layers import RandomFourierFeatures

__all__ = ["RandomFourierFeatures"]

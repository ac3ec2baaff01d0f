"""``keras.datasets``: ``from netfit.keras.datasets import mnist; mnist.load_data()``."""
from ..datasets import fashion_mnist, mnist          # noqa: F401

__all__ = ["fashion_mnist", "mnist"]

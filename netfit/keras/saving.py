"""``keras.saving``: ``load_model`` and ``save_model`` (Keras 3's home of them; also in ``keras.models``)."""
from ..io import load_model, save_model

__all__ = ["load_model", "save_model"]

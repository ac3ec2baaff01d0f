"""``keras.utils``: to_categorical, set_random_seed, Sequence / PyDataset, plot_model."""
from ..graph_plot import plot_model
from ..utils import PyDataset, Sequence, set_random_seed, to_categorical

__all__ = ["PyDataset", "Sequence", "plot_model", "set_random_seed", "to_categorical"]

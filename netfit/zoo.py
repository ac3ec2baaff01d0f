"""Named architectures: the lecture's MNIST MLP (and, in later sections, ESL's nets and a CNN)."""
from .layers import Dense, Flatten
from .model import Sequential


def lecture_mlp(input_shape=(28, 28), hidden=128, classes=10, seed=None):
    """The lecture's Keras model: Flatten → Dense(128, relu) → Dense(10, softmax).

    101,770 weights for 28×28 inputs: 784·128 + 128 = 100,480 and 128·10 + 10 = 1,290.

    Examples
    --------
    >>> lecture_mlp().count_params()
    101770
    """
    return Sequential([Flatten(input_shape=input_shape),
                       Dense(hidden, activation="relu"),
                       Dense(classes, activation="softmax")], name="lecture_mlp", seed=seed)

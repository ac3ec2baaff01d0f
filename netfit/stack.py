"""The layer stack of a :class:`netfit.Sequential` as Keras shows it: ``get_layer``, ``pop``, weights by trainability.

A mixin, as :mod:`netfit.inference` is: it uses the model's ``layers``, ``built``,
``build`` and ``_ensure_built``. ``pop`` (and ``add`` on a built model) build the
model again at once, as Keras 3 does, and give the layers that stay their
weights back: the flat θ is laid out anew for the new stack, so nothing of it
may be kept by reference across the change.

Examples
--------
>>> import netfit as nf
>>> from netfit.layers import Dense
>>> model = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2)], seed=0)
>>> kernel = model.get_weights()[0]                       # builds the model
>>> model.get_layer(index=0) is model.get_layer("dense")
True
>>> model.pop().name, [layer.name for layer in model.layers]
('dense_1', ['dense'])
>>> bool((model.get_layer("dense").get_weights()[0] == kernel).all()), model.count_params()
(True, 16)
"""
import numbers

__all__ = ["LayerStack"]


class LayerStack:
    """``get_layer``, ``pop``, ``trainable_weights``, ``non_trainable_weights`` of :class:`netfit.Sequential`."""

    def pop(self):
        """Remove the last layer and return it (Keras's ``Sequential.pop``); the others keep their weights.

        A built model is built again at once, as in Keras 3: θ is laid out anew for
        the remaining layers and their weights are copied into it. A compiled model
        stays compiled (same optimizer, loss, metrics), with the optimizer's state
        (momentum, Adam's moments) started afresh, as after ``add``; when the new last
        layer does not fit the loss, ``fit`` says so and asks for ``compile``. Keras's
        ``pop(rebuild=False)`` is not offered.

        Raises
        ------
        ValueError
            The model has no layers.
        """
        if not self.layers:
            raise ValueError("Sequential.pop: expected a model with layers, got an empty one; nothing to remove.")
        layer = self.layers.pop()
        if self.built and self.layers:
            self._rebuild(self.layers)
        else:
            self.built = False
        return layer

    def _rebuild(self, kept):
        """Build again after the stack changed; the layers in ``kept`` get their weights back."""
        weights = [layer.get_weights() for layer in kept]
        self.built = False               # so that build places no optimizer state of the old θ on a device
        self.build()
        for layer, w in zip(kept, weights):
            layer.set_weights(w)

    def get_layer(self, name=None, index=None):
        """The layer named ``name``, or ``model.layers[index]`` (Keras's ``get_layer``: give exactly one).

        ``index`` counts the layers of ``model.layers`` as Keras 3's Sequential does (an
        ``Input`` is not one), negative from the end.

        Raises
        ------
        ValueError
            Both or neither given; no layer of that name (the names are listed); an index out of range.
        TypeError
            ``name`` not a str, ``index`` not an int.
        """
        where, count = "Sequential.get_layer", len(self.layers)
        if (name is None) == (index is None):
            example = self.layers[-1].name if count else "dense"
            raise ValueError(f"{where}: expected exactly one of name and index, got "
                             f"{'both' if index is not None else 'neither'}; e.g. model.get_layer({example!r}) "
                             f"or model.get_layer(index=0).")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, numbers.Integral):
                raise TypeError(f"{where}: expected index an int, got {type(index).__name__}.")
            if not -count <= index < count:
                raise ValueError(f"{where}: expected index in range({-count}, {count}) (the model has {count} "
                                 f"layers), got {index}.")
            return self.layers[index]
        if not isinstance(name, str):
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{where}: expected name one of {[layer.name for layer in self.layers]}, got {name!r}.")

    @property
    def trainable_weights(self):
        """Copies of the weights of layers with ``trainable = True``, in ``get_weights()`` order.

        Keras returns its Variables; netfit returns host copies, as ``get_weights()``
        does, so that no write bypasses ``set_weights``'s checks or the flat θ.
        """
        self._ensure_built()
        return [w for layer in self.layers if layer.trainable for w in layer.get_weights()]

    @property
    def non_trainable_weights(self):
        """Copies of the weights of layers with ``trainable = False`` (frozen), in ``get_weights()`` order."""
        self._ensure_built()
        return [w for layer in self.layers if not layer.trainable for w in layer.get_weights()]

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

import numpy as np

__all__ = ["LayerStack"]


class LayerStack:
    """``get_layer``, ``pop``, ``trainable``, ``trainable_weights``, ``non_trainable_weights`` of :class:`netfit.Sequential`."""

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
            ``name`` not a str (an int names ``get_layer(index=...)``), ``index`` not an int.
        """
        where, count = f"{self._kind}.get_layer", len(self.layers)
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
            hint = ""
            if isinstance(name, numbers.Integral) and not isinstance(name, bool):
                hint = f"; for the layer at position {name}, use model.get_layer(index={name})"
            raise TypeError(f"{where}: expected name a str, got {type(name).__name__}{hint}.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{where}: expected name one of {[layer.name for layer in self.layers]}, got {name!r}.")

    #: The model's own flag (Keras's ``Layer.trainable`` of the model); the setter sets it on every layer.
    _trainable = True

    @property
    def trainable(self):
        """The flag last set on the model, True at first (Keras 3's ``model.trainable`` getter).

        ``model.trainable = False`` sets ``trainable = False`` on every layer now in
        the model, as Keras 3 does (its setter walks the layers): ``fit`` and
        ``train_on_batch`` then leave every weight as it is (BatchNormalization
        runs in inference mode), ``summary`` counts all as "Non-trainable params" and
        ``trainable_weights`` is empty. ``model.trainable = True`` unfreezes every layer.
        It takes effect at the next step, without ``compile`` again (Keras 3 needs
        ``compile`` after a change). The layers' flags are saved and loaded (each
        layer's config carries ``trainable``); the model's own flag is not, so a
        loaded model reads True while its layers stay frozen.

        Differs from Keras where the model's flag and its layers' disagree: netfit
        trains by the layers' flags alone, so a layer set ``trainable = True`` (or
        added by ``add``) after ``model.trainable = False`` is trained, the way to
        fine-tune a head on a frozen base in a single Sequential; Keras 3 trains no
        weight of a model whose own flag is False.

        Raises
        ------
        TypeError
            A value other than True or False (e.g. 0 or "no"), before any layer is changed.

        Examples
        --------
        >>> import netfit as nf
        >>> from netfit.layers import Dense
        >>> model = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2)], seed=0)
        >>> model.trainable = False
        >>> [layer.trainable for layer in model.layers], model.trainable_weights, len(model.non_trainable_weights)
        ([False, False], [], 4)
        """
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{self._kind}.trainable: expected True or False, got {value!r}; e.g. "
                            f"model.trainable = False to freeze every layer.")
        for layer in self.layers:
            layer.trainable = bool(value)
        self._trainable = bool(value)

    @property
    def trainable_weights(self):
        """Copies of the weights that training moves, in ``get_weights()`` order (Keras's ``trainable_weights``).

        A weight is trainable when its layer is (``layer.trainable``) and it is not
        one the layer keeps out of training (BatchNormalization's moving mean and
        variance): :meth:`netfit.layers.Layer.trainable_flags`, the rule ``summary``
        counts by. Keras returns its Variables; netfit returns host copies, as
        ``get_weights()`` does, so that no write bypasses ``set_weights``'s checks
        or the flat θ.
        """
        return self._weights_by_flag(True)

    @property
    def non_trainable_weights(self):
        """Copies of the other weights (frozen layers', BatchNormalization's moving statistics), in ``get_weights()`` order."""
        return self._weights_by_flag(False)

    def _weights_by_flag(self, trained):
        self._ensure_built()
        return [w for layer in self.layers
                for w, flag in zip(layer.get_weights(), layer.trainable_flags()) if flag == trained]

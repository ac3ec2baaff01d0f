"""CallbackList: the callbacks of one call, each hook called on every one of them in order (Keras 3's).

``fit``, ``evaluate`` and ``predict`` hold their callbacks in one, and so may
a training loop of one's own, as with ``keras.callbacks.CallbackList``.
"""
from .base import Callback, History, check_callback_list, overrides
from .progress import ProgressBar

# Keras's older names: the default on_train_batch_begin / _end call these.
_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class CallbackList(Callback):
    """Call each hook on every callback, in order, with one logs dict they all see.

    Parameters
    ----------
    callbacks : list of Callback, optional
    add_history : bool
        Append a :class:`History` when the list has none (Keras's argument).
    add_progbar : bool
        Append a :class:`ProgressBar` when the list has none and ``params["verbose"]``
        (default 1) is 1 or 2.
    model : Sequential, optional
        Handed to every callback (``set_model``).
    **params
        Handed to every callback (``set_params``): epochs, steps, verbose, ...

    A hook called without logs passes ``{}``; the same dict goes to every
    callback, so one may add a value that the callbacks after it read (netfit's
    ``History`` comes first in ``fit``'s list and records such values with
    :meth:`History.record`).

    Examples
    --------
    >>> import netfit as nf
    >>> seen = []
    >>> cbs = nf.callbacks.CallbackList([nf.callbacks.LambdaCallback(
    ...     on_train_batch_begin=lambda batch, logs: seen.append(batch))], epochs=1, steps=2)
    >>> cbs.on_train_begin(); cbs.on_epoch_begin(0)
    >>> for step in range(2):
    ...     cbs.on_train_batch_begin(step)
    >>> seen, cbs.watches("on_train_batch_begin"), cbs.watches("on_test_batch_end")
    ([0, 1], True, False)
    """

    #: An internal container, made at every evaluate and predict: no guard on its attributes (keras_args).
    __setattr__ = object.__setattr__

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = check_callback_list(callbacks, "CallbackList")
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        verbose = params.get("verbose", 1)
        if add_progbar and verbose in (1, 2) and not any(isinstance(cb, ProgressBar) for cb in self.callbacks):
            self.callbacks.append(ProgressBar(verbose))
        self.model, self.params = model, params
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            if params:
                cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def watches(self, hook):
        """True when some callback has ``hook`` of its own: only then do the loops compute its logs."""
        names = (hook, _ALIASES[hook]) if hook in _ALIASES else (hook,)
        return any(overrides(cb, name) for cb in self.callbacks for name in names)

    def _each(self, hook, *args):
        logs = args[-1] if args[-1] is not None else {}
        for cb in self.callbacks:
            getattr(cb, hook)(*args[:-1], logs)

    def on_train_begin(self, logs=None): self._each("on_train_begin", logs)
    def on_train_end(self, logs=None): self._each("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, logs)
    def on_batch_begin(self, batch, logs=None): self._each("on_batch_begin", batch, logs)
    def on_batch_end(self, batch, logs=None): self._each("on_batch_end", batch, logs)
    def on_train_batch_begin(self, batch, logs=None): self._each("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._each("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs=None): self._each("on_test_begin", logs)
    def on_test_end(self, logs=None): self._each("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None): self._each("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._each("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._each("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._each("on_predict_end", logs)
    def on_predict_batch_begin(self, batch, logs=None): self._each("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._each("on_predict_batch_end", batch, logs)


"""Evaluation and prediction for :class:`netfit.Sequential`: ``evaluate``, ``predict``, the batch-level calls.

Kept apart from training (model.py) the way Keras keeps its trainer: these calls
run the forward pass only, in batches, on arrays or on streamed data
(:mod:`netfit.streams`), and leave the weights alone. The loss is a mean over
every example; each metric is streamed into a fresh copy of its state, so the
value is exact over the whole data set, whatever the batch size
(:mod:`netfit.metrics`).
"""
import contextlib

import numpy as np

from . import backend, columns
from .streams import is_stream
from .training import batch_result, checked_batches, open_stream, predict_stream, refuse_stream
from .utils import check_flag, check_positive_int, check_verbose

__all__ = ["Inference"]


class Inference:
    """The evaluate / predict half of :class:`netfit.Sequential` (a mixin: it uses the model's
    ``_forward``, ``_check_x``/``_check_xy``, ``_data_loss``, ``_example_weights``, ``metrics``, ``loss``).

    Any number of threads may run these calls on one model at once (:mod:`netfit.concurrency`):
    each call takes records of its own (:meth:`_inference_calls`) and reads the
    weights batch by batch under the model's :class:`~netfit.concurrency.WeightsLock`.
    """

    @contextlib.contextmanager
    def _inference_calls(self):
        """Records for one inference call: a spare set if one is idle (its buffers reused), else a new one."""
        spare = self._spare_calls                 # (θ laid out anew meanwhile: they go back to the old list)
        try:
            calls = spare.pop()                   # list.pop is atomic: two threads never get the same set
        except IndexError:
            calls = self._new_calls(training=False)
        try:
            yield calls
        finally:
            spare.append(calls)

    def _infer(self, xb, calls):
        """f(x) for one batch, the weights held for reading: between two steps of a fit running meanwhile."""
        with self._weights_lock.reading():
            return self._forward(xb, False, calls)

    def test_on_batch(self, x, y, return_dict=False, sample_weight=None):
        """Loss (and metrics) on the batch (x, y), weights unchanged; returned as by :meth:`train_on_batch`.

        With ``sample_weight`` the loss is (1/n) Σ_i w_i ℓ_i, as in :meth:`evaluate`.
        """
        where = "Sequential.test_on_batch"
        self._ensure_compiled("test_on_batch")
        check_flag(return_dict, where, "return_dict")
        refuse_stream(x, where, "evaluate(generator, steps=N)")
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
            w = self._example_weights(y, sample_weight, None, where)
            return batch_result(self, self._evaluate_arrays(x, y, len(x), w), return_dict)

    def predict_on_batch(self, x):
        """The outputs f(x) for one batch, in a single forward pass (``predict`` with one batch)."""
        refuse_stream(x, "Sequential.predict_on_batch", "predict(generator, steps=N)")
        return self.predict(x, batch_size=len(x) if hasattr(x, "__len__") else None)

    # -- evaluate and predict --------------------------------------------------------------
    def evaluate(self, x, y=None, batch_size=None, verbose=0, return_dict=False, sample_weight=None, steps=None):
        """Return the loss, then each metric (a list), on (x, y), streamed in batches.

        ``x`` may be a generator or a Sequence of ``(x_k, y_k)`` batches, read for
        ``steps`` batches (required for a generator; ``len(x)`` for a Sequence).
        With ``sample_weight`` (n,) the loss is (1/n) Σ_i w_i ℓ_i (Keras's
        reduction); the metrics stay unweighted.
        """
        where = "Sequential.evaluate"
        self._ensure_compiled("evaluate")
        check_flag(return_dict, where, "return_dict")
        check_verbose(verbose, where)
        with self._unbuilt_if_refused():
            if is_stream(x):
                if sample_weight is not None:
                    raise ValueError(f"{where}: sample_weight applies to arrays x and y; evaluate arrays "
                                     f"instead of a generator to weight examples.")
                stream = open_stream(self, x, y, steps, where, "steps")
                values = self._evaluate_batches((xb, yb, None) for xb, yb in checked_batches(self, stream))
            else:
                if steps is not None:
                    raise ValueError(f"{where}: steps applies to generators and Sequences; with arrays every "
                                     f"example is evaluated. Leave steps out.")
                x, y = self._check_xy(x, y, where)
                w = self._example_weights(y, sample_weight, None, where)
                values = self._evaluate_arrays(x, y, _batch_size(batch_size, where), w)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        return batch_result(self, values, return_dict)

    def _evaluate_arrays(self, x, y, batch_size, sample_weight=None):
        if backend.fits(self._theta, *columns.flat(x), *columns.flat(y), sample_weight):   # once, on a GPU
            x, y, sample_weight = (columns.each(lambda a: backend.to_device(a, self._theta), v)
                                   for v in (x, y, sample_weight))
        n = columns.count(x)
        return self._evaluate_batches((columns.rows(x, slice(start, start + batch_size)),
                                       columns.rows(y, slice(start, start + batch_size)),
                                       None if sample_weight is None else sample_weight[start:start + batch_size])
                                      for start in range(0, n, batch_size))

    def _feed(self, x):
        """A batch of inputs on the model's device, each cast to what its first layer takes."""
        if isinstance(x, list):
            return [backend.to_device(a.astype(self._input_dtype(a.dtype, k), copy=False), self._theta)
                    for k, a in enumerate(x)]
        return backend.to_device(x.astype(self._input_dtype(x.dtype), copy=False), self._theta)

    def _evaluate_batches(self, batches):
        """Loss and metrics over batches (x_k, y_k, w_k or None): the loss a mean over all examples, the
        metrics streamed into fresh copies, so each is exact over all of them (:mod:`netfit.metrics`)."""
        total, n = 0.0, 0
        metrics = [metric.fresh() for _, metric in self.metrics]
        with self._inference_calls() as calls:
            for xb, yb, wb in batches:
                yb, wb = (columns.each(lambda a: backend.to_device(a, self._theta), v) for v in (yb, wb))
                y_pred = self._infer(self._feed(xb), calls)
                m = columns.count(xb)
                total += self._data_loss(y_pred, yb, wb, calls) * m
                n += m
                self._update_metrics(metrics, yb, y_pred)
        with self._weights_lock.reading():
            penalty = self.optimizer.penalty(self._theta)
        values = {"loss": float(total / n + penalty)}
        values.update((name, float(metric.result())) for (name, _), metric in zip(self.metrics, metrics))
        return values

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """Return the network's outputs f(x) for every row of x, computed in batches.

        ``x`` may be a generator or a Sequence of batches ``x_k`` (or ``(x_k, y_k)``,
        y ignored), read for ``steps`` batches; the outputs are stacked.
        With a ``from_logits=True`` loss the outputs are logits, as in Keras:
        probabilities are ``nf.activations.get("softmax").forward(z)`` (or
        ``"sigmoid"``); ``predict_classes`` accounts for it.

        Shapes
        ------
        x : (n, *input_shape)  ->  (n, *output_shape)
        """
        where = f"{self._kind}.predict"
        check_verbose(verbose, where)
        if is_stream(x):
            with self._unbuilt_if_refused():
                return predict_stream(self, x, steps, where)
        if steps is not None:
            raise ValueError(f"{where}: steps applies to generators and Sequences; with arrays every "
                             f"row is predicted. Leave steps out.")
        batch_size = _batch_size(batch_size, where)
        x = self._check_x(x, where)
        if backend.fits(self._theta, *columns.flat(x)):
            x = columns.each(lambda a: backend.to_device(a, self._theta), x)   # once on a GPU (else batch by batch)
        n, xp = columns.count(x), backend.get_array_module(self._theta)
        outs = [xp.empty((n,) + self._example_output_shape(k), self.dtype) for k in range(len(self.output_names))]
        with self._inference_calls() as calls:
            for start in range(0, n, batch_size):
                part = slice(start, min(start + batch_size, n))
                for out, value in zip(outs, columns.flat(self._infer(self._feed(columns.rows(x, part)), calls))):
                    out[part] = value
        outs = [backend.to_host(out) for out in outs]             # one copy back
        return self._structured(outs)

    def predict_classes(self, x, batch_size=None, verbose=0):
        """Return the predicted class of each row: argmax of the outputs, or p > 0.5 for one output."""
        proba = self.predict(x, batch_size, verbose)
        if proba.ndim == 2 and proba.shape[1] == 1:
            # σ(z) > 0.5 exactly when z > 0: logits from a from_logits loss are cut at 0.
            threshold = 0.0 if getattr(getattr(self, "loss", None), "from_logits", False) else 0.5
            return (proba[:, 0] > threshold).astype(np.int64)
        return proba.argmax(axis=-1)


def _batch_size(batch_size, where, default=256):
    return default if batch_size is None else check_positive_int(batch_size, where, "batch_size")

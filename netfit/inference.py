"""Evaluation and prediction for :class:`netfit.Sequential`: ``evaluate``, ``predict``, the batch-level calls.

Kept apart from training (model.py) the way Keras keeps its trainer: these calls
run the forward pass only, in batches, on arrays or on streamed data
(:mod:`netfit.streams`), and leave the weights alone. Their callbacks get
Keras 3's hooks: on_test_* from ``evaluate`` (and from ``fit`` while it
validates), on_predict_* from ``predict``. The loss is a mean over
every example; each metric is streamed into a fresh copy of its state, so the
value is exact over the whole data set, whatever the batch size
(:mod:`netfit.metrics`).
"""
import contextlib
import math

import numpy as np

from . import backend, columns, config, parallel
from .callbacks import CallbackList
from .callbacks.base import check_callback_list
from .layers.custom import no_tape
from .streams import is_stream
from .training import batch_result, checked_batches, open_stream, refuse_stream
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
        spare, calls = self._lease_calls()
        try:
            yield calls
        finally:
            spare.append(calls)

    def _lease_calls(self):
        """(the list to give them back to, records): a spare set if one is idle, else a new one."""
        spare = self._spare_calls                 # (θ laid out anew meanwhile: they go back to the old list)
        try:
            return spare, spare.pop()             # list.pop is atomic: two threads never get the same set
        except IndexError:
            return spare, self._inference_records()

    def _inference_records(self):
        """Records for forward passes that no backward pass follows (``no_backward``): predict's and evaluate's.

        Only these let a Conv2D and the MaxPooling2D after it run as one pass
        (:mod:`netfit.layers.conv_pool`), which keeps nothing a backward pass needs;
        ``loss_and_gradients(training=False)`` runs inference's forward and then a backward.
        """
        calls = self._new_calls(training=False)
        calls.no_backward = True
        return calls

    @contextlib.contextmanager
    def _thread_policy(self, rows):
        """fit's thread policy (:func:`netfit.parallel.training`) for the forward pass of batches of ``rows``.

        Yields how many threads each batch's rows are cut over (:meth:`_infer_rows`): with
        threads "auto" on 2 cores, a batch of Keras's MNIST CNN runs its two halves at once,
        each forward whole on one thread and one BLAS thread (the passes between its products,
        im2col and pooling, would run on one core otherwise); a model of products only
        (``_blas_bound``) keeps one share, on BLAS's own threads for a large batch. A model with layers of your own
        is not cut (its ``call`` may mix the rows of a batch), nor are batches of several arrays.
        Streamed batches, and under "auto" batches of less work than one block of a split
        (:data:`netfit.parallel.MIN_FLOPS`), run as they come, BLAS as it is.
        """
        flops = None if rows is None else 2 * self.count_links() * rows   # forward: 2 per link and example
        if flops is None or (flops < parallel.MIN_FLOPS and config.threads() == "auto"):
            # A server's one-image request: the hold (threadpoolctl's limit and restore) would cost more than
            # the pass (`benchmarks/bench_threads.py`'s one-image row, against 4c53b29: 1.65x with it, 1.06x without).
            yield 1
            return
        with parallel.training(flops, self.device == "cpu", self._blas_bound) as threads:
            yield 1 if self._has_custom_layers else threads

    def _infer_rows(self, xb, calls, threads, out):
        """f(x) of one batch into ``out``, its rows cut into ``threads`` shares run at once (netfit.parallel).

        Each share is a whole forward pass on its own thread, with records of its own: the
        threads meet once a batch. A row's outputs depend on that row only (no layer here mixes
        a batch's rows in inference), so the cut changes no value, only which BLAS calls make it
        (the last bit of a product may differ, as under BLAS's own threads; deterministic mode
        runs one share). Returns ``out``.
        """
        if threads <= 1 or isinstance(xb, list) or len(xb) < 2:
            out[...] = self._infer(xb, calls)
            return out

        def share(lo, hi):
            spare, records = (None, calls) if lo == 0 else self._lease_calls()
            try:
                with parallel.using(1):                       # the share's passes whole, on this thread
                    out[lo:hi] = self._infer(xb[lo:hi], records)
            finally:
                if spare is not None:
                    spare.append(records)
        parallel.rows(share, len(xb), exact=False)
        return out

    def _build_from(self, x):
        """Build a model whose input shape comes with its first data (a subclassed model's; netfit.model)."""

    def _infer(self, xb, calls):
        """f(x) for one batch, the weights held for reading: between two steps of a fit running meanwhile."""
        lock = self._weights_lock
        held = lock.acquire_read()
        try:
            if not self._has_custom_layers:
                return self._forward(xb, False, calls)
            with no_tape():                       # layers of your own keep no tape: no backward follows
                return self._forward(xb, False, calls)
        finally:
            if held:
                lock.release_read()

    def test_on_batch(self, x, y, return_dict=False, sample_weight=None):
        """Loss (and metrics) on the batch (x, y), weights unchanged; returned as by :meth:`train_on_batch`.

        With ``sample_weight`` the loss is (1/n) Σ_i w_i ℓ_i, as in :meth:`evaluate`.
        """
        where = f"{self._kind}.test_on_batch"
        self._build_from(x)
        self._ensure_compiled("test_on_batch")
        check_flag(return_dict, where, "return_dict")
        refuse_stream(x, where, "evaluate(generator, steps=N)")
        with self._unbuilt_if_refused():
            x, y = self._check_xy(x, y, where)
            w = self._example_weights(y, sample_weight, None, where)
            return batch_result(self, self._evaluate_arrays(x, y, len(x), w), return_dict)

    def predict_on_batch(self, x):
        """The outputs f(x) for one batch, in a single forward pass (``predict`` with one batch)."""
        refuse_stream(x, f"{self._kind}.predict_on_batch", "predict(generator, steps=N)")
        return self.predict(x, batch_size=len(x) if hasattr(x, "__len__") else None)

    # -- evaluate and predict --------------------------------------------------------------
    def evaluate(self, x, y=None, batch_size=None, verbose=0, return_dict=False, sample_weight=None, steps=None,
                 callbacks=None):
        """Return the loss, then each metric (a list), on (x, y), streamed in batches.

        ``x`` may be streamed batches ``(x_k, y_k)`` or ``(x_k, y_k, w_k)``
        (:mod:`netfit.streams`: a Sequence, a DataLoader, a list of batches, a
        generator), read for ``steps`` batches or one whole pass. With
        ``sample_weight`` (n,) the loss is (1/n) Σ_i w_i ℓ_i (Keras's
        reduction); the metrics stay unweighted. ``callbacks`` get Keras's
        on_test_begin, on_test_batch_begin / _end (the loss and metrics so far)
        and on_test_end (the result); one that sets ``model.stop_evaluating = True``
        ends the evaluation after that batch, and the result is over the batches so far.
        """
        where = f"{self._kind}.evaluate"
        self._build_from(x)
        self._ensure_compiled("evaluate")
        check_flag(return_dict, where, "return_dict")
        check_verbose(verbose, where)
        callbacks = check_callback_list(callbacks, where) if callbacks is not None else []
        with self._unbuilt_if_refused():
            if is_stream(x):
                if sample_weight is not None:
                    raise ValueError(f"{where}: sample_weight applies to arrays x and y; with streamed batches "
                                     f"yield (x_batch, y_batch, sample_weight_batch) to weight examples.")
                stream = open_stream(self, x, y, steps, where, "steps")
                cbs = CallbackList(callbacks, model=self, verbose=verbose, epochs=1, steps=stream.epoch_steps)
                values = self._evaluate_batches(checked_batches(self, stream), cbs)
                stream.end_epoch()
            else:
                if steps is not None:
                    raise ValueError(f"{where}: steps applies to streamed batches (a generator, a Sequence, ...); "
                                     f"with arrays every example is evaluated. Leave steps out.")
                x, y = self._check_xy(x, y, where)
                w = self._example_weights(y, sample_weight, None, where)
                batch_size = _batch_size(batch_size, where)
                cbs = CallbackList(callbacks, model=self, verbose=verbose, epochs=1,
                                   steps=math.ceil(columns.count(x) / batch_size))
                values = self._evaluate_arrays(x, y, batch_size, w, cbs)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        return batch_result(self, values, return_dict)

    def _evaluate_arrays(self, x, y, batch_size, sample_weight=None, callbacks=None):
        if backend.fits(self._theta, *columns.flat(x), *columns.flat(y), sample_weight):   # once, on a GPU
            x, y, sample_weight = (columns.each(lambda a: backend.to_device(a, self._theta), v)
                                   for v in (x, y, sample_weight))
        n = columns.count(x)
        batches = ((columns.rows(x, slice(start, start + batch_size)), columns.rows(y, slice(start, start + batch_size)),
                    None if sample_weight is None else sample_weight[start:start + batch_size])
                   for start in range(0, n, batch_size))
        return self._evaluate_batches(batches, callbacks, min(n, batch_size))

    def _feed(self, x):
        """A batch of inputs on the model's device, each cast to what its first layer takes."""
        if isinstance(x, list):
            return [backend.to_device(a.astype(self._input_dtype(a.dtype, k), copy=False), self._theta)
                    for k, a in enumerate(x)]
        return backend.to_device(x.astype(self._input_dtype(x.dtype), copy=False), self._theta)

    def _evaluate_batches(self, batches, callbacks=None, batch_rows=None):
        """Loss and metrics over batches (x_k, y_k, w_k or None): the loss a mean over all examples, the
        metrics streamed into fresh copies, so each is exact over all of them (:mod:`netfit.metrics`).
        ``batch_rows``: the batches' size, for the thread policy (:meth:`_thread_policy`); None for
        streamed batches (their size unknown: one thread, BLAS left as it is).

        ``callbacks`` (a CallbackList) get the on_test_* hooks, with Keras's logs: after each batch
        the loss and metrics over the batches so far, at the end the result.
        """
        cbs = callbacks if callbacks is not None else CallbackList()
        total, n = 0.0, 0
        metrics = [metric.fresh() for _, metric in self.metrics]
        with self._weights_lock.reading():
            penalty = self.optimizer.penalty(self._theta)
        batch_begin, batch_end = cbs.watches("on_test_batch_begin"), cbs.watches("on_test_batch_end")
        if len(cbs):
            self.stop_evaluating = False           # Keras: a callback may set it to end the evaluation
        cbs.on_test_begin()
        # The loss reads the batch's records (a softmax's logits), so the batch is not cut into shares
        # with records of their own (as predict's are): under more than one thread, each layer splits
        # its own passes (netfit.parallel), as in fit.
        with self._inference_calls() as calls, self._thread_policy(batch_rows):
            for step, (xb, yb, wb) in enumerate(batches):
                if batch_begin:
                    cbs.on_test_batch_begin(step)
                yb, wb = (columns.each(lambda a: backend.to_device(a, self._theta), v) for v in (yb, wb))
                y_pred = self._infer(self._feed(xb), calls)
                m = columns.count(xb)
                total += self._data_loss(y_pred, yb, wb, calls) * m
                n += m
                self._update_metrics(metrics, yb, y_pred)
                if batch_end:
                    cbs.on_test_batch_end(step, self._test_logs(total / n + penalty, metrics))
                if len(cbs) and self.stop_evaluating:
                    break
        values = self._test_logs(total / n + penalty, metrics)
        cbs.on_test_end(values)
        return values

    def _test_logs(self, loss, metrics):
        values = {"loss": float(loss)}
        values.update((name, float(metric.result())) for (name, _), metric in zip(self.metrics, metrics))
        return values

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Return the network's outputs f(x) for every row of x, computed in batches.

        ``x`` may be streamed batches ``x_k`` (or ``(x_k, y_k)``, y ignored;
        :mod:`netfit.streams`), read for ``steps`` batches or one whole pass; the
        outputs are stacked. With a ``from_logits=True`` loss the outputs are
        logits, as in Keras: probabilities are ``nf.activations.get("softmax").forward(z)``
        (or ``"sigmoid"``); ``predict_classes`` accounts for it. ``callbacks`` get
        Keras's on_predict_begin, on_predict_batch_begin / _end (``{"outputs": f(x_k)}``)
        and on_predict_end; one that sets ``model.stop_predicting = True`` ends the
        prediction after that batch, and the rows predicted so far are returned.

        Shapes
        ------
        x : (n, *input_shape)  ->  (n, *output_shape)
        """
        where = f"{self._kind}.predict"
        self._build_from(x)
        check_verbose(verbose, where)
        callbacks = check_callback_list(callbacks, where) if callbacks is not None else []
        if is_stream(x):
            with self._unbuilt_if_refused():
                stream = open_stream(self, x, None, steps, where, "steps", with_y=False)
                cbs = CallbackList(callbacks, model=self, verbose=verbose, epochs=1, steps=stream.epoch_steps)
                outputs = []          # copies: a record's output buffer is reused from one batch to the next
                self._predict_batches((xb for xb, _, _ in checked_batches(self, stream)), cbs,
                                      lambda y_pred: outputs.append(columns.each(
                                          lambda a: backend.to_host(a).copy(), y_pred)) or outputs[-1])
                stream.end_epoch()
                return self._structured([np.concatenate([columns.flat(o)[k] for o in outputs])
                                         for k in range(len(self.output_names))])
        if steps is not None:
            raise ValueError(f"{where}: steps applies to streamed batches (a generator, a Sequence, ...); with "
                             f"arrays every row is predicted. Leave steps out.")
        batch_size = _batch_size(batch_size, where)
        x = self._check_x(x, where)
        if not callbacks and not isinstance(x, list) and len(self.output_names) == 1:
            return self._predict_array(x, batch_size)
        if backend.fits(self._theta, *columns.flat(x)):
            x = columns.each(lambda a: backend.to_device(a, self._theta), x)   # once on a GPU (else batch by batch)
        n, xp = columns.count(x), backend.get_array_module(self._theta)
        outs = [xp.empty((n,) + self._example_output_shape(k), self.dtype) for k in range(len(self.output_names))]
        done = 0

        def store(y_pred):                        # each output's rows into its array; those rows, as they are
            nonlocal done
            m = columns.count(y_pred)
            for out, value in zip(outs, columns.flat(y_pred)):
                out[done:done + m] = value
            done += m
            return self._structured([out[done - m:done] for out in outs])
        cbs = CallbackList(callbacks, model=self, verbose=verbose, epochs=1, steps=math.ceil(n / batch_size))
        self._predict_batches((columns.rows(x, slice(start, start + batch_size)) for start in range(0, n, batch_size)),
                              cbs, store, min(n, batch_size))
        return self._structured([backend.to_host(out if done == n else out[:done]) for out in outs])  # one copy back

    def _predict_array(self, x, batch_size):
        """``predict`` of one input array and one output, without callbacks: the plain loop (the common case)."""
        if backend.fits(self._theta, x):
            x = backend.to_device(x, self._theta)                 # uploaded once on a GPU (else batch by batch)
        n = len(x)
        spare, calls = self._lease_calls()
        try:
            with self._thread_policy(min(n, batch_size)) as threads:
                if n <= batch_size and threads == 1:              # one batch (a server's request, say)
                    # a copy: the record's buffer is reused
                    return backend.to_host(self._infer(self._feed(x), calls)).astype(self.dtype, copy=True)
                out = backend.get_array_module(self._theta).empty((n,) + self._example_output_shape(), self.dtype)
                for start in range(0, n, batch_size):
                    self._infer_rows(self._feed(x[start:start + batch_size]), calls, threads,
                                     out[start:start + batch_size])
        finally:
            spare.append(calls)
        return backend.to_host(out)                               # one copy back

    def _predict_batches(self, batches, cbs, store, batch_rows=None):
        """f(x_k) of each batch x_k, handed to ``store`` (which returns the rows it kept: the ``outputs``
        on_predict_batch_end gets), with the on_predict_* hooks of ``cbs`` (a CallbackList).

        ``batch_rows``: the batches' size for the thread policy (None for streamed batches); under
        more than one thread each layer splits its own passes, as in fit and evaluate.
        """
        batch_begin, batch_end = cbs.watches("on_predict_batch_begin"), cbs.watches("on_predict_batch_end")
        if len(cbs):
            self.stop_predicting = False           # Keras: a callback may set it to end the prediction
        cbs.on_predict_begin()
        with self._inference_calls() as calls, self._thread_policy(batch_rows):
            for step, xb in enumerate(batches):
                if batch_begin:
                    cbs.on_predict_batch_begin(step)
                rows = store(self._infer(self._feed(xb), calls))
                if batch_end:
                    outputs = {k: backend.to_host(v) for k, v in rows.items()} if isinstance(rows, dict) else \
                        columns.each(backend.to_host, rows if not isinstance(rows, tuple) else list(rows))
                    cbs.on_predict_batch_end(step, {"outputs": outputs})
                if len(cbs) and self.stop_predicting:
                    break
        cbs.on_predict_end()

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

"""The bad-input matrix: every public entry point, fed what users get wrong.

Each row of ``CASES`` is one bad input: the call, the error it must raise and a
regular expression the message must match (the place, the argument, usually
the fix). Every row also checks that the failed call changed nothing: the
weights, the optimizer and its state, the loss and metrics, the history, and
which input shape a lazily built model was given. ``CLI_CASES`` does the same
for the ``netfit`` command (exit code 2 for usage errors, 1 for library errors,
nothing trained). ``FINE`` lists the edge cases that are *not* errors.

Rows marked ``todo`` are gaps in files this suite does not own (the layers and
optimizers); they are strict xfails, so fixing the library turns them into
failures that ask for the mark to be removed. docs/reliability.md lists them.
"""
import copy
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import netfit as nf
from netfit import callbacks, cli, datasets, images, io, layers, losses, optimizers, utils
from netfit.datasets import mnist, zipcode
from netfit.datasets._idx import parse_idx
from netfit.layers import (Activation, AveragePooling2D, Conv2D, Dense, Dropout,
                           GlobalAveragePooling2D, LocallyConnected2D, MaxPooling2D, Reshape)

N = 6
X = np.linspace(-1, 1, N * 2, dtype=np.float32).reshape(N, 2)
Y = np.array([0, 1, 2, 0, 1, 2])


def _model(loss, units, activation, seed=0, input_shape=(2,)):
    extra = {"input_shape": input_shape} if input_shape else {}
    model = nf.Sequential([Dense(4, activation="tanh", **extra), Dense(units, activation=activation)], seed=seed)
    metrics = ["accuracy"] if loss != "mse" else ["mae"]
    model.compile(optimizer=optimizers.Adam(0.01), loss=loss, metrics=metrics)
    return model


@pytest.fixture
def ctx(tmp_path):
    """Fitted models of each loss, a compiled but unbuilt one, a saved file and a few paths."""
    sparse = _model("sparse_categorical_crossentropy", 3, "softmax")
    sparse.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    onehot = _model("categorical_crossentropy", 3, "softmax")
    onehot.fit(X, utils.to_categorical(Y, 3), epochs=1, batch_size=4, verbose=0)
    binary = _model("binary_crossentropy", 1, "sigmoid")
    binary.fit(X, Y % 2, epochs=1, batch_size=4, verbose=0)
    mse = _model("mse", 1, None)
    mse.fit(X, X[:, :1], epochs=1, batch_size=4, verbose=0)
    lazy = _model("sparse_categorical_crossentropy", 3, "softmax", input_shape=None)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    saved = tmp_path / "saved.netfit"
    sparse.save(saved)
    junk = tmp_path / "junk.netfit"
    junk.write_bytes(b"PK\x03\x04 but not really a zip")
    return SimpleNamespace(sparse=sparse, onehot=onehot, binary=binary, mse=mse, lazy=lazy, tmp=tmp_path,
                           blocker=blocker, saved=saved, junk=junk)


def _state(model):
    """Everything a failed call must leave alone."""
    state = {"built": model.built, "compiled": model.compiled, "history": id(model.history),
             "logs": copy.deepcopy(model.history.history), "epochs": list(model.history.epoch),
             "shapes": [(layer.input_shape, layer.built) for layer in model.layers]}
    if model.built:
        state["weights"] = [w.tobytes() for w in model.get_weights()]
    if model.compiled:
        state["loss"], state["optimizer"] = model.loss, model.optimizer
        state["metrics"] = [name for name, _ in model.metrics]
        if model.built:
            state["opt_state"] = {k: np.asarray(v).tobytes() for k, v in model.optimizer.get_state().items()}
    return state


def _models(c):
    return {name: getattr(c, name) for name in ("sparse", "onehot", "binary", "mse", "lazy")}


def _case(id, call, error, match, todo=None):
    marks = [pytest.mark.xfail(strict=True, reason=todo)] if todo else []
    return pytest.param(call, error, match, id=id, marks=marks)


def _lbfgs_model():
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer="lbfgs", loss="mse")
    return model


def _layer(layer, shape):
    layer.setup(shape, rng=np.random.default_rng(0))
    return layer


def fit(c, model="sparse", x=X, y=Y, **kwargs):
    return getattr(c, model).fit(x, y, **{"verbose": 0, **kwargs})


Y1 = utils.to_categorical(Y, 3)


def _stream(x=X, y=Y, b=4, n=None):
    """A generator of (x, y) batches that loops forever (or stops after n batches)."""
    k = 0
    while n is None or k < n:
        for start in range(0, len(x), b):
            yield x[start:start + b], y[start:start + b]
            k += 1
            if n is not None and k == n:
                return


class _Iterable:
    """Batches read anew by each iter(), like a DataLoader: no __getitem__; a __len__ only when given one."""

    def __init__(self, batches, length=None):
        self.batches, self.length = batches, length

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        if self.length is None:
            raise TypeError("no length")
        return self.length


class _Seq(utils.Sequence):
    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, k):
        return self.batches[k]

CASES = [
    # -- Sequential.fit: x ------------------------------------------------------------------------
    _case("fit-x-features", lambda c: fit(c, x=np.ones((N, 3))), ValueError,
          r"Sequential.fit: expected x of shape \(n, 2\), got array of shape \(6, 3\)"),
    _case("fit-x-rank1", lambda c: fit(c, x=np.ones(N)), ValueError, r"Sequential.fit: expected x of shape \(n, 2\)"),
    _case("fit-x-rank3", lambda c: fit(c, x=np.ones((N, 2, 1))), ValueError,
          r"got array of shape \(6, 2, 1\)\. Reshape it: `x = x.reshape\(len\(x\), 2\)`"),
    _case("fit-x-one-unbatched", lambda c: fit(c, x=np.ones(2), y=[0]), ValueError,
          r"For one example, add the batch axis: `x = x\[None\]`"),
    _case("fit-x-empty", lambda c: fit(c, x=np.zeros((0, 2)), y=np.zeros(0, int)), ValueError,
          r"Sequential.fit: expected x with at least one example, got shape \(0, 2\)"),
    _case("fit-x-scalar", lambda c: fit(c, x=np.float64(1.0)), ValueError, r"expected x with at least one example"),
    _case("fit-x-object", lambda c: fit(c, x=X.astype(object)), TypeError,
          r"Sequential.fit: expected x with a numeric dtype, got dtype object; convert it first"),
    _case("fit-x-strings", lambda c: fit(c, x=X.astype(str)), TypeError, r"expected x with a numeric dtype, got dtype <U"),
    _case("fit-x-bool", lambda c: fit(c, x=X > 0), TypeError, r"expected x with a numeric dtype, got dtype bool"),
    _case("fit-x-complex", lambda c: fit(c, x=X + 1j), TypeError, r"expected x real-valued, got complex dtype"),
    _case("fit-x-datetime", lambda c: fit(c, x=np.zeros((N, 2), "datetime64[D]")), TypeError,
          r"expected x with a numeric dtype, got dtype datetime64"),
    _case("fit-x-masked", lambda c: fit(c, x=np.ma.masked_less(X, 0)), TypeError,
          r"expected x a plain array, got a masked array; fill or drop"),
    _case("fit-x-none", lambda c: fit(c, x=None), TypeError, r"Sequential.fit: expected x a numeric array, got NoneType"),
    _case("fit-x-str", lambda c: fit(c, x="x.npy"), TypeError, r"expected x a numeric array, got str"),
    _case("fit-x-dict", lambda c: fit(c, x={"a": X}), TypeError, r"expected x with a numeric dtype"),
    _case("fit-x-ragged-list", lambda c: fit(c, x=[[1.0, 2.0], [3.0]]), TypeError,
          r"expected x a numeric array, could not convert it"),
    _case("fit-x-nan", lambda c: fit(c, x=np.where(X > 0.5, np.nan, X)), ValueError,
          r"Sequential.fit: x contains \d+ NaN or infinite value\(s\); clean or impute them first"),
    _case("fit-x-inf", lambda c: fit(c, x=np.where(X > 0.5, np.inf, X)), ValueError, r"x contains \d+ NaN or infinite"),
    _case("fit-x-neg-inf", lambda c: fit(c, x=np.where(X < 0, -np.inf, X)), ValueError, r"NaN or infinite"),
    _case("fit-x-beyond-float32", lambda c: fit(c, x=X.astype(np.float64) * 1e300), ValueError,
          r"x holds values beyond the range of the model's float32 .*; scale the inputs first"),
    # -- Sequential.fit: y ------------------------------------------------------------------------
    _case("fit-y-none", lambda c: fit(c, y=None), TypeError, r"Sequential.fit: expected y a numeric array, got NoneType"),
    _case("fit-y-float-labels", lambda c: fit(c, y=Y + 0.5), ValueError, r"expected y integer class labels, got non-integer"),
    _case("fit-y-negative", lambda c: fit(c, y=Y - 1), ValueError, r"expected y non-negative class labels, got -1"),
    _case("fit-y-out-of-range", lambda c: fit(c, y=Y * 2), ValueError,
          r"expected labels in \[0, 2\] for a model with 3 outputs, got label 4; one output per class: end the "
          r"model with Dense\(5, activation='softmax'\)"),
    _case("fit-y-one-based", lambda c: fit(c, y=Y + 1), ValueError,
          r"expected labels in \[0, 2\] for a model with 3 outputs, got labels 1..3, which look 1-based; "
          r"shift them: `y = y - 1`"),
    _case("fit-y-huge-float-label", lambda c: fit(c, y=np.array([0, 1, 1e20, 0, 1, 2])), ValueError,
          r"implausibly large label"),
    _case("fit-y-strings", lambda c: fit(c, y=Y.astype(str)), TypeError, r"expected y with a numeric dtype, got dtype <U"),
    _case("fit-y-bool", lambda c: fit(c, y=Y > 0), TypeError, r"expected y with a numeric dtype, got dtype bool"),
    _case("fit-y-nan", lambda c: fit(c, y=np.where(Y > 1, np.nan, Y)), ValueError, r"y contains 2 NaN or infinite"),
    _case("fit-y-onehot-for-sparse", lambda c: fit(c, y=Y1), ValueError,
          r"expected y a 1-D array of integer labels, got shape \(6, 3\)"),
    _case("fit-y-length", lambda c: fit(c, y=Y[:-1]), ValueError,
          r"x and y have different numbers of examples: 6 and 5"),
    _case("fit-y-empty", lambda c: fit(c, y=np.zeros(0, int)), ValueError, r"expected y with at least one example"),
    _case("fit-y-rank3", lambda c: fit(c, y=np.zeros((N, 1, 1))), ValueError, r"expected y a 1-D array of integer labels"),
    _case("fit-y-list-of-str", lambda c: fit(c, y=["a"] * N), TypeError, r"expected y with a numeric dtype"),
    # -- Sequential.fit: arguments -------------------------------------------------------------------
    _case("fit-batch-0", lambda c: fit(c, batch_size=0), ValueError, r"Sequential.fit: expected batch_size >= 1, got 0"),
    _case("fit-batch-negative", lambda c: fit(c, batch_size=-4), ValueError, r"expected batch_size >= 1, got -4"),
    _case("fit-batch-float", lambda c: fit(c, batch_size=2.0), TypeError, r"expected batch_size a positive integer, got 2.0"),
    _case("fit-batch-str", lambda c: fit(c, batch_size="32"), TypeError, r"expected batch_size a positive integer, got '32'"),
    _case("fit-batch-bool", lambda c: fit(c, batch_size=True), TypeError, r"expected batch_size a positive integer, got True"),
    _case("fit-epochs-negative", lambda c: fit(c, epochs=-1), ValueError, r"expected epochs a non-negative integer, got -1"),
    _case("fit-epochs-float", lambda c: fit(c, epochs=1.5), ValueError, r"expected epochs a non-negative integer, got 1.5"),
    _case("fit-epochs-str", lambda c: fit(c, epochs="2"), ValueError, r"expected epochs a non-negative integer, got '2'"),
    _case("fit-epochs-none", lambda c: fit(c, epochs=None), ValueError, r"expected epochs a non-negative integer, got None"),
    _case("fit-initial-epoch-negative", lambda c: fit(c, initial_epoch=-1), ValueError,
          r"expected initial_epoch a non-negative integer, got -1"),
    _case("fit-verbose-3", lambda c: fit(c, verbose=3), ValueError, r"expected verbose 0, 1, 2 or 'auto', got 3"),
    _case("fit-verbose-str", lambda c: fit(c, verbose="yes"), ValueError, r"expected verbose 0, 1, 2 or 'auto', got 'yes'"),
    _case("fit-shuffle-str", lambda c: fit(c, shuffle="batch"), TypeError,
          r"Sequential.fit: expected shuffle True or False, got 'batch'"),
    _case("fit-shuffle-none", lambda c: fit(c, shuffle=None), TypeError, r"expected shuffle True or False, got None"),
    _case("fit-callbacks-single", lambda c: fit(c, callbacks=callbacks.History()), TypeError,
          r"expected callbacks a list of netfit Callback objects, got History; wrap a single one in a list"),
    _case("fit-callbacks-function", lambda c: fit(c, callbacks=[lambda: None]), TypeError,
          r"expected callbacks to be netfit Callback objects, got function"),
    _case("fit-callbacks-int", lambda c: fit(c, callbacks=5), TypeError, r"expected callbacks a list of netfit Callback"),
    _case("fit-validation-split-1", lambda c: fit(c, validation_split=1.0), ValueError,
          r"expected validation_split in \[0, 1\), got 1.0"),
    _case("fit-validation-split-negative", lambda c: fit(c, validation_split=-0.1), ValueError,
          r"expected validation_split in \[0, 1\), got -0.1"),
    _case("fit-validation-split-str", lambda c: fit(c, validation_split="0.1"), ValueError,
          r"expected validation_split in \[0, 1\), got '0.1'"),
    _case("fit-validation-split-nan", lambda c: fit(c, validation_split=float("nan")), ValueError,
          r"expected validation_split in \[0, 1\), got nan"),
    _case("fit-validation-split-tiny", lambda c: fit(c, validation_split=0.01), ValueError,
          r"validation_split=0.01 leaves 6 training and 0 validation examples; both need at least one"),
    _case("fit-validation-data-array", lambda c: fit(c, validation_data=X), ValueError,
          r"expected validation_data a tuple \(x_val, y_val\)"),
    _case("fit-validation-data-four", lambda c: fit(c, validation_data=(X, Y, Y, Y)), ValueError,
          r"expected validation_data a tuple \(x_val, y_val\) or \(x_val, y_val, sample_weight_val\)"),
    _case("fit-validation-data-x", lambda c: fit(c, validation_data=(np.ones((2, 5)), Y[:2])), ValueError,
          r"Sequential.fit \(validation_data\): expected x of shape \(n, 2\)"),
    _case("fit-validation-data-y", lambda c: fit(c, validation_data=(X, Y + 7)), ValueError,
          r"Sequential.fit \(validation_data\): expected labels in \[0, 2\]"),
    _case("fit-unknown-keyword", lambda c: fit(c, epoch=3), TypeError, r"unexpected keyword argument 'epoch'"),
    _case("fit-checkpoint-unknown-field", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m-{val_acc:.2f}.netfit")]), ValueError,
          r"ModelCheckpoint: expected each field of filepath .* to be epoch or one of the values fit will log "
          r"\(loss, accuracy\), got 'val_acc'; it needs validation data: .* \(it is then logged as 'val_accuracy'\), "
          r"or use 'accuracy'"),
    _case("fit-checkpoint-bad-format", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m-{epoch:q}.netfit")]), ValueError, r"ModelCheckpoint: cannot fill in filepath"),
    _case("fit-checkpoint-unbalanced-brace", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m-{epoch.netfit")]), ValueError, r"ModelCheckpoint: cannot read filepath .* as a template"),
    _case("fit-checkpoint-folder", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(c.tmp)]), IsADirectoryError,
          r"ModelCheckpoint: expected a file path, got the folder .*; add a file name"),
    _case("fit-checkpoint-under-a-file", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.blocker / "m.netfit")]), OSError, r"ModelCheckpoint: cannot write to folder .*a-file"),
    # -- Sequential.fit / evaluate: sample_weight, class_weight (Keras's semantics) --------------------
    _case("fit-sample-weight-length", lambda c: fit(c, sample_weight=np.ones(N - 1)), ValueError,
          r"Sequential.fit: expected sample_weight one weight per example, shape \(6,\), got shape \(5,\)"),
    _case("fit-sample-weight-2d", lambda c: fit(c, sample_weight=np.ones((N, 2))), ValueError,
          r"expected sample_weight one weight per example, shape \(6,\), got shape \(6, 2\)"),
    _case("fit-sample-weight-negative", lambda c: fit(c, sample_weight=-np.ones(N)), ValueError,
          r"Sequential.fit: expected sample_weight non-negative, got -1"),
    _case("fit-sample-weight-nan", lambda c: fit(c, sample_weight=np.full(N, np.nan)), ValueError,
          r"sample_weight contains 6 NaN or infinite"),
    _case("fit-sample-weight-str", lambda c: fit(c, sample_weight="balanced"), TypeError,
          r"Sequential.fit: expected sample_weight a numeric array, got str"),
    _case("fit-class-weight-list", lambda c: fit(c, class_weight=[1.0, 2.0, 3.0]), TypeError,
          r"Sequential.fit: expected class_weight a dict \{class index: weight\}, got list"),
    _case("fit-class-weight-balanced-str", lambda c: fit(c, class_weight="balanced"), TypeError,
          r"expected class_weight a dict \{class index: weight\}, got str"),
    _case("fit-class-weight-negative", lambda c: fit(c, class_weight={0: -1.0}), ValueError,
          r"expected class_weight values non-negative numbers, got -1.0 for class 0"),
    _case("fit-class-weight-name-key", lambda c: fit(c, class_weight={"cat": 2.0}), ValueError,
          r"expected class_weight keys class indices 0..K-1, got 'cat'; with class names, map them first"),
    _case("fit-class-weight-regression", lambda c: fit(c, "mse", y=X[:, :1], class_weight={0: 2.0}), ValueError,
          r"Sequential.fit: class_weight needs class targets \(a classification loss\), got loss "
          r"'mean_squared_error'; pass per-example weights as sample_weight"),
    _case("fit-validation-data-weights", lambda c: fit(c, validation_data=(X, Y, np.ones(2))), ValueError,
          r"Sequential.fit \(validation_data\): expected sample_weight one weight per example"),
    _case("evaluate-sample-weight-length", lambda c: c.sparse.evaluate(X, Y, sample_weight=np.ones(2)), ValueError,
          r"Sequential.evaluate: expected sample_weight one weight per example, shape \(6,\)"),
    _case("train-on-batch-sample-weight", lambda c: c.sparse.train_on_batch(X, Y, sample_weight=np.ones(2)),
          ValueError, r"Sequential.train_on_batch: expected sample_weight one weight per example, shape \(6,\)"),
    _case("train-on-batch-class-weight", lambda c: c.sparse.train_on_batch(X, Y, class_weight=[1.0]), TypeError,
          r"Sequential.train_on_batch: expected class_weight a dict \{class index: weight\}, got list"),
    _case("test-on-batch-sample-weight", lambda c: c.sparse.test_on_batch(X, Y, sample_weight=-np.ones(N)),
          ValueError, r"Sequential.test_on_batch: expected sample_weight non-negative"),
    _case("gradients-sample-weight", lambda c: c.sparse.loss_and_gradients(X, Y, sample_weight=[-1] * N), ValueError,
          r"Sequential.loss_and_gradients: expected sample_weight non-negative"),
    _case("lazy-bad-sample-weight", lambda c: fit(c, "lazy", x=np.ones((N, 5)), sample_weight=np.ones(3)), ValueError,
          r"expected sample_weight one weight per example"),
    # -- output activation × loss: refused at compile with the fix (docs/reliability.md's table) ------------
    _case("compile-linear-output-binary-ce", lambda c: c.mse.compile("adam", "binary_crossentropy"), ValueError,
          r"Sequential.compile: binary_crossentropy expects probabilities in \[0, 1\], but a linear last layer's "
          r"outputs are not probabilities; end the model with activation='sigmoid'"),
    _case("compile-softmax-output-logits-loss", lambda c: c.sparse.compile(
        "adam", losses.SparseCategoricalCrossentropy(from_logits=True)), ValueError,
          r"with from_logits=True applies softmax itself, but the last layer already applies softmax"),
    _case("compile-one-unit-categorical", lambda c: c.binary.compile("adam", "categorical_crossentropy"), ValueError,
          r"categorical_crossentropy with 1 output unit has one class only"),
    _case("compile-sparse-accuracy-for-onehot", lambda c: c.onehot.compile(
        "adam", "categorical_crossentropy", metrics=["sparse_categorical_accuracy"]), ValueError,
          r"metric 'sparse_categorical_accuracy' compares integer labels"),
    _case("losses-from-logits-str", lambda c: losses.BinaryCrossentropy(from_logits="true"), TypeError,
          r"BinaryCrossentropy: expected from_logits True or False, got 'true'"),
    _case("losses-get-bad-config", lambda c: losses.get({"class_name": "MeanSquaredError", "config": {"from_logits": 1}}),
          TypeError, r"losses.get: bad config for MeanSquaredError"),
    _case("layer-trainable-str", lambda c: Dense(3, trainable="no"), TypeError,
          r"Dense: expected trainable True or False, got 'no'"),
    _case("layer-trainable-set-int", lambda c: setattr(c.sparse.layers[0], "trainable", 0), TypeError,
          r"dense: expected trainable True or False, got 0"),
    # -- other losses -------------------------------------------------------------------------------
    _case("onehot-given-labels", lambda c: fit(c, "onehot"), ValueError,
          r"categorical_crossentropy expects one-hot y of shape \(n, 3\), got integer labels .*to_categorical"),
    _case("onehot-rows-half", lambda c: fit(c, "onehot", y=Y1 / 2), ValueError,
          r"expected y rows of non-negative values summing to 1 \(one-hot\), got rows summing to 0.5..0.5"),
    _case("onehot-negative", lambda c: fit(c, "onehot", y=Y1 * 2 - np.roll(Y1, 1, axis=1)), ValueError,
          r"got a negative entry -1; encode labels with nf.utils.to_categorical"),
    _case("onehot-width", lambda c: fit(c, "onehot", y=utils.to_categorical(Y, 4)), ValueError,
          r"expected y of shape \(n, 3\) to match the model's output, got shape \(6, 4\)"),
    _case("onehot-nan", lambda c: fit(c, "onehot", y=np.where(Y1 > 0, np.nan, Y1)), ValueError, r"y contains 6 NaN"),
    _case("binary-label-2", lambda c: fit(c, "binary"), ValueError,
          r"expected y in \[0, 1\] for binary_crossentropy, got values from 0 to 2; for class labels"),
    _case("binary-negative", lambda c: fit(c, "binary", y=-(Y % 2)), ValueError, r"got values from -1 to 0"),
    _case("binary-width", lambda c: fit(c, "binary", y=np.zeros((N, 2))), ValueError,
          r"expected y of shape \(n, 1\) to match the model's output, got shape \(6, 2\)"),
    _case("mse-inf", lambda c: fit(c, "mse", y=np.where(Y > 1, np.inf, Y)), ValueError, r"y contains 2 NaN or infinite"),
    _case("mse-width", lambda c: fit(c, "mse", y=np.zeros((N, 3))), ValueError,
          r"expected y of shape \(n, 1\) to match the model's output, got shape \(6, 3\)"),
    # -- a compiled model that has not seen data yet: a failed call must not fix its input shape --
    _case("lazy-x-rank", lambda c: fit(c, "lazy", x=np.ones((N, 2, 2))), ValueError,
          r"dense: expected 1-D input features per example, got input shape \(2, 2\); put a Flatten\(\) layer"),
    _case("lazy-bad-y", lambda c: fit(c, "lazy", x=np.ones((N, 5)), y=Y + 3), ValueError, r"expected labels in \[0, 2\]"),
    _case("lazy-bad-batch", lambda c: fit(c, "lazy", x=np.ones((N, 5)), batch_size=0), ValueError,
          r"expected batch_size >= 1"),
    # -- evaluate, predict, predict_classes, loss_and_gradients ------------------------------------
    _case("evaluate-uncompiled", lambda c: nf.Sequential([Dense(1, input_shape=(2,))]).evaluate(X, Y), RuntimeError,
          r"Sequential.evaluate: the model is not compiled; call model.compile"),
    _case("evaluate-x-features", lambda c: c.sparse.evaluate(np.ones((N, 4)), Y), ValueError,
          r"Sequential.evaluate: expected x of shape \(n, 2\)"),
    _case("evaluate-y-range", lambda c: c.sparse.evaluate(X, Y * 2), ValueError,
          r"Sequential.evaluate: expected labels in \[0, 2\] for a model with 3 outputs, got label 4"),
    _case("evaluate-length", lambda c: c.sparse.evaluate(X, Y[:3]), ValueError, r"6 and 3"),
    _case("evaluate-batch-0", lambda c: c.sparse.evaluate(X, Y, batch_size=0), ValueError,
          r"Sequential.evaluate: expected batch_size >= 1, got 0"),
    _case("evaluate-batch-str", lambda c: c.sparse.evaluate(X, Y, batch_size="a"), TypeError,
          r"Sequential.evaluate: expected batch_size a positive integer"),
    _case("evaluate-return-dict-str", lambda c: c.sparse.evaluate(X, Y, return_dict="yes"), TypeError,
          r"Sequential.evaluate: expected return_dict True or False, got 'yes'"),
    _case("evaluate-verbose", lambda c: c.sparse.evaluate(X, Y, verbose=5), ValueError,
          r"Sequential.evaluate: expected verbose 0, 1, 2 or 'auto', got 5"),
    _case("predict-x-features", lambda c: c.sparse.predict(np.ones((N, 3))), ValueError,
          r"Sequential.predict: expected x of shape \(n, 2\), got array of shape \(6, 3\)"),
    _case("predict-x-nan", lambda c: c.sparse.predict(np.array([[np.nan, 0.0]])), ValueError,
          r"Sequential.predict: x contains 1 NaN"),
    _case("predict-x-strings", lambda c: c.sparse.predict([["a", "b"]]), TypeError, r"Sequential.predict: expected x with a numeric"),
    _case("predict-x-one-unbatched", lambda c: c.sparse.predict(np.ones(2)), ValueError,
          r"Sequential.predict: .*For one example, add the batch axis"),
    _case("predict-batch-0", lambda c: c.sparse.predict(X, batch_size=0), ValueError,
          r"Sequential.predict: expected batch_size >= 1, got 0"),
    _case("predict-batch-float", lambda c: c.sparse.predict(X, batch_size=2.0), TypeError,
          r"Sequential.predict: expected batch_size a positive integer, got 2.0"),
    _case("predict-verbose", lambda c: c.sparse.predict(X, verbose="x"), ValueError, r"Sequential.predict: expected verbose"),
    _case("predict-empty", lambda c: c.sparse.predict(np.zeros((0, 2))), ValueError,
          r"Sequential.predict: expected x with at least one example"),
    _case("predict-classes-features", lambda c: c.sparse.predict_classes(np.ones((2, 3))), ValueError,
          r"Sequential.predict: expected x of shape \(n, 2\)"),
    _case("predict-classes-batch", lambda c: c.sparse.predict_classes(X, batch_size=-3), ValueError,
          r"expected batch_size >= 1, got -3"),
    _case("gradients-x", lambda c: c.sparse.loss_and_gradients(np.ones((2, 3)), [0, 1]), ValueError,
          r"Sequential.loss_and_gradients: expected x of shape \(n, 2\)"),
    _case("gradients-y", lambda c: c.sparse.loss_and_gradients(X, Y - 2), ValueError,
          r"Sequential.loss_and_gradients: expected y non-negative class labels"),
    _case("gradients-flag", lambda c: c.sparse.loss_and_gradients(X, Y, gradients="no"), TypeError,
          r"Sequential.loss_and_gradients: expected gradients True or False, got 'no'"),
    _case("gradients-training", lambda c: c.sparse.loss_and_gradients(X, Y, training=1), TypeError,
          r"expected training True or False, got 1"),
    _case("gradients-uncompiled", lambda c: nf.Sequential([Dense(1, input_shape=(2,))]).loss_and_gradients(X, Y),
          RuntimeError, r"Sequential.loss_and_gradients: the model is not compiled"),
    # -- set_weights: all arrays are checked before any is copied ----------------------------------
    _case("set-weights-none", lambda c: c.sparse.set_weights(None), TypeError,
          r"Sequential.set_weights: expected a list of 4 arrays \(as get_weights\(\) returns\), got NoneType"),
    _case("set-weights-int", lambda c: c.sparse.set_weights(5), TypeError, r"expected a list of 4 arrays"),
    _case("set-weights-one-array", lambda c: c.sparse.set_weights(c.sparse.get_weights()[0]), TypeError,
          r"expected a list of 4 arrays .*got ndarray"),
    _case("set-weights-too-few", lambda c: c.sparse.set_weights(c.sparse.get_weights()[:3]), ValueError,
          r"Sequential.set_weights: expected 4 arrays, got 3"),
    _case("set-weights-shape", lambda c: c.sparse.set_weights([w.T for w in c.sparse.get_weights()]), ValueError,
          r"expected array 0 of shape \(2, 4\), got \(4, 2\)"),
    _case("set-weights-last-shape", lambda c: c.sparse.set_weights(
        [w + 1 for w in c.sparse.get_weights()[:3]] + [np.zeros(5)]), ValueError,
          r"expected array 3 of shape \(3,\), got \(5,\)"),
    _case("set-weights-nan", lambda c: c.sparse.set_weights(
        [w + 1 for w in c.sparse.get_weights()[:3]] + [np.full(3, np.nan)]), ValueError,
          r"Sequential.set_weights: array 3 contains 3 NaN or infinite value\(s\)"),
    _case("set-weights-inf", lambda c: c.sparse.set_weights([np.full_like(w, np.inf) for w in c.sparse.get_weights()]),
          ValueError, r"array 0 contains 8 NaN or infinite"),
    _case("set-weights-strings", lambda c: c.sparse.set_weights([w.astype(str) for w in c.sparse.get_weights()]),
          TypeError, r"Sequential.set_weights: expected array 0 with a numeric dtype"),
    _case("set-weights-none-entries", lambda c: c.sparse.set_weights([np.full(w.shape, None)
                                                                      for w in c.sparse.get_weights()]),
          TypeError, r"expected array 0 with a numeric dtype, got dtype object"),
    _case("set-weights-ragged", lambda c: c.sparse.set_weights([[[1.0], [2.0, 3.0]]] + c.sparse.get_weights()[1:]),
          TypeError, r"expected array 0 a numeric array, could not convert it"),
    # -- compile: nothing is replaced unless everything is valid --------------------------------------
    _case("compile-optimizer", lambda c: c.sparse.compile("adadelta", "mse"), ValueError,
          r"optimizers.get: unknown optimizer 'adadelta'; supported: sgd, rmsprop, adagrad, adam"),
    _case("compile-optimizer-int", lambda c: c.sparse.compile(5, "mse"), ValueError, r"unknown optimizer 5"),
    _case("compile-loss", lambda c: c.sparse.compile("sgd", "ctc"), ValueError, r"losses.get: unknown loss 'ctc'; supported:"),
    _case("compile-loss-none", lambda c: c.sparse.compile("sgd", None), ValueError,
          r"Sequential.compile: expected a loss, e.g. loss='categorical_crossentropy'"),
    _case("compile-metrics-str", lambda c: c.sparse.compile("sgd", "mse", metrics="accuracy"), TypeError,
          r"expected metrics a list of names, got 'accuracy'"),
    _case("compile-metrics-dict", lambda c: c.sparse.compile("sgd", "mse", metrics={"a": 1}), TypeError,
          r"expected metrics a list of names"),
    _case("compile-metric-unknown", lambda c: c.sparse.compile("sgd", "sparse_categorical_crossentropy",
                                                                metrics=["f1"]), ValueError,
          r"compile: unknown metric 'f1'; supported: accuracy"),
    _case("compile-accuracy-for-mse", lambda c: c.sparse.compile("sgd", "mse", metrics=["accuracy"]), ValueError,
          r"metric 'accuracy' needs a classification loss, got loss 'mean_squared_error'; use metrics=\['mae'\]"),
    # -- Sequential itself ---------------------------------------------------------------------------
    _case("sequential-single-layer", lambda c: nf.Sequential(Dense(2)), TypeError,
          r"Sequential: expected layers a list of netfit Layers, got Dense; wrap a single layer in a list"),
    _case("sequential-not-layers", lambda c: nf.Sequential([5]), TypeError, r"Sequential.add: expected a netfit Layer, got int"),
    _case("sequential-str", lambda c: nf.Sequential("dense"), TypeError, r"expected layers a list of netfit Layers, got str"),
    _case("sequential-seed-str", lambda c: nf.Sequential([Dense(2)], seed="a"), TypeError,
          r"Sequential: expected seed a non-negative integer \(or None\), got 'a'"),
    _case("sequential-seed-float", lambda c: nf.Sequential([Dense(2)], seed=1.5), TypeError, r"expected seed a non-negative"),
    _case("sequential-seed-negative", lambda c: nf.Sequential([Dense(2)], seed=-1), ValueError, r"expected seed a non-negative"),
    _case("sequential-dtype-int", lambda c: nf.Sequential([Dense(2)], dtype="int32"), ValueError,
          r"Sequential: expected dtype 'float32' or 'float64' \(or None for nf.config.floatx\(\)\), got 'int32'"),
    _case("sequential-dtype-garbage", lambda c: nf.Sequential([Dense(2)], dtype="foo"), ValueError, r"expected dtype 'float32'"),
    _case("sequential-name", lambda c: nf.Sequential([Dense(2)], name=5), TypeError, r"Sequential: expected name a str, got int"),
    _case("sequential-same-layer-twice", lambda c: (lambda d: nf.Sequential([d, d]))(Dense(2)), ValueError,
          r"Sequential.add: layer .* is already in the model"),
    _case("sequential-no-input-shape", lambda c: nf.Sequential([Dense(2)]).build(), ValueError,
          r"Sequential.build: the input shape is unknown; give the first layer input_shape"),
    _case("sequential-no-layers-fit", lambda c: (lambda m: (m.compile("sgd", "mse"), m.fit(X, Y)))(nf.Sequential()),
          ValueError, r"Sequential.fit: the model has no layers; add some first"),
    _case("sequential-wrong-first-layer", lambda c: nf.Sequential([Dense(2, input_shape=(3,)), Dense(2, input_shape=(5,))])
          .build(), ValueError, r"declared input_shape=\(5,\), but the layer below produces \(2,\)"),
    # -- layers --------------------------------------------------------------------------------------
    _case("dense-units-0", lambda c: Dense(0), ValueError, r"Dense: expected units >= 1, got 0"),
    _case("dense-units-str", lambda c: Dense("3"), TypeError, r"Dense: expected units a positive integer, got '3'"),
    _case("dense-units-float", lambda c: Dense(3.0), TypeError, r"Dense: expected units a positive integer, got 3.0"),
    _case("dense-activation", lambda c: Dense(3, activation="relu6"), ValueError,
          r"activations.get: unknown activation 'relu6'; supported: linear"),
    _case("dense-activation-int", lambda c: Dense(3, activation=5), ValueError, r"unknown activation 5"),
    _case("dense-initializer", lambda c: Dense(3, kernel_initializer="foo"), ValueError,
          r"initializers.get: unknown initializer 'foo'; supported:"),
    _case("input-shape-zero", lambda c: Dense(3, input_shape=(0,)), ValueError,
          r"Dense: expected input_shape a tuple of positive integers, got \(0,\)"),
    _case("input-shape-str", lambda c: Dense(3, input_shape="abc"), TypeError, r"expected input_shape a tuple of positive"),
    _case("input-shape-float", lambda c: Dense(3, input_shape=(2.5,)), TypeError,
          r"expected input_shape a tuple of positive integers"),
    _case("dense-after-image", lambda c: nf.Sequential([Dense(3, input_shape=(4, 4))]).build(), ValueError,
          r"put a Flatten\(\) layer before Dense"),
    _case("dense-forward-features", lambda c: _layer(Dense(2), (2,)).forward(np.ones((1, 3))), ValueError,
          r"Dense: expected input of shape \(n, 2\), got array of shape \(1, 3\)"),
    _case("dense-forward-list", lambda c: _layer(Dense(2), (2,)).forward([[1.0, 2.0]]), TypeError,
          r"Dense: expected input a NumPy array"),
    _case("conv-filters-0", lambda c: Conv2D(0, 3), ValueError, r"Conv2D: expected filters >= 1, got 0"),
    _case("conv-kernel-str", lambda c: Conv2D(2, "3"), ValueError,
          r"Conv2D: expected kernel_size a positive integer or a pair of them, got '3'"),
    _case("conv-kernel-triple", lambda c: Conv2D(2, (3, 3, 3)), ValueError, r"expected kernel_size a positive integer or a pair"),
    _case("conv-strides-0", lambda c: Conv2D(2, 3, strides=0), ValueError, r"expected strides a positive integer"),
    _case("conv-padding", lambda c: Conv2D(2, 3, padding="full"), ValueError,
          r"Conv2D: expected padding 'valid' or 'same', got 'full'"),
    _case("conv-bias", lambda c: Conv2D(2, 3, bias="each"), ValueError, r"expected bias 'shared' or 'per_unit', got 'each'"),
    _case("conv-window-too-big", lambda c: nf.Sequential([Conv2D(2, 5, input_shape=(3, 3, 1))]).build(), ValueError,
          r"expected input of at least 5×5 pixels .*; use padding='same' or a smaller window"),
    _case("conv-rank", lambda c: nf.Sequential([Conv2D(2, 3, input_shape=(9,))]).build(), ValueError,
          r"[Cc]onv2d: expected"),
    _case("conv-forward-shape", lambda c: _layer(Conv2D(2, 3), (5, 5, 1)).forward(np.ones((1, 5, 5, 2))), ValueError,
          r"Conv2D: expected input of shape \(n, 5, 5, 1\)"),
    _case("local-kernel-0", lambda c: LocallyConnected2D(2, 0), ValueError,
          r"LocallyConnected2D: expected kernel_size a positive integer"),
    _case("local-filters-str", lambda c: LocallyConnected2D("2", 3), TypeError, r"expected filters a positive integer"),
    _case("pool-size-0", lambda c: MaxPooling2D(0), ValueError, r"MaxPooling2D: expected pool_size a positive integer"),
    _case("pool-padding", lambda c: AveragePooling2D(2, padding="x"), ValueError, r"expected padding 'valid' or 'same'"),
    _case("pool-too-big", lambda c: nf.Sequential([MaxPooling2D(5, input_shape=(3, 3, 1))]).build(), ValueError,
          r"expected input of at least 5×5 pixels"),
    _case("global-pool-rank", lambda c: nf.Sequential([GlobalAveragePooling2D(input_shape=(9,))]).build(), ValueError,
          r"global_average_pooling2d: expected per-example input of shape \(height, width, channels\)"),
    _case("dropout-1", lambda c: Dropout(1.0), ValueError, r"Dropout: expected rate in \[0, 1\), got 1.0"),
    _case("dropout-negative", lambda c: Dropout(-0.1), ValueError, r"Dropout: expected rate in \[0, 1\)"),
    _case("dropout-nan", lambda c: Dropout(float("nan")), ValueError, r"Dropout: expected rate in \[0, 1\), got nan"),
    _case("dropout-str", lambda c: Dropout("0.5"), ValueError, r"Dropout: expected rate"),
    _case("dropout-none", lambda c: Dropout(None), ValueError, r"Dropout: expected rate"),
    _case("reshape-two-unknowns", lambda c: Reshape((3, -1, -1)), ValueError,
          r"Reshape: expected target_shape of positive sizes with at most one -1"),
    _case("reshape-zero", lambda c: Reshape((0,)), ValueError, r"Reshape: expected target_shape of positive sizes"),
    _case("reshape-str", lambda c: Reshape("ab"), TypeError, r"Reshape: expected target_shape"),
    _case("reshape-int", lambda c: Reshape(5), TypeError, r"Reshape: expected target_shape"),
    _case("reshape-size", lambda c: nf.Sequential([Reshape((5, 5), input_shape=(24,))]).build(), ValueError,
          r"cannot reshape input of shape \(24,\) \(24 values\) into \(5, 5\) \(25 values\)"),
    _case("activation-layer", lambda c: Activation("mish"), ValueError, r"unknown activation 'mish'"),
    _case("layers-get", lambda c: layers.get("LSTM"), ValueError, r"layers.get: unknown layer 'LSTM'; supported:"),
    # -- losses ------------------------------------------------------------------------------------
    _case("losses-get-unknown", lambda c: losses.get("ctc"), ValueError, r"losses.get: unknown loss 'ctc'; supported: mean_sq"),
    _case("losses-get-none", lambda c: losses.get(None), ValueError, r"losses.get: unknown loss None"),
    _case("losses-get-int", lambda c: losses.get(5), ValueError, r"losses.get: unknown loss 5"),
    _case("sparse-loss-image-output", lambda c: losses.get("sparse_categorical_crossentropy").validate(
        Y, (4, 4, 3), "where"), ValueError, r"where: sparse_categorical_crossentropy needs a model output of shape \(n, K\)"),
    # -- optimizers ------------------------------------------------------------------------------------
    _case("sgd-lr-0", lambda c: optimizers.SGD(0), ValueError,
          r"SGD: expected learning_rate a positive number or a schedule, got 0"),
    _case("sgd-lr-negative", lambda c: optimizers.SGD(-0.1), ValueError, r"SGD: expected learning_rate a positive number"),
    _case("sgd-lr-str", lambda c: optimizers.SGD("0.1"), ValueError, r"expected learning_rate a positive number .*got '0.1'"),
    _case("sgd-lr-inf", lambda c: optimizers.SGD(float("inf")), ValueError, r"expected learning_rate a positive number"),
    _case("sgd-lr-nan", lambda c: optimizers.SGD(float("nan")), ValueError, r"expected learning_rate a positive number"),
    _case("sgd-momentum-1", lambda c: optimizers.SGD(0.1, momentum=1.0), ValueError, r"SGD: expected momentum in \[0, 1\)"),
    _case("sgd-momentum-negative", lambda c: optimizers.SGD(0.1, momentum=-0.1), ValueError, r"expected momentum in \[0, 1\)"),
    _case("sgd-clipnorm-negative", lambda c: optimizers.SGD(0.1, clipnorm=-1), ValueError,
          r"SGD: expected clipnorm a non-negative number, got -1"),
    _case("sgd-clipvalue-nan", lambda c: optimizers.SGD(0.1, clipvalue=float("nan")), ValueError,
          r"expected clipvalue a non-negative number, got nan"),
    _case("sgd-decay-negative", lambda c: optimizers.SGD(0.1, weight_decay=-1e-3), ValueError,
          r"expected weight_decay a non-negative number"),
    _case("adam-beta1", lambda c: optimizers.Adam(beta_1=1.0), ValueError, r"Adam: expected beta_1 in \[0, 1\), got 1.0"),
    _case("adam-beta2", lambda c: optimizers.Adam(beta_2=-0.1), ValueError, r"Adam: expected beta_2 in \[0, 1\)"),
    _case("optimizers-get", lambda c: optimizers.get("adadelta"), ValueError,
          r"optimizers.get: unknown optimizer 'adadelta'; supported: sgd, rmsprop, adagrad, adam, nadam, adamw"),
    _case("optimizers-get-none", lambda c: optimizers.get(None), ValueError, r"unknown optimizer None"),
    _case("optimizers-get-config-key", lambda c: optimizers.get({"class_name": "SGD", "config": {"lr": 1}}), TypeError,
          r"SGD: unknown argument 'lr'; it is Keras 2's name: use learning_rate=1"),
    _case("adam-keras2-lr", lambda c: optimizers.Adam(lr=0.01), TypeError,
          r"Adam: unknown argument 'lr'; it is Keras 2's name: use learning_rate=0.01"),
    _case("sgd-keras2-decay", lambda c: optimizers.SGD(0.1, decay=1e-4), TypeError,
          r"SGD: unknown argument 'decay'; .*InverseTimeDecay\(0.1, decay_steps=1, decay_rate=0.0001\)"),
    _case("adam-amsgrad", lambda c: optimizers.Adam(amsgrad=True), TypeError,
          r"Adam: unknown argument 'amsgrad'; netfit's Adam has no AMSGrad variant"),
    _case("adam-momentum", lambda c: optimizers.Adam(momentum=0.9), TypeError,
          r"Adam: unknown argument 'momentum'; momentum is SGD's; Adam's first-moment decay is beta_1"),
    _case("sgd-unknown-argument", lambda c: optimizers.SGD(0.1, foo=1), TypeError,
          r"SGD: unknown argument 'foo'; netfit's optimizers take learning_rate"),
    _case("sgd-decay-inf", lambda c: optimizers.SGD(0.1, weight_decay=float("inf")), ValueError,
          r"expected weight_decay a finite"),
    _case("sgd-clipnorm-0", lambda c: optimizers.SGD(0.1, clipnorm=0), ValueError, r"expected clipnorm a positive"),
    _case("sgd-nesterov-str", lambda c: optimizers.SGD(0.1, momentum=0.9, nesterov="no"), TypeError,
          r"SGD: expected nesterov True or False"),
    _case("adam-epsilon-0", lambda c: optimizers.Adam(epsilon=0), ValueError, r"Adam: expected epsilon a positive"),
    _case("adam-epsilon-str", lambda c: optimizers.Adam(epsilon="a"), ValueError, r"Adam: expected epsilon"),
    _case("schedule-unknown", lambda c: optimizers.SGD({"class_name": "Cosine", "config": {}}), ValueError,
          r"unknown learning-rate schedule 'Cosine'"),
    _case("schedule-steps-0", lambda c: optimizers.InverseTimeDecay(0.1, 0, 1.0), ValueError,
          r"InverseTimeDecay: expected decay_steps"),
    _case("schedule-negative-rate", lambda c: optimizers.ExponentialDecay(-0.1, 10, 0.5), ValueError,
          r"ExponentialDecay: expected initial_learning_rate"),
    # -- what a Keras user reaches for next (issue 14): new optimizers, schedules, losses, activations, layers
    _case("rmsprop-rho-1", lambda c: optimizers.RMSprop(rho=1.0), ValueError, r"RMSprop: expected rho in \[0, 1\), got 1.0"),
    _case("rmsprop-rho-str", lambda c: optimizers.RMSprop(rho="0.9"), ValueError, r"RMSprop: expected rho in \[0, 1\)"),
    _case("rmsprop-momentum", lambda c: optimizers.RMSprop(momentum=-0.5), ValueError,
          r"RMSprop: expected momentum in \[0, 1\), got -0.5"),
    _case("rmsprop-epsilon-0", lambda c: optimizers.RMSprop(epsilon=0), ValueError, r"RMSprop: expected epsilon a positive"),
    _case("rmsprop-centered-str", lambda c: optimizers.RMSprop(centered="yes"), TypeError,
          r"RMSprop: expected centered True or False, got 'yes'"),
    _case("rmsprop-lr-0", lambda c: optimizers.RMSprop(0), ValueError, r"RMSprop: expected learning_rate a positive number"),
    _case("adagrad-accumulator", lambda c: optimizers.Adagrad(initial_accumulator_value=-0.1), ValueError,
          r"Adagrad: expected initial_accumulator_value a non-negative number, got -0.1"),
    _case("adagrad-epsilon-nan", lambda c: optimizers.Adagrad(epsilon=float("nan")), ValueError,
          r"Adagrad: expected epsilon a positive number"),
    _case("nadam-beta1", lambda c: optimizers.Nadam(beta_1=1.0), ValueError, r"Nadam: expected beta_1 in \[0, 1\), got 1.0"),
    _case("nadam-beta2", lambda c: optimizers.Nadam(beta_2=1.5), ValueError, r"Nadam: expected beta_2 in \[0, 1\)"),
    _case("nadam-epsilon", lambda c: optimizers.Nadam(epsilon=-1.0), ValueError, r"Nadam: expected epsilon a positive"),
    _case("adamw-decay-negative", lambda c: optimizers.AdamW(weight_decay=-0.01), ValueError,
          r"AdamW: expected weight_decay a non-negative finite number \(decoupled decay\), got -0.01"),
    _case("adamw-decay-str", lambda c: optimizers.AdamW(weight_decay="0.01"), ValueError,
          r"AdamW: expected weight_decay a non-negative finite number"),
    _case("adamw-beta1", lambda c: optimizers.AdamW(beta_1=1.0), ValueError, r"Adam: expected beta_1 in \[0, 1\)"),
    _case("compile-adamw-bad-config", lambda c: c.sparse.compile({"class_name": "AdamW", "config": {"weight_decay": -1}},
                                                                 "sparse_categorical_crossentropy"), ValueError,
          r"AdamW: expected weight_decay a non-negative"),
    _case("cosine-decay-steps-0", lambda c: optimizers.CosineDecay(0.1, 0), ValueError,
          r"CosineDecay: expected decay_steps a positive number, got 0"),
    _case("cosine-alpha", lambda c: optimizers.CosineDecay(0.1, 10, alpha=2.0), ValueError,
          r"CosineDecay: expected alpha in \[0, 1\] \(the final rate as a fraction\), got 2.0"),
    _case("cosine-warmup-target", lambda c: optimizers.CosineDecay(0.0, 10, warmup_target=-1.0, warmup_steps=5),
          ValueError, r"CosineDecay: expected warmup_target a positive number, got -1.0"),
    _case("cosine-warmup-steps", lambda c: optimizers.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=-5),
          ValueError, r"CosineDecay: expected warmup_steps a non-negative number, got -5"),
    _case("cosine-warmup-steps-0", lambda c: optimizers.CosineDecay(0.0, 10, warmup_target=0.1), ValueError,
          r"CosineDecay: expected warmup_steps > 0 with warmup_target=0.1, got 0"),
    _case("cosine-zero-rate", lambda c: optimizers.CosineDecay(0.0, 10), ValueError,
          r"CosineDecay: expected initial_learning_rate > 0 without a warm-up"),
    _case("cosine-name", lambda c: optimizers.CosineDecay(0.1, 10, name=None), TypeError,
          r"CosineDecay: expected name a str, got NoneType"),
    _case("piecewise-lengths", lambda c: optimizers.PiecewiseConstantDecay([10], [0.1]), ValueError,
          r"PiecewiseConstantDecay: expected one more value than boundaries, got 1 boundaries and 1 values"),
    _case("piecewise-order", lambda c: optimizers.PiecewiseConstantDecay([10, 5], [0.1, 0.05, 0.01]), ValueError,
          r"PiecewiseConstantDecay: expected boundaries strictly increasing"),
    _case("piecewise-value", lambda c: optimizers.PiecewiseConstantDecay([10], [0.1, 0]), ValueError,
          r"PiecewiseConstantDecay: expected values a positive number, got 0"),
    _case("piecewise-boundaries-int", lambda c: optimizers.PiecewiseConstantDecay(10, [0.1, 0.01]), TypeError,
          r"PiecewiseConstantDecay: expected boundaries a list of numbers, got int"),
    _case("schedule-get-unknown", lambda c: optimizers.Adam({"class_name": "OneCycle", "config": {}}), ValueError,
          r"Adam: unknown learning-rate schedule 'OneCycle'; supported: InverseTimeDecay, ExponentialDecay, "
          r"PiecewiseConstantDecay, CosineDecay"),
    _case("huber-delta-0", lambda c: losses.Huber(delta=0), ValueError,
          r"Huber: expected delta a positive number \(where the loss turns linear\), got 0"),
    _case("huber-delta-str", lambda c: losses.Huber(delta="1"), ValueError, r"Huber: expected delta a positive number"),
    _case("compile-loss-unknown-alias", lambda c: c.sparse.compile("sgd", "msle"), ValueError,
          r"losses.get: unknown loss 'msle'; supported: .*mean_absolute_error, huber, log_cosh, kl_divergence, poisson"),
    _case("poisson-negative-counts", lambda c: (lambda m: (m.compile("sgd", "poisson"), m.fit(X, -np.ones(N), verbose=0)))(
        nf.Sequential([Dense(1, activation="softplus", input_shape=(2,))], seed=0)), ValueError,
          r"Sequential.fit: expected y non-negative \(counts\) for poisson, got a negative entry -1"),
    _case("kld-negative", lambda c: (lambda m: (m.compile("sgd", "kld"), m.fit(X, -Y1, verbose=0)))(
        nf.Sequential([Dense(3, activation="softmax", input_shape=(2,))], seed=0)), ValueError,
          r"Sequential.fit: expected y non-negative \(probabilities\) for kl_divergence"),
    _case("leaky-relu-slope", lambda c: nf.activations.LeakyRelu(-0.2), ValueError,
          r"LeakyRelu: expected negative_slope a non-negative number, got -0.2"),
    _case("activation-keras2-name", lambda c: Dense(3, activation="hard_swish"), ValueError,
          r"activations.get: unknown activation 'hard_swish'; supported: .*leaky_relu, selu, silu, softsign, "
          r"hard_sigmoid, swish"),
    _case("batchnorm-momentum-1", lambda c: layers.BatchNormalization(momentum=1.0), ValueError,
          r"BatchNormalization: expected momentum in \[0, 1\), got 1.0"),
    _case("batchnorm-momentum-str", lambda c: layers.BatchNormalization(momentum="0.99"), ValueError,
          r"BatchNormalization: expected momentum in \[0, 1\)"),
    _case("batchnorm-epsilon-0", lambda c: layers.BatchNormalization(epsilon=0), ValueError,
          r"BatchNormalization: expected epsilon in \(0, inf\), got 0"),
    _case("batchnorm-axis-str", lambda c: layers.BatchNormalization(axis="channels"), TypeError,
          r"BatchNormalization: expected axis an int or a tuple of ints"),
    _case("batchnorm-axis-outside", lambda c: nf.Sequential([layers.BatchNormalization(axis=2, input_shape=(4,))]).build(),
          ValueError, r"batch_normalization: axis 2 is not a feature axis of inputs with 1 dimension\(s\) per example"),
    _case("batchnorm-center-str", lambda c: layers.BatchNormalization(center="no"), TypeError,
          r"BatchNormalization: expected center True or False, got 'no'"),
    _case("batchnorm-scale-none", lambda c: layers.BatchNormalization(scale=None), TypeError,
          r"BatchNormalization: expected scale True or False, got None"),
    _case("batchnorm-initializer", lambda c: layers.BatchNormalization(moving_variance_initializer="foo"),
          ValueError, r"initializers.get: unknown initializer 'foo'"),
    _case("batchnorm-forward-shape", lambda c: _layer(layers.BatchNormalization(), (3,)).forward(np.ones((2, 4))),
          ValueError, r"BatchNormalization: expected input of shape \(n, 3\), got array of shape \(2, 4\)"),
    _case("layernorm-epsilon", lambda c: layers.LayerNormalization(epsilon=-1.0), ValueError,
          r"LayerNormalization: expected epsilon in \(0, inf\), got -1.0"),
    _case("layernorm-axis-float", lambda c: layers.LayerNormalization(axis=1.5), TypeError,
          r"LayerNormalization: expected axis an int or a tuple of ints"),
    _case("layernorm-axis-0", lambda c: nf.Sequential([layers.LayerNormalization(axis=0, input_shape=(4,))]).build(),
          ValueError, r"axis 0 is not a feature axis"),
    _case("layernorm-scale-str", lambda c: layers.LayerNormalization(scale="yes"), TypeError,
          r"LayerNormalization: expected scale True or False"),
    _case("zero-padding-negative", lambda c: layers.ZeroPadding2D(-1), ValueError,
          r"ZeroPadding2D: expected padding a non-negative int, a pair of them, or \(\(top, bottom\), \(left, right\)\)"),
    _case("zero-padding-triple", lambda c: layers.ZeroPadding2D((1, 2, 3)), ValueError, r"ZeroPadding2D: expected padding"),
    _case("zero-padding-str", lambda c: layers.ZeroPadding2D("same"), ValueError, r"ZeroPadding2D: expected padding"),
    _case("zero-padding-rank", lambda c: nf.Sequential([layers.ZeroPadding2D(1, input_shape=(9,))]).build(), ValueError,
          r"zero_padding2d: expected per-example input of shape \(height, width, channels\) or \(height, width\)"),
    _case("global-max-pool-rank", lambda c: nf.Sequential([layers.GlobalMaxPooling2D(input_shape=(9,))]).build(),
          ValueError, r"global_max_pooling2d: expected per-example input of shape \(height, width, channels\)"),
    # -- 1-D, transposed, up-sampling and cropping layers (issue 22): a row per constructor argument ----------
    _case("conv1d-filters", lambda c: layers.Conv1D(0, 3), ValueError, r"Conv1D: expected filters >= 1, got 0"),
    _case("conv1d-kernel-pair", lambda c: layers.Conv1D(2, (3, 3)), ValueError,
          r"Conv1D: expected kernel_size a positive integer or a tuple of one of them, got \(3, 3\)"),
    _case("conv1d-strides-0", lambda c: layers.Conv1D(2, 3, strides=0), ValueError, r"Conv1D: expected strides a positive"),
    _case("conv1d-padding", lambda c: layers.Conv1D(2, 3, padding="full"), ValueError,
          r"Conv1D: expected padding 'valid', 'same' or 'causal', got 'full'"),
    _case("conv1d-channels-first", lambda c: layers.Conv1D(2, 3, data_format="channels_first"), ValueError,
          r"Conv1D: expected data_format 'channels_last' \(netfit is channels-last only\), got 'channels_first'; "
          r"move the channel axis last"),
    _case("conv1d-dilation", lambda c: layers.Conv1D(2, 3, dilation_rate=2), ValueError,
          r"Conv1D: expected dilation_rate 1 \(netfit has no dilated kernels\), got 2; .* kernel_size \(k - 1\)"),
    _case("conv1d-groups", lambda c: layers.Conv1D(2, 3, groups=2), ValueError,
          r"Conv1D: expected groups 1 \(netfit has no grouped convolutions\), got 2"),
    _case("conv1d-activation", lambda c: layers.Conv1D(2, 3, activation="relu6x"), ValueError, r"relu6x"),
    _case("conv1d-initializer", lambda c: layers.Conv1D(2, 3, kernel_initializer="foo"), ValueError,
          r"initializers.get: unknown initializer 'foo'"),
    _case("conv1d-rank", lambda c: nf.Sequential([layers.Conv1D(2, 3, input_shape=(9,))]).build(), ValueError,
          r"conv1d: expected per-example input of shape \(steps, channels\), got input shape \(9,\); "
          r"put Reshape\(\(9, 1\)\) first"),
    _case("conv1d-too-short", lambda c: nf.Sequential([layers.Conv1D(2, 5, input_shape=(3, 1))]).build(), ValueError,
          r"conv1d: expected at least 5 steps for kernel_size 5 with padding='valid', got 3"),
    _case("conv2d-transpose-filters", lambda c: layers.Conv2DTranspose(-1, 3), ValueError,
          r"Conv2DTranspose: expected filters >= 1, got -1"),
    _case("conv2d-transpose-kernel", lambda c: layers.Conv2DTranspose(2, (3, 3, 3)), ValueError,
          r"Conv2DTranspose: expected kernel_size a positive integer or a tuple of 2 of them"),
    _case("conv2d-transpose-strides", lambda c: layers.Conv2DTranspose(2, 3, strides=(2, 0)), ValueError,
          r"Conv2DTranspose: expected strides a positive integer or a tuple of 2"),
    _case("conv2d-transpose-padding", lambda c: layers.Conv2DTranspose(2, 3, padding="causal"), ValueError,
          r"Conv2DTranspose: expected padding 'valid' or 'same', got 'causal'"),
    _case("conv2d-transpose-output-padding", lambda c: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
          ValueError, r"Conv2DTranspose: expected output_padding smaller than strides 2, got 2"),
    _case("conv2d-transpose-output-padding-neg", lambda c: layers.Conv2DTranspose(2, 3, output_padding=-1), ValueError,
          r"Conv2DTranspose: expected output_padding an integer >= 0 or a tuple of 2 of them, got -1"),
    _case("conv2d-transpose-channels-first", lambda c: layers.Conv2DTranspose(2, 3, data_format="channels_first"),
          ValueError, r"Conv2DTranspose: expected data_format 'channels_last'"),
    _case("conv2d-transpose-dilation", lambda c: layers.Conv2DTranspose(2, 3, dilation_rate=(1, 2)), ValueError,
          r"Conv2DTranspose: expected dilation_rate 1 \(netfit has no dilated kernels\), got \(1, 2\)"),
    _case("conv2d-transpose-rank", lambda c: nf.Sequential([layers.Conv2DTranspose(2, 3, input_shape=(4, 4))]).build(),
          ValueError, r"conv2d_transpose: expected per-example input of shape \(height, width, channels\), got input "
                      r"shape \(4, 4\)"),
    _case("conv1d-transpose-kernel", lambda c: layers.Conv1DTranspose(2, 0), ValueError,
          r"Conv1DTranspose: expected kernel_size a positive integer or a tuple of one of them, got 0"),
    _case("conv1d-transpose-output-padding", lambda c: layers.Conv1DTranspose(2, 3, output_padding=1), ValueError,
          r"Conv1DTranspose: expected output_padding smaller than strides 1, got 1"),
    _case("conv1d-transpose-rank", lambda c: nf.Sequential([layers.Conv1DTranspose(2, 3, input_shape=(4, 4, 1))]).build(),
          ValueError, r"conv1d_transpose: expected per-example input of shape \(steps, channels\)"),
    _case("upsampling2d-size", lambda c: layers.UpSampling2D(0), ValueError,
          r"UpSampling2D: expected size a positive integer or a pair of them, got 0"),
    _case("upsampling2d-interpolation", lambda c: layers.UpSampling2D(interpolation="bicubic"), ValueError,
          r"UpSampling2D: expected interpolation 'nearest' or 'bilinear', got 'bicubic'"),
    _case("upsampling2d-channels-first", lambda c: layers.UpSampling2D(data_format="channels_first"), ValueError,
          r"UpSampling2D: expected data_format 'channels_last'"),
    _case("upsampling2d-rank", lambda c: nf.Sequential([layers.UpSampling2D(input_shape=(9,))]).build(), ValueError,
          r"up_sampling2d: expected per-example input of shape \(height, width, channels\) or \(height, width\)"),
    _case("upsampling1d-size", lambda c: layers.UpSampling1D(2.0), ValueError,
          r"UpSampling1D: expected size a positive integer or a tuple of one of them, got 2.0"),
    _case("max-pool1d-size", lambda c: layers.MaxPooling1D(0), ValueError,
          r"MaxPooling1D: expected pool_size a positive integer or a tuple of one of them, got 0"),
    _case("max-pool1d-strides", lambda c: layers.MaxPooling1D(2, strides=(1, 1)), ValueError,
          r"MaxPooling1D: expected strides a positive integer or a tuple of one"),
    _case("max-pool1d-padding", lambda c: layers.MaxPooling1D(2, padding="causal"), ValueError,
          r"MaxPooling1D: expected padding 'valid' or 'same', got 'causal'"),
    _case("max-pool1d-channels-first", lambda c: layers.MaxPooling1D(data_format="channels_first"), ValueError,
          r"MaxPooling1D: expected data_format 'channels_last'"),
    _case("avg-pool1d-size", lambda c: layers.AveragePooling1D("2"), ValueError,
          r"AveragePooling1D: expected pool_size a positive integer"),
    _case("avg-pool1d-too-short", lambda c: nf.Sequential([layers.AveragePooling1D(4, input_shape=(3, 2))]).build(),
          ValueError, r"average_pooling1d: expected at least 4 steps for pool_size 4 with padding='valid', got 3"),
    _case("global-avg-pool1d-keepdims", lambda c: layers.GlobalAveragePooling1D(keepdims="yes"), TypeError,
          r"GlobalAveragePooling1D: expected keepdims True or False, got 'yes'"),
    _case("global-max-pool1d-channels-first", lambda c: layers.GlobalMaxPooling1D(data_format="channels_first"),
          ValueError, r"GlobalMaxPooling1D: expected data_format 'channels_last'"),
    _case("global-max-pool1d-rank", lambda c: nf.Sequential([layers.GlobalMaxPooling1D(input_shape=(4, 4, 1))]).build(),
          ValueError, r"global_max_pooling1d: expected per-example input of shape \(steps, channels\)"),
    _case("zero-padding1d-negative", lambda c: layers.ZeroPadding1D(-1), ValueError,
          r"ZeroPadding1D: expected padding an integer >= 0 or a tuple of 2 of them, got -1"),
    _case("cropping1d-triple", lambda c: layers.Cropping1D((1, 1, 1)), ValueError,
          r"Cropping1D: expected cropping an integer >= 0 or a tuple of 2 of them"),
    _case("cropping1d-all", lambda c: nf.Sequential([layers.Cropping1D(2, input_shape=(4, 1))]).build(), ValueError,
          r"cropping1d: expected cropping smaller than the input, got cropping \(2, 2\) for 4 steps"),
    _case("cropping2d-str", lambda c: layers.Cropping2D("same"), ValueError,
          r"Cropping2D: expected cropping a non-negative int, a pair of them, or \(\(top, bottom\), \(left, right\)\)"),
    _case("cropping2d-channels-first", lambda c: layers.Cropping2D(1, data_format="channels_first"), ValueError,
          r"Cropping2D: expected data_format 'channels_last'"),
    _case("cropping2d-all", lambda c: nf.Sequential([layers.Cropping2D(((2, 2), (0, 0)), input_shape=(4, 4))]).build(),
          ValueError, r"cropping2d: expected cropping smaller than the input, got cropping \(\(2, 2\), \(0, 0\)\) for "
                      r"input shape \(4, 4\)"),
    # -- utils and config --------------------------------------------------------------------------------
    _case("to-categorical-range", lambda c: utils.to_categorical([0, 3], 3), ValueError,
          r"to_categorical: expected labels in \[0, 2\], got labels from 0 to 3"),
    _case("to-categorical-str", lambda c: utils.to_categorical("abc"), TypeError, r"to_categorical: expected y a numeric array, got str"),
    _case("to-categorical-fraction", lambda c: utils.to_categorical([0.5]), ValueError,
          r"to_categorical: expected y integer class labels"),
    _case("to-categorical-negative", lambda c: utils.to_categorical([-1, 0]), ValueError, r"non-negative class labels"),
    _case("to-categorical-classes-0", lambda c: utils.to_categorical([0], 0), ValueError,
          r"expected num_classes a positive integer, got 0"),
    _case("to-categorical-classes-float", lambda c: utils.to_categorical([0], 3.0), ValueError,
          r"expected num_classes a positive integer, got 3.0"),
    _case("to-categorical-huge-label", lambda c: utils.to_categorical([0, 6_000_000_000]), ValueError,
          r"to_categorical: the largest label, 6000000000, would make .* columns .*pass num_classes explicitly"),
    _case("to-categorical-2d", lambda c: utils.to_categorical(np.zeros((2, 2), int)), ValueError,
          r"expected y a 1-D array of integer labels, got shape \(2, 2\)"),
    _case("set-random-seed-negative", lambda c: utils.set_random_seed(-1), ValueError,
          r"set_random_seed: expected a non-negative integer, got -1"),
    _case("set-random-seed-str", lambda c: utils.set_random_seed("7"), ValueError, r"set_random_seed: expected a non-negative"),
    _case("set-random-seed-bool", lambda c: utils.set_random_seed(True), ValueError, r"expected a non-negative integer, got True"),
    _case("set-floatx", lambda c: nf.config.set_floatx("float16"), ValueError,
          r"set_floatx: expected one of \('float32', 'float64'\), got 'float16'"),
    _case("set-deterministic", lambda c: nf.config.set_deterministic("yes"), TypeError,
          r"set_deterministic: expected True or False, got 'yes'"),
    _case("set-threads", lambda c: nf.config.set_threads(0), ValueError,
          r"set_threads: expected 'auto', a positive integer or None, got 0"),
    _case("set-threads-string-count", lambda c: nf.config.set_threads("2"), ValueError,
          r"set_threads: expected 'auto', a positive integer or None, got the string '2'; pass the int 2: "
          r"set_threads\(2\)\.$"),
    _case("device-block-tpu", lambda c: nf.device("tpu"), ValueError,
          r"nf\.device: expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), got 'tpu'"),
    _case("to-device-none", lambda c: c.sparse.to(None), ValueError,
          r"Sequential\.to: expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), got None\. Fix: 'cpu', 'gpu'"),
    # -- callbacks -------------------------------------------------------------------------------------
    _case("early-stopping-patience", lambda c: callbacks.EarlyStopping(patience=-1), ValueError,
          r"EarlyStopping: expected patience a non-negative integer \(epochs\), got -1"),
    _case("early-stopping-patience-str", lambda c: callbacks.EarlyStopping(patience="3"), ValueError,
          r"expected patience a non-negative integer"),
    _case("early-stopping-mode", lambda c: callbacks.EarlyStopping(mode="up"), ValueError,
          r"EarlyStopping: expected mode 'auto', 'min' or 'max', got 'up'"),
    _case("early-stopping-monitor", lambda c: callbacks.EarlyStopping(monitor=5), TypeError,
          r"EarlyStopping: expected monitor the name of a logged value, e.g. 'val_loss', got 5"),
    _case("early-stopping-min-delta", lambda c: callbacks.EarlyStopping(min_delta=float("nan")), ValueError,
          r"EarlyStopping: expected min_delta a finite number"),
    _case("early-stopping-restore", lambda c: callbacks.EarlyStopping(restore_best_weights="yes"), TypeError,
          r"EarlyStopping: expected restore_best_weights True or False"),
    _case("checkpoint-none", lambda c: callbacks.ModelCheckpoint(None), TypeError,
          r"ModelCheckpoint: expected filepath a str or os.PathLike, got NoneType"),
    _case("checkpoint-int", lambda c: callbacks.ModelCheckpoint(5), TypeError, r"expected filepath a str or os.PathLike, got int"),
    _case("checkpoint-empty", lambda c: callbacks.ModelCheckpoint(""), TypeError, r"expected filepath a non-empty str"),
    _case("checkpoint-mode", lambda c: callbacks.ModelCheckpoint("m.netfit", mode="x"), ValueError,
          r"ModelCheckpoint: expected mode 'auto', 'min' or 'max'"),
    _case("checkpoint-best-only", lambda c: callbacks.ModelCheckpoint("m.netfit", save_best_only="yes"), TypeError,
          r"ModelCheckpoint: expected save_best_only True or False"),
    _case("checkpoint-weights-only", lambda c: callbacks.ModelCheckpoint("m.weights.npz", save_weights_only=1),
          TypeError, r"ModelCheckpoint: expected save_weights_only True or False, got 1"),
    _case("lambda-callback", lambda c: callbacks.LambdaCallback(on_epoch_end=5), TypeError,
          r"LambdaCallback: expected on_epoch_end a function, got int"),
    _case("lambda-callback-test-hook", lambda c: callbacks.LambdaCallback(on_test_batch_end="print"), TypeError,
          r"LambdaCallback: expected on_test_batch_end a function, got str"),
    _case("lambda-callback-unknown-hook", lambda c: callbacks.LambdaCallback(on_step_end=print), TypeError,
          r"LambdaCallback: expected hooks by their Keras names \(on_train_begin, .*\), got 'on_step_end'"),
    _case("callback-list-item", lambda c: callbacks.CallbackList([callbacks.History(), print]), TypeError,
          r"CallbackList: expected callbacks to be netfit Callback objects, got builtin_function_or_method"),
    _case("callback-list-single", lambda c: callbacks.CallbackList(callbacks.History()), TypeError,
          r"CallbackList: expected callbacks a list of netfit Callback objects, got History; wrap a single one"),
    _case("evaluate-callbacks-single", lambda c: c.sparse.evaluate(X, Y, callbacks=callbacks.History()), TypeError,
          r"Sequential.evaluate: expected callbacks a list of netfit Callback objects, got History"),
    _case("evaluate-callbacks-function", lambda c: c.sparse.evaluate(X, Y, callbacks=[print]), TypeError,
          r"Sequential.evaluate: expected callbacks to be netfit Callback objects"),
    _case("evaluate-lazy-callbacks", lambda c: c.lazy.evaluate(np.ones((N, 5)), Y, callbacks=5), TypeError,
          r"Sequential.evaluate: expected callbacks a list"),
    _case("predict-callbacks-single", lambda c: c.sparse.predict(X, callbacks=callbacks.LambdaCallback()), TypeError,
          r"Sequential.predict: expected callbacks a list of netfit Callback objects, got LambdaCallback"),
    _case("predict-callbacks-str", lambda c: c.sparse.predict(X, callbacks=["progress"]), TypeError,
          r"Sequential.predict: expected callbacks to be netfit Callback objects, got str"),
    _case("progress-bar-verbose", lambda c: callbacks.ProgressBar(verbose=7), ValueError,
          r"ProgressBar: expected verbose 1 \(a bar\) or 2 \(a line per epoch\), got 7"),
    _case("progress-bar-stream", lambda c: callbacks.ProgressBar(stream=5), TypeError,
          r"ProgressBar: expected stream a file-like object"),
    _case("progress-bar-interval", lambda c: callbacks.ProgressBar(interval=-1), ValueError,
          r"ProgressBar: expected interval a non-negative number"),
    # -- streamed data: generators and Sequences (refused before any step) -----------------------------
    _case("stream-no-steps-epochs", lambda c: fit(c, x=_stream(), y=None, epochs=2), ValueError,
          r"Sequential.fit: a generator is read once, and without steps_per_epoch an epoch reads it to its end, so "
          r"nothing is left for the 1 epoch\(s\) after the first .*pass steps_per_epoch=N"),
    _case("stream-lazy-no-steps-epochs", lambda c: fit(c, "lazy", x=_stream(), y=None, epochs=3, initial_epoch=1),
          ValueError, r"pass steps_per_epoch=N"),
    _case("stream-with-y", lambda c: fit(c, x=_stream(), y=Y, steps_per_epoch=2), ValueError,
          r"Sequential.fit: y must be None when x is a generator, a Sequence or another iterable of batches "
          r"\(got ndarray\)"),
    _case("stream-steps-zero", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=0), ValueError,
          r"Sequential.fit: expected steps_per_epoch >= 1, got 0"),
    _case("stream-steps-str", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch="2"), TypeError,
          r"Sequential.fit: expected steps_per_epoch a positive integer, got '2'"),
    _case("stream-empty", lambda c: fit(c, x=iter([]), y=None, steps_per_epoch=2), ValueError,
          r"Sequential.fit: the generator yielded no batch at all"),
    _case("stream-yields-array", lambda c: fit(c, x=(x for x in [X]), y=None, steps_per_epoch=1), TypeError,
          r"Sequential.fit: batch 0 of the generator is ndarray; expected a tuple \(x_batch, y_batch\)"),
    _case("stream-yields-four", lambda c: fit(c, x=iter([(X, Y, np.ones(N), Y)]), y=None, steps_per_epoch=1),
          TypeError, r"batch 0 of the generator is a tuple of 4; expected a tuple \(x_batch, y_batch\) or "
                     r"\(x_batch, y_batch, sample_weight\)"),
    _case("stream-weights-length", lambda c: fit(c, x=iter([(X, Y, np.ones(N - 1))]), y=None), ValueError,
          r"Sequential.fit \(batch 0 of the generator\): expected sample_weight one weight per example, shape \(6,\)"),
    _case("stream-weights-negative", lambda c: fit(c, x=[(X, Y, -np.ones(N))], y=None), ValueError,
          r"Sequential.fit \(batch 0 of the list\): expected sample_weight non-negative"),
    _case("stream-bad-x", lambda c: fit(c, x=_stream(x=np.ones((N, 3))), y=None, steps_per_epoch=2), ValueError,
          r"Sequential.fit \(batch 0 of the generator\): expected x of shape \(n, 2\)"),
    _case("stream-lazy-bad-y", lambda c: fit(c, "lazy", x=_stream(x=np.ones((N, 5)), y=Y + 3), y=None,
                                             steps_per_epoch=2), ValueError, r"expected labels in \[0, 2\]"),
    _case("stream-bad-y", lambda c: fit(c, x=_stream(y=Y + 3), y=None, steps_per_epoch=2), ValueError,
          r"\(batch 0 of the generator\): expected labels in \[0, 2\]"),
    _case("stream-nan-x", lambda c: fit(c, x=_stream(x=X * np.nan), y=None, steps_per_epoch=2), ValueError,
          r"\(batch 0 of the generator\): .*NaN"),
    _case("sequence-empty", lambda c: fit(c, x=_Seq([]), y=None), ValueError,
          r"Sequential.fit: expected a Sequence with at least one batch, got len\(\) = 0"),
    _case("sequence-bad-item", lambda c: fit(c, x=_Seq([{"x": X, "y": Y}]), y=None), TypeError,
          r"batch 0 of the Sequence is dict; expected a tuple \(x_batch, y_batch\)"),
    _case("arrays-steps-per-epoch-zero", lambda c: fit(c, steps_per_epoch=0), ValueError,
          r"Sequential.fit: expected steps_per_epoch >= 1, got 0"),
    _case("arrays-steps-per-epoch-float", lambda c: fit(c, steps_per_epoch=2.5), TypeError,
          r"Sequential.fit: expected steps_per_epoch a positive integer, got 2.5"),
    _case("arrays-steps-per-epoch-lbfgs", lambda c: _lbfgs_model().fit(X, X[:, :1], steps_per_epoch=2, verbose=0),
          ValueError, r"Sequential.fit: LBFGS needs the whole data set as arrays"),
    _case("arrays-validation-steps", lambda c: fit(c, validation_steps=2), ValueError,
          r"Sequential.fit: validation_steps=2 without validation_data; pass validation_data or leave"),
    _case("arrays-validation-steps-arrays", lambda c: fit(c, validation_data=(X, Y), validation_steps=2), ValueError,
          r"Sequential.fit: validation_steps applies to streamed validation batches \(a generator, a Sequence, "
          r"\.\.\.\); with arrays all of validation_data is used"),
    _case("stream-validation-split", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=2, validation_split=0.5),
          ValueError, r"validation_split needs arrays to cut; .*pass validation_data="),
    _case("stream-validation-no-steps", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=2, epochs=2,
                                                      validation_data=_stream()), ValueError,
          r"Sequential.fit \(validation_data\): a generator is read once, .*pass validation_steps=N"),
    _case("stream-validation-steps-alone", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=2,
                                                         validation_steps=2), ValueError,
          r"validation_steps=2 without validation_data"),
    _case("stream-validation-steps-arrays", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=2,
                                                          validation_data=(X, Y), validation_steps=2), ValueError,
          r"validation_steps applies to streamed validation batches"),
    _case("stream-validation-bad", lambda c: fit(c, x=_stream(), y=None, steps_per_epoch=2,
                                                 validation_data=_stream(x=np.ones((N, 3))), validation_steps=1),
          ValueError, r"Sequential.fit \(validation_data\) \(batch 0 of the generator\): expected x of shape"),
    _case("stream-lbfgs", lambda c: _lbfgs_model().fit(_stream(y=X[:, :1]), steps_per_epoch=2, verbose=0),
          ValueError, r"Sequential.fit: LBFGS needs the whole data set as arrays"),
    _case("evaluate-stream-with-y", lambda c: c.sparse.evaluate(_stream(), Y, steps=1), ValueError,
          r"Sequential.evaluate: y must be None when x is a generator"),
    _case("evaluate-arrays-steps", lambda c: c.sparse.evaluate(X, Y, steps=1), ValueError,
          r"Sequential.evaluate: steps applies to streamed batches \(a generator, a Sequence, \.\.\.\); with arrays "
          r"every example is evaluated"),
    _case("evaluate-stream-bad-x", lambda c: c.lazy.evaluate(_stream(x=np.ones((N, 2, 2))), steps=1), ValueError,
          r"put a Flatten\(\) layer"),
    _case("predict-arrays-steps", lambda c: c.sparse.predict(X, steps=1), ValueError,
          r"Sequential.predict: steps applies to streamed batches"),
    _case("predict-stream-dict", lambda c: c.sparse.predict(iter([{"x": X}]), steps=1), TypeError,
          r"Sequential.predict: batch 0 of the generator is dict; expected a tuple x_batch or \(x_batch, y_batch\)"),
    _case("predict-stream-bad-x", lambda c: c.sparse.predict(iter([np.ones((N, 3))]), steps=1), ValueError,
          r"Sequential.predict \(batch 0 of the generator\): expected x of shape \(n, 2\)"),
    # -- any other iterable of batches: a list of tuples, a DataLoader, an object with __iter__ ---------------
    _case("iterable-with-y", lambda c: fit(c, x=[(X, Y)], y=Y), ValueError,
          r"Sequential.fit: y must be None when x is a generator, a Sequence or another iterable of batches"),
    _case("iterable-bad-x", lambda c: fit(c, x=[(np.ones((N, 3)), Y)], y=None), ValueError,
          r"Sequential.fit \(batch 0 of the list\): expected x of shape \(n, 2\)"),
    _case("iterable-lazy-bad-y", lambda c: fit(c, "lazy", x=_Iterable([(np.ones((N, 5)), Y + 3)]), y=None),
          ValueError, r"Sequential.fit \(batch 0 of the _Iterable\): expected labels in \[0, 2\]"),
    _case("iterable-one-tuple", lambda c: fit(c, x=[(X,)], y=None), TypeError,
          r"Sequential.fit: batch 0 of the list is a tuple of 1; expected a tuple \(x_batch, y_batch\)"),
    _case("iterable-empty", lambda c: fit(c, x=_Iterable([]), y=None), ValueError,
          r"Sequential.fit: the _Iterable yielded no batch at all"),
    _case("iterable-len-zero", lambda c: fit(c, x=_Iterable([], length=0), y=None), ValueError,
          r"Sequential.fit: expected an iterable with at least one batch, got len\(\) = 0"),
    _case("iterable-steps-zero", lambda c: fit(c, x=[(X, Y)], y=None, steps_per_epoch=0), ValueError,
          r"Sequential.fit: expected steps_per_epoch >= 1, got 0"),
    _case("iterable-sample-weight", lambda c: fit(c, x=[(X, Y)], y=None, sample_weight=np.ones(N)), ValueError,
          r"Sequential.fit: sample_weight and class_weight apply to arrays x and y"),
    _case("iterable-validation-bad", lambda c: fit(c, validation_data=[(np.ones((N, 3)), Y)]), ValueError,
          r"Sequential.fit \(validation_data\) \(batch 0 of the list\): expected x of shape \(n, 2\)"),
    _case("iterable-validation-split", lambda c: fit(c, x=[(X, Y)], y=None, validation_split=0.5), ValueError,
          r"Sequential.fit: validation_split needs arrays to cut"),
    _case("evaluate-iterable-weights", lambda c: c.sparse.evaluate([(X, Y)], sample_weight=np.ones(N)), ValueError,
          r"Sequential.evaluate: sample_weight applies to arrays x and y; with streamed batches yield "
          r"\(x_batch, y_batch, sample_weight_batch\)"),
    _case("evaluate-iterable-bad-weights", lambda c: c.sparse.evaluate(_Iterable([(X, Y, np.ones((N, 2)))])),
          ValueError, r"Sequential.evaluate \(batch 0 of the _Iterable\): expected sample_weight one weight per"),
    _case("predict-iterable-bad-x", lambda c: c.sparse.predict([(np.ones((N, 3)),)]), ValueError,
          r"Sequential.predict \(batch 0 of the list\): expected x of shape \(n, 2\)"),
    # -- batch-level calls -------------------------------------------------------------------------------
    _case("train-on-batch-uncompiled", lambda c: nf.Sequential([Dense(1, input_shape=(2,))]).train_on_batch(X, Y),
          RuntimeError, r"Sequential.train_on_batch: the model is not compiled"),
    _case("train-on-batch-x", lambda c: c.sparse.train_on_batch(np.ones((N, 3)), Y), ValueError,
          r"Sequential.train_on_batch: expected x of shape \(n, 2\)"),
    _case("train-on-batch-y", lambda c: c.sparse.train_on_batch(X, Y + 3), ValueError,
          r"Sequential.train_on_batch: expected labels in \[0, 2\]"),
    _case("train-on-batch-lengths", lambda c: c.sparse.train_on_batch(X, Y[:3]), ValueError,
          r"train_on_batch: x and y have different numbers of examples: 6 and 3"),
    _case("train-on-batch-lazy", lambda c: c.lazy.train_on_batch(np.ones((N, 2, 2)), Y), ValueError,
          r"put a Flatten\(\) layer"),
    _case("train-on-batch-return-dict", lambda c: c.sparse.train_on_batch(X, Y, return_dict="yes"), TypeError,
          r"Sequential.train_on_batch: expected return_dict True or False"),
    _case("train-on-batch-lbfgs", lambda c: _lbfgs_model().train_on_batch(X, X[:, :1]), ValueError,
          r"train_on_batch: LBFGS takes no mini-batch steps"),
    _case("train-on-batch-generator", lambda c: c.sparse.train_on_batch(_stream(), None), TypeError,
          r"Sequential.train_on_batch: expected one batch as an array, got a generator .*use "
          r"fit\(generator, steps_per_epoch=N\)"),
    _case("test-on-batch-sequence", lambda c: c.sparse.test_on_batch(_Seq([(X, Y)]), None), TypeError,
          r"Sequential.test_on_batch: expected one batch as an array, got a _Seq .*use evaluate\(generator, steps=N\)"),
    _case("predict-on-batch-generator", lambda c: c.sparse.predict_on_batch(_stream()), TypeError,
          r"Sequential.predict_on_batch: expected one batch as an array.*use predict\(generator, steps=N\)"),
    _case("test-on-batch-x", lambda c: c.sparse.test_on_batch(np.ones((N, 3)), Y), ValueError,
          r"Sequential.test_on_batch: expected x of shape \(n, 2\)"),
    _case("test-on-batch-return-dict", lambda c: c.sparse.test_on_batch(X, Y, return_dict=1.5), TypeError,
          r"Sequential.test_on_batch: expected return_dict True or False"),
    _case("predict-on-batch-x", lambda c: c.sparse.predict_on_batch(np.ones((N, 3))), ValueError,
          r"Sequential.predict: expected x of shape \(n, 2\)"),
    _case("predict-on-batch-none", lambda c: c.sparse.predict_on_batch(None), TypeError,
          r"Sequential.predict: expected x a numeric array, got NoneType"),
    # -- Input ------------------------------------------------------------------------------------------
    _case("input-no-shape", lambda c: nf.Input(), TypeError, r"Input: expected shape, the shape of one example"),
    _case("input-batch-axis", lambda c: nf.Input(shape=(None, 2)), ValueError,
          r"Input: expected shape a tuple of positive integers \(one example, no batch axis\), got \(None, 2\)"),
    _case("input-str", lambda c: nf.Input(shape="28"), TypeError, r"Input: expected shape a tuple of positive integers"),
    _case("input-zero", lambda c: nf.Input(shape=(0, 2)), ValueError, r"Input: expected input_shape a tuple of positive"),
    _case("input-batch-size", lambda c: nf.Input(shape=(2,), batch_size=0), ValueError,
          r"Input: expected batch_size >= 1, got 0"),
    _case("input-dtype", lambda c: nf.Input(shape=(2,), dtype="complex64"), ValueError,
          r"Input: expected dtype 'float32' or 'float64'"),
    _case("input-name", lambda c: nf.Input(shape=(2,), name=3), TypeError, r"Input: expected name a str, got int"),
    _case("input-after-layer", lambda c: c.sparse.add(nf.Input(shape=(2,))), ValueError,
          r"Sequential.add: Input\(shape=\(2,\)\) must come first, before any layer"),
    _case("input-then-other-shape", lambda c: nf.Sequential([nf.Input(shape=(2,)), Dense(2, input_shape=(3,))]),
          ValueError, r"Sequential.add: dense .*declares input_shape=\(3,\), but the model's Input has shape \(2,\)"),
    _case("reduce-lr-factor-1", lambda c: callbacks.ReduceLROnPlateau(factor=1.0), ValueError,
          r"ReduceLROnPlateau: expected factor a number in \(0, 1\), got 1.0; γ is multiplied by it"),
    _case("reduce-lr-factor-0", lambda c: callbacks.ReduceLROnPlateau(factor=0), ValueError,
          r"ReduceLROnPlateau: expected factor a number in \(0, 1\), got 0"),
    _case("reduce-lr-factor-str", lambda c: callbacks.ReduceLROnPlateau(factor="0.5"), ValueError,
          r"expected factor a number in \(0, 1\), got '0.5'"),
    _case("reduce-lr-patience", lambda c: callbacks.ReduceLROnPlateau(patience=-1), ValueError,
          r"ReduceLROnPlateau: expected patience a non-negative integer, got -1"),
    _case("reduce-lr-cooldown-str", lambda c: callbacks.ReduceLROnPlateau(cooldown="2"), ValueError,
          r"ReduceLROnPlateau: expected cooldown a non-negative integer, got '2'"),
    _case("reduce-lr-min-lr", lambda c: callbacks.ReduceLROnPlateau(min_lr=-1e-3), ValueError,
          r"ReduceLROnPlateau: expected min_lr a non-negative finite number, got -0.001"),
    _case("reduce-lr-min-delta-nan", lambda c: callbacks.ReduceLROnPlateau(min_delta=float("nan")), ValueError,
          r"ReduceLROnPlateau: expected min_delta a non-negative finite number, got nan"),
    _case("reduce-lr-mode", lambda c: callbacks.ReduceLROnPlateau(mode="down"), ValueError,
          r"ReduceLROnPlateau: expected mode 'auto', 'min' or 'max', got 'down'"),
    _case("reduce-lr-monitor", lambda c: callbacks.ReduceLROnPlateau(monitor=None), TypeError,
          r"ReduceLROnPlateau: expected monitor the name of a logged value"),
    _case("scheduler-not-callable", lambda c: callbacks.LearningRateScheduler(0.1), TypeError,
          r"LearningRateScheduler: expected schedule a function schedule\(epoch, lr\) -> lr, got float"),
    _case("csv-logger-none", lambda c: callbacks.CSVLogger(None), TypeError,
          r"CSVLogger: expected filename a str or os.PathLike, got NoneType"),
    _case("csv-logger-empty", lambda c: callbacks.CSVLogger(""), TypeError, r"CSVLogger: expected filename a non-empty str"),
    _case("csv-logger-separator", lambda c: callbacks.CSVLogger("log.csv", separator=", "), ValueError,
          r"CSVLogger: expected separator one character such as ',' or ';'"),
    _case("csv-logger-separator-quote", lambda c: callbacks.CSVLogger("log.csv", separator='"'), ValueError,
          r"expected separator one character .*not a quote or a line break"),
    _case("csv-logger-append", lambda c: callbacks.CSVLogger("log.csv", append="yes"), TypeError,
          r"CSVLogger: expected append True or False, got 'yes'"),
    # -- callbacks that cannot work with this fit: refused before the first step ---------------------
    _case("fit-early-stopping-no-validation", lambda c: fit(c, callbacks=[callbacks.EarlyStopping()]), ValueError,
          r"EarlyStopping: expected monitor one of the values fit will log \(loss, accuracy\), got 'val_loss'; "
          r"it needs validation data"),
    _case("fit-early-stopping-keras2-name", lambda c: fit(c, validation_split=0.5, callbacks=[
        callbacks.EarlyStopping("val_acc")]), ValueError, r"got 'val_acc'; did you mean 'val_accuracy'\?"),
    _case("fit-early-stopping-typo", lambda c: fit(c, "mse", y=X[:, :1], callbacks=[callbacks.EarlyStopping("mea")]),
          ValueError, r"got 'mea'; did you mean 'mae'\?"),
    _case("fit-early-stopping-uncompiled-metric", lambda c: fit(c, callbacks=[callbacks.EarlyStopping("auc")]),
          ValueError, r"got 'auc'; compile with metrics=\['auc'\] to log it"),
    _case("fit-reduce-lr-no-validation", lambda c: fit(c, callbacks=[callbacks.ReduceLROnPlateau()]), ValueError,
          r"ReduceLROnPlateau: expected monitor one of .*got 'val_loss'; it needs validation data"),
    _case("fit-scheduler-no-argument", lambda c: fit(c, callbacks=[callbacks.LearningRateScheduler(lambda: 0.1)]),
          TypeError, r"LearningRateScheduler: expected schedule to take \(epoch, lr\) or \(epoch\)"),
    _case("fit-scheduler-bad-rate", lambda c: fit(c, epochs=2, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: -lr)]), ValueError,
          r"LearningRateScheduler: expected schedule\(0, lr\) to return a positive finite number, got -0.01"),
    _case("fit-checkpoint-val-field-no-validation", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m-{epoch:02d}-{val_loss:.2f}.netfit")]), ValueError,
          r"ModelCheckpoint: expected each field of filepath .* got 'val_loss'; it needs validation data"),
    _case("fit-checkpoint-best-only-no-validation", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m.netfit", save_best_only=True)]), ValueError, r"ModelCheckpoint: expected monitor one of"),
    _case("fit-csv-logger-folder", lambda c: fit(c, callbacks=[callbacks.CSVLogger(c.tmp)]), IsADirectoryError,
          r"CSVLogger: expected a file path, got the folder"),
    _case("fit-csv-logger-under-a-file", lambda c: fit(c, callbacks=[callbacks.CSVLogger(c.blocker / "log.csv")]),
          OSError, r"CSVLogger: cannot write to folder .*a-file"),
    # -- metrics ---------------------------------------------------------------------------------------
    _case("metric-top-k-0", lambda c: nf.metrics.TopKCategoricalAccuracy(k=0), ValueError,
          r"TopKCategoricalAccuracy: expected k a positive integer, got 0"),
    _case("metric-auc-thresholds", lambda c: nf.metrics.AUC(num_thresholds=1), ValueError,
          r"AUC: expected num_thresholds an integer >= 2, got 1"),
    _case("metric-auc-curve", lambda c: nf.metrics.AUC(curve="PR"), ValueError,
          r"AUC: expected curve='ROC' and summation_method='interpolation'"),
    _case("metric-precision-threshold", lambda c: nf.metrics.Precision(thresholds=1.5), ValueError,
          r"Precision: expected thresholds one number in \[0, 1\], got 1.5"),
    _case("metric-recall-class-id", lambda c: nf.metrics.Recall(class_id=-1), ValueError,
          r"Recall: expected class_id a non-negative integer"),
    _case("metric-name", lambda c: nf.metrics.AUC(name=""), TypeError, r"AUC: expected name a non-empty str"),
    _case("metric-sample-weight", lambda c: nf.metrics.AUC().update_state([0, 1], [0.2, 0.7], sample_weight=[1.0]),
          ValueError, r"auc: expected sample_weight 2 non-negative finite numbers, one per example, got shape \(1,\)"),
    _case("compile-metric-object", lambda c: c.sparse.compile("sgd", "sparse_categorical_crossentropy",
                                                             metrics=[nf.metrics.AUC]), ValueError,
          r"compile: unknown metric <class .*AUC'>; supported: .* or a netfit.metrics.Metric object"),
    # -- issue 22: merge, activation, preprocessing and embedding layers; hinge losses; confusion counts ------
    _case("add-shapes", lambda c: layers.Add().setup([(3,), (4,)]), ValueError,
          r"Add: expected inputs of one shape, got \(3,\) \(input 0\) and \(4,\) \(input 1\); netfit does not broadcast"),
    _case("add-one-input", lambda c: layers.Add().setup((3,)), ValueError,
          r"Add: expected a list of input shapes .* got the single shape \(3,\)"),
    _case("add-functional-array", lambda c: layers.add(X), TypeError, r"add: expected a list of inputs, got ndarray"),
    _case("subtract-three", lambda c: layers.subtract([X, X, X]), ValueError, r"Subtract: expected exactly 2 inputs, got 3"),
    _case("multiply-forward-shape", lambda c: _layer(layers.Multiply(), [(2,), (2,)]).forward([X, X[:, :1]]), ValueError,
          r"Multiply \(input 1\): expected input of shape \(n, 2\), got array of shape \(6, 1\)"),
    _case("maximum-rows", lambda c: layers.maximum([X, X[:3]]), ValueError,
          r"Maximum: expected inputs with the same number of examples, got \[6, 3\]"),
    _case("concatenate-axis-float", lambda c: layers.Concatenate(axis=1.0), TypeError,
          r"Concatenate: expected axis an integer, got 1.0"),
    _case("concatenate-axis-batch", lambda c: layers.concatenate([X, X], axis=0), ValueError,
          r"Concatenate: expected inputs of one rank and axis=0 an axis other than the batch's \(0\)"),
    _case("concatenate-shapes", lambda c: layers.Concatenate().setup([(2, 3), (3, 3)]), ValueError,
          r"Concatenate: expected inputs that agree on every axis but -1, got \(2, 3\) \(input 0\) and \(3, 3\)"),
    _case("dot-axes-str", lambda c: layers.Dot(axes="last"), TypeError, r"Dot: expected axes an integer, got 'last'"),
    _case("dot-axes-triple", lambda c: layers.Dot(axes=(1, 1, 1)), ValueError, r"Dot: expected axes an int or a pair"),
    _case("dot-normalize", lambda c: layers.Dot(1, normalize=1), TypeError, r"Dot: expected normalize True or False, got 1"),
    _case("dot-sizes", lambda c: layers.dot([X, X[:, :1]], axes=1), ValueError,
          r"Dot: expected axes of one size, got size 2 \(axis 1 of \(2,\)\) and 1 \(axis 1 of \(1,\)\)"),
    _case("relu-max-value", lambda c: layers.ReLU(max_value=-6), ValueError,
          r"Relu: expected max_value a non-negative number, got -6"),
    _case("relu-negative-slope", lambda c: layers.ReLU(negative_slope=None), ValueError,
          r"Relu: expected negative_slope a non-negative number, got None"),
    _case("relu-threshold", lambda c: layers.ReLU(threshold=-0.5), ValueError,
          r"Relu: expected threshold a non-negative number, got -0.5"),
    _case("leaky-relu-layer-slope", lambda c: layers.LeakyReLU(negative_slope="0.3"), ValueError,
          r"LeakyRelu: expected negative_slope a non-negative number"),
    _case("elu-alpha", lambda c: layers.ELU(alpha=float("nan")), ValueError, r"Elu: expected alpha a finite number, got nan"),
    _case("softmax-axis-str", lambda c: layers.Softmax(axis="-1"), TypeError, r"Softmax: expected axis an integer"),
    _case("softmax-axes", lambda c: layers.Softmax(axis=[1, 2]), ValueError,
          r"Softmax: expected axis one integer, got \[1, 2\]; a softmax over several axes at once is not offered"),
    _case("softmax-axis-batch", lambda c: nf.Sequential([Dense(3, input_shape=(2,)), layers.Softmax(axis=0)]).build(),
          ValueError, r"softmax: expected axis=0 an axis of the input other than the batch's \(0\), got input shape \(3,\)"),
    _case("prelu-initializer", lambda c: layers.PReLU(alpha_initializer="Constant"), ValueError,
          r"initializers.get: unknown initializer 'Constant'"),
    _case("prelu-regularizer", lambda c: layers.PReLU(alpha_regularizer="l2"), ValueError,
          r"PReLU: expected alpha_regularizer=None \(netfit has no regularizers or constraints\), got 'l2'"),
    _case("prelu-constraint", lambda c: layers.PReLU(alpha_constraint="non_neg"), ValueError,
          r"PReLU: expected alpha_constraint=None"),
    _case("prelu-shared-axes", lambda c: nf.Sequential([Dense(3, input_shape=(2,)), layers.PReLU(shared_axes=[2])]).build(),
          ValueError, r"p_re_lu: expected shared_axes=\[2\] among the input's axes 1..1, got input shape \(3,\)"),
    _case("rescaling-scale", lambda c: layers.Rescaling(scale="1/255"), ValueError,
          r"Rescaling: expected scale a finite number, got '1/255'"),
    _case("rescaling-offset", lambda c: layers.Rescaling(1.0, offset=float("inf")), ValueError,
          r"Rescaling: expected offset a finite number, got inf"),
    _case("rescaling-channels", lambda c: _layer(layers.Rescaling([1.0, 2.0, 3.0]), (2,)), ValueError,
          r"Rescaling: expected scale one number or one per channel \(2\), got 3 numbers"),
    _case("random-flip-mode", lambda c: layers.RandomFlip("both"), ValueError,
          r"RandomFlip: expected mode one of 'horizontal', 'vertical', 'horizontal_and_vertical', got 'both'"),
    _case("random-flip-seed", lambda c: layers.RandomFlip(seed=1.5), TypeError,
          r"RandomFlip: expected seed a non-negative integer \(or None\), got 1.5"),
    _case("random-flip-channels-first", lambda c: layers.RandomFlip(data_format="channels_first"), ValueError,
          r"RandomFlip: expected data_format 'channels_last' \(netfit's only layout\), got 'channels_first'"),
    _case("random-flip-grey", lambda c: nf.Sequential([layers.RandomFlip(input_shape=(28, 28))]).build(), ValueError,
          r"random_flip: expected images of shape \(height, width, channels\), got input shape \(28, 28\). For grey "
          r"images add a channel axis: x\[..., None\], or Reshape\(\(28, 28, 1\)\)"),
    _case("random-rotation-factor", lambda c: layers.RandomRotation(2), ValueError,
          r"RandomRotation: expected factor a number or a pair of numbers in \[-1, 1\], got 2"),
    _case("random-rotation-fill-mode", lambda c: layers.RandomRotation(0.1, fill_mode="zeros"), ValueError,
          r"RandomRotation: expected fill_mode one of 'reflect', 'wrap', 'constant', 'nearest', got 'zeros'"),
    _case("random-rotation-interpolation", lambda c: layers.RandomRotation(0.1, interpolation="linear"), ValueError,
          r"RandomRotation: expected interpolation 'bilinear' or 'nearest', got 'linear'"),
    _case("random-rotation-fill-value", lambda c: layers.RandomRotation(0.1, fill_value=None), ValueError,
          r"RandomRotation: expected fill_value a finite number, got None"),
    _case("random-zoom-height", lambda c: layers.RandomZoom(-1), ValueError,
          r"RandomZoom: expected height_factor a number or a pair of numbers in \(-1, 1\], got -1"),
    _case("random-zoom-width", lambda c: layers.RandomZoom(0.1, width_factor=(0.1, 2.0)), ValueError,
          r"RandomZoom: expected width_factor a number or a pair of numbers in \(-1, 1\], got \(0.1, 2.0\)"),
    _case("random-translation-height", lambda c: layers.RandomTranslation((0.1,), 0.1), ValueError,
          r"RandomTranslation: expected height_factor a number or a pair of numbers in \[-1, 1\], got \(0.1,\)"),
    _case("random-translation-width", lambda c: layers.RandomTranslation(0.1, "0.1"), ValueError,
          r"RandomTranslation: expected width_factor a number or a pair of numbers in \[-1, 1\], got '0.1'"),
    _case("random-contrast-factor", lambda c: layers.RandomContrast((0.5, 1.5)), ValueError,
          r"RandomContrast: expected factor a number or a pair of numbers in \[0, 1\], got \(0.5, 1.5\)"),
    _case("random-contrast-range", lambda c: layers.RandomContrast(0.2, value_range=(0, 0)), ValueError,
          r"RandomContrast: expected value_range a pair \(low, high\) with low < high, got \(0, 0\)"),
    _case("embedding-input-dim", lambda c: layers.Embedding(0, 4), ValueError, r"Embedding: expected input_dim >= 1, got 0"),
    _case("embedding-output-dim", lambda c: layers.Embedding(10, "4"), TypeError,
          r"Embedding: expected output_dim a positive integer, got '4'"),
    _case("embedding-initializer", lambda c: layers.Embedding(10, 4, embeddings_initializer="normal"), ValueError,
          r"initializers.get: unknown initializer 'normal'"),
    _case("embedding-mask-zero", lambda c: layers.Embedding(10, 4, mask_zero=True), ValueError,
          r"Embedding: expected mask_zero=False \(netfit has no masks\), got True"),
    _case("embedding-regularizer", lambda c: layers.Embedding(10, 4, embeddings_regularizer="l2"), ValueError,
          r"Embedding: expected embeddings_regularizer=None, got 'l2'; netfit has no regularizers"),
    _case("embedding-constraint", lambda c: layers.Embedding(10, 4, embeddings_constraint="max_norm"), ValueError,
          r"Embedding: expected embeddings_constraint=None"),
    _case("embedding-weights", lambda c: layers.Embedding(10, 4, weights=[np.zeros((10, 4))]), ValueError,
          r"Embedding: expected weights=None, got a list; call set_weights\(\[table\]\) once the layer is built"),
    _case("embedding-lora", lambda c: layers.Embedding(10, 4, lora_rank=2), ValueError,
          r"Embedding: expected lora_rank=None"),
    _case("embedding-input-length", lambda c: layers.Embedding(10, 4, input_length=-3), ValueError,
          r"Embedding: expected input_length >= 1, got -3"),
    _case("embedding-non-integer", lambda c: layers.Embedding(10, 4)(X), ValueError,
          r"Embedding: expected integer token indices, got -0.818182; an Embedding reads tokens \(0 .. 9\), not features"),
    _case("embedding-out-of-range", lambda c: layers.Embedding(3, 4)(np.array([[0, 3]])), ValueError,
          r"Embedding: expected indices in \[0, 3\) \(input_dim=3\), got 3"),
    _case("rff-output-dim", lambda c: layers.RandomFourierFeatures(0), ValueError,
          r"RandomFourierFeatures: expected output_dim >= 1, got 0"),
    _case("rff-output-dim-type", lambda c: layers.RandomFourierFeatures(64.0), TypeError,
          r"RandomFourierFeatures: expected output_dim a positive integer, got 64.0"),
    _case("rff-kernel-name", lambda c: layers.RandomFourierFeatures(8, kernel_initializer="cauchy"), ValueError,
          r"RandomFourierFeatures: expected kernel_initializer 'gaussian' or 'laplacian' \(the kernels it "
          r"approximates\), got 'cauchy'; pass an initializer object"),
    _case("rff-kernel-type", lambda c: layers.RandomFourierFeatures(8, kernel_initializer=3), TypeError,
          r"RandomFourierFeatures: expected kernel_initializer 'gaussian', 'laplacian' or an initializer, got 3"),
    _case("rff-scale", lambda c: layers.RandomFourierFeatures(8, scale=0.0), ValueError,
          r"RandomFourierFeatures: expected scale > 0 \(σ, the kernel's width\) or None for the default, got 0.0"),
    _case("rff-scale-type", lambda c: layers.RandomFourierFeatures(8, scale="10"), TypeError,
          r"RandomFourierFeatures: expected scale a positive float or None, got '10'"),
    _case("rff-trainable", lambda c: layers.RandomFourierFeatures(8, trainable="yes"), TypeError,
          r"RandomFourierFeatures: expected trainable True or False, got 'yes'"),
    _case("rff-name", lambda c: layers.RandomFourierFeatures(8, name=3), TypeError,
          r"RandomFourierFeatures: expected name a string or None, got 3"),
    _case("rff-rank", lambda c: layers.RandomFourierFeatures(8)(np.zeros((2, 3, 4))), ValueError,
          r"RandomFourierFeatures: expected inputs of rank 2, \(batch, input_dim\), got examples of shape "
          r"\(3, 4\); put a Flatten\(\) layer before it"),
    _case("rff-features", lambda c: (lambda l: (l(X), l(np.zeros((2, 3)))))(layers.RandomFourierFeatures(8)),
          ValueError, r"RandomFourierFeatures: expected input of shape \(n, 2\), got array of shape \(2, 3\)"),
    _case("compile-loss-class", lambda c: c.onehot.compile("sgd", nf.losses.MeanSquaredError), TypeError,
          r"compile: expected a loss object, got the class MeanSquaredError; instantiate it: "
          r"loss=MeanSquaredError\(\)"),
    _case("categorical-hinge-labels", lambda c: (lambda m: (m.compile("sgd", "categorical_hinge"), m.fit(X, Y, verbose=0)))(
        nf.Sequential([Dense(3, input_shape=(2,))], seed=0)), ValueError,
          r"Sequential.fit: expected y of shape \(n, 3\) to match the model's output, got shape \(6,\)"),
    _case("metric-true-positives-thresholds", lambda c: nf.metrics.TruePositives(thresholds=[0.2, 0.8]), ValueError,
          r"TruePositives: expected thresholds one number in \[0, 1\], got \[0.2, 0.8\]"),
    _case("metric-false-positives-thresholds", lambda c: nf.metrics.FalsePositives(thresholds=-0.1), ValueError,
          r"FalsePositives: expected thresholds one number in \[0, 1\], got -0.1"),
    _case("metric-true-negatives-name", lambda c: nf.metrics.TrueNegatives(name=3), TypeError,
          r"TrueNegatives: expected name a non-empty str, got 3"),
    _case("metric-false-negatives-sample-weight", lambda c: nf.metrics.FalseNegatives().update_state(
        [0, 1], [0.2, 0.7], sample_weight=[1.0, -1.0]), ValueError,
          r"false_negatives: expected sample_weight 2 non-negative finite numbers"),
    # -- save and load ----------------------------------------------------------------------------------
    _case("save-none", lambda c: c.sparse.save(None), TypeError, r"save_model: expected path a str or os.PathLike, got NoneType"),
    _case("save-int", lambda c: c.sparse.save(5), TypeError, r"save_model: expected path a str or os.PathLike, got int"),
    _case("save-empty", lambda c: c.sparse.save(""), TypeError, r"save_model: expected path a non-empty str"),
    _case("save-nul", lambda c: c.sparse.save("m\0.netfit"), ValueError, r"save_model: expected a file path, got a path with a NUL"),
    _case("save-folder", lambda c: c.sparse.save(c.tmp), IsADirectoryError,
          r"save_model: expected a file path, got the folder .*; add a file name, e.g. .*model.netfit"),
    _case("save-under-a-file", lambda c: c.sparse.save(c.blocker / "m.netfit"), OSError,
          r"save_model: cannot write to folder .*a-file"),
    _case("save-missing-folder", lambda c: c.sparse.save(c.tmp / "no" / "m.netfit"), OSError,
          r"save_model: cannot write to folder"),
    _case("save-h5", lambda c: c.sparse.save(c.tmp / "m.h5"), ValueError,
          r"save_model: expected a .netfit path, got .*m.h5'; netfit writes its own format .*save to 'm.netfit'"),
    _case("save-keras-locally-connected", lambda c: nf.Sequential([layers.Input((4, 4, 1)), layers.LocallyConnected2D(
        1, 2)]).save(c.tmp / "m.keras"), ValueError, r"save: layer 'locally_connected2d' \(LocallyConnected2D\): "
          r"expected layers that Keras 3 has"),
    _case("fit-checkpoint-h5", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(c.tmp / "m-{epoch}.h5")]),
          ValueError, r"ModelCheckpoint: expected a .netfit path"),
    _case("save-no-suffix", lambda c: c.sparse.save(c.tmp / "m"), ValueError,
          r"save_model: expected a .netfit path, got '.*m'; use model.save\('m.netfit'\)"),
    _case("fit-checkpoint-no-suffix", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(c.tmp / "m-{epoch}")]),
          ValueError, r"ModelCheckpoint: expected a .netfit path, got '.*m-1'; use 'm-1.netfit'"),
    _case("fit-checkpoint-weights-only-netfit", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m.netfit", save_weights_only=True)]), ValueError,
          r"ModelCheckpoint: expected a .weights.npz or .weights.h5 path with save_weights_only=True, got '.*m.netfit'; use "
          r"'m.weights.npz' .*or save_weights_only=False"),
    _case("fit-checkpoint-weights-only-h5", lambda c: fit(c, "lazy", callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m.h5", save_weights_only=True, save_best_only=True, monitor="loss")]), ValueError,
          r"ModelCheckpoint: expected a .weights.npz or .weights.h5 path with save_weights_only=True, got '.*m.h5'; "
          r"use 'm.weights.npz' .*or 'm.weights.h5'"),
    _case("fit-checkpoint-weights-name", lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(
        c.tmp / "m.weights.npz")]), ValueError,
          r"ModelCheckpoint: expected a .netfit or .keras path, got '.*m.weights.npz', a weights-file name; pass "
          r"save_weights_only=True"),
    _case("save-weights-h5", lambda c: c.sparse.save_weights(c.tmp / "m.h5"), ValueError,
          r"Sequential.save_weights: expected a .weights.npz path \(netfit's, NumPy's .npz\) or a .weights.h5 path "
          r"\(Keras 3's, needs h5py\), got .*; .*use 'm.weights.npz' or 'm.weights.h5'"),
    _case("save-weights-no-suffix", lambda c: c.sparse.save_weights(c.tmp / "m"), ValueError,
          r"Sequential.save_weights: expected a .weights.npz path, got '.*m'; use 'm.weights.npz'"),
    _case("save-weights-overwrite", lambda c: c.sparse.save_weights(c.tmp / "m.weights.npz", overwrite=1), TypeError,
          r"Sequential.save_weights: expected overwrite True or False, got 1"),
    _case("load-weights-missing", lambda c: c.sparse.load_weights(c.tmp / "no.weights.npz"), FileNotFoundError,
          r"Sequential.load_weights: no such file"),
    _case("load-weights-netfit", lambda c: c.sparse.load_weights(c.saved), ValueError,
          r"Sequential.load_weights: expected a .weights.npz path, got .*saved.netfit', a whole-model file name"),
    _case("load-weights-other-model", lambda c: (c.binary.save_weights(c.tmp / "b.weights.npz"),
                                                 c.sparse.load_weights(c.tmp / "b.weights.npz")), ValueError,
          r"Sequential.load_weights: expected layer 1 'dense_1' with kernel of shape \(4, 3\), bias of shape \(3,\), "
          r"got kernel of shape \(4, 1\)"),
    _case("load-weights-skip-mismatch", lambda c: c.sparse.load_weights(c.saved, skip_mismatch=True), ValueError,
          r"Sequential.load_weights: expected skip_mismatch=False, got True"),
    _case("get-layer-neither", lambda c: c.sparse.get_layer(), ValueError,
          r"Sequential.get_layer: expected exactly one of name and index, got neither"),
    _case("get-layer-both", lambda c: c.sparse.get_layer("dense", 0), ValueError,
          r"Sequential.get_layer: expected exactly one of name and index, got both"),
    _case("get-layer-name", lambda c: c.sparse.get_layer("Dense"), ValueError,
          r"Sequential.get_layer: expected name one of \['dense', 'dense_1'\], got 'Dense'"),
    _case("get-layer-index", lambda c: c.sparse.get_layer(index=2), ValueError,
          r"Sequential.get_layer: expected index in range\(-2, 2\) \(the model has 2 layers\), got 2"),
    _case("get-layer-index-str", lambda c: c.sparse.get_layer(index="0"), TypeError,
          r"Sequential.get_layer: expected index an int, got str"),
    _case("get-layer-int-name", lambda c: c.sparse.get_layer(0), TypeError,
          r"Sequential.get_layer: expected name a str, got int; for the layer at position 0, use "
          r"model.get_layer\(index=0\)"),
    _case("pop-empty", lambda c: nf.Sequential().pop(), ValueError,
          r"Sequential.pop: expected a model with layers, got an empty one"),
    _case("model-trainable-int", lambda c: setattr(c.sparse, "trainable", 0), TypeError,
          r"Sequential.trainable: expected True or False, got 0; e.g. model.trainable = False to freeze every layer"),
    _case("model-trainable-str", lambda c: setattr(c.lazy, "trainable", "False"), TypeError,
          r"Sequential.trainable: expected True or False, got 'False'"),
    _case("load-weights-renamed-layers", lambda c: (c.sparse.save_weights(c.tmp / "s.weights.npz"), nf.Sequential(
        [Dense(4, activation="tanh", input_shape=(2,), name="h"), Dense(3, activation="softmax", name="o")])
        .load_weights(c.tmp / "s.weights.npz")), ValueError,
          r"Sequential.load_weights: expected layer 0 'h' \(Dense\), got 'dense' \(Dense\) in .*; the weight shapes "
          r"match, so either give the model's layers the file's names \('dense', 'dense_1', e.g. Dense\(..., "
          r"name='dense'\)\), or copy the arrays without the name check: arrays = np.load"),
    _case("json-keras", lambda c: nf.models.model_from_json('{"class_name": "Sequential", "config": {"layers": []}, '
                                                            '"keras_version": "2.15.0"}'), ValueError,
          r"model_from_json: expected the JSON of netfit's model.to_json\(\) .*got what looks like a Keras model's "
          r"JSON .*model.set_weights\(keras_model.get_weights\(\)\)"),
    _case("save-metadata-list", lambda c: io.save_model(c.sparse, c.tmp / "m.netfit", metadata=[1]), TypeError,
          r"save_model: expected metadata a dict, got list"),
    _case("save-metadata-object", lambda c: io.save_model(c.sparse, c.tmp / "m.netfit", metadata={"f": object()}),
          TypeError, r"save_model: expected metadata of JSON values"),
    _case("save-epoch-str", lambda c: io.save_model(c.sparse, c.tmp / "m.netfit", epoch="a"), ValueError,
          r"save_model: expected epoch a non-negative integer \(epochs trained\), got 'a'"),
    _case("save-epoch-negative", lambda c: io.save_model(c.sparse, c.tmp / "m.netfit", epoch=-1), ValueError,
          r"expected epoch a non-negative integer"),
    _case("save-not-a-model", lambda c: io.save_model("model", c.tmp / "m.netfit"), TypeError,
          r"save_model: expected a netfit Sequential model, got str"),
    _case("load-none", lambda c: io.load_model(None), TypeError, r"load_model: expected path a str or os.PathLike, got NoneType"),
    _case("load-int", lambda c: nf.load_model(3), TypeError, r"load_model: expected path a str or os.PathLike, got int"),
    _case("load-folder", lambda c: nf.load_model(c.tmp), IsADirectoryError, r"load_model: expected a model file, got the folder"),
    _case("load-missing", lambda c: nf.load_model(c.tmp / "missing.netfit"), FileNotFoundError, r"load_model: no such file"),
    _case("load-no-suffix", lambda c: nf.load_model(c.tmp / "saved"), FileNotFoundError,
          r"load_model: no such file '(.*saved)'; did you mean '\1.netfit'\?"),
    _case("load-weights-file", lambda c: (c.sparse.save_weights(c.tmp / "w.weights.npz"),
                                          nf.load_model(c.tmp / "w.weights.npz")), io.ModelFileError,
          r"load_model: '.*w.weights.npz' is a weights file \(written by model.save_weights.*model.load_weights"),
    _case("load-junk", lambda c: nf.load_model(c.junk), io.ModelFileError, r"load_model: .*junk.netfit.* damaged or truncated"),
    _case("load-text", lambda c: nf.load_model(c.blocker), io.ModelFileError, r"is not a netfit model file"),
    _case("load-compile-str", lambda c: io.load_model(c.saved, compile="no"), TypeError,
          r"load_model: expected compile True or False, got 'no'"),
    # -- data sets ----------------------------------------------------------------------------------------
    _case("datasets-get", lambda c: datasets.get("cifar"), ValueError,
          r"datasets.get: expected one of mnist, zip \(zipcode\), fashion .*got 'cifar'"),
    _case("datasets-get-none", lambda c: datasets.get(None), ValueError, r"datasets.get: expected one of .*got None"),
    _case("mnist-path-int", lambda c: mnist.load_data(path=5), TypeError,
          r"mnist: expected path a folder name \(str or os.PathLike\), got 5"),
    _case("mnist-path-file", lambda c: mnist.load_data(path=c.blocker), NotADirectoryError,
          r"mnist: expected path a folder holding mnist/ or the data set's files, got the file .*; pass its folder"),
    _case("zip-path-empty", lambda c: zipcode.load_data(path=""), TypeError, r"zip: expected path a folder name"),
    _case("zip-text-empty", lambda c: zipcode.parse_zip_text(b"  \n"), ValueError,
          r"parse_zip_text: expected at least one row, got an empty file"),
    _case("zip-text-short-row", lambda c: zipcode.parse_zip_text(b"3 0.5 0.5\n"), ValueError,
          r"parse_zip_text: expected rows of 257 numbers"),
    _case("zip-text-label", lambda c: zipcode.parse_zip_text(b"12 " + b"0 " * 256), ValueError,
          r"expected a digit 0..9 first in each row, got 12 in row 1"),
    _case("idx-junk", lambda c: parse_idx(b"junk"), ValueError, r"parse_idx: "),
    # -- pictures and activations (issue 13, items 5 and 7) -------------------------------------------
    _case("gelu-approximate-str", lambda c: nf.activations.Gelu(approximate="tanh"), TypeError,
          r"Gelu: expected approximate True or False, got 'tanh'"),
    _case("prepare-grey-centring", lambda c: images.prepare_grey(np.eye(8) * 255, (28, 28), centring="middle"),
          ValueError, r"prepare_grey: expected centring 'mass' or 'box', got 'middle'"),
    _case("prepare-grey-blank", lambda c: images.prepare_grey(np.full((28, 28), 7.0), (28, 28)), ValueError,
          r"prepare_grey: no ink: the picture is blank .*draw the digit darker"),
    # -- issue 24: Keras names and the kinds of fault (tests/test_keras_args.py, tests/test_fault_kinds.py) ----------
    _case("fit-channels-first-x", lambda c: _conv_model().fit(np.zeros((4, 3, 8, 8)), np.arange(4) % 3, verbose=0),
          ValueError, r"looks channels-first .*`x = x.transpose\(0, 2, 3, 1\)`"),
    _case("fit-batch-norm-batch-of-one", lambda c: _bn_model().fit(X, Y, batch_size=1, verbose=0), ValueError,
          r"Sequential.fit: batch_normalization would compute each batch mean and variance over a single value"),
    _case("fit-batch-norm-last-batch-of-one", lambda c: _bn_model().fit(np.ones((5, 2)), Y[:5], batch_size=4,
                                                                        verbose=0), ValueError,
          r"5 examples at batch_size=4 leave a last batch of 1: use batch_size=3"),
    _case("fit-validation-freq", lambda c: fit(c, validation_split=0.5, validation_freq=2), TypeError,
          r"validation_freq=2 is not available in netfit; validate every epoch"),
    _case("fit-validation-batch-size", lambda c: fit(c, validation_split=0.5, validation_batch_size=0), ValueError,
          r"expected validation_batch_size >= 1, got 0"),
    _case("compile-loss-weights", lambda c: c.sparse.compile("adam", "sparse_categorical_crossentropy",
                                                             loss_weights=[1.0, 2.0]), ValueError,
          r"Sequential.compile: expected loss_weights with one entry per output \(1: "),
    _case("compile-unknown-argument", lambda c: c.sparse.compile("adam", "sparse_categorical_crossentropy",
                                                                 metric=["accuracy"]), TypeError,
          r"Sequential.compile: unknown argument 'metric'; did you mean 'metrics'\?"),
    _case("fit-early-stopping-baseline", lambda c: callbacks.EarlyStopping(baseline="0.9"), ValueError,
          r"EarlyStopping: expected baseline a finite number \(the value to beat\) or None, got '0.9'"),
    _case("fit-early-stopping-start-from-epoch", lambda c: callbacks.EarlyStopping(start_from_epoch=-1), ValueError,
          r"EarlyStopping: expected start_from_epoch a non-negative integer"),
    _case("fit-checkpoint-save-freq", lambda c: callbacks.ModelCheckpoint("m.netfit", save_freq="batch"),
          ValueError, r"ModelCheckpoint: expected save_freq 'epoch' or a positive number of batches"),
    _case("fit-checkpoint-threshold", lambda c: callbacks.ModelCheckpoint("m.netfit", initial_value_threshold=[1]),
          ValueError, r"ModelCheckpoint: expected initial_value_threshold a finite number or None"),
    _case("fit-checkpoint-batch-monitor", lambda c: fit(c, validation_split=0.5, callbacks=[callbacks.ModelCheckpoint(
          str(c.tmp / "m.netfit"), save_freq=2, save_best_only=True)]), ValueError,
          r"ModelCheckpoint: expected monitor \(save_freq=2: batch logs\) one of the values fit will log"),
    _case("terminate-on-nan-raise-error", lambda c: callbacks.TerminateOnNaN(raise_error="yes"), TypeError,
          r"TerminateOnNaN: expected raise_error True or False"),
    _case("reduce-lr-epsilon", lambda c: callbacks.ReduceLROnPlateau(epsilon=1e-4), TypeError,
          r"ReduceLROnPlateau: Keras's argument epsilon=0.0001 .*Keras 2's name: use min_delta"),
    _case("optimizer-lr-attribute", lambda c: setattr(optimizers.Adam(), "lr", 0), ValueError,
          r"Adam.lr: expected learning_rate a positive number or a schedule, got 0"),
    _case("optimizer-attribute-typo", lambda c: setattr(c.sparse.optimizer, "learning_rte", 1e-4), AttributeError,
          r"Adam: has no attribute 'learning_rte' to set; did you mean 'learning_rate'\?"),
    _case("optimizer-use-ema", lambda c: optimizers.SGD(use_ema=True), TypeError,
          r"SGD: Keras's argument use_ema=True is not available in netfit"),
    _case("optimizer-name", lambda c: optimizers.SGD(name=3), TypeError, r"SGD: expected name a str, got int"),
    _case("layer-attribute-typo", lambda c: setattr(c.sparse.layers[0], "activaton", "relu"), AttributeError,
          r"dense: has no attribute 'activaton' to set; did you mean 'activation'\?"),
    _case("dense-kernel-regularizer", lambda c: Dense(3, kernel_regularizer="l2"), TypeError,
          r"Dense: Keras's argument kernel_regularizer='l2' .*weight_decay"),
    _case("dense-input-dim-and-shape", lambda c: Dense(3, input_dim=2, input_shape=(2,)), ValueError,
          r"Dense: give input_shape or input_dim"),
    _case("conv-data-format", lambda c: Conv2D(2, 3, data_format="channels_first"), TypeError,
          r"Conv2D: Keras's argument data_format='channels_first' .*x.transpose\(0, 2, 3, 1\)"),
    _case("input-batch-shape", lambda c: nf.Input(batch_shape=(None,)), ValueError,
          r"Input: expected batch_shape \(batch, \*shape\)"),
    _case("layer-norm-one-value", lambda c: nf.Sequential([Dense(1, input_shape=(2,)),
                                                           layers.LayerNormalization()]).build(), ValueError,
          r"layer_normalization: expected more than one value per example to normalize over"),
    _case("normalization-adapt-one-sample", lambda c: layers.Normalization().adapt(np.ones((1, 2))), ValueError,
          r"Normalization.adapt: expected at least 2 values for each mean and variance, got 1 \(1 sample"),
    _case("mnist-path-missing", lambda c: mnist.load_data(path=c.tmp / "no-such-dir"), FileNotFoundError,
          r"mnist: expected path a folder holding mnist/ .*which does not exist"),
]


class _OnTestEnd(callbacks.Callback):
    def on_test_end(self, logs=None):
        pass


def _conv_model():
    model = nf.Sequential([Conv2D(2, 3, input_shape=(8, 8, 3)), layers.Flatten(), Dense(3, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _bn_model():
    model = nf.Sequential([Dense(4, input_shape=(2,)), layers.BatchNormalization(), Dense(3, activation="softmax")],
                          seed=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_input_gets_a_clear_error_and_changes_nothing(ctx, call, error, match):
    models = _models(ctx)
    before = {name: _state(model) for name, model in models.items()}
    with pytest.raises(error, match=match) as info:
        call(ctx)
    message = str(info.value)
    assert "\n" not in message.strip() or error is io.ModelFileError, message     # one line, like the house style
    for name, model in models.items():
        after = _state(model)
        for key, value in before[name].items():
            assert after[key] == value if key not in ("loss", "optimizer", "history") else after[key] is value or \
                after[key] == value, f"{name}: the failed call changed {key}"


def test_models_still_work_after_every_kind_of_failed_call(ctx):
    """A lazily built model that saw bad data first still builds from the right data later."""
    with pytest.raises(ValueError):
        fit(ctx, "lazy", x=np.ones((N, 2, 2)))
    with pytest.raises(ValueError):
        fit(ctx, "lazy", x=np.ones((N, 5)), y=Y + 3)
    assert not ctx.lazy.built
    history = fit(ctx, "lazy", x=np.ones((N, 7)), epochs=2)
    assert ctx.lazy.input_shape == (None, 7) and len(history.epoch) == 2
    with pytest.raises(ValueError):
        ctx.sparse.compile("sgd", "mse", metrics=["accuracy"])
    iterations = ctx.sparse.optimizer.iterations
    fit(ctx, epochs=1, batch_size=3)                  # the old optimizer and its state carry on
    assert ctx.sparse.optimizer.iterations == iterations + 2


# -- the netfit command ------------------------------------------------------------------------------
def _cli_cases():
    usage = [  # argparse refuses them before anything runs: exit 2
        ("train-epochs-negative", ["train", "--epochs", "-1"],
         r"--epochs: expected a positive number of epochs, got '-1': .*Fix: --epochs 1"),
        ("train-epochs-word", ["train", "--epochs", "ten"], r"--epochs: expected a positive number of epochs, got 'ten'$"),
        ("train-batch-negative", ["train", "--batch-size", "-1"],
         r"--batch-size: expected a positive batch size, or 0 for the whole training set in one step, got '-1'"),
        ("train-lr-0", ["train", "--lr", "0"], r"--lr: expected a positive number, got '0'"),
        ("train-lr-nan", ["train", "--lr", "nan"], r"--lr: expected a positive number, got 'nan'"),
        ("train-momentum-1.5", ["train", "--optimizer", "sgd", "--momentum", "1.5"],
         r"--momentum: expected a number in \[0, 1\), got '1.5'"),
        ("train-weight-decay", ["train", "--weight-decay", "-1"], r"--weight-decay: expected a non-negative number"),
        ("train-validation-split", ["train", "--validation-split", "1"], r"--validation-split: expected a number in \[0, 1\)"),
        ("train-limit-0", ["train", "--limit", "0"], r"--limit: expected a positive integer, got '0'"),
        ("train-test-limit", ["train", "--test-limit", "-5"], r"--test-limit: expected a positive integer"),
        ("train-seed", ["train", "--seed", "-1"], r"--seed: expected a non-negative integer"),
        ("train-optimizer", ["train", "--optimizer", "rmsprp"], r"expected an optimizer: .*rmsprop.*, got 'rmsprp'; "
                                                                r"did you mean 'rmsprop'\?"),
        ("train-model", ["train", "--model", "resnet"], r"expected one of mlp, cnn, net1"),
        ("train-data", ["train", "--data", "cifar"], r"argument --data: expected one of mnist"),
        ("train-verbose", ["train", "--verbose", "3"], r"invalid choice"),
        ("evaluate-limit", ["evaluate", "m.netfit", "--limit", "0"], r"--limit: expected a positive integer"),
        ("evaluate-no-file", ["evaluate"], r"the following arguments are required: MODEL"),
        ("predict-no-images", ["predict", "m.netfit"], r"the following arguments are required: IMAGE"),
        ("summary-both", ["summary", "m.netfit", "--model", "mlp"], r"give a MODEL.netfit file or --model ARCH, not both"),
        ("unknown-command", ["fly"], r"invalid choice: 'fly'"),
        ("demo-epochs", ["demo", "--epochs", "-2"], r"--epochs: expected a positive number of epochs"),
        ("demo-batch", ["demo", "--batch-size", "-1"], r"--batch-size: expected a positive batch size, or 0"),
        ("train-threads-0", ["train", "--threads", "0"],
         r"--threads: expected 'auto' or a positive integer, got '0'\. Fix: --threads auto"),
        ("train-threads-word", ["train", "--threads", "all"], r"--threads: expected 'auto' or a positive integer, got 'all'"),
        ("demo-threads-fraction", ["demo", "--threads", "1.5"], r"--threads: expected 'auto' or a positive integer"),
        ("esl-threads-negative", ["esl", "--threads", "-2"], r"--threads: expected 'auto' or a positive integer"),
        ("train-device-tpu", ["train", "--device", "tpu"],
         r"--device: expected device 'cpu' or 'gpu\[:N\]' \(or 'cuda\[:N\]'\), got 'tpu'\. Fix: 'cpu', 'gpu'"),
        ("train-device-cpu-index", ["train", "--device", "cpu:1"],
         r"--device: expected device .*, got 'cpu:1'\. Fix: 'cpu': netfit counts all of the CPU's cores as one device"),
        ("demo-device-index", ["demo", "--device", "gpu:one"], r"--device: expected device 'cpu' or 'gpu\[:N\]'"),
        ("lecun1989-device", ["lecun1989", "--device", "cpu:1"], r"--device: expected device 'cpu' or 'gpu\[:N\]'"),
    ]
    library = [  # library errors found before any data is read or any step is taken: exit 1
        ("train-out-under-a-file", lambda c: ["train", "--out", c.blocker / "m.netfit"],
         r"error: train: --out: cannot write to folder .*a-file"),
        ("train-out-folder", lambda c: ["train", "--out", c.tmp], r"error: train: --out: expected a file path, got the folder"),
        ("train-out-missing-folder", lambda c: ["train", "--out", c.tmp / "no" / "m.netfit"],
         r"error: train: --out: cannot write to folder"),
        ("train-plot-file", lambda c: ["train", "--plot", c.blocker], r"error: train: --plot expects a folder, got the file"),
        ("train-momentum-adam", lambda c: ["train", "--momentum", "0.9"],
         r"error: train: --optimizer adam takes no --momentum; drop --momentum, or choose an optimizer that takes "
         r"it: sgd, rmsprop\."),
        ("demo-out-file", lambda c: ["demo", "--out", c.blocker], r"error: demo: --out expects a folder, got the file"),
        ("evaluate-missing", lambda c: ["evaluate", c.tmp / "missing.netfit"], r"error: load_model: no such file"),
        ("evaluate-folder", lambda c: ["evaluate", c.tmp], r"error: load_model: expected a model file, got the folder"),
        ("summary-junk", lambda c: ["summary", c.junk], r"error: load_model: .*damaged or truncated"),
        ("export-junk", lambda c: ["export", c.blocker, c.tmp / "m.onnx"], r"error: load_model: .*not a netfit model file"),
        ("predict-missing-model", lambda c: ["predict", c.tmp / "missing.netfit", c.blocker], r"error: load_model: no such"),
        ("predict-not-a-picture-model", lambda c: ["predict", c.saved, c.blocker],
         r"error: predict: expected a model of grey images"),
        ("train-out-no-suffix", lambda c: ["train", "--out", c.tmp / "m"],
         r"error: train: --out: expected a .netfit path, got '.*m'; use 'm.netfit'"),
        ("train-out-and-no-save", lambda c: ["train", "--out", c.tmp / "m.netfit", "--no-save"],
         r"error: train: give --out FILE or --no-save, not both"),
        # No matplotlib, no SciPy (the test hides them): asked-for pictures and L-BFGS are refused before any
        # data is read, with the extra to install and, for esl, the option that trains without SciPy.
        ("train-plot-no-matplotlib", lambda c: ["train", "--plot", c.tmp / "pictures"],
         r"^error: train: --plot: netfit\.plotting needs matplotlib, which is not installed\. "
         r"Fix: pip install 'netfit\[plot\]'\.$"),
        ("evaluate-plot-no-matplotlib", lambda c: ["evaluate", c.saved, "--plot", c.tmp / "pictures"],
         r"^error: evaluate: --plot: netfit\.plotting needs matplotlib"),
        ("esl-lbfgs-no-scipy", ["esl", "--nets", "net1", "net2"],
         r"^error: esl \(net1\): full-batch L-BFGS needs SciPy, which is not installed\. Fix: pip install "
         r"'netfit\[lbfgs\]', or add --optimizer adam\.$"),
        ("esl-curves-lbfgs-no-scipy", ["esl-curves", "--nets", "net1,net3"],
         r"^error: esl_curves\.run \(net1\): full-batch L-BFGS needs SciPy, which is not installed\. Fix: pip "
         r"install 'netfit\[lbfgs\]', or leave net1 out of the nets\.$"),
        ("esl-sim-no-scipy", lambda c: ["esl-sim", "--impl", "netfit", "--out", c.tmp / "sim"],
         r"^error: esl_11_6: full-batch L-BFGS needs SciPy, which is not installed\. Fix: pip install "
         r"'netfit\[lbfgs\]'\.$"),
        # No CuPy (the test hides it): the install fix, before any data is read.
        ("train-device-gpu-no-cupy", lambda c: ["train", "--device", "gpu"],
         r"error: --device: asked for device 'gpu' but CuPy is not installed\. Fix: pip install 'netfit\[gpu\]'"),
        ("demo-device-cuda-no-cupy", lambda c: ["demo", "--device", "cuda:1", "--out", c.tmp / "out"],
         r"error: --device: asked for device 'gpu:1' but CuPy is not installed"),
        ("esl-curves-device-no-cupy", lambda c: ["esl-curves", "--device", "gpu"],
         r"error: --device: asked for device 'gpu' but CuPy is not installed"),
    ]
    return ([pytest.param(2, argv, match, id=name) for name, argv, match in usage]
            + [pytest.param(1, argv, match, id=name) for name, argv, match in library])


CLI_CASES = _cli_cases()


@pytest.mark.parametrize("code, argv, match", CLI_CASES)
def test_cli_bad_input_exits_with_a_clear_message(ctx, capsys, monkeypatch, code, argv, match):
    def no_data(*args, **kwargs):
        raise AssertionError("the command read data before refusing its arguments")
    monkeypatch.setattr(cli, "load_data", no_data)
    monkeypatch.setattr(zipcode, "load_data", no_data)               # netfit esl's
    for extra in ("cupy", "matplotlib", "scipy.optimize"):           # as where these are not installed
        monkeypatch.setitem(sys.modules, extra, None)
    argv = [str(a) for a in (argv(ctx) if callable(argv) else argv)]
    before = sorted(p.name for p in ctx.tmp.iterdir())
    if code == 2:
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        got = info.value.code
    else:
        got = cli.main(argv)
    err = capsys.readouterr().err
    assert got == code, err
    assert __import__("re").search(match, err), err
    assert sorted(p.name for p in ctx.tmp.iterdir()) == before            # nothing written, no probe left


@pytest.mark.parametrize("module, extra", [("netfit.sklearn", "sklearn")])
def test_a_module_whose_extra_is_missing_names_the_extra(module, extra, monkeypatch):
    """`import netfit.sklearn` without scikit-learn: the extra to install, the original error as the cause."""
    monkeypatch.delitem(sys.modules, module, raising=False)
    for name in [m for m in sys.modules if m.partition(".")[0] == extra] + [extra]:
        monkeypatch.setitem(sys.modules, name, None)                 # as where scikit-learn is not installed
    with pytest.raises(ModuleNotFoundError, match=rf"^{module}: needs scikit-learn ≥ 1\.6 \(.*\)\. Fix: pip install "
                                                  rf"'netfit\[{extra}\]'\.$") as info:
        __import__(module)
    assert info.value.name.partition(".")[0] == "sklearn" and isinstance(info.value.__cause__, ImportError)


# -- inputs that look odd but are fine ------------------------------------------------------------------
def _fine():
    def epochs_0(c):
        before = _state(c.sparse)
        history = fit(c, epochs=0)
        assert history.epoch == [] and history.history == {}
        assert [w.tobytes() for w in c.sparse.get_weights()] == before["weights"]
        assert c.sparse.optimizer.get_state()["iterations"] == 2

    def initial_epoch_past_the_end(c):
        iterations = c.sparse.optimizer.iterations
        assert fit(c, epochs=2, initial_epoch=5).epoch == []
        assert c.sparse.optimizer.iterations == iterations

    def batch_larger_than_n(c):
        history = fit(c, batch_size=10_000, epochs=2)
        assert history.params["batch_size"] == N and history.params["steps"] == 1
        assert c.sparse.optimizer.iterations == 2 + 2

    def one_example(c):
        history = fit(c, x=X[:1], y=Y[:1], epochs=2)
        assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
        assert c.sparse.predict(X[:1]).shape == (1, 3) and c.sparse.evaluate(X[:1], Y[:1])[1] in (0.0, 1.0)

    def one_example_validation(c):
        with pytest.warns(UserWarning, match=r"hold class\(es\) \[1\] that no training row has"):
            history = fit(c, x=X[:2], y=Y[:2], validation_split=0.5)
        assert history.params["samples"] == 1 and len(history.history["val_loss"]) == 1

    def lists(c):
        fit(c, x=X.tolist(), y=Y.tolist())
        assert c.sparse.predict(X.tolist()).shape == (N, 3)

    def integer_and_small_float_inputs(c):
        for x in (np.round(X * 10).astype(np.int64), X.astype(np.float16), (X > 0).astype(np.uint8)):
            fit(c, x=x)

    def labels_as_column_and_integral_floats(c):
        fit(c, y=Y[:, None])
        fit(c, y=Y.astype(np.float64))

    def predict_batch_larger_than_n(c):
        np.testing.assert_allclose(c.sparse.predict(X, batch_size=10**9), c.sparse.predict(X, batch_size=1), rtol=1e-6)

    def soft_targets(c):
        fit(c, "onehot", y=np.full((N, 3), 1 / 3))

    def numpy_scalars_as_arguments(c):
        fit(c, batch_size=np.int64(3), epochs=np.int32(1), validation_split=np.float32(0.5), shuffle=np.bool_(False))

    def weights_as_lists_columns_and_ints(c):
        fit(c, sample_weight=[1, 2, 0, 1, 1, 3])
        fit(c, sample_weight=np.ones((N, 1), np.float32), class_weight={np.int64(2): 2, 7: 1.0})
        assert c.sparse.evaluate(X, Y, sample_weight=np.zeros(N))[0] == 0.0

    def offset_inputs_through_a_first_normalization(c):
        # 1.7e9 + k: no InputPrecisionWarning, as the Normalization standardises before the float32 cast.
        import warnings
        x = (1.7e9 + np.arange(12.0)).reshape(6, 2)
        norm = layers.Normalization()
        norm.adapt(x)
        model = nf.Sequential([norm, Dense(3, activation="softmax")], seed=0)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.fit(x, Y, verbose=0)
            assert len(np.unique(model.predict(x)[:, 0])) == N

    def finite_generator_without_steps(c):
        # Keras 3: one pass, read to its end (fit too, for one epoch).
        assert c.sparse.evaluate(_stream(n=2)) == pytest.approx(c.sparse.evaluate(X, Y), rel=1e-6)
        np.testing.assert_allclose(c.sparse.predict(x for x, _ in _stream(n=2)), c.sparse.predict(X), rtol=1e-6)
        iterations = c.sparse.optimizer.iterations
        assert fit(c, x=_stream(n=2), y=None).params["steps"] is None
        assert c.sparse.optimizer.iterations == iterations + 2

    def more_steps_than_batches(c):
        # Keras 3: each epoch ends at the end of the data with a warning; training goes on.
        for x, y, more in ((_Seq([(X, Y)]), None, {}), (X, Y, {"batch_size": 4}), ([(X, Y)], None, {})):
            iterations = c.sparse.optimizer.iterations
            with pytest.warns(RuntimeWarning, match=r"the data ran out after \d of steps_per_epoch=5 batches"):
                history = fit(c, x=x, y=y, steps_per_epoch=5, epochs=2, **more)
            assert history.epoch == [0, 1] and history.params["steps"] == 5
            assert c.sparse.optimizer.iterations == iterations + 2 * (2 if y is not None else 1)

    def weighted_batches(c):
        fit(c, x=iter([(X, Y, np.ones(N)), [X, Y, None]]), y=None, steps_per_epoch=2)
        assert c.sparse.evaluate([(X, Y, np.zeros(N))])[0] == 0.0

    return [weights_as_lists_columns_and_ints, offset_inputs_through_a_first_normalization, epochs_0,
            finite_generator_without_steps, more_steps_than_batches, weighted_batches,
            initial_epoch_past_the_end, batch_larger_than_n, one_example, one_example_validation, lists,
            integer_and_small_float_inputs, labels_as_column_and_integral_floats, predict_batch_larger_than_n,
            soft_targets, numpy_scalars_as_arguments]


FINE = _fine()


@pytest.mark.parametrize("check", FINE, ids=[f.__name__ for f in FINE])
def test_edge_cases_that_are_not_errors(ctx, check):
    check(ctx)


def test_count_of_bad_inputs(capsys):
    todo = sum(1 for case in CASES if case.marks)
    with capsys.disabled():
        print(f"\nbad-input matrix: {len(CASES) + len(CLI_CASES)} bad inputs ({len(CASES)} library calls, "
              f"{len(CLI_CASES)} command lines), {todo} of them known gaps (xfail); {len(FINE)} odd-but-fine inputs")
    assert len(CASES) + len(CLI_CASES) >= 250


def test_reliability_doc_names_real_tests_and_the_real_count():
    """docs/reliability.md cites `tests/<file>.py::<test>` for each guarantee: each must exist."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    cited = re.findall(r"tests/(test_\w+\.py)::(test_\w+)", doc)
    assert len(cited) >= 30
    for file, name in cited:
        source = (root / "tests" / file).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"docs/reliability.md cites {file}::{name}, which is gone"
    for name in re.findall(r"`::(test_\w+)`", doc):              # short forms after a full citation
        assert any(re.search(rf"^def {name}\(", (root / "tests" / f).read_text(encoding="utf-8"), re.M)
                   for f in ("test_properties.py", "test_faults.py", "test_bad_inputs.py", "test_threads.py")), name
    assert f"{len(CASES) + len(CLI_CASES)} bad inputs" in doc and f"{len(CLI_CASES)} `netfit` command lines" in doc
    for case in CASES:
        if case.marks:
            assert f"`{case.id}`" in doc, f"the known gap {case.id} is not listed in docs/reliability.md"

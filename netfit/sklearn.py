"""scikit-learn estimators around netfit: ``NetRegressor`` and ``NetClassifier``.

They follow scikit-learn's conventions (``fit / predict / score``, ``get_params /
set_params``, fitted attributes ending in ``_``) and pass
``sklearn.utils.estimator_checks.check_estimator``, so they drop into
``Pipeline``, ``GridSearchCV`` (e.g. over ``weight_decay``, ESL's λ) and
``cross_val_score``. Needs scikit-learn ≥ 1.6 (``pip install 'netfit[sklearn]'``).

The network is one hidden layer per entry of ``hidden_layer_sizes`` (or the
layers of ``layers``), with an output layer chosen by the task: linear units
and mean squared error for regression; a sigmoid unit and binary cross-entropy
for two classes; softmax and cross-entropy for more. With ``standardize=True``
the first layer is a :class:`netfit.layers.Normalization` adapted to the
training inputs, so ``model_`` (a plain :class:`netfit.Sequential`) predicts
from raw inputs and can be saved with ``model_.save(path)``.

Examples
--------
>>> import numpy as np
>>> from netfit.sklearn import NetRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 2)); y = np.sin(X[:, 0]) + X[:, 1]
>>> reg = NetRegressor(hidden_layer_sizes=(8,), optimizer="lbfgs", epochs=200, random_state=0).fit(X, y)
>>> reg.score(X, y) > 0.95
True
"""
import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as exc:             # a missing (or too old: no validate_data) scikit-learn: name the extra
    raise ModuleNotFoundError(f"netfit.sklearn: needs scikit-learn ≥ 1.6 ({exc}). Fix: pip install "
                              f"'netfit[sklearn]'.", name=exc.name) from exc

from . import losses, optimizers
from .architecture import sequential_from_config
from .layers import Dense, Layer, Normalization
from .lbfgs import LBFGS
from .model import Model
from .sequential import Sequential

__all__ = ["NetRegressor", "NetClassifier"]

_OPTIMIZERS = ("adam", "sgd", "lbfgs")


class _NetEstimator(BaseEstimator):
    """Shared machinery: parameter checks, building, compiling and training the net."""

    def __init__(self, hidden_layer_sizes=(10,), activation="sigmoid", layers=None, optimizer="adam",
                 learning_rate=None, weight_decay=0.0, epochs=200, batch_size=32, standardize=True,
                 random_state=None, verbose=0, dtype="float64", model=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.layers = layers
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.standardize = standardize
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.model = model

    # -- hooks for the two tasks ---------------------------------------------------------
    def _output(self, n_outputs):          # -> (output layer, loss name)
        raise NotImplementedError

    # -- building ------------------------------------------------------------------------
    def _check_params(self):
        where = type(self).__name__
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"{where}: expected optimizer one of {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}.")
        for name in ("epochs",):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{where}: expected {name} a positive integer, got {value!r}.")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(
                self.batch_size, numbers.Integral) or self.batch_size < 1):
            raise ValueError(f"{where}: expected batch_size a positive integer or None, got {self.batch_size!r}.")
        if not isinstance(self.weight_decay, numbers.Real) or not self.weight_decay >= 0:
            raise ValueError(f"{where}: expected weight_decay a non-negative number, got {self.weight_decay!r}.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"{where}: expected dtype 'float32' or 'float64', got {self.dtype!r}.")
        if self.layers is None and self.model is None:
            sizes = self.hidden_layer_sizes
            sizes = () if sizes is None else ((sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes))
            if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
                raise ValueError(f"{where}: expected hidden_layer_sizes a tuple of positive integers, "
                                 f"got {self.hidden_layer_sizes!r}.")
            return sizes
        return None

    def _hidden_layers(self, sizes, n_features):
        """Fresh hidden layers: from ``hidden_layer_sizes`` or from the ``layers`` spec."""
        if self.layers is None:
            return [Dense(int(units), activation=self.activation) for units in sizes]
        spec = self.layers(n_features) if callable(self.layers) else self.layers
        if isinstance(spec, (list, tuple)) and all(isinstance(layer, Layer) for layer in spec):
            if callable(self.layers):
                return list(spec)
            raise TypeError(f"{type(self).__name__}: layers must be JSON-style dicts "
                            f"({{'class_name': 'Dense', 'config': {{'units': 10}}}}) or a function returning "
                            f"fresh Layer objects; Layer objects themselves cannot be cloned by scikit-learn.")
        built, _ = sequential_from_config({"input_shape": [n_features], "layers": list(spec)},
                                          where=f"{type(self).__name__}(layers=...)")
        return built

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _given_model(self, n_features, out, where):
        """A fresh clone of ``model`` (weights from ``random_state``), checked against the data and the task."""
        if not isinstance(self.model, Model):
            raise TypeError(f"{where}: expected model a netfit model (nf.Sequential or nf.Model), got "
                            f"{type(self.model).__name__}.")
        config = {**self.model.get_config(), "seed": self._seed(), "dtype": self.dtype}
        net = type(self.model).from_config(config)
        if tuple(net.input_shape) != (None, n_features):
            raise ValueError(f"{where}: expected model to take (n, {n_features}) inputs (the data's features), "
                             f"got input shape {net.input_shape}.")
        want = (None, out.units)
        if tuple(net.output_shape) != want:
            raise ValueError(f"{where}: expected model's output of shape {want} for this task (as "
                             f"{type(out).__name__}({out.units}, activation={out.activation.name!r})), got "
                             f"{net.output_shape}.")
        return net

    def _new_model(self, X, n_outputs, w=None):
        sizes = self._check_params() if self.model is None else None
        front = []
        if self.standardize:
            if w is None:
                norm = Normalization()
                norm.adapt(X)
            else:                          # weighted: a row of weight k counts as k rows, one of weight 0 as none
                mean, var = _weighted_moments(X, w)
                norm = Normalization(mean=mean, variance=var)
            front = [norm]
        out, loss = self._output(n_outputs)
        if self.model is not None:
            self._check_params()
            net = [self._given_model(X.shape[1], out, type(self).__name__)]
        else:
            net = self._hidden_layers(sizes, X.shape[1]) + [out]
        model = Sequential(front + net, name=type(self).__name__, seed=self._seed(), dtype=self.dtype)
        model.build((X.shape[1],))
        if self.optimizer == "lbfgs":
            opt = LBFGS(weight_decay=float(self.weight_decay))
        else:
            kwargs = {"weight_decay": float(self.weight_decay)}
            if self.learning_rate is not None:
                kwargs["learning_rate"] = self.learning_rate
            opt = type(optimizers.get(self.optimizer))(**kwargs)
        model.compile(optimizer=opt, loss=loss)
        return model

    def _train(self, model, X, y, epochs, initial_epoch=0, sample_weight=None):
        history = model.fit(X, y, epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
                            batch_size=self.batch_size, verbose=self.verbose, sample_weight=sample_weight)
        return [float(v) for v in history.history.get("loss", [])]

    def _weights(self, X, y, sample_weight):
        """Per-example weights: sample_weight × the class weights (classifier), or None when all are 1.

        They are scaled to mean 1 (w · n / Σw), so that the loss netfit minimises, (1/n) Σ w_i ℓ_i,
        is scikit-learn's weighted mean (1/Σw) Σ w_i ℓ_i: an integer weight k is then k copies of
        the row, as scikit-learn's check_sample_weight_equivalence asks (and its MLP does).
        """
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X, dtype=np.float64)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if not (class_weight == "balanced" or isinstance(class_weight, dict)):
                raise ValueError(f"{type(self).__name__}: expected class_weight None, 'balanced' or a dict "
                                 f"{{class label: weight}}, got {class_weight!r}.")
            by_class = compute_sample_weight(class_weight, y)
            w = by_class if w is None else w * by_class
        # Weights that are all 1 take the unweighted path: the same numbers to the last bit.
        if w is None or np.all(w == 1.0):
            return None
        total = w.sum()
        if not total > 0:
            raise ValueError(f"{type(self).__name__}: expected sample weights with a positive sum, got a sum of "
                             f"{total!r}; at least one row must count.")
        return w * (len(w) / total)

    def _stochastic(self):
        if self.optimizer == "lbfgs":
            raise AttributeError("partial_fit is not available with optimizer='lbfgs' (a full-batch method); "
                                 "use optimizer='adam' or 'sgd'.")
        return True

    # Pickling (joblib, GridSearchCV's workers) stores the net as its config and weights, not as live
    # objects: a copy loaded from a read-only memory map then still gets its own writable buffers.
    def __getstate__(self):
        state = dict(super().__getstate__())          # a copy: object.__getstate__ returns __dict__ itself
        model = state.pop("model_", None)
        if model is not None:
            state["_model_state"] = {"config": model.get_config(), "weights": model.get_weights(),
                                     "optimizer": optimizers.serialize(model.optimizer),
                                     "optimizer_state": model.optimizer.get_state(), "loss": losses.serialize(model.loss)}
        return state

    def __setstate__(self, state):
        saved = state.pop("_model_state", None)
        super().__setstate__(state)
        if saved is not None:
            config = saved["config"]
            model = (Model if "input_layers" in config else Sequential).from_config(config)
            model.set_weights([np.array(w) for w in saved["weights"]])
            model.compile(optimizer=optimizers.get(saved["optimizer"]), loss=saved["loss"])
            model.optimizer.set_state({k: np.array(v) for k, v in saved["optimizer_state"].items()})
            self.model_ = model

    def _forward(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        # X as validated (float64 stays float64): the model's first Normalization standardises before the cast.
        return np.asarray(self.model_.predict(X, batch_size=4096), np.float64)


def _weighted_moments(a, w=None):
    """Column means and (population) variances of ``a`` (n, d), each row counted ``w_i`` times (float64).

    Without ``w`` they are ``a.mean(0)`` and ``a.var(0)`` as computed before weights existed.
    """
    a = np.asarray(a, np.float64)
    if w is None:
        return a.mean(axis=0), a.var(axis=0)
    w = np.asarray(w, np.float64) / np.sum(w)
    mean = w @ a
    return mean, w @ (a - mean) ** 2


class NetRegressor(RegressorMixin, _NetEstimator):
    """A neural network for regression: linear outputs, mean squared error, R² as ``score``.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Units per hidden layer; ``()`` is linear regression (ESL's zero-hidden-unit net).
    activation : str
        Hidden units' σ (ESL's sigmoid by default).
    layers : list of dict or callable, optional
        Hidden layers instead of ``hidden_layer_sizes``: JSON-style specs as in
        :mod:`netfit.architecture` (``[{"class_name": "Dense", "config": {"units": 8}}]``),
        or a function ``n_features -> list of fresh Layers``.
    optimizer : {"adam", "sgd", "lbfgs"}
        "lbfgs" is full-batch L-BFGS (ESL's and R nnet's way; ``epochs`` is then
        the iteration limit and ``batch_size`` is ignored).
    learning_rate : float, optional
        For "adam" and "sgd"; their default when None.
    weight_decay : float
        ESL's λ on the kernels; the objective is the mean loss + λ Σ w².
    epochs, batch_size : int
    standardize : bool
        Put a Normalization layer adapted to X first (ESL §11.5.3).
    standardize_target : bool
        Fit the standardised targets (y − ȳ) / s_y and map predictions back, so
        that ``weight_decay`` means the same whatever the units of y.
    random_state : int, RandomState or None
        Seed of the starting weights and the shuffles.
    verbose : int
    dtype : {"float64", "float32"}
    model : netfit.Model or Sequential, optional
        The whole net instead of ``hidden_layer_sizes`` / ``layers``: any netfit model
        (a graph included) from (n_features,) inputs to the task's outputs (n targets;
        n classes with softmax, or one sigmoid unit for two). Each ``fit`` trains a fresh
        clone of it (:func:`netfit.models.clone_model`, weights drawn from
        ``random_state``), behind the Normalization when ``standardize``.

    Attributes
    ----------
    model_ : netfit.Sequential
        The fitted network (it predicts standardised targets when ``standardize_target``).
    loss_curve_ : list of float
        Training objective after each epoch (each L-BFGS iteration).
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(self, hidden_layer_sizes=(10,), activation="sigmoid", layers=None, optimizer="adam",
                 learning_rate=None, weight_decay=0.0, epochs=200, batch_size=32, standardize=True,
                 standardize_target=True, random_state=None, verbose=0, dtype="float64", model=None):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, activation=activation, layers=layers,
                         optimizer=optimizer, learning_rate=learning_rate, weight_decay=weight_decay,
                         epochs=epochs, batch_size=batch_size, standardize=standardize,
                         random_state=random_state, verbose=verbose, dtype=dtype, model=model)
        self.standardize_target = standardize_target

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _output(self, n_outputs):
        return Dense(n_outputs), "mse"

    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32])
        y = np.asarray(y, np.float64)
        return X, (y[:, None] if y.ndim == 1 else y), y.ndim

    def _scale_target(self, y2, w=None):
        if self.standardize_target:
            self._y_mean, var = _weighted_moments(y2, w)
            scale = np.sqrt(var)
            self._y_scale = np.where(scale > 0, scale, 1.0)
        else:
            self._y_mean, self._y_scale = np.zeros(y2.shape[1]), np.ones(y2.shape[1])

    def fit(self, X, y, sample_weight=None):
        """Train a fresh network on (X, y); return self.

        ``sample_weight`` (n,) weights each example's loss: (1/Σw) Σ_i w_i ℓ_i, as
        scikit-learn's MLP (netfit's models divide by n, Keras's reduction: the
        weights are scaled to mean 1 first). The input standardisation and the
        target scaling are weighted means too, so an integer weight k is k copies
        of the row (with batches as large as the data).
        """
        X, y2, ndim = self._validate(X, y, reset=True)
        w = self._weights(X, y2, sample_weight)
        self._y_ndim = ndim
        self._scale_target(y2, w)
        self.model_ = self._new_model(X, y2.shape[1], w)
        self.loss_curve_ = self._train(self.model_, X, (y2 - self._y_mean) / self._y_scale, self.epochs,
                                       sample_weight=w)
        self.n_iter_ = len(self.loss_curve_)
        return self

    @available_if(_NetEstimator._stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights (a fresh net on the first call).

        On the first call the input standardisation and target scaling are taken
        from this batch, and stay fixed afterwards.
        """
        first = not hasattr(self, "model_")
        X, y2, ndim = self._validate(X, y, reset=first)
        w = self._weights(X, y2, sample_weight)
        if first:
            self._y_ndim = ndim
            self._scale_target(y2, w)
            self.model_ = self._new_model(X, y2.shape[1], w)
            self.loss_curve_ = []
        elif y2.shape[1] != self.model_.output_shape[1]:
            raise ValueError(f"NetRegressor.partial_fit: expected y with {self.model_.output_shape[1]} output(s), "
                             f"got {y2.shape[1]}.")
        self.loss_curve_ += self._train(self.model_, X, (y2 - self._y_mean) / self._y_scale, 1,
                                        initial_epoch=len(self.loss_curve_), sample_weight=w)
        self.n_iter_ = len(self.loss_curve_)
        return self

    def predict(self, X):
        """Predicted targets, shape (n,) (or (n, k) when fitted on k columns)."""
        check_is_fitted(self, "model_")
        f = self._forward(X) * self._y_scale + self._y_mean
        return f[:, 0] if self._y_ndim == 1 else f


class NetClassifier(ClassifierMixin, _NetEstimator):
    """A neural network classifier: a sigmoid unit (2 classes) or softmax (K > 2), cross-entropy, accuracy.

    Parameters are those of :class:`NetRegressor` (without ``standardize_target``), and

    class_weight : dict, "balanced" or None
        Weights of the classes' examples in the loss, as in scikit-learn's
        ``LogisticRegression``: a dict {class label: weight}, or "balanced",
        n / (n_classes · count of the class). Multiplies ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted; ``predict`` returns them.
    model_ : netfit.Sequential
        The fitted network; its outputs are P(class 1) (two classes) or the K probabilities.
    loss_curve_ : list of float
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(self, hidden_layer_sizes=(10,), activation="sigmoid", layers=None, optimizer="adam",
                 learning_rate=None, weight_decay=0.0, epochs=200, batch_size=32, standardize=True,
                 random_state=None, verbose=0, dtype="float64", class_weight=None,
                 model=None):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, activation=activation, layers=layers,
                         optimizer=optimizer, learning_rate=learning_rate, weight_decay=weight_decay,
                         epochs=epochs, batch_size=batch_size, standardize=standardize,
                         random_state=random_state, verbose=verbose, dtype=dtype, model=model)
        self.class_weight = class_weight

    def _output(self, n_outputs):
        if n_outputs == 2:
            return Dense(1, activation="sigmoid"), "binary_crossentropy"
        return Dense(n_outputs, activation="softmax"), "sparse_categorical_crossentropy"

    def _targets(self, codes):
        return codes.astype(np.float64)[:, None] if len(self.classes_) == 2 else codes

    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        return X, y

    def fit(self, X, y, sample_weight=None):
        """Train a fresh network on (X, y); return self.

        ``sample_weight`` (n,) and ``class_weight`` weight each example's loss:
        (1/Σw) Σ_i w_i ℓ_i, as scikit-learn's MLP; the input standardisation is
        weighted too, so an integer weight k is k copies of the row.
        """
        X, y = self._validate(X, y, reset=True)
        w = self._weights(X, y, sample_weight)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"NetClassifier: expected at least 2 classes in y, got 1 class "
                             f"({self.classes_[0]!r}); a classifier cannot train on a single class.")
        self.model_ = self._new_model(X, len(self.classes_), w)
        self.loss_curve_ = self._train(self.model_, X, self._targets(encoder.transform(y)), self.epochs,
                                       sample_weight=w)
        self.n_iter_ = len(self.loss_curve_)
        return self

    @available_if(_NetEstimator._stochastic)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights; ``classes`` is required on the first call.

        A dict ``class_weight`` applies as in ``fit``; "balanced" is computed from this batch's counts.
        """
        first = _check_partial_fit_first_call(self, classes)
        X, y = self._validate(X, y, reset=first)
        if first:
            self.classes_ = np.unique(self.classes_)
            if len(self.classes_) < 2:
                raise ValueError("NetClassifier.partial_fit: expected at least 2 classes, got 1 class.")
            self.model_ = self._new_model(X, len(self.classes_))
            self.loss_curve_ = []
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"NetClassifier.partial_fit: y holds labels {unknown.tolist()} that are not in "
                             f"classes_ {self.classes_.tolist()}.")
        codes = np.searchsorted(self.classes_, y)
        w = self._weights(X, y, sample_weight)
        self.loss_curve_ += self._train(self.model_, X, self._targets(codes), 1, initial_epoch=len(self.loss_curve_),
                                        sample_weight=w)
        self.n_iter_ = len(self.loss_curve_)
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        p = self._forward(X)
        if len(self.classes_) == 2:
            p = np.hstack([1.0 - p, p])
        return p

    def predict(self, X):
        """The most probable class of each row."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

"""Stochastic diagonal Levenberg–Marquardt: per-weight steps ε / (μ + h_kk) from a diagonal Gauss–Newton Hessian.

The "special version of Newton's algorithm that uses a positive, diagonal
approximation of the Hessian matrix" of LeCun et al. 1989 (after Becker &
LeCun 1988), written out as LeCun, Bottou, Bengio & Haffner 1998 (Appendix C)
and "Efficient BackProp" (1998, §9.1) give it:

    θ_k ← θ_k − ε / (μ + h_kk) · ∂R/∂θ_k,

one example (or mini-batch) at a time, where h_kk is the Gauss–Newton estimate
of ∂²R/∂θ_k², averaged over a few hundred examples before every pass, and μ
keeps the step bounded where the curvature is small.

h comes from a second backward pass that carries second derivatives down the
net, dropping off-diagonal terms (LeCun et al. 1998, Appendix C):

- at the outputs of a squared error R = (1/nK) Σ (f − y)²: ∂²R/∂f² = 2/(nK)
  (Gauss–Newton: the term with f − y is dropped, so every h is ≥ 0);
- through a unit a = σ(z): ∂²R/∂z² = σ'(z)² ∂²R/∂a²;
- through the linear part z = Σ_j w_j x_j + b: ∂²R/∂w² = Σ x_j² ∂²R/∂z² (summed over
  every unit that shares w and over the examples), ∂²R/∂b² = Σ ∂²R/∂z², and
  ∂²R/∂x_j² = Σ_i w_ij² ∂²R/∂z_i².

The last line is each layer's own backward pass run on squared weights and
squared inputs (and squared pad values), so this module reuses the layers'
code: it keeps a linear copy of every weighted layer whose weights are the
squares of the real ones, runs it forward on the squared inputs and backward on
∂²R/∂z². Layers whose backward is not of that form (pooling by averages,
normalization) are refused.

Units: netfit's squared error has no ½ and averages over the K outputs, so its
gradient and its h are both 2/K times those of LeCun's E = ½ Σ (f − y)²; the
step ε g / (μ + h) equals LeCun's with μ scaled by the same 2/K (LeNet-5's
μ = 0.02 is μ = 0.004 here for K = 10).
"""
import copy as _copy

import numpy as np

from . import activations, optimizers
from . import callbacks as callbacks_mod
from .layers import Conv2D, Dense, Dropout, Flatten, LocallyConnected2D, MaxPooling2D, Reshape
from .layers.base import ActivatedLayer
from .training import run_fit
from .utils import check_positive_int

#: Layers with weights whose backward is linear in (weights, inputs): copied with squared weights.
_WEIGHTED = (Dense, Conv2D, LocallyConnected2D)
#: Layers without weights whose backward passes ∂²R/∂a² down as it is (routing or reshaping only).
_PASS_THROUGH = (Flatten, Reshape, Dropout, MaxPooling2D)


class SDLM(optimizers.Optimizer):
    """θ_k ← θ_k − ε / (μ + h_kk) · g_k, with h the diagonal Gauss–Newton Hessian (LeCun et al. 1989, 1998).

    ``model.fit`` re-estimates h on ``samples`` training examples (the first ones,
    in the order given) before every epoch; steps before the first estimate use
    h = 0. Squared-error loss only (the Gauss–Newton form above assumes it).

    Parameters
    ----------
    learning_rate : float or schedule
        ε (LeNet-5: from 0.0005 down to 0.00001; here in netfit's loss units, see
        the module docstring).
    mu : float
        μ > 0, the damping that bounds the step where h is small.
    samples : int
        Examples the estimate of h averages over (LeNet-5: 500).
    weight_decay : float
        λ; its curvature 2λ is added to h of the decayed weights.

    Examples
    --------
    >>> import numpy as np, netfit as nf
    >>> from netfit.layers import Dense
    >>> model = nf.Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2, activation="tanh")], seed=0)
    >>> model.compile(optimizer=SDLM(0.01, mu=0.01, samples=20), loss="mse")
    >>> x = np.random.default_rng(0).normal(size=(40, 3)); y = np.tanh(x[:, :2])
    >>> h = model.fit(x, y, batch_size=1, epochs=3, verbose=0).history["loss"]
    >>> h[-1] < h[0]
    True
    """

    name = "sdlm"

    def __init__(self, learning_rate=0.0005, mu=0.004, samples=500, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        if isinstance(mu, bool) or not isinstance(mu, (int, float, np.floating)) or not 0 < mu < np.inf:
            raise ValueError(f"SDLM: expected mu a positive finite number, got {mu!r}.")
        self.mu = float(mu)
        self.samples = check_positive_int(samples, "SDLM", "samples")
        self.h = None

    def build(self, theta, decay_slices=()):
        super().build(theta, decay_slices)
        self.h = np.zeros_like(theta)
        self._scale = np.empty_like(theta)
        self._scale.fill(1.0 / self.mu)

    def set_curvature(self, h):
        """Use ``h`` (θ's layout, ≥ 0) from now on: the per-weight factor becomes 1 / (μ + h + 2λ·decayed)."""
        self.h[...] = h
        for s in self.decay_slices:
            self.h[s] += 2.0 * self.weight_decay          # ∂²(λ Σ w²)/∂w² = 2λ
        np.add(self.h, self.mu, out=self._scale)
        np.reciprocal(self._scale, out=self._scale)

    def _update(self, theta, grad, lr):
        grad *= self._scale                                # g_k / (μ + h_kk)
        theta -= lr * grad                                 # θ ← θ − ε g / (μ + h)

    def fit_model(self, model, x, y, **kwargs):
        """Called by :meth:`netfit.Sequential.fit`: the usual loop, with h re-estimated before each epoch."""
        if model.loss.name != "mean_squared_error":
            raise ValueError(f"SDLM: expected loss 'mse' (its Gauss–Newton Hessian is what SDLM uses), got "
                             f"{model.loss.name!r}; compile with loss='mse' or use another optimizer.")
        callbacks = list(kwargs.pop("callbacks", None) or [])
        return run_fit(model, x, y, callbacks=[_Estimate(self, x)] + callbacks, **kwargs)

    def get_state(self):
        return {**super().get_state(), "h": self.h.copy()}

    def set_state(self, state):
        super().set_state(state)
        self.h[...] = state["h"]
        np.reciprocal(self.h + self.mu, out=self._scale)

    def get_config(self):
        return {**super().get_config(), "mu": self.mu, "samples": self.samples}


optimizers.register("sdlm", SDLM)       # lives above training, so it adds itself to the optimizers' table


class _Estimate(callbacks_mod.Callback):
    """Before each epoch, h ← the diagonal Gauss–Newton Hessian on the first ``samples`` examples."""

    def __init__(self, optimizer, x):
        self.optimizer, self.x = optimizer, x

    def on_epoch_begin(self, epoch, logs=None):
        part = np.asarray(self.x[:self.optimizer.samples], self.model.dtype)
        self.optimizer.set_curvature(diagonal_hessian(self.model, part))


def diagonal_hessian(model, x):
    """The Gauss–Newton diagonal ∂²R/∂θ_k² of a squared-error model on x, off-diagonal terms dropped.

    R is netfit's mean squared error over the rows of x (without weight decay).
    The result has θ's flat layout (``model.get_weights()`` order, flattened).

    Shapes
    ------
    x : (n, *input_shape)  ->  h : (count_params,), every entry ≥ 0

    Raises
    ------
    ValueError
        A layer whose second-order backward is not its backward on squared
        weights (e.g. AveragePooling2D).
    """
    model._ensure_built()
    copies = _squared_copies(model)
    calls = model._new_calls(np.zeros_like(model._theta), training=False)    # records of this pass alone
    for i, call in enumerate(calls):
        call.need_input_grad = i > 0
    inputs, a = [], x
    for layer, call in zip(model.layers, calls):    # the real forward pass: z, a and every layer's input
        inputs.append(a)
        a = np.array(layer.forward(a, False, call), copy=True)
    n, k = a.shape[0], a[0].size
    h = np.full(a.shape, 2.0 / (n * k), model.dtype)      # ∂²R/∂f² of R = (1/nK) Σ (f − y)²
    flat = np.zeros_like(model._theta)
    offsets = _offsets(model)
    for i in range(len(model.layers) - 1, -1, -1):
        layer, copy = model.layers[i], copies[i]
        if isinstance(layer, ActivatedLayer) and layer.activation.name != "linear":
            slope = layer.activation.backward(np.ones_like(h), calls[i].z, calls[i].a)   # σ'(z)
            h = h * slope * slope                                                  # ∂²R/∂z² = σ'² ∂²R/∂a²
        if copy is None:                            # routing or reshaping: h goes down as δ would
            h = layer.backward(h, calls[i]) if i > 0 else None
            continue
        record = copy.new_call(need_input_grad=i > 0)
        copy.forward(np.square(inputs[i]), False, record)   # the copy's weights are w², its input x²
        h = copy.backward(h, record)                # grads: Σ x² ∂²R/∂z²; returns Σ w² ∂²R/∂z²
        offset = offsets[i]
        for spec in copy.specs:
            flat[offset:offset + spec.size] = copy.grads[spec.name].reshape(-1)
            offset += spec.size
        if h is not None:
            h = np.array(h, copy=True)
    return flat


def _offsets(model):
    offsets, offset = [], 0
    for layer in model.layers:
        offsets.append(offset)
        offset += sum(spec.size for spec in layer.specs)
    return offsets


def _squared_copies(model):
    """Per layer: a linear copy with squared weights (weighted layers), or None (pass-through layers)."""
    copies = []
    for layer in model.layers:
        if isinstance(layer, _PASS_THROUGH):
            copies.append(None)
            continue
        fused = layer is model.layers[-1] and getattr(model, "_fused", [False])[0]
        if not isinstance(layer, _WEIGHTED) or fused:
            raise ValueError(f"SDLM: cannot carry second derivatives through layer {layer.display_name!r} "
                             f"({type(layer).__name__}); supported: "
                             f"{', '.join(c.__name__ for c in _WEIGHTED + _PASS_THROUGH)}.")
        # A shallow copy shares the geometry and the table; attach() gives it its own weights and scratch.
        copy = _copy.copy(layer)
        copy.activation = activations.get(None)
        if isinstance(layer, Conv2D):
            copy.pad_value = layer.pad_value ** 2                 # a padded pixel's x²
        copy.attach(dtype=model.dtype)
        for spec in layer.specs:
            np.square(layer.params[spec.name], out=copy.params[spec.name])
        copies.append(copy)
    return copies

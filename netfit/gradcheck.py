"""Finite-difference checks of back-propagation, in float64.

Each analytic gradient is compared with the central difference
(R(θ + ε) − R(θ − ε)) / 2ε, whose error is O(ε²). The comparison is the
relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖), which is ~1e-9 when backward is right and
O(1) when it is wrong.
"""
import numpy as np


def relative_error(analytic, numeric):
    """‖g − ĝ‖ / (‖g‖ + ‖ĝ‖); 0 when both are zero."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f, x, eps=1e-6, indices=None):
    """Central differences of the scalar ``f()`` with respect to the array ``x``, changed in place.

    ``x`` is restored afterwards. ``indices`` (flat positions) limits the check to a
    sample of entries; the others are left at 0.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float((x ** 2).sum()), x).round(6)
    array([2., 4.])
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 array, got {x.dtype}; "
                        f"call nf.config.set_floatx('float64') before building.")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def check_layer(layer, input_shape=None, *, x=None, batch=3, seed=0, eps=1e-6, training=False):
    """Compare a layer's backward with finite differences; return relative errors by name.

    The layer is set up in float64 (if not built yet) and probed with the loss
    R = Σ a ⊙ C for a fixed random C, so δ = C reaches backward. The result has
    one entry per weight and ``"input"`` for s = ∂R/∂x.

    Examples
    --------
    >>> from netfit.layers import Dense
    >>> errors = check_layer(Dense(3, activation="tanh"), (4,))
    >>> max(errors.values()) < 1e-7
    True
    """
    rng = np.random.default_rng(seed)
    if not layer.built:
        layer.setup(input_shape if input_shape is not None else x.shape[1:], rng=rng, dtype=np.float64)
    if x is None:
        x = rng.standard_normal((batch,) + layer.input_shape)
    x = np.array(x, dtype=np.float64)
    if layer.needs_rng:
        state = layer.rng.bit_generator.state
    probe = rng.standard_normal((x.shape[0],) + layer.output_shape)

    def loss():
        if layer.needs_rng:                       # same dropout mask at every evaluation
            layer.rng.bit_generator.state = state
        return float(np.sum(layer.forward(x, training=training) * probe))

    loss()
    s = layer.backward(probe.copy())                 # the layer's own record: needs s, writes layer.grads
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    analytic["input"] = np.array(s, copy=True)
    errors = {}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, param, eps))
    errors["input"] = relative_error(analytic["input"], numerical_gradient(loss, x, eps))
    return errors


def check_model(model, x, y, *, eps=1e-6, max_checks=None, seed=0, sample_weight=None):
    """Compare ``model.loss_and_gradients`` with finite differences of ``model``'s loss.

    Returns ``{weight index: relative error}`` in ``get_weights()`` order. With
    ``max_checks`` only that many randomly chosen entries of each weight are probed.
    With ``sample_weight`` the loss is the weighted one, (1/n) Σ_i w_i ℓ_i.
    Layers with ``trainable = False`` are checked too: their backward is
    compared as if they were trained (``loss_and_gradients`` gives them zeros).
    """
    rng = np.random.default_rng(seed)
    frozen = [layer for layer in model.layers if not layer.trainable]
    for layer in frozen:
        layer.trainable = True                  # the prediction-mode forward is the same; their ∂R/∂w is wanted
    try:
        _, grads = model.loss_and_gradients(x, y, sample_weight=sample_weight)
    finally:
        for layer in frozen:
            layer.trainable = False
    errors = {}
    for k, w in enumerate(model.weights):
        indices = None
        if max_checks is not None and w.size > max_checks:
            indices = rng.choice(w.size, max_checks, replace=False)
        numeric = numerical_gradient(
            lambda: model.loss_and_gradients(x, y, gradients=False, sample_weight=sample_weight)[0], w, eps, indices)
        analytic = grads[k] if indices is None else grads[k].reshape(-1)[indices]
        numeric = numeric if indices is None else numeric.reshape(-1)[indices]
        errors[k] = relative_error(analytic, numeric)
    return errors

"""ESL §11.6's simulated regression data: sum of sigmoids and radial models, with their exact variances.

Y = f(X) + ε with X standard normal and Gaussian ε whose variance makes the
signal-to-noise ratio Var f(X) / Var ε equal to ``snr`` (the book: 4):

- "sigmoid": f(X) = σ(a₁ᵀX) + σ(a₂ᵀX), X ∈ R², a₁ = (3, 3), a₂ = (3, −3);
- "radial":  f(X) = Π_{m=1}^{10} φ(X_m), X ∈ R¹⁰, φ the standard normal density.

Source: Hastie, Tibshirani & Friedman, The Elements of Statistical Learning,
2nd ed., §11.6. The study itself is :mod:`netfit.experiments.esl_11_6`.
"""
import math

import numpy as np

__all__ = ["A1", "A2", "simulate", "signal_variance", "noise_variance"]

A1, A2 = np.array([3.0, 3.0]), np.array([3.0, -3.0])


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))                    # σ(z), without overflow


def signal_variance(kind):
    """Var f(X) of the model ``kind`` ("sigmoid" or "radial"), exactly (see the module notes).

    Examples
    --------
    >>> round(signal_variance("sigmoid"), 6), f"{signal_variance('radial'):.4e}"
    (0.326523, '3.2730e-11')
    """
    if kind == "sigmoid":
        t, w = np.polynomial.hermite_e.hermegauss(201)        # ∫ g(t) e^{−t²/2} dt ≈ Σ w g(t)
        w = w / math.sqrt(2 * math.pi)
        s = _sigmoid(3 * math.sqrt(2) * t)
        return float(2 * (np.dot(w, s ** 2) - np.dot(w, s) ** 2))
    if kind == "radial":
        return (2 * math.pi * math.sqrt(3)) ** -10 - (4 * math.pi) ** -10
    raise ValueError(f"esl_11_6: expected kind 'sigmoid' or 'radial', got {kind!r}.")


def noise_variance(kind, snr=4.0):
    """Var(ε) = Var f(X) / SNR: the Bayes error of the model."""
    if not snr > 0:
        raise ValueError(f"esl_11_6: expected snr > 0, got {snr!r}.")
    return signal_variance(kind) / snr


def simulate(kind, n, seed=0, snr=4.0):
    """Draw ``n`` cases of the model ``kind``; return (x, y, f) with f = E(Y | x).

    Shapes
    ------
    x : (n, 2) for "sigmoid", (n, 10) for "radial";  y, f : (n,)

    Examples
    --------
    >>> x, y, f = simulate("sigmoid", 5, seed=0)
    >>> x.shape, y.shape
    ((5, 2), (5,))
    """
    rng = np.random.default_rng(seed)
    if kind == "sigmoid":
        x = rng.standard_normal((n, 2))
        f = _sigmoid(x @ A1) + _sigmoid(x @ A2)
    elif kind == "radial":
        x = rng.standard_normal((n, 10))
        f = np.prod(np.exp(-0.5 * x ** 2) / math.sqrt(2 * math.pi), axis=1)
    else:
        raise ValueError(f"esl_11_6: expected kind 'sigmoid' or 'radial', got {kind!r}.")
    y = f + rng.standard_normal(n) * math.sqrt(noise_variance(kind, snr))
    return x, y, f

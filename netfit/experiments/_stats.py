"""Small statistics for the experiments: Student's t quantile and paired-difference intervals (NumPy only).

The t distribution's CDF for an integer number of degrees of freedom ν has a
closed form (Abramowitz & Stegun 26.7.3 and 26.7.4, finite sums over cos θ,
θ = atan(t / √ν)); the quantile is found by bisection on it, so no SciPy is needed.
"""
import math

import numpy as np

__all__ = ["t_cdf", "t_quantile", "paired_difference"]


def t_cdf(t, df):
    """P(T ≤ t) for Student's t with ``df`` (a positive integer) degrees of freedom.

    A(t | ν) = P(|T| ≤ |t|) is, with θ = atan(t / √ν) (Abramowitz & Stegun 26.7.3–4):
    ν odd:  (2/π) [θ + sin θ (cos θ + (2/3) cos³θ + … + (2·4⋯(ν−3))/(1·3⋯(ν−2)) cos^(ν−2) θ)]  (θ alone for ν = 1);
    ν even: sin θ [1 + (1/2) cos²θ + (1·3)/(2·4) cos⁴θ + … + (1·3⋯(ν−3))/(2·4⋯(ν−2)) cos^(ν−2) θ].

    Examples
    --------
    >>> round(t_cdf(2.0452296, 29), 6), t_cdf(0.0, 5)
    (0.975, 0.5)
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"t_cdf: expected df a positive integer, got {df!r}.")
    theta = math.atan(abs(t) / math.sqrt(df))
    c, s = math.cos(theta), math.sin(theta)
    if df % 2:
        term, total = c, c if df > 1 else 0.0
        for k in range(3, df - 1, 2):      # term k: (2·4⋯(k−1)) / (1·3⋯k) · cos^k θ
            term *= (k - 1) / k * c * c
            total += term
        a = 2 / math.pi * (theta + s * total)
    else:
        term, total = 1.0, 1.0
        for k in range(2, df - 1, 2):      # term k: (1·3⋯(k−1)) / (2·4⋯k) · cos^k θ
            term *= (k - 1) / k * c * c
            total += term
        a = s * total
    return 0.5 + 0.5 * a if t >= 0 else 0.5 - 0.5 * a


def t_quantile(p, df):
    """The t with P(T ≤ t) = p for Student's t with ``df`` degrees of freedom (bisection on :func:`t_cdf`).

    Examples
    --------
    >>> round(t_quantile(0.975, 29), 4), round(t_quantile(0.975, 1), 4), round(t_quantile(0.975, 3), 4)
    (2.0452, 12.7062, 3.1824)
    """
    if not 0 < p < 1:
        raise ValueError(f"t_quantile: expected p in (0, 1), got {p!r}.")
    lo, hi = -1.0, 1.0
    while t_cdf(lo, df) > p:
        lo *= 2
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return 0.5 * (lo + hi)


def paired_difference(a, b, level=0.95):
    """Mean of the paired differences d_r = b_r − a_r with its t interval.

    d̄ ± t_{(1+level)/2, n−1} · s_d / √n, s_d the sample sd of the d_r (n − 1 in the
    denominator). With one pair the interval is (nan, nan).

    Returns
    -------
    dict
        n, mean, sd, low, high (and level).

    Examples
    --------
    >>> d = paired_difference([0.80, 0.82, 0.79, 0.81], [0.81, 0.84, 0.82, 0.85])
    >>> round(d["mean"], 4), round(d["sd"], 4), round(d["low"], 4), round(d["high"], 4)
    (0.025, 0.0129, 0.0045, 0.0455)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 1:
        raise ValueError(f"paired_difference: expected two 1-D arrays of the same length ≥ 1, got shapes "
                         f"{a.shape} and {b.shape}.")
    d = b - a
    n, mean = len(d), float(d.mean())
    if n < 2:
        return {"n": n, "mean": mean, "sd": float("nan"), "low": float("nan"), "high": float("nan"), "level": level}
    sd = float(d.std(ddof=1))
    half = t_quantile((1 + level) / 2, n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "low": mean - half, "high": mean + half, "level": level}

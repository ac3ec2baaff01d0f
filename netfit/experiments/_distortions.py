"""Digit distortions for the experiments: random affine maps and elastic fields (NumPy only, seeded).

:func:`distort` moves each image by its own affine map, optionally plus an
elastic displacement field (Simard, Steinkraus & Platt, "Best Practices for
Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR 2003),
and reads it back with bilinear interpolation; :func:`smooth` is the field's
Gaussian smoothing. :mod:`netfit.experiments.lecun1989`'s modern recipe uses both.
"""
import numpy as np

__all__ = ["distort", "smooth"]


def distort(x, rng, rotation=10.0, scale=0.1, shear=0.1, shift=1.0, background=-1.0, elastic=0.0, sigma=3.0):
    """Move each image by its own random affine map (and elastic field), bilinear, ``background`` outside.

    Rotation uniform on ±``rotation`` degrees, scale on 1 ± ``scale`` (each axis), shear on
    ±``shear``, translation on ±``shift`` pixels, about the image centre. A digit's
    classic augmentation. With ``elastic`` = α > 0, every output pixel also reads from
    α·(G_σ * u) pixels further, u uniform on [−1, 1] per pixel and axis and G_σ * u its
    Gaussian smoothing (:func:`smooth`): Simard, Steinkraus & Platt's elastic distortion
    (ICDAR 2003; σ = 4, α = 34 for 28×28 MNIST), here added to the affine map's source
    coordinates so each digit is interpolated once. α = 0 draws no field (and leaves the
    generator's stream as it was).

    Shapes
    ------
    x : (n, H, W) or (n, H, W, 1)  ->  the same shape and dtype

    Examples
    --------
    >>> import numpy as np
    >>> x = -np.ones((3, 16, 16), "float32"); x[:, 6:10, 6:10] = 1
    >>> out = distort(x, np.random.default_rng(0), elastic=15.0)
    >>> out.shape, out.dtype, bool(out.min() >= -1 and out.max() <= 1)
    ((3, 16, 16), dtype('float32'), True)
    """
    x = np.asarray(x)
    n, h, w = x.shape[:3]
    angle = np.deg2rad(rng.uniform(-rotation, rotation, n))
    sy, sx = rng.uniform(1 - scale, 1 + scale, (2, n))
    k = rng.uniform(-shear, shear, n)
    ty, tx = rng.uniform(-shift, shift, (2, n))
    cos, sin = np.cos(angle), np.sin(angle)
    # Inverse map: output pixel (r, c) reads input at A·(r − centre, c − centre) + centre + t.
    a11, a12, a21, a22 = cos / sy, (-sin + k * cos) / sy, sin / sx, (cos + k * sin) / sx
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r, c = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    src_r = a11[:, None, None] * r + a12[:, None, None] * c + cy + ty[:, None, None]
    src_c = a21[:, None, None] * r + a22[:, None, None] * c + cx + tx[:, None, None]
    if elastic:                 # displacement field α·(G_σ * u), u ~ U[−1, 1] per pixel and axis
        src_r = src_r + elastic * smooth(rng.uniform(-1, 1, (n, h, w)), sigma)
        src_c = src_c + elastic * smooth(rng.uniform(-1, 1, (n, h, w)), sigma)
    out = _bilinear(x[..., 0] if x.ndim == 4 else x, src_r, src_c, background)
    return out.reshape(x.shape)


def smooth(u, sigma, truncate=4.0):
    """G_σ * u: each image convolved with a Gaussian of σ pixels, zeros outside the image.

    The separable kernel g(d) ∝ exp(−d²/2σ²) for |d| ≤ ⌊truncate·σ + ½⌋, summing to 1,
    applied along rows and columns as two matrix products; this is
    ``scipy.ndimage.gaussian_filter(u, (0, σ, σ), mode="constant")`` in NumPy alone.

    Shapes
    ------
    u : (n, H, W)  ->  (n, H, W)
    """
    radius = int(truncate * sigma + 0.5)
    d = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (d / sigma) ** 2)
    g /= g.sum()

    def band(size):             # (size, size) matrix of g(i − j), the kernel cut off at the image's edges
        offset = np.arange(size)[:, None] - np.arange(size)[None, :]
        return np.where(np.abs(offset) <= radius, g[np.clip(offset + radius, 0, 2 * radius)], 0.0)

    return band(u.shape[1]) @ u @ band(u.shape[2]).T


def _bilinear(x, src_r, src_c, background):
    """Images x (n, H, W) read at (src_r, src_c), bilinear, ``background`` beyond the edges."""
    n, h, w = x.shape
    r0, c0 = np.floor(src_r).astype(int), np.floor(src_c).astype(int)
    fr, fc = src_r - r0, src_c - c0
    padded = np.full((n, h + 2, w + 2), background, x.dtype)      # one pixel of background all round
    padded[:, 1:-1, 1:-1] = x
    rows, cols = np.clip(r0 + 1, 0, h), np.clip(c0 + 1, 0, w)     # corners (r0, c0) … (r0 + 1, c0 + 1)
    inside = (src_r > -1) & (src_r < h) & (src_c > -1) & (src_c < w)
    i = np.arange(n)[:, None, None]
    out = ((1 - fr) * (1 - fc) * padded[i, rows, cols] + (1 - fr) * fc * padded[i, rows, cols + 1]
           + fr * (1 - fc) * padded[i, rows + 1, cols] + fr * fc * padded[i, rows + 1, cols + 1])
    return np.where(inside, out, background).astype(x.dtype)

"""Images as model inputs: data-set pictures scaled for training, picture files read the same way.

``netfit train`` trains on a data set's images mapped to a fixed range
(:func:`load_data`) and stores that range in the model file; ``netfit predict``
turns each picture file into one input the same way (:func:`read_image`): grey
levels, ink bright on dark, the ink's bounding box scaled to a fixed fraction
of the frame and centred by its centre of mass (LeCun et al.'s recipe for
MNIST), then grey levels mapped to the range the model was trained on. Pillow
is imported only when a picture is read.
"""
import os
import sys

import numpy as np

from . import datasets

__all__ = ["DIGIT_BOX", "fit_shape", "load_data", "read_image", "scale_grey"]

# How a picture becomes an input, per data set: the fraction of the frame the
# ink's bounding box is scaled to (MNIST: 20 of 28 pixels, centred by mass; the
# zip-code digits fill their 16x16 frame); None resizes the whole picture.
DIGIT_BOX = {"mnist": 20 / 28, "zip": 1.0, "fashion": None}


def scale_grey(grey, scale):
    """Map grey levels 0..255 linearly to ``scale`` = [low, high], as float32.

    Examples
    --------
    >>> scale_grey(np.array([0, 255], np.uint8), [-1.0, 1.0])
    array([-1.,  1.], dtype=float32)
    """
    lo, hi = scale
    return (grey.astype("float32") * np.float32((hi - lo) / 255) + np.float32(lo)).astype("float32")


def load_data(name, limit=None, test_limit=None):
    """Return ``(x_train, y_train), (x_test, y_test), metadata`` for data set ``name``, inputs scaled.

    uint8 grey levels are mapped to [0, 1]; data that come as floats (the
    zip-code digits, in [-1, 1]) are kept. ``metadata`` records that scale, so
    that :func:`read_image` can prepare a picture the same way (``netfit predict``).
    """
    spec = datasets.get(name)
    loader = getattr(spec, "load_data", None) or spec.loader
    (x_train, y_train), (x_test, y_test) = loader()
    x_train, y_train = x_train[:limit], y_train[:limit]
    x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    if x_train.dtype == np.uint8:
        scale = [0.0, 1.0]
        x_train, x_test = scale_grey(x_train, scale), scale_grey(x_test, scale)
    else:                                              # already scaled, e.g. zip-code digits in [-1, 1]
        scale = [-1.0, 1.0] if x_train.min() < 0 else [0.0, 1.0]
    classes = int(max(y_train.max(), y_test.max())) + 1
    names = getattr(sys.modules.get(loader.__module__), "class_names", None)
    metadata = {"data": spec.name, "input_scale": scale, "digit_box": DIGIT_BOX.get(spec.name),
                "class_names": [str(c) for c in (names or range(classes))]}
    return (x_train, y_train), (x_test, y_test), metadata


def fit_shape(x, model, where="fit_shape"):
    """x reshaped to the model's per-example input shape, or a clear error."""
    want = model.layers[0].input_shape
    if x.shape[1:] == want:
        return x
    if np.prod(x.shape[1:]) == np.prod(want):
        return x.reshape((len(x),) + tuple(want))
    raise ValueError(f"{where}: the model expects inputs of shape {want}, but the data are {x.shape[1:]}; "
                     f"choose the matching --data.")


def read_image(path, shape, scale=(0.0, 1.0), digit_box=20 / 28, where="read_image"):
    """Turn a picture of a digit into one model input, the way MNIST was made.

    Grey levels (transparency over white); inverted when the border is light,
    so the ink is bright on dark; unless the picture already has the model's
    size, the ink's bounding box is scaled to ``digit_box`` of the frame and
    centred by its centre of mass (``digit_box=None``: the whole picture is
    resized); grey levels 0..255 are mapped to ``scale`` = [low, high].
    ``where`` starts the error messages (``netfit predict`` passes "predict").

    Shapes
    ------
    picture of any size  ->  (H, W) float32, for a model input shape (H, W), (H, W, 1) or (H·W,)
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("netfit predict reads pictures with Pillow: pip install 'netfit[plot]'.") from None
    side = int(np.sqrt(shape[0]))
    if len(shape) == 1 and side * side == shape[0]:
        shape = (side, side)
    if len(shape) not in (2, 3) or shape[2:] not in ((), (1,)):
        raise ValueError(f"{where}: expected a model of grey images, (H, W) or (H, W, 1), got input shape {shape}.")
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file {os.fspath(path)!r}.") from None
    except OSError as exc:                             # PIL.UnidentifiedImageError and damaged files
        raise OSError(f"{where}: cannot read {os.fspath(path)!r} as a picture ({exc}).") from None
    grey = np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L"), np.float32)
    if np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])) > 127:
        grey = 255 - grey                              # dark ink on light paper -> bright on dark
    if grey.shape != shape[:2]:
        grey = _fit_ink(grey, shape[:2], digit_box, lambda a, h, w: np.asarray(
            Image.fromarray(a.astype(np.float32)).resize((w, h), Image.LANCZOS)))
    return scale_grey(np.clip(grey, 0, 255), scale)


def _fit_ink(grey, size, digit_box, resize):
    """Resize to ``size``: the ink's bounding box to ``digit_box`` of the frame, centred by mass."""
    (height, width), ink = size, grey > 0.2 * grey.max()
    if digit_box is None or not ink.any():
        return resize(grey, height, width)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    factor = digit_box * min(height / crop.shape[0], width / crop.shape[1])
    h, w = max(1, round(crop.shape[0] * factor)), max(1, round(crop.shape[1] * factor))
    small = np.clip(resize(crop, h, w), 0, 255)
    mass = small.sum() or 1.0
    cy, cx = small.sum(axis=1) @ np.arange(h) / mass, small.sum(axis=0) @ np.arange(w) / mass
    top = int(np.clip(round((height - 1) / 2 - cy), 0, height - h))
    left = int(np.clip(round((width - 1) / 2 - cx), 0, width - w))
    out = np.zeros((height, width), np.float32)
    out[top:top + h, left:left + w] = small
    return out

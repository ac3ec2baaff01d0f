"""Images as model inputs: data-set pictures scaled for training, picture files read the same way.

``netfit train`` trains on a data set's images mapped to a fixed range
(:func:`load_data`) and stores that range in the model file; ``netfit predict``
turns each picture file into one input the same way (:func:`read_image`): grey
levels, ink bright on dark, the ink's bounding box scaled to a fixed fraction
of the frame and centred by its centre of mass (LeCun et al.'s recipe for
MNIST), then grey levels mapped to the range the model was trained on. Pillow
is imported only when a picture is read. A picture is measured from its header
before a pixel is decoded: one of more than :data:`MAX_PIXELS` (a small PNG can
declare 100,000 x 100,000) is refused with a ValueError.
"""
import os
import re
import warnings

import numpy as np

from . import datasets

__all__ = ["CENTRING", "DIGIT_BOX", "MAX_PIXELS", "fit_shape", "load_data", "prepare_grey", "read_image",
           "scale_grey"]

# How a picture becomes an input, per data set: the fraction of the frame the
# ink's bounding box is scaled to (MNIST: 20 of 28 pixels, centred by mass; the
# zip-code digits fill their 16x16 frame); None resizes the whole picture.
DIGIT_BOX = {"mnist": 20 / 28, "zip": 1.0, "fashion": None}
# Where the digit goes in the frame: MNIST centred its digits by mass, the ZIP digits by their box.
CENTRING = {"mnist": "mass", "zip": "box", "fashion": None}
#: The most pixels (width x height) :func:`read_image` decodes: a 24-megapixel photo of a digit passes;
#: decoding takes about 13 bytes a pixel (RGBA, its composite over white, grey levels as float32), so ~440 MB here.
MAX_PIXELS = 1 << 25


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
    names = spec.class_names                           # e.g. Fashion-MNIST's "T-shirt/top", ...; digits: none
    metadata = {"data": spec.name, "input_scale": scale, "digit_box": DIGIT_BOX.get(spec.name),
                "centring": CENTRING.get(spec.name),
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


def read_image(path, shape, scale=(0.0, 1.0), digit_box=20 / 28, where="read_image", centring="mass",
               max_pixels=MAX_PIXELS):
    """Turn a picture of a digit into one model input, the way MNIST was made.

    Grey levels (transparency over a background that contrasts with the strokes,
    :func:`_composed_grey`: white strokes on a transparent canvas are ink, as are
    black ones); inverted when the border is light,
    so the ink is bright on dark; then :func:`prepare_grey` (background removed,
    ink box scaled to ``digit_box`` of the frame, centred by ``centring``), whatever
    the picture's size, also when it already has the model's; grey levels 0..255
    mapped to ``scale`` = [low, high]. ``where`` starts the error messages
    (``netfit predict`` passes "predict").

    Shapes
    ------
    picture of any size  ->  (H, W) float32, for a model input shape (H, W), (H, W, 1) or (H·W,)

    Raises
    ------
    FileNotFoundError, OSError
        The file is missing or not a picture.
    ValueError
        The picture is blank ("no ink"), or the model does not take grey images; or it declares
        more than ``max_pixels`` (or Pillow's ``Image.MAX_IMAGE_PIXELS``, if lower) pixels: a
        decompression bomb is refused from its header, before any pixel is decoded.
    """
    Image = _pillow()
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels <= 0:
        raise ValueError(f"{where}: expected max_pixels a positive integer, got {max_pixels!r}.")
    side = int(np.sqrt(shape[0]))
    if len(shape) == 1 and side * side == shape[0]:
        shape = (side, side)
    if len(shape) not in (2, 3) or shape[2:] not in ((), (1,)):
        raise ValueError(f"{where}: expected a model of grey images, (H, W) or (H, W, 1), got input shape {shape}.")
    try:
        with _open_within(Image, path, max_pixels, where) as image:
            rgba = image.convert("RGBA")               # the pixels are decoded here, after the size was checked
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file {os.fspath(path)!r}.") from None
    except OSError as exc:                             # PIL.UnidentifiedImageError and damaged files
        raise OSError(f"{where}: cannot read {os.fspath(path)!r} as a picture ({exc}).") from None
    grey = _composed_grey(rgba, Image)
    if np.median(_border(grey)) > 127:
        grey = 255 - grey                              # dark ink on light paper -> bright on dark
    grey = prepare_grey(grey, shape[:2], digit_box, centring, where=f"{where}: {os.fspath(path)!r}")
    return scale_grey(np.clip(grey, 0, 255), scale)


def _composed_grey(rgba, Image):
    """Grey levels of an RGBA picture: its transparency over white, or over black when only that shows ink.

    Drawing apps and canvases save strokes on a transparent background: the ink is
    then in the alpha channel, and the strokes may be white as well as black. Over
    white, white strokes vanish ("no ink"); so when the picture over white shows no
    ink but its alpha channel does, it goes over black, and when the colour channels
    show none either way (ink only in alpha), alpha itself is the ink. Opaque
    pictures, and any whose strokes show over white, are read as before.

    Examples
    --------
    >>> from PIL import Image
    >>> rgba = np.zeros((4, 4, 4), np.uint8); rgba[1:3, 1:3] = 255        # white strokes, transparent elsewhere
    >>> grey = _composed_grey(Image.fromarray(rgba), Image)
    >>> float(grey[1, 1]), float(grey[0, 0])
    (255.0, 0.0)
    """
    def over(colour):
        return np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, colour), rgba).convert("L"), np.float32)
    grey = over("white")
    alpha = np.asarray(rgba, np.float32)[..., 3]
    if alpha.max() - alpha.min() < MIN_CONTRAST or _ink_contrast(grey) >= MIN_CONTRAST:
        return grey
    for candidate in (over("black"), alpha):           # light strokes; then ink in alpha alone
        if _ink_contrast(candidate) >= MIN_CONTRAST:
            return candidate
    return grey


def _ink_contrast(grey):
    """How far the brightest ink stands from the background, once the ink is bright on dark (as read_image makes it)."""
    if np.median(_border(grey)) > 127:
        grey = 255 - grey
    return float(grey.max() - np.median(_border(grey)))


#: Pixels brighter than this fraction of the brightest one (after the background is removed) are ink.
INK = 0.2
#: A picture whose brightest pixel is within this many grey levels of its background has no ink.
MIN_CONTRAST = 32


def prepare_grey(grey, size, digit_box=20 / 28, centring="mass", where="prepare_grey"):
    """Bright-on-dark grey levels of any size -> (H, W) float32 in 0..255, as MNIST or the ZIP digits were made.

    1. The background (the border's median) is subtracted and the ink stretched to 0..255.
    2. The ink's bounding box (pixels above ``INK`` of the brightest) is scaled, keeping its
       aspect ratio, so its longer side is ``digit_box`` of the frame (MNIST: 20 of 28 pixels;
       ZIP: 16 of 16). A box already that size is not resampled, so MNIST's own digits pass
       unchanged.
    3. It is placed by ``centring``: "mass", the centre of mass at the frame's middle (H/2, W/2 in
       pixel indices, where MNIST's digits have it: 14.0 ± 0.3 measured over 2,000 of them), or
       "box", the bounding box in the middle (the ZIP digits: 7.50 ± 0.04). ``digit_box=None``
       resizes the whole picture instead (Fashion-MNIST).

    The result is the same whatever the picture's size and the digit's offset in it.

    Raises
    ------
    ValueError
        No ink: the brightest pixel is within ``MIN_CONTRAST`` grey levels of the background.

    Examples
    --------
    >>> grey = np.zeros((50, 40), np.float32); grey[5:25, 3:13] = 255       # a bar, off-centre
    >>> out = prepare_grey(grey, (28, 28))
    >>> out.shape, int((out > 127).sum(axis=0).max()), [float(v) for v in np.argwhere(out > 127).mean(axis=0)]
    ((28, 28), 20, [14.5, 14.5])
    """
    if centring not in ("mass", "box"):
        raise ValueError(f"{where}: expected centring 'mass' or 'box', got {centring!r}.")
    height, width = size
    grey = np.asarray(grey, np.float32)
    background = float(np.median(_border(grey)))
    top_level = float(grey.max())
    if top_level - background < MIN_CONTRAST:
        raise ValueError(f"{where}: no ink: the picture is blank (its brightest pixel is {top_level - background:.0f} "
                         f"grey levels from the background, under {MIN_CONTRAST}); draw the digit darker or "
                         f"thicker, or crop the picture to the digit.")
    grey = np.clip(grey - background, 0, None) * (255 / (top_level - background))
    Image = _pillow()

    def resize(a, h, w):
        return np.asarray(Image.fromarray(a.astype(np.float32)).resize((w, h), Image.LANCZOS))
    if digit_box is None:
        return grey if grey.shape == (height, width) else np.clip(resize(grey, height, width), 0, 255)
    ink = grey > INK * 255
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    core = (rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])          # the ink's box sets the scale
    factor = digit_box * min(height, width) / max(core)
    # ... and the crop keeps a margin of 2 output pixels around it, for the faint edges of the strokes.
    pad = int(np.ceil(2 / factor))
    r0, c0 = max(rows[0] - pad, 0), max(cols[0] - pad, 0)
    crop = grey[r0:rows[-1] + 1 + pad, c0:cols[-1] + 1 + pad]
    h, w = max(1, round(crop.shape[0] * factor)), max(1, round(crop.shape[1] * factor))
    small = crop if (h, w) == crop.shape else np.clip(resize(crop, h, w), 0, 255)
    inner = (_round((rows[0] - r0) * factor), _round((cols[0] - c0) * factor))   # the ink's box inside small
    box = (_round(core[0] * factor), _round(core[1] * factor))
    if centring == "mass":
        mass = small.sum()
        cy, cx = small.sum(axis=1) @ np.arange(h) / mass, small.sum(axis=0) @ np.arange(w) / mass
        top, left = _round(height / 2 - cy), _round(width / 2 - cx)
    else:                                               # the ink's box in the middle of the frame
        top, left = _round((height - box[0]) / 2) - inner[0], _round((width - box[1]) / 2) - inner[1]
    # The ink's box stays inside the frame (the margin around it may be cut).
    top = int(np.clip(top, -inner[0], max(height - box[0], 0) - inner[0]))
    left = int(np.clip(left, -inner[1], max(width - box[1], 0) - inner[1]))
    return _paste(small, top, left, height, width)


def _paste(small, top, left, height, width):
    """A (height, width) frame with ``small`` placed at (top, left); what falls outside is cut."""
    h, w = small.shape
    out = np.zeros((height, width), np.float32)
    rs, cs = slice(max(top, 0), min(top + h, height)), slice(max(left, 0), min(left + w, width))
    if rs.start < rs.stop and cs.start < cs.stop:
        out[rs, cs] = small[rs.start - top:rs.stop - top, cs.start - left:cs.stop - left]
    return out


def _round(v):
    """Halves up, the same way on both axes (Python's round sends 4.5 to 4 and 9.5 to 10)."""
    return int(np.floor(v + 0.5))


def _border(grey):
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])


def _open_within(Image, path, max_pixels, where):
    """``Image.open(path)`` (its header read, no pixel decoded), refused with a ValueError past the cap.

    The cap is ``max_pixels``, or Pillow's ``Image.MAX_IMAGE_PIXELS`` where that is lower, so every
    picture Pillow warns about (DecompressionBombWarning, silenced here: the refusal says it) or refuses
    (DecompressionBombError, above twice its limit, raised inside open) is refused as a ValueError.
    """
    limit = Image.MAX_IMAGE_PIXELS
    cap = max_pixels if limit is None else min(max_pixels, limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:        # Pillow's text: "Image size (N pixels) exceeds limit ..."
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(declared.group(1)):,} pixels" if declared else f"more than {2 * limit:,} pixels"
        raise _too_big(path, size, cap, where) from None
    width, height = image.size
    if width * height > cap:
        image.close()
        raise _too_big(path, f"{width:,} x {height:,} = {width * height:,} pixels", cap, where)
    return image


def _too_big(path, size, cap, where):
    return ValueError(f"{where}: expected a picture of at most {cap:,} pixels, got {os.fspath(path)!r} declaring "
                      f"{size} (a decompression bomb, or a photo too large); refusing it before decoding. "
                      f"Scale it down: a digit needs no more than a few hundred pixels a side.")


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("netfit reads pictures with Pillow: pip install 'netfit[plot]'.") from None
    return Image

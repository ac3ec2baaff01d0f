"""Named architectures: the lecture's MNIST MLP, ESL's Net-1 … Net-5, LeCun 1989, two small CNNs, a small ResNet.

Every function returns an *uncompiled* model: a :class:`~netfit.Sequential`, or for
:func:`zip_resnet` a graph (:class:`~netfit.Model`: its residual blocks add their input
to their output); ``get(name)`` looks one up by name (the table behind ``netfit train --model``).

ESL's nets (Hastie, Tibshirani & Friedman, *The Elements of Statistical
Learning*, §11.7, Table 11.1; after Le Cun 1989) read 16×16 zip-code digits.
They differ only in how the hidden units are wired:

======  ====================================================  =======  =====
net     hidden layers                                         weights  links
======  ====================================================  =======  =====
Net-1   none (the inputs feed the 10 outputs directly)           2570   2570
Net-2   12 units, fully connected                                3214   3214
Net-3   8×8 units on 3×3 patches, 4×4 units on 5×5 patches       1226   1226
        of the 8×8 layer (locally connected, no sharing)
Net-4   two 8×8 shared-weight maps, then 4×4 locally             1132   2266
        connected on both maps
Net-5   two 8×8 shared-weight maps, then four 4×4                1060   5194
        shared-weight maps on both
======  ====================================================  =======  =====

"Links" count a shared weight once for every unit that uses it (see
:meth:`netfit.Sequential.count_links`). Receptive fields sit two pixels apart
("same" padding, stride 2: 16 → 8 → 4), and every hidden unit keeps its own
bias even where the kernel is shared (``Conv2D(bias="per_unit")``), which is
what makes the book's counts come out.
"""
from .layers import Activation, Add, Conv2D, Dense, Dropout, Flatten, LocallyConnected2D, MaxPooling2D
from .layers.input import Input
from .model import Model
from .sequential import Sequential
from .utils import check_positive_int

__all__ = ["lecture_mlp", "esl_net", "lecun1989", "mnist_cnn", "zip_cnn", "zip_resnet", "get", "names"]

ESL_INPUT_SHAPE = (16, 16)

#: LeCun et al. 1989's H2 wiring, (H1 maps, H2 maps): each H2 map reads 8 of H1's 12 maps.
#: The paper does not give its scheme; this is the block pattern of Karpathy's 2022
#: reproduction (github.com/karpathy/lecun1989-repro): H2 maps 0–3 read H1 maps 0–7,
#: maps 4–7 read H1 maps 4–11, maps 8–11 read H1 maps 0–3 and 8–11.
LECUN1989_H2_TABLE = tuple(tuple(bool(c in group) for group in
                                 [range(0, 8)] * 4 + [range(4, 12)] * 4 + [(0, 1, 2, 3, 8, 9, 10, 11)] * 4)
                           for c in range(12))


def lecture_mlp(input_shape=(28, 28), hidden=128, classes=10, seed=None):
    """The lecture's Keras model: Flatten → Dense(128, relu) → Dense(10, softmax).

    101,770 weights for 28×28 inputs: 784·128 + 128 = 100,480 and 128·10 + 10 = 1,290.

    Examples
    --------
    >>> lecture_mlp().count_params()
    101770
    """
    return Sequential([Flatten(input_shape=input_shape),
                       Dense(hidden, activation="relu"),
                       Dense(classes, activation="softmax")], name="lecture_mlp", seed=seed)


def esl_net(k, activation="sigmoid", output_activation="sigmoid", seed=None, *,
            initializer="esl_uniform", bias_initializer=None, input_shape=ESL_INPUT_SHAPE, classes=10):
    """ESL Table 11.1's Net-k (k = 1 … 5) for 16×16 digits: uncompiled, as in the book.

    The book's nets have sigmoid hidden and output units and are fit by sum of
    squares; its starting weights are uniform on [−0.7, 0.7] (``"esl_uniform"``),
    used here for kernels *and* biases unless you pass other initializers.

    Parameters
    ----------
    k : int
        1: no hidden layer; 2: 12 hidden units; 3: two locally connected layers;
        4: shared first layer (two 8×8 maps); 5: shared first and second layers
        (four 4×4 maps on top).
    activation : str
        Hidden units' σ.
    output_activation : str
        The 10 outputs' σ; use "softmax" with a cross-entropy loss.
    seed : int, optional
        Seed of the starting weights (and of the shuffles in ``fit``).
    initializer, bias_initializer : str or Initializer
        Kernels' starting values, and the biases' (``None``: the same as the kernels').
    input_shape : tuple
        (16, 16) or (16, 16, 1); Net-1 and Net-2 accept any shape (they flatten it).
    classes : int
        Output units.

    Shapes
    ------
    x : (n, 16, 16) or (n, 16, 16, 1)  ->  f(x) : (n, 10)

    Examples
    --------
    >>> [esl_net(k).count_params() for k in range(1, 6)]
    [2570, 3214, 1226, 1132, 1060]
    >>> [esl_net(k).count_links() for k in range(1, 6)]
    [2570, 3214, 1226, 2266, 5194]
    """
    if isinstance(k, bool) or k not in (1, 2, 3, 4, 5):
        raise ValueError(f"esl_net: expected k in 1..5 (ESL Table 11.1's Net-1 … Net-5), got {k!r}.")
    init = {"kernel_initializer": initializer,
            "bias_initializer": initializer if bias_initializer is None else bias_initializer}
    hidden = {"activation": activation, **init}
    local = {"strides": 2, "padding": "same", **hidden}
    if k == 1:
        body = [Flatten(input_shape=input_shape)]
    elif k == 2:
        body = [Flatten(input_shape=input_shape), Dense(12, **hidden)]
    else:
        if k == 3:      # 8×8 units, each on its own 3×3 patch, two pixels apart: 64·(9 + 1) = 640 weights
            first = LocallyConnected2D(1, 3, input_shape=input_shape, **local)
        else:           # two 8×8 maps, one shared 3×3 kernel each, a bias per unit: 2·9 + 128 = 146
            first = Conv2D(2, 3, bias="per_unit", input_shape=input_shape, **local)
        if k == 5:      # four 4×4 maps, one shared 5×5×2 kernel each, a bias per unit: 4·50 + 64 = 264
            second = Conv2D(4, 5, bias="per_unit", **local)
        else:           # 4×4 units on 5×5 patches (of both maps for Net-4): 16·(25·c + 1)
            second = LocallyConnected2D(1, 5, **local)
        body = [first, second, Flatten()]
    return Sequential(body + [Dense(classes, activation=output_activation, **init)],
                      name=f"esl_net{k}", seed=seed)


def lecun1989(seed=None, *, activation="scaled_tanh", output_activation=None,
              initializer="lecun1989_uniform", input_shape=ESL_INPUT_SHAPE, classes=10, dropout=0.0, width=1):
    """LeCun et al. 1989's zip-code net: two shared-weight layers with per-unit biases, 30 units, 10 outputs.

    "Backpropagation Applied to Handwritten Zip Code Recognition", Neural
    Computation 1(4), 1989:

    - H1: 12 maps of 8×8 units, 5×5 kernels at stride 2 over the 16×16 digit,
      padded with −1 (the background); one kernel per map, one bias per unit;
    - H2: 12 maps of 4×4 units, 5×5 kernels at stride 2 over H1 (also padded
      with −1), each map reading 8 of H1's 12 maps (:data:`LECUN1989_H2_TABLE`),
      one bias per unit;
    - H3: 30 units fully connected to H2; then 10 fully connected outputs.

    9,760 free parameters and 64,660 connections, the paper's totals
    (``summary(links=True)``). "Same" padding puts the odd padded row and column
    at the bottom/right (16 → 8 → 4); Karpathy's reproduction puts it top/left.

    Parameters
    ----------
    seed : int, optional
    activation : str
        Hidden units' σ; the paper's scaled tanh 1.7159·tanh(2z/3) by default.
    output_activation : str, optional
        The outputs' σ; ``activation`` when omitted (the paper), "softmax" for cross-entropy.
    initializer : str or Initializer
        Kernels' starting values; the paper's uniform ±2.4/F (F the unit's fan-in)
        by default. Biases start at 0 (the paper does not say).
    input_shape : tuple
        (16, 16) or (16, 16, 1).
    classes : int
    dropout : float
        A Dropout layer of this rate before H3 (0: none, the paper).
    width : int
        Widen the net k times within its family (1: the paper's net): 12k maps in H1
        and in H2, 30k units in H3, the same 5×5 stride-2 kernels and per-unit biases;
        H2's table becomes ``kron(table, ones((k, k)))`` (each H2 map reads 8k of H1's
        12k maps, the paper's pattern in blocks of k). Weights: 1,068k (H1) +
        2,400k² + 192k (H2) + 5,760k² + 30k (H3) + 300k + 10 (outputs); for k = 1, 2, 3:
        9,760, 35,830, 78,220.

    Raises
    ------
    ValueError
        If ``width`` is not a positive integer.

    Shapes
    ------
    x : (n, 16, 16) or (n, 16, 16, 1)  ->  f(x) : (n, classes)

    Examples
    --------
    >>> model = lecun1989(seed=0)
    >>> model.count_params(), model.count_links()
    (9760, 64660)
    >>> lecun1989(width=2).count_params()
    35830
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"lecun1989: expected width a positive integer (1: the paper's net), got {width!r}.")
    init = {"kernel_initializer": initializer, "bias_initializer": "zeros"}
    conv = {"strides": 2, "padding": "same", "bias": "per_unit", "pad_value": -1.0, "activation": activation,
            **init}
    table = LECUN1989_H2_TABLE if width == 1 else tuple(
        tuple(bool(LECUN1989_H2_TABLE[c // width][f // width]) for f in range(12 * width)) for c in range(12 * width))
    body = [Conv2D(12 * width, 5, input_shape=input_shape, name="h1", **conv),
            Conv2D(12 * width, 5, connections=table, name="h2", **conv),
            Flatten(name="flatten")]
    if dropout:
        body.append(Dropout(dropout, name="dropout"))
    return Sequential(body + [Dense(30 * width, activation=activation, name="h3", **init),
                              Dense(classes, activation=output_activation or activation, name="output", **init)],
                      name="lecun1989", seed=seed)


def mnist_cnn(input_shape=(28, 28), classes=10, seed=None):
    """Keras's "simple MNIST convnet": two conv + max-pool stages, dropout, softmax.

    Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Conv2D(64, 3×3, relu) →
    MaxPooling2D(2) → Flatten → Dropout(0.5) → Dense(classes, softmax):
    34,826 weights for 28×28 inputs. A (28, 28) input is read as one channel,
    so no Reshape layer is needed. Compile it with Adam and (sparse) categorical
    cross-entropy; the Keras example trains 15 epochs at batch size 128 and
    reaches about 99 % test accuracy.

    Examples
    --------
    >>> model = mnist_cnn()
    >>> model.count_params(), model.output_shape
    (34826, (None, 10))
    """
    return Sequential([Conv2D(32, 3, activation="relu", input_shape=input_shape),
                       MaxPooling2D(2),
                       Conv2D(64, 3, activation="relu"),
                       MaxPooling2D(2),
                       Flatten(),
                       Dropout(0.5),
                       Dense(classes, activation="softmax")], name="mnist_cnn", seed=seed)


def zip_cnn(input_shape=ESL_INPUT_SHAPE, classes=10, seed=None):
    """A small VGG-style CNN for 16×16 digits (ESL's zip codes): two 'same'-padded 3×3 stages.

    Conv2D(32, 3×3, same, relu) ×2 → MaxPooling2D(2) → Conv2D(64, 3×3, same, relu) ×2 →
    MaxPooling2D(2) → Flatten → Dropout(0.25) → Dense(128, relu) → Dropout(0.5) →
    Dense(classes, softmax): 197,482 weights for 16×16 inputs. 'Same' padding keeps
    the maps at 16×16 and 8×8 before each pooling, so the top stage still sees 4×4
    maps (:func:`mnist_cnn`'s 'valid' convolutions shrink 16×16 digits to 2×2).
    Compile it with Adam and (sparse) categorical cross-entropy. Trained by
    ``netfit esl --full --nets zipcnn --shift --epochs 25 --batch-size 64`` (Adam
    from 10⁻³ decaying ×0.9 per epoch, weight decay 10⁻⁴, digits moved ±1 pixel;
    see :mod:`netfit.experiments.esl`) it reaches 97.7 % on zip.test (3 seeds).

    Examples
    --------
    >>> model = zip_cnn()
    >>> model.count_params(), model.output_shape
    (197482, (None, 10))
    """
    same = {"padding": "same", "activation": "relu"}
    return Sequential([Conv2D(32, 3, input_shape=input_shape, **same),
                       Conv2D(32, 3, **same),
                       MaxPooling2D(2),
                       Conv2D(64, 3, **same),
                       Conv2D(64, 3, **same),
                       MaxPooling2D(2),
                       Flatten(),
                       Dropout(0.25),
                       Dense(128, activation="relu"),
                       Dropout(0.5),
                       Dense(classes, activation="softmax")], name="zip_cnn", seed=seed)


def zip_resnet(input_shape=ESL_INPUT_SHAPE, classes=10, seed=None, *, filters=32, blocks=1, dropout=0.0):
    """A small residual CNN for 16×16 digits: two stages of residual blocks, a graph (:class:`~netfit.Model`).

    stem      Conv2D(f, 3×3, same, relu)                                 16×16×f
    stage 1   ``blocks`` × residual block(f), then MaxPooling2D(2)        8×8×f
    widen     Conv2D(2f, 3×3, same, relu)                                 8×8×2f
    stage 2   ``blocks`` × residual block(2f), then MaxPooling2D(2)       4×4×2f
    head      Flatten → Dropout(``dropout``, if > 0) → Dense(classes, softmax)

    A residual block computes relu(h + Conv2D(Conv2D(h) with relu)): its input h is
    added to what its two 3×3 'same' convolutions make of it (He et al. 2016's basic
    block, without batch normalization), so back-propagation sums δ over the skip and
    the convolutions (:mod:`netfit.graph`). 121,418 weights with the defaults (f = 32,
    one block per stage): 320 (stem) + 18,496 (block) + 18,496 (widen) + 73,856 (block)
    + 10,250 (dense). The defaults are the net of the recipe chosen on a validation split
    of zip.train (``netfit zip-resnet --search``, :mod:`netfit.experiments.zip_resnet`),
    which trains it with Adam (γ = 4·10⁻³, cosine decay, weight decay 10⁻⁴), batches
    of 64, 20 passes, each digit moved ±1 pixel each pass.

    Parameters
    ----------
    input_shape : tuple
        (16, 16) or (16, 16, 1); any image whose sides divide by 4.
    classes : int
    seed : int, optional
    filters : int
        f, the first stage's channels (the second stage has 2f).
    blocks : int
        Residual blocks per stage.
    dropout : float
        Rate of a Dropout before the output layer (0: none).

    Raises
    ------
    TypeError, ValueError
        If ``filters`` or ``blocks`` is not a positive integer.

    Shapes
    ------
    x : (n, 16, 16) or (n, 16, 16, 1)  ->  f(x) : (n, classes)

    Examples
    --------
    >>> model = zip_resnet(seed=0)
    >>> model.count_params(), model.output_shape
    (121418, (None, 10))
    >>> zip_resnet(filters=8, blocks=2).count_params()
    15434
    """
    filters = check_positive_int(filters, "zip_resnet", "filters")
    blocks = check_positive_int(blocks, "zip_resnet", "blocks")
    same = {"padding": "same"}
    inputs = Input(shape=input_shape, name="digits")
    h = Conv2D(filters, 3, activation="relu", name="stem", **same)(inputs)
    for stage, width in ((1, filters), (2, 2 * filters)):
        if stage == 2:
            h = Conv2D(width, 3, activation="relu", name="widen", **same)(h)
        for b in range(1, blocks + 1):
            at = f"{stage}{'abcdefghij'[b - 1] if b <= 10 else b}"
            r = Conv2D(width, 3, activation="relu", name=f"res{at}_conv1", **same)(h)
            r = Conv2D(width, 3, name=f"res{at}_conv2", **same)(r)
            h = Activation("relu", name=f"res{at}_relu")(Add(name=f"res{at}_add")([h, r]))
        h = MaxPooling2D(2, name=f"pool{stage}")(h)
    h = Flatten(name="flatten")(h)
    if dropout:
        h = Dropout(dropout, name="dropout")(h)
    return Model(inputs, Dense(classes, activation="softmax", name="output")(h), name="zip_resnet", seed=seed)


def _esl(k):
    def build(input_shape=None, classes=10, seed=None, **options):
        return esl_net(k, seed=seed, input_shape=input_shape or ESL_INPUT_SHAPE, classes=classes, **options)
    build.__doc__ = f"ESL Net-{k} (see :func:`esl_net`)."
    return build


def _default_shape(fn, default):
    def build(input_shape=None, classes=10, seed=None, **options):
        return fn(input_shape=input_shape or default, classes=classes, seed=seed, **options)
    build.__doc__ = fn.__doc__.splitlines()[0]
    return build


_TABLE = {
    "mlp": _default_shape(lecture_mlp, (28, 28)),
    "cnn": _default_shape(mnist_cnn, (28, 28)),
    **{f"net{k}": _esl(k) for k in range(1, 6)},
    "zipcnn": _default_shape(zip_cnn, ESL_INPUT_SHAPE),
    "lecun1989": _default_shape(lecun1989, ESL_INPUT_SHAPE),
    "zipresnet": _default_shape(zip_resnet, ESL_INPUT_SHAPE),
}


def names():
    """The names :func:`get` knows, in table order.

    Examples
    --------
    >>> names()
    ['mlp', 'cnn', 'net1', 'net2', 'net3', 'net4', 'net5', 'zipcnn', 'lecun1989', 'zipresnet']
    """
    return list(_TABLE)


def get(name, input_shape=None, classes=10, seed=None, **options):
    """Return a fresh, uncompiled model by name: "mlp", "cnn", "net1" … "net5", "zipcnn", "lecun1989", "zipresnet".

    ``input_shape`` defaults to the architecture's own: (28, 28) for "mlp" and
    "cnn", (16, 16) for "zipcnn", "zipresnet" and ESL's nets (Table 11.1's counts assume 16×16 images).
    ``options`` go to the builder: e.g. ``hidden=`` for "mlp", and for ESL's
    nets ``activation=``, ``initializer=`` and ``output_activation=``. The nets
    come as in the book, with sigmoid outputs for squared error; to train one
    with cross-entropy ask for ``output_activation="softmax"``.

    Examples
    --------
    >>> get("net5").count_params(), get("cnn", input_shape=(28, 28, 1)).count_params()
    (1060, 34826)
    >>> get("net5", output_activation="softmax").layers[-1].activation.name
    'softmax'
    >>> get("resnet")
    Traceback (most recent call last):
    ...
    ValueError: zoo.get: unknown model 'resnet'; supported: mlp, cnn, net1, net2, net3, net4, net5, zipcnn, lecun1989, zipresnet.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in _TABLE:
        raise ValueError(f"zoo.get: unknown model {name!r}; supported: {', '.join(_TABLE)}.")
    shape = None if input_shape is None else tuple(input_shape)
    try:
        return _TABLE[key](input_shape=shape, classes=classes, seed=seed, **options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise TypeError(f"zoo.get: model {name!r} takes no option {exc.args[0].split()[-1]}.") from None

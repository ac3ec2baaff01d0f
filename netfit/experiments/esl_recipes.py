"""How each net of ESL Table 11.1 is trained: the book's recipe, the recipes chosen on zip.train, and a builder.

A *recipe* is everything but the wiring: hidden units, loss (and with it the
output units), starting weights, optimizer, learning rate and its decay per
epoch, weight decay (ESL's λ), epochs and batch size. The architectures
themselves are fixed (:func:`netfit.zoo.esl_net`; the book's weight and link
counts).

- :data:`BOOK`: sigmoid hidden and output units, squared error, starts uniform
  on ±0.7 (ESL §11.7), here with mini-batch Adam (the book's batch gradient
  descent crawls from those starts). On USPS digits Net-1 does not train with
  it: its 10 sigmoid outputs start saturated (a weighted sum of 256 inputs in
  [−1, 1] with ±0.7 weights), and it fits only ~70 % of its own training digits.
- :data:`TUNED`: one recipe per net, chosen by the coordinate search of
  :mod:`netfit.experiments.esl_search` on validation draws taken from zip.train
  only (320 digits to train, 160 other zip.train digits to validate; zip.test was
  never looked at). The search starts from :data:`START` and changes one
  ingredient at a time in the order of :data:`AXES`, keeping a change when it
  raises the mean validation accuracy; the number of epochs is where the mean
  validation curve peaks. The command and its run time are in
  docs/reproductions.md ("How each net's recipe was chosen"), every candidate's
  score in docs/results/esl-search/search.md.
- :data:`GENERIC`: for any other zoo net (say ``"lecun1989"`` or ``"zipcnn"``) that
  has no entry in :data:`TUNED`: the net as its builder makes it, softmax +
  cross-entropy, Adam 10⁻³. Register a better one with :func:`register`.

Examples
--------
>>> from netfit.experiments import esl_recipes
>>> recipe = esl_recipes.get("net1")
>>> recipe["loss"], recipe["initializer"]
('crossentropy', 'glorot_uniform')
>>> model = esl_recipes.build("net5", recipe=esl_recipes.get("net5"), seed=0, steps_per_epoch=10)
>>> model.count_params(), model.count_links()
(1060, 5194)
"""
import numpy as np

from .. import optimizers, zoo
from ..lbfgs import LBFGS, require_scipy

__all__ = ["BOOK", "START", "TUNED", "GENERIC", "AXES", "ESL_NETS", "LOSSES", "get", "register", "resolve",
           "build", "describe", "logistic_regression", "require_scipy_for", "ZIPCNN"]

ESL_NETS = ("net1", "net2", "net3", "net4", "net5")
LOSSES = {"mse": "mean_squared_error", "crossentropy": "categorical_crossentropy"}
OUTPUTS = {"mse": "sigmoid", "crossentropy": "softmax"}
OUTPUT_OPTION = ("lecun1989",)          # zoo nets beyond ESL's whose builder takes output_activation
KEYS = ("activation", "loss", "initializer", "optimizer", "lr", "decay", "weight_decay", "epochs", "batch_size")

#: ESL §11.7's recipe (sigmoid units, squared error, ±0.7 starts) with mini-batch Adam (γ = 0.01), 100 epochs.
BOOK = {"activation": "sigmoid", "loss": "mse", "initializer": "esl_uniform", "optimizer": "adam", "lr": 0.01,
        "decay": 1.0, "weight_decay": 0.0, "epochs": 100, "batch_size": 32}

#: Where the search starts: the book's recipe.
START = dict(BOOK)

#: The search's axes, in the order they are tried (coordinate search, one ingredient at a time).
#: ``lr`` values multiply the current learning rate; choosing "sgd" (momentum 0.9) sets γ = 0.1.
AXES = (("initializer", ("esl_uniform", "glorot_uniform")),
        ("activation", ("sigmoid", "tanh", "relu")),
        ("loss", ("mse", "crossentropy")),
        ("optimizer", ("adam", "sgd")),
        ("lr", (1 / 3, 1.0, 3.0)),
        ("decay", (1.0, 0.97)),
        ("weight_decay", (0.0, 1e-4, 1e-3, 1e-2)))
OPTIMIZER_LR = {"adam": 0.01, "sgd": 0.1, "lbfgs": 1.0}     # L-BFGS's γ is unused: it searches its steps

#: The recipes chosen by ``netfit esl-search`` (4 validation draws, ≤ 150 epochs; docs/reproductions.md has every
#: candidate's score), copied here from its output. Validation accuracy of each: 88.6, 89.4, 89.7, 88.8, 88.8 %.
TUNED = {
    # Net-1 is multinomial logistic regression, a convex fit: full-batch L-BFGS to convergence (≤ 300
    # iterations), λ = 3e-3 chosen on 8 validation draws from zip.train (0.88 % above the coordinate search's
    # SGD recipe there; see docs/reproductions.md).
    "net1": {**BOOK, "initializer": "glorot_uniform", "loss": "crossentropy", "optimizer": "lbfgs", "lr": 1.0,
             "weight_decay": 3e-3, "epochs": 300, "batch_size": None},
    "net2": {**BOOK, "initializer": "glorot_uniform", "loss": "crossentropy", "weight_decay": 1e-3, "epochs": 55},
    "net3": {**BOOK, "loss": "crossentropy", "optimizer": "sgd", "lr": 0.1, "weight_decay": 1e-3, "epochs": 147},
    "net4": {**BOOK, "weight_decay": 1e-4, "epochs": 127},
    "net5": {**BOOK, "initializer": "glorot_uniform", "loss": "crossentropy", "lr": 0.01 / 3, "weight_decay": 1e-4,
             "epochs": 144},
}

#: Any other zoo net: as built, softmax + cross-entropy, Adam 10⁻³, 30 epochs.
GENERIC = {"activation": None, "loss": "crossentropy", "initializer": None, "optimizer": "adam", "lr": 1e-3,
           "decay": 1.0, "weight_decay": 0.0, "epochs": 30, "batch_size": 32}

#: zoo.zip_cnn's recipe (chosen on the last 1,000 zip.train digits held out, for the full split).
ZIPCNN = {**GENERIC, "lr": 1e-3, "decay": 0.9, "weight_decay": 1e-4}

_REGISTERED = {"zipcnn": ZIPCNN}


def register(name, recipe):
    """Give zoo net ``name`` its own recipe (missing keys from :data:`GENERIC`), e.g. for ``"lecun1989"``."""
    _REGISTERED[name] = resolve(name, {**GENERIC, **recipe})


def get(name, which="tuned"):
    """The recipe for zoo net ``name``: "tuned" (:data:`TUNED`, else a registered one, else :data:`GENERIC`) or "book".

    Raises
    ------
    ValueError
        For an unknown ``which``, or "book" for a net the book does not have.
    """
    if which == "book":
        if name not in ESL_NETS:
            raise ValueError(f"esl_recipes.get: expected one of {', '.join(ESL_NETS)} for the book's recipe, "
                             f"got {name!r}; use which='tuned'.")
        return dict(BOOK)
    if which != "tuned":
        raise ValueError(f"esl_recipes.get: expected which 'tuned' or 'book', got {which!r}.")
    return dict(TUNED.get(name) or _REGISTERED.get(name) or GENERIC)


def resolve(name, recipe, **overrides):
    """``recipe`` with the overrides that are not None applied, checked.

    Raises
    ------
    ValueError
        An unknown loss or optimizer, a non-positive lr / epochs, decay outside (0, 1].
    """
    out = {**recipe, **{k: v for k, v in overrides.items() if v is not None}}
    where = f"esl recipe for {name}"
    if out["loss"] not in LOSSES:
        raise ValueError(f"{where}: expected loss 'mse' or 'crossentropy', got {out['loss']!r}.")
    if out["optimizer"] not in OPTIMIZER_LR:
        raise ValueError(f"{where}: expected optimizer 'adam', 'sgd' or 'lbfgs', got {out['optimizer']!r}.")
    if not out["lr"] > 0 or not 0 < out["decay"] <= 1 or not out["weight_decay"] >= 0:
        raise ValueError(f"{where}: expected lr > 0, decay in (0, 1] and weight_decay ≥ 0, got "
                         f"{out['lr']!r}, {out['decay']!r} and {out['weight_decay']!r}.")
    for key in ("epochs", "batch_size"):
        value = out[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{where}: expected {key} a positive integer, got {value!r}.")
    if out["epochs"] is None:
        raise ValueError(f"{where}: expected epochs a positive integer, got None.")
    return out


def build(name, recipe, seed, steps_per_epoch, input_shape=zoo.ESL_INPUT_SHAPE):
    """A fresh zoo net ``name`` compiled as ``recipe`` says (starting weights from ``seed``).

    ESL nets get the recipe's hidden units, output units (sigmoid for "mse",
    softmax for "crossentropy") and starts ("esl_uniform": kernels and biases on
    ±0.7; otherwise that kernel initializer and zero biases); other zoo nets are
    built as their builder makes them (for ``input_shape``). The learning rate decays by ``decay``
    every ``steps_per_epoch`` steps.
    """
    if name in ESL_NETS:
        init = recipe["initializer"]
        model = zoo.esl_net(int(name[-1]), activation=recipe["activation"], output_activation=OUTPUTS[recipe["loss"]],
                            seed=seed, initializer=init, bias_initializer=None if init == "esl_uniform" else "zeros")
    else:
        # Builders with an output_activation option (lecun1989's default is the paper's scaled tanh for ±1
        # targets) get the loss's output, as the ESL nets do.
        options = {"output_activation": OUTPUTS[recipe["loss"]]} if name in OUTPUT_OPTION else {}
        model = zoo.get(name, input_shape=input_shape, seed=seed, **options)
    lr = recipe["lr"]
    if recipe["decay"] != 1.0:
        lr = optimizers.ExponentialDecay(lr, steps_per_epoch, recipe["decay"])
    if recipe["optimizer"] == "lbfgs":                # full batch to convergence; "epochs" are its iterations
        opt = LBFGS(weight_decay=recipe["weight_decay"])
    elif recipe["optimizer"] == "adam":
        opt = optimizers.Adam(lr, weight_decay=recipe["weight_decay"])
    else:
        opt = optimizers.SGD(lr, momentum=0.9, weight_decay=recipe["weight_decay"])
    model.compile(optimizer=opt, loss=LOSSES[recipe["loss"]], metrics=["categorical_accuracy"])
    return model


def require_scipy_for(recipes, where, instead):
    """Refuse recipes that train with L-BFGS where SciPy is missing, before any data is read.

    ``recipes`` maps net names to recipes; the ImportError names those nets after
    ``where`` and ends with ``instead`` (its ``{nets}`` replaced by their names).
    """
    uses = ", ".join(name for name, recipe in recipes.items() if recipe["optimizer"] == "lbfgs")
    if uses:
        require_scipy(f"{where} ({uses})", instead.format(nets=uses))


def logistic_regression(x, y, x_test, y_test):
    """scikit-learn's ``LogisticRegression()`` (its defaults: multinomial, L2 with C = 1, lbfgs) on flattened digits.

    The yardstick for Net-1, which is the same model (256 inputs, 10 softmax outputs)
    fit by back-propagation. Returns (test accuracy, train accuracy). Needs
    scikit-learn (``pip install 'netfit[sklearn]'``).
    """
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ImportError("esl: the LogisticRegression baseline needs scikit-learn; pip install 'netfit[sklearn]', "
                          "or pass baseline=False (--no-baseline).") from None
    flat, flat_test = np.reshape(x, (len(x), -1)), np.reshape(x_test, (len(x_test), -1))
    model = LogisticRegression(max_iter=5000).fit(flat, y)
    return float(model.score(flat_test, y_test)), float(model.score(flat, y))


def describe(recipe, net=None):
    """One line: ``tanh, softmax + CE, glorot_uniform starts, Adam γ=0.0033, 60 epochs of 32``.

    Examples
    --------
    >>> describe(BOOK)
    'sigmoid units, sigmoid + squared error, esl_uniform starts, Adam γ=0.01, 100 epochs, batch 32'
    """
    units = f"{recipe['activation']} units, " if recipe["activation"] and net != "net1" else ""
    loss = "softmax + cross-entropy" if recipe["loss"] == "crossentropy" else "sigmoid + squared error"
    starts = f"{recipe['initializer']} starts, " if recipe["initializer"] else ""
    if recipe["optimizer"] == "lbfgs":
        text = f"{units}{loss}, {starts}L-BFGS"
    else:
        opt = "Adam" if recipe["optimizer"] == "adam" else "SGD (momentum 0.9)"
        text = f"{units}{loss}, {starts}{opt} γ={recipe['lr']:.2g}"
    if recipe["decay"] != 1.0:
        text += f" ×{recipe['decay']:g}/epoch"
    if recipe["weight_decay"]:
        text += f", λ={recipe['weight_decay']:g}"
    if recipe["optimizer"] == "lbfgs":
        return f"{text}, ≤ {recipe['epochs']} iterations, full batch"
    batch = "full batch" if recipe["batch_size"] is None else f"batch {recipe['batch_size']}"
    return f"{text}, {recipe['epochs']} epochs, {batch}"

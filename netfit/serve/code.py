"""The playground's run as a netfit script (the page's "Export as Python")."""
from .session import DATASETS, layer_arguments

__all__ = ["python_code"]


def python_code(session):
    """``session``'s run as a netfit script: the same data, net, knobs and ``fit`` call.

    A test runs the script and gets the playground's weights.
    """
    s, model = session.settings, session.model
    layer_imports = sorted({type(layer).__name__ for layer in model.layers})
    layers = []
    for i, layer in enumerate(model.layers):
        config = layer_arguments(layer)
        if i == 0:
            config["input_shape"] = tuple(model.layers[0].input_shape)
        args = ", ".join(f"{k}={_literal(v)}" for k, v in config.items())
        layers.append(f"    {type(layer).__name__}({args}),")
    _, name, esl = DATASETS[s["data"]]
    opt = {"learning_rate": s["lr"], "weight_decay": s["weight_decay"], "momentum": s["momentum"] or None}
    opt_args = ", ".join(f"{k}={v!r}" for k, v in opt.items() if v is not None)
    opt_class = type(model.optimizer).__name__
    batch = s["batch_size"] or None
    lines = ["# Exported from `netfit serve`: the playground's data, net and knobs as a netfit script.",
             "import numpy as np", "import netfit as nf",
             f"from netfit.layers import {', '.join(layer_imports)}",
             "from netfit.images import load_data", "",
             f"(x_train, y_train), (x_test, y_test), metadata = load_data({_data_args(name, s)})"]
    if esl:
        lines += ["from netfit.experiments.esl import stratified_sample",
                  f"rng = np.random.default_rng({s['seed']})     # ESL's protocol: {esl[0]} / {esl[1]} digits",
                  f"i, j = stratified_sample(y_train, {esl[0]}, rng), stratified_sample(y_test, {esl[1]}, rng)",
                  "(x_train, y_train), (x_test, y_test) = (x_train[i], y_train[i]), (x_test[j], y_test[j])"]
    lines += ["model = nf.Sequential([", *layers, f"], name={model.name!r}, seed={s['seed']})",
              "x_train = x_train.reshape((len(x_train),) + model.layers[0].input_shape)",
              "x_test = x_test.reshape((len(x_test),) + model.layers[0].input_shape)"]
    if s["standardize"]:
        lines += ["mean, std = x_train.mean(axis=0), x_train.std(axis=0)     # standardize each pixel",
                  "std[std == 0] = 1",
                  "x_train, x_test = (x_train - mean) / std, (x_test - mean) / std"]
    if s["init_scale"] != 1.0:
        lines.append(f"model.set_weights([w * {s['init_scale']!r} for w in model.get_weights()])")
    lines += [f"model.compile(optimizer=nf.optimizers.{opt_class}({opt_args}),",
              "              loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
              "model.summary(links=True)",
              f"history = model.fit(x_train, y_train, epochs={s['epochs']}, batch_size={batch!r})",
              "loss, accuracy = model.evaluate(x_test, y_test)",
              "print(f'Test loss {loss:.4f}, test accuracy {accuracy:.2%}')", ""]
    return "\n".join(lines)


def _data_args(name, settings):
    """load_data's arguments as a reader writes them: the name, then only the limits that are set, by name.

    >>> _data_args("mnist", {"limit": None, "test_limit": 1000})
    "'mnist', test_limit=1000"
    """
    limits = [f"{key}={settings[key]!r}" for key in ("limit", "test_limit") if settings[key] is not None]
    return ", ".join([repr(name)] + limits)


def _literal(value):
    """A config value as Python source (tuples for shapes, as the layers take them)."""
    if isinstance(value, list):
        return repr(tuple(value))
    return repr(value)

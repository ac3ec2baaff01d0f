"""Architectures as small JSON files: a list of layers, each a class name and its arguments.

A spec names the per-example input shape and the layers in order; ``config``
holds the layer's constructor arguments (Keras's names)::

    {"input_shape": [28, 28],
     "layers": [{"class_name": "Flatten"},
                {"class_name": "Dense", "config": {"units": 64, "activation": "relu"}},
                {"class_name": "Dropout", "config": {"rate": 0.2}},
                {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}

Optional top-level keys: ``name``, ``seed`` and ``dtype``. The output of
:meth:`netfit.Sequential.get_config` is a valid spec, so :func:`model_to_json`
and :func:`model_from_json` round-trip. Mistakes are reported with the index
of the layer and the offending key, e.g. ``layers[1] (Dense): unknown config
key 'unit'; Dense accepts: activation, bias_initializer, ...``.
"""
import inspect
import json
import os

from . import custom_objects as custom_objects_mod
from . import layers as layers_mod
from .model import Model, graph_from_config
from .sequential import Sequential

_TOP_KEYS = ("input_shape", "layers", "name", "seed", "dtype")
_LAYER_KEYS = ("class_name", "config", "registered_name", "module", "build_config")   # the last 3: a class of your own
#: Top-level keys of Keras's model JSON (Keras 3: module, class_name, config, registered_name, build_config;
#: Keras 2: class_name, config, keras_version, backend), none of which a netfit spec has.
_KERAS_KEYS = ("class_name", "module", "keras_version", "registered_name", "build_config")


def model_from_json(source, custom_objects=None, seed=None, dtype=None):
    """Build a :class:`~netfit.Sequential` from a JSON spec: a file path, a JSON string, or a dict.

    Parameters
    ----------
    source : str, os.PathLike or dict
    seed : int, optional
        Seed of the initial weights; overrides the spec's ``seed``.
    dtype : str, optional
        Overrides the spec's ``dtype``.
    custom_objects : dict, optional
        Layer classes of your own by name (Keras's argument); also found in an active
        ``custom_object_scope`` or among registered classes (:mod:`netfit.custom_objects`).

    Returns
    -------
    Sequential
        Built (weights freshly initialized), not compiled.

    Raises
    ------
    ValueError
        Naming the file, the layer index and the key at fault. Keras's own JSON
        (``keras_model.to_json()``, a ``class_name`` and ``config`` at the top) is
        refused as such, with the way over: the same layers in netfit, then
        ``model.set_weights(keras_model.get_weights())``. Keras's ``model_from_json``
        reads Keras's JSON; netfit's reads netfit's (:meth:`netfit.Sequential.to_json`).

    Examples
    --------
    >>> spec = {"input_shape": [28, 28], "layers": [
    ...     {"class_name": "Flatten"},
    ...     {"class_name": "Dense", "config": {"units": 64, "activation": "relu"}},
    ...     {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}
    >>> model_from_json(spec, seed=0).count_params()
    50890
    >>> model_from_json({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"unit": 3}}]})
    Traceback (most recent call last):
    ...
    ValueError: model_from_json: layers[0] (Dense): unknown config key 'unit'; Dense accepts: activation, bias_initializer, input_dim, input_shape, kernel_initializer, name, trainable, units, use_bias.
    """
    if isinstance(custom_objects, int) and not isinstance(custom_objects, bool):   # the former (source, seed)
        custom_objects, seed = None, custom_objects
    spec, where = _read(source)
    with custom_objects_mod.given(custom_objects, where):
        if isinstance(spec, dict) and "input_layers" in spec:      # a graph model's config
            return graph_model_from_config(spec, where, dtype=dtype, seed=seed)
        layers, input_shape = sequential_from_config(spec, where)
    shape = input_shape
    for i, layer in enumerate(layers):
        try:
            shape = layer._build(shape)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: layers[{i}] ({type(layer).__name__}): {exc}") from None
    model = Sequential(layers, name=str(spec.get("name", "sequential")),
                       seed=seed if seed is not None else spec.get("seed"), dtype=dtype or spec.get("dtype"))
    model.build(input_shape)
    return model


def model_to_json(model, path=None):
    """Return the JSON spec of ``model``'s architecture (no weights); with ``path``, also write it there.

    Examples
    --------
    >>> from netfit import zoo
    >>> model_to_json(zoo.lecture_mlp())["layers"][1]["config"]["units"]
    128
    """
    config = model.get_config()
    spec = {"input_shape": config["input_shape"], "name": config["name"], "layers": config["layers"]}
    if path is not None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(spec, handle, indent=1)
            handle.write("\n")
    return spec


#: Keys of a graph model's spec (Model.get_config), and of each of its layers.
_GRAPH_KEYS = ("layers", "input_layers", "output_layers", "input_keys", "output_keys", "name", "seed", "dtype")
_GRAPH_LAYER_KEYS = ("class_name", "name", "config", "inbound_nodes", "registered_name", "module", "build_config")


def graph_model_from_config(spec, where="model_from_json", build=True, dtype=None, seed=None):
    """Check a graph model's spec (:meth:`netfit.Model.get_config`) and make the model from it.

    Every layer entry is checked as :func:`model_from_json` checks a Sequential's (class,
    constructor arguments); a nested model's spec recursively. ``build=False`` makes the
    graph without laying out its weights (:func:`netfit.io.load_model` checks their
    declared sizes first).
    """
    unknown = [key for key in spec if key not in _GRAPH_KEYS]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} in a graph model's spec; expected some of "
                         f"{', '.join(_GRAPH_KEYS)}.")
    spec = {**spec, **({"dtype": dtype} if dtype else {}), **({"seed": seed} if seed is not None else {})}

    def make(i, entry):
        at = f"{where}: layers[{i}]"
        for key in entry:
            if key not in _GRAPH_LAYER_KEYS:
                raise ValueError(f"{at}: unknown key {key!r}; a graph's layer has {', '.join(_GRAPH_LAYER_KEYS)}.")
        name = entry.get("class_name")
        if name in _NESTED:
            return _nested(name, entry.get("config"), f"{at} ({name})")
        if name == "InputLayer":
            return layers_mod.InputLayer.from_config(dict(entry.get("config", {})))
        return _layer(i, {k: entry[k] for k in _LAYER_KEYS if k in entry}, where, layers_mod)
    try:
        return graph_from_config(spec, where, make, build)
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{where}: {exc}") from None


#: The class names of models used as layers.
_NESTED = ("Model", "Functional", "Sequential")


def _nested(name, config, at):
    """A model used as a layer, from its config, its weights not laid out (the outer model does it)."""
    if name == "Sequential":
        layers, shape = sequential_from_config(config, at)
        model = Sequential(layers, name=str(config.get("name", "sequential")), seed=config.get("seed"),
                           dtype=config.get("dtype"))
        model._build(shape)                          # the layers' shapes only
        return model
    return graph_model_from_config(config, at, build=False)


def sequential_from_config(spec, where="model_from_json"):
    """Check a spec and return ``(layers, input_shape)``, the layers constructed but not built."""
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a JSON object with 'input_shape' and 'layers', "
                         f"got {type(spec).__name__}.")
    unknown = [key for key in spec if key not in _TOP_KEYS]
    if any(key in spec for key in _KERAS_KEYS):
        raise ValueError(f"{where}: expected the JSON of netfit's model.to_json() (or "
                         f"netfit.architecture.model_to_json), got what looks like a Keras model's JSON "
                         f"(top-level keys {', '.join(map(repr, list(spec)[:5]))}); netfit does "
                         f"not read Keras's JSON or files. Build the same layers as a netfit Sequential and "
                         f"copy the weights: model.set_weights(keras_model.get_weights()) (netfit keeps "
                         f"Keras's weight layouts).")
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(_TOP_KEYS)}.")
    entries = spec.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{where}: expected 'layers' a non-empty list of layers, got {entries!r}.")
    layers = [_layer(i, entry, where, layers_mod) for i, entry in enumerate(entries)]
    input_shape = spec.get("input_shape", layers[0].input_shape)
    if input_shape is None:
        raise ValueError(f"{where}: expected 'input_shape', e.g. [28, 28] for MNIST images, "
                         f"or an input_shape in the first layer's config.")
    if (not isinstance(input_shape, (list, tuple)) or not input_shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape)):
        raise ValueError(f"{where}: expected 'input_shape' a list of positive integers, got {input_shape!r}.")
    return layers, tuple(input_shape)


def _layer(i, entry, where, layers_mod):
    at = f"{where}: layers[{i}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{at}: expected an object like {{\"class_name\": \"Dense\", \"config\": "
                         f"{{\"units\": 10}}}}, got {entry!r}.")
    for key in entry:
        if key not in _LAYER_KEYS:
            raise ValueError(f"{at}: unknown key {key!r}; a layer has 'class_name' and 'config' "
                             f"(put constructor arguments such as {key!r} inside 'config').")
    name = entry.get("class_name")
    if not isinstance(name, str):
        raise ValueError(f"{at}: expected 'class_name', e.g. \"Dense\", got {name!r}.")
    if name in _NESTED:
        config = entry.get("config")
        if not isinstance(config, dict):
            raise ValueError(f"{at} ({name}): expected 'config' the nested model's spec, got {config!r:.80}.")
        return _nested(name, config, f"{at} ({name})")
    registered = entry.get("registered_name")
    cls = _class(name, layers_mod) if registered in (None, name) else None
    if cls is None:                                  # a class of your own: given, in a scope, or registered
        if custom_objects_mod.resolve(name, registered) is None and registered in (None, name):
            raise ValueError(f"{at}: unknown class_name {name!r}; supported: {', '.join(sorted(layers_mod._TABLE))}"
                             f"; for a layer class of your own, pass custom_objects={{{name!r}: {name}}} or decorate "
                             f"it with @keras.saving.register_keras_serializable().")
        cls = layers_mod.get(name, registered_name=registered, where=at)
    at = f"{at} ({cls.__name__})"
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"{at}: expected 'config' an object of constructor arguments, got {config!r}.")
    if layers_mod._TABLE.get(cls.__name__) is not cls:   # your own class: its from_config reads its config
        return layers_mod.from_config(cls, dict(config), at)
    accepted = _arguments(cls)
    for key in config:
        if key not in accepted:
            raise ValueError(f"{at}: unknown config key {key!r}; {cls.__name__} accepts: "
                             f"{', '.join(sorted(accepted))}.")
    missing = [key for key, required in accepted.items() if required and key not in config]
    if missing:
        raise ValueError(f"{at}: missing config key {missing[0]!r}.")
    try:
        return cls.from_config(dict(config))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{at}: {exc}") from None


def _class(name, layers_mod):
    table = layers_mod._TABLE
    if name in table:
        return table[name]
    folded = {key.lower(): cls for key, cls in table.items()}
    return folded.get(name.lower())


def _arguments(cls):
    """{argument name: required?} over the constructors of cls and its bases, as far as **kwargs reach."""
    accepted = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = list(inspect.signature(klass.__init__).parameters.values())[1:]
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in accepted:
                accepted[p.name] = p.default is p.empty
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return accepted


def _read(source):
    if not isinstance(source, (str, os.PathLike)):
        return source, "model_from_json"
    text = os.fspath(source)
    if isinstance(text, str) and text.lstrip().startswith("{"):
        where = "model_from_json"
    else:
        where = f"model_from_json({text!r})"
        try:
            with open(text, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"model_from_json: no such file {text!r}.") from None
    try:
        return json.loads(text), where
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None

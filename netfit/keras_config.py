"""Keras 3's model config (a ``.keras`` file's config.json) from netfit's config, and back.

Both libraries describe a model the same way: each layer a class name and its
constructor arguments, a graph model its layers with their calls
(``inbound_nodes``) and its ``input_layers`` and ``output_layers``. This module
translates one into the other, layer by layer, for the layers both have; it
reads and writes plain dicts and never imports Keras. A class or an option the
other library lacks is refused by name (``ValueError``), before anything is
written or built; nothing in a file is ever run: a Keras ``Lambda`` layer is
refused, and a custom or subclassed class, or a function given as an activation
(``{"class_name": "function", "config": "my_package>custom_fn"}``), is read only when
your program gives it (``custom_objects=``, a ``custom_object_scope``, the registry).

Keras's form, as ``keras.saving.save_model`` writes it (Keras 3.15,
keras/src/saving/serialization_lib.py and keras/src/models/functional.py):

- every object is ``{"module", "class_name", "config", "registered_name"}``; a
  layer's ``dtype`` is a ``DTypePolicy`` object, an initializer an object too;
- a call's inputs are ``{"args": [tensor or [tensors]], "kwargs": {...}}``, a tensor
  ``{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, call, output]}}``;
- ``input_layers``/``output_layers`` are ``[layer, call, output]`` (a dict of them for
  named inputs); there a nested functional model's calls count from 1 (its call 0 is
  its own graph), in the calls' tensors from 0.

Where each layer's weights go in the file is :mod:`netfit.keras_layout`'s.
"""
import re

from . import activations, custom_objects, initializers
from . import layers as layers_mod
from .keras_args import FIXES, own_arguments, refuse
from .keras_layout import call_inputs, is_ref, short

#: The Keras version whose format is written (metadata.json's keras_version) and tested.
KERAS_VERSION = "3.15.1"

#: Keras 3's built-in activation names (keras/src/activations/__init__.py): a Dense(activation=...) Keras can read.
KERAS_ACTIVATIONS = frozenset((
    "relu", "leaky_relu", "relu6", "softmax", "celu", "elu", "selu", "softplus", "softsign", "squareplus",
    "soft_shrink", "sparse_plus", "silu", "swish", "gelu", "glu", "tanh", "tanh_shrink", "threshold", "sigmoid",
    "sparse_sigmoid", "exponential", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink",
    "linear", "mish", "log_softmax", "log_sigmoid", "sparsemax"))
_ACTIVATION_ALIASES = {"swish": "silu"}

#: netfit's layers that only Keras 2 had, and where (Keras 3 has neither): refused by name in a .keras file.
KERAS2_ONLY = {"LocallyConnected2D": "Keras 3 removed it; Keras 2 had it",
               "RandomFourierFeatures": "Keras 3 has none; tf.keras 2 had it as keras.layers.experimental."
                                        "RandomFourierFeatures"}
#: netfit's layer classes that Keras 3 has under the same name.
SHARED_LAYERS = frozenset(name for name in layers_mod._TABLE if name not in KERAS2_ONLY)

#: Keras options netfit's constructors do not take, at the value that changes nothing (dropped when read).
_KERAS_DEFAULTS = {
    "LayerNormalization": {"rms_scaling": False},
    "Embedding": {"activity_regularizer": None, "quantization_config": None},
    "Normalization": {"mean": None, "variance": None},
}
#: netfit options Keras lacks, at the value that means Keras's behaviour (dropped when written).
_NETFIT_ONLY = {"Conv2D": {"bias": "shared", "connections": None, "pad_value": 0.0},
                "Normalization": {"epsilon": 1e-07}}
_NETFIT_ONLY_FIX = {
    "bias": "Keras's Conv2D has one bias per filter (bias='shared')",
    "connections": "Keras's Conv2D connects every input channel to every filter (groups= only for equal groups)",
    "pad_value": "Keras pads with zeros",
    "epsilon": "Keras's Normalization uses epsilon=1e-7",
}
_DTYPES = ("float32", "float64")
_MODELS = ("Sequential", "Functional", "Model")


# -- netfit -> Keras ----------------------------------------------------------------------------------------
def _obj(module, class_name, config, registered_name=None):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}


def to_keras(config, shapes):
    """Keras's whole-model object (``{"module", "class_name", "config", ...}``) for netfit's ``model.get_config()``.

    ``shapes`` gives each graph model's tensors, ``{model name: {(layer, call, output): (shape, dtype)}}``
    with the batch axis as None: Keras's config states each call's input shapes.

    Raises
    ------
    ValueError
        A layer class Keras 3 lacks, or a netfit-only option, named with the layer.
    """
    dtype = config.get("dtype") or "float32"
    if "build_config" in config and "class_name" in config:      # a keras.Model subclass (Model._file_config)
        return _custom_to_keras(config)
    if "input_layers" in config:
        body = _graph_to_keras(config, dtype, shapes)
        return {**_obj("keras.src.models.functional", "Functional", body, "Functional"),
                "build_config": {"input_shape": None}}
    body = _sequential_to_keras(config, dtype, shapes)
    return {**_obj("keras", "Sequential", body), "build_config": {"input_shape": body["build_input_shape"]}}


def _custom_to_keras(entry):
    """Keras 3's object of a class of your own: module, class_name, the class's own config, registered_name,
    build_config (serialization_lib.serialize_keras_object's form)."""
    out = _obj(entry.get("module"), entry["class_name"], entry.get("config", {}),
               entry.get("registered_name") or entry["class_name"])
    if entry.get("build_config") is not None:
        out["build_config"] = entry["build_config"]
    return out


def _policy(dtype):
    return _obj("keras", "DTypePolicy", {"name": dtype})


def _input_layer(name, shape, dtype, batch_size=None):
    return _obj("keras.layers", "InputLayer", {"batch_shape": [batch_size, *shape], "dtype": dtype, "sparse": False,
                                               "ragged": False, "name": name, "optional": False})


def _sequential_to_keras(config, dtype, shapes):
    shape = list(config["input_shape"])
    layers = [_input_layer(f"{config.get('name', 'sequential')}_input", shape, dtype)]
    for entry in config["layers"]:
        layers.append(_custom_to_keras(entry) if "registered_name" in entry else
                      _nested_to_keras(entry["class_name"], entry.get("config", {}), dtype, shapes)
                      or _layer_to_keras(entry["class_name"], entry.get("config", {}), dtype, config.get("name")))
    return {"name": config.get("name", "sequential"), "trainable": True, "dtype": _policy(dtype), "layers": layers,
            "build_input_shape": [None, *shape]}


def _graph_to_keras(config, dtype, shapes):
    kinds = {entry["name"]: entry["class_name"] for entry in config["layers"]}
    known = shapes[config.get("name")]

    def tensor(ref):
        shape, kind = known[tuple(ref)]
        return {"class_name": "__keras_tensor__", "config": {"shape": list(shape), "dtype": kind,
                                                              "keras_history": list(ref)}}

    def outer(ref):                            # input_layers/output_layers: a functional model's calls from 1
        return [ref[0], ref[1] + (kinds[ref[0]] == "Model"), ref[2]]
    layers = []
    for entry in config["layers"]:
        kind, sub = entry["class_name"], entry.get("config", {})
        if kind == "InputLayer":
            layer = _input_layer(sub["name"], sub["shape"], sub.get("dtype", dtype), sub.get("batch_size"))
        elif "registered_name" in entry:
            layer = _custom_to_keras(entry)
        else:
            layer = _nested_to_keras(kind, sub, dtype, shapes) or _layer_to_keras(kind, sub, dtype, config.get("name"))
        calls = []
        for inputs in entry["inbound_nodes"]:
            args = [tensor(r) for r in inputs]
            several = len(args) > 1 or getattr(layers_mod._TABLE.get(kind), "multiple_inputs", False)
            calls.append({"args": [args if several else args[0]], "kwargs": {}})
        layers.append({**layer, "name": entry["name"], "inbound_nodes": calls})

    def ends(refs, keys):
        refs = [outer(r) for r in refs]
        return dict(zip(keys, refs)) if keys else refs
    return {"name": config.get("name", "functional"), "trainable": True, "layers": layers,
            "input_layers": ends(config["input_layers"], config.get("input_keys")),
            "output_layers": ends(config["output_layers"], config.get("output_keys"))}


def _nested_to_keras(kind, config, dtype, shapes):
    """A nested model's Keras object, or None for a layer."""
    if kind == "Model":
        return _obj("keras.src.models.functional", "Functional", _graph_to_keras(config, dtype, shapes), "Functional")
    if kind == "Sequential":
        return _obj("keras", "Sequential", _sequential_to_keras(config, dtype, shapes))
    return None


def _layer_to_keras(kind, config, dtype, model):
    name = config.get("name")
    where = f"save: layer {name!r} ({kind})"
    if kind not in SHARED_LAYERS:
        extra = f" ({KERAS2_ONLY[kind]})" if kind in KERAS2_ONLY else ""
        raise ValueError(f"{where}: expected layers that Keras 3 has, got {kind}{extra}; a Keras file (.keras or "
                         f".weights.h5) of model {model!r} cannot hold it. Save to a .netfit file instead.")
    config = dict(config)
    for key, off in _NETFIT_ONLY.get(kind, {}).items():
        if key in config and config.pop(key) != off:
            raise ValueError(f"{where}: expected {key}={off!r}, got a netfit-only option {key}={config.get(key)!r}"
                             f"; {_NETFIT_ONLY_FIX[key]}. Save to a .netfit file instead.")
    config.pop("input_shape", None)
    out = {"name": name, "trainable": config.pop("trainable", True), "dtype": _policy(dtype)}
    for key, value in config.items():
        if key == "activation":
            value = _activation_to_keras(value, where)
        elif key.endswith("_initializer") and isinstance(value, dict):
            value = _initializer_to_keras(value, where, key)
        out[key] = value
    return _obj("keras.layers", kind, out)


def _activation_to_keras(name, where):
    if isinstance(name, dict) and name.get("class_name") == "function":
        return name                               # a function of your own, by its registered name (Keras's form)
    if name not in KERAS_ACTIVATIONS:
        raise ValueError(f"{where}: expected an activation that Keras 3 has ({', '.join(sorted(KERAS_ACTIVATIONS))})"
                         f", got {name!r}; use a layer for activations with options (ReLU, ELU, LeakyReLU), or save"
                         f" to a .netfit file.")
    return name


def _initializer_to_keras(spec, where, key):
    kind, config = spec.get("class_name"), dict(spec.get("config", {}))
    if kind == "FanInUniform":          # ±scale / fan_in^power: Keras's VarianceScaling only for power 1/2
        if config.get("power", 1.0) != 0.5:
            raise ValueError(f"{where}: expected {key} that Keras 3 has, got FanInUniform(power="
                             f"{config.get('power', 1.0)!r}) (LeCun 1989's ±2.4/F); give the layer "
                             f"kernel_initializer='glorot_uniform' to save it as a .keras file (the weights "
                             f"are kept), or save to a .netfit file.")
        kind, config = "VarianceScaling", {"scale": config["scale"] ** 2 / 3, "mode": "fan_in",
                                           "distribution": "uniform"}
    return _obj("keras.initializers", kind, config)


# -- Keras -> netfit ----------------------------------------------------------------------------------------
def from_keras(model):
    """netfit's model config (a Sequential's spec or a graph's) for Keras's whole-model object.

    Returns ``(config, dropped)``: ``dropped`` lists the initializers netfit lacks, set to
    netfit's defaults (the weights come from the file). Raises ValueError naming the layer
    and the class or option netfit lacks, a custom class or a function.
    """
    dropped = []
    dtype = _model_dtype(model)
    config = _model_from_keras(model, "config.json", dtype, dropped)
    config["dtype"] = dtype
    return config, dropped


def _is_custom(obj):
    """True for an object a file names as not Keras's own (another module, or a registered name of its own)."""
    module, registered = obj.get("module"), obj.get("registered_name")
    return module is not None and (not isinstance(module, str) or not module.split(".")[0] == "keras") or \
        registered not in (None, obj["class_name"])


def _given(obj):
    """The class of your own (given, in a custom_object_scope, registered) that a file's object names, or None."""
    registered = obj.get("registered_name")
    return custom_objects.resolve(obj["class_name"], registered if isinstance(registered, str) else None)


def _check_object(obj, where, custom=False, what="layer"):
    if not isinstance(obj, dict) or not isinstance(obj.get("class_name"), str):
        raise ValueError(f"{where}: expected a Keras object with a class_name, got {short(obj)}.")
    module, registered = obj.get("module"), obj.get("registered_name")
    if obj["class_name"] == "Lambda":
        raise ValueError(f"{where}: a Lambda layer holds Python code; netfit never runs code from a file. "
                         f"Replace it with a layer netfit has (e.g. Rescaling, Reshape, Activation).")
    if _is_custom(obj) and not (custom and _given(obj) is not None):
        if not custom:
            raise ValueError(f"{where}: expected Keras's own classes, got the custom object "
                             f"{registered or obj['class_name']!r} (module {module!r}); netfit never runs code from "
                             f"a file: only layers and models of your own are read, given by custom_objects=, a "
                             f"custom_object_scope or @keras.saving.register_keras_serializable().")
        raise custom_objects.unknown_class_error(obj["class_name"], where, what, registered
                                                 if isinstance(registered, str) else None)
    return obj["class_name"], obj.get("config") if isinstance(obj.get("config"), dict) else {}


def _model_dtype(model):
    found = set()

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(obj.get("config"), dict):
                found.add(obj["config"].get("name"))
            elif obj.get("class_name") not in ("InputLayer",):
                for value in obj.values():
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)
    walk(model)
    odd = sorted(str(d) for d in found if d not in _DTYPES)
    if odd:
        raise ValueError(f"config.json: expected layers computing in float32 or float64, got dtype policy "
                         f"{odd[0]!r}; netfit has no mixed or half precision.")
    if len(found) > 1:
        raise ValueError(f"config.json: expected one float type for all layers, got {sorted(found)}; a netfit "
                         f"model computes in one.")
    return found.pop() if found else "float32"


def _model_from_keras(obj, where, dtype, dropped):
    kind, config = _check_object(obj, where, custom=True, what="model")
    if kind not in _MODELS + ("Functional",) or _is_custom(obj):    # a keras.Model subclass of your own
        cls = _given(obj)
        if cls is None:
            raise custom_objects.unknown_class_error(kind, where, "model", obj.get("registered_name"))
        return {"class_name": kind, "registered_name": obj.get("registered_name") or kind,
                "module": obj.get("module"), "config": config, "build_config": obj.get("build_config")}
    where = f"{where}: model {config.get('name')!r}"
    if kind == "Sequential":
        return _sequential_from_keras(config, where, dtype, dropped)
    if kind in ("Functional", "Model"):
        return _graph_from_keras(config, where, dtype, dropped)
    raise ValueError(f"{where}: expected a Sequential or functional model, got class {kind!r}; a subclassed "
                     f"model's call is Python code, which netfit never runs from a file.")


def _sequential_from_keras(config, where, dtype, dropped):
    entries = list(config.get("layers") or [])
    shape = config.get("build_input_shape")
    if entries and isinstance(entries[0], dict) and entries[0].get("class_name") == "InputLayer":
        shape = _input_shape(entries.pop(0).get("config", {}), where)
    if not isinstance(shape, list) or len(shape) < 2:
        raise ValueError(f"{where}: expected a built Sequential (an Input or build_input_shape), got none; an "
                         f"unbuilt Keras model holds no weights.")
    name = config.get("name", "sequential")
    if any(isinstance(e, dict) and e.get("class_name") in _MODELS for e in entries):
        return _graph_from_keras(_as_graph(name, shape, entries), where, dtype, dropped)
    layers = [_layer_from_keras(e, f"{where}: layers[{i}]", dropped) for i, e in enumerate(entries)]
    return {"name": name, "input_shape": list(shape[1:]), "layers": layers, "dtype": dtype}


def _as_graph(name, shape, entries):
    """Keras's Sequential holding models, as the functional chain it is (netfit's Sequential holds layers only)."""
    first = f"{name}_input"
    layers = [{"module": "keras.layers", "class_name": "InputLayer", "name": first, "inbound_nodes": [],
               "config": {"batch_shape": shape, "name": first}}]
    for entry in entries:
        call = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [layers[-1]["name"], 0, 0]}}],
                "kwargs": {}}
        named = entry.get("config", {}).get("name") if isinstance(entry, dict) else None
        layers.append({**entry, "name": named, "inbound_nodes": [call]} if isinstance(entry, dict) else entry)
    last = layers[-1]                                     # a functional model's calls count from 1 here
    return {"name": name, "layers": layers, "input_layers": [[first, 0, 0]],
            "output_layers": [[last["name"], int(last.get("class_name") in ("Functional", "Model")), 0]]}


def _input_shape(config, where):
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("shape") is not None:
        shape = [None, *config["shape"]]
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) for d in shape[1:]):
        raise ValueError(f"{where}: expected an input of known shape, got {short(shape)}; netfit needs every "
                         f"axis but the batch's.")
    return shape


def _graph_from_keras(config, where, dtype, dropped):
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ValueError(f"{where}: expected 'layers' a list, got {short(entries)}.")
    kinds = {e.get("name"): e.get("class_name") for e in entries if isinstance(e, dict)}
    layers = []
    for i, entry in enumerate(entries):
        at = f"{where}: layers[{i}] ({entry.get('name')!r})" if isinstance(entry, dict) else f"{where}: layers[{i}]"
        kind, sub = _check_object(entry, at, custom=True)
        if kind == "InputLayer":
            out = {"class_name": "InputLayer", "name": entry["name"],
                   "config": {"name": entry["name"], "shape": _input_shape(sub, at)[1:]}}
        elif kind in ("Sequential", "Functional", "Model") and not _is_custom(entry):
            inner = _model_from_keras(entry, at, dtype, dropped)
            out = {"class_name": "Sequential" if kind == "Sequential" else "Model", "name": entry["name"],
                   "config": {**inner, "name": entry["name"]}}
        else:
            out = {**_layer_from_keras(entry, at, dropped), "name": entry["name"]}
            if "registered_name" not in out or "name" in out["config"]:    # your own class: its own config
                out["config"]["name"] = entry["name"]
        out["inbound_nodes"] = [call_inputs(node, at) for node in entry.get("inbound_nodes", [])]
        layers.append(out)

    def ends(refs, what):
        keys = None
        if isinstance(refs, dict):
            keys, refs = list(refs), list(refs.values())
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            refs = [refs]
        if not isinstance(refs, list) or not all(is_ref(r) for r in refs):
            raise ValueError(f"{where}: expected {what} as [layer, call, output] lists, got {short(refs)}.")
        # a nested functional model's own graph is its call 0 here: its calls in this model count from 1
        return [[r[0], r[1] - (kinds.get(r[0]) in ("Functional", "Model")), r[2]] for r in refs], keys
    inputs, input_keys = ends(config.get("input_layers"), "input_layers")
    outputs, output_keys = ends(config.get("output_layers"), "output_layers")
    out = {"name": config.get("name", "functional"), "dtype": dtype, "layers": layers, "input_layers": inputs,
           "output_layers": outputs}
    if input_keys:
        out["input_keys"] = input_keys
    if output_keys:
        out["output_keys"] = output_keys
    return out


def _layer_from_keras(entry, where, dropped):
    kind, config = _check_object(entry, where, custom=True)
    where = f"{where} ({kind})"
    if _is_custom(entry) or kind not in SHARED_LAYERS and _given(entry) is not None:
        cls = _given(entry)                                   # a layer of your own: its own config, its from_config
        if cls is None:
            raise custom_objects.unknown_class_error(kind, where, registered_name=entry.get("registered_name"))
        registered = entry.get("registered_name")
        return {"class_name": kind, "registered_name": registered if isinstance(registered, str) else kind,
                "config": dict(config)}
    if ".ops" in str(entry.get("module")):
        raise ValueError(f"{where}: expected layers, got the keras.ops call {entry.get('module')}.{kind}; netfit's "
                         f"graphs hold layers (use the layer: Add, Multiply, ReLU, Reshape, ...).")
    cls = layers_mod._TABLE.get(kind)
    if kind not in SHARED_LAYERS or cls is None:
        raise ValueError(f"{where}: expected a layer netfit has, got Keras's {kind}; netfit has "
                         f"{', '.join(sorted(SHARED_LAYERS))} (a class of your own: pass custom_objects="
                         f"{{{kind!r}: {kind}}} to load_model, or decorate it with "
                         f"@keras.saving.register_keras_serializable()).")
    own, out = set(own_arguments(cls)), {}
    defaults = _KERAS_DEFAULTS.get(kind, {})
    for key, value in config.items():
        if key == "dtype":
            continue                                          # the model's one float type (_model_dtype)
        if key == "trainable" and value is True:
            continue
        if key in defaults and key not in own:
            if value != defaults[key]:
                raise ValueError(f"{where}: Keras's option {key}={short(value)} has no netfit counterpart; "
                                 f"netfit's {kind} computes as {key}={defaults[key]!r}.")
            continue
        if key not in own:
            try:                                              # Keras's options netfit lacks: "off" or refused
                refuse(kind, {key: value}, set(cls.keras_only) | ({key} & set(FIXES)))
            except TypeError as exc:
                raise ValueError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None
            continue                                          # a Keras option at its "off" value
        if key == "activation":
            value = _activation_from_keras(value, where)
        elif key.endswith("_initializer"):
            value = _initializer_from_keras(value, where, key, dropped)
            if value is None:
                continue
        out[key] = value
    return {"class_name": kind, "config": out}


def _activation_from_keras(value, where):
    if isinstance(value, str):
        value = _ACTIVATION_ALIASES.get(value, value)
        try:
            activations.get(value)
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"{where}: expected an activation netfit has, got Keras's {value!r}.") from None
        return value
    if isinstance(value, dict) and value.get("class_name") == "function" and isinstance(value.get("config"), str):
        try:                                      # a function of your own: given, in scope or registered
            activations.get(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None
        return value
    raise ValueError(f"{where}: expected an activation by name, got {short(value)}; a function in a file is "
                     f"code, which netfit never runs.")


def _initializer_from_keras(value, where, key, dropped):
    """netfit's {"class_name", "config"} for Keras's initializer, or None (netfit's default) where netfit lacks it."""
    if isinstance(value, str):
        value = {"class_name": value, "config": {}}
    kind, config = _check_object(value, f"{where}: {key}")
    config = {k: v for k, v in config.items() if k not in ("seed", "input_axes", "output_axes") or v is not None}
    if kind in initializers._CLASSES:
        try:
            initializers.get({"class_name": kind, "config": config})
            return {"class_name": kind, "config": config}
        except (ValueError, TypeError):
            pass
    dropped.append(f"{where.split(': ')[-1]} {key}={kind}")
    return None



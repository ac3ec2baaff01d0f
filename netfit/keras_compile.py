"""Keras 3's compile config (optimizer, loss, metrics in a ``.keras`` file) from netfit's, and back.

Carried where both libraries compute the same thing: the optimizers both have
(SGD, Adam, RMSprop, Adagrad, Nadam) with their hyperparameters and learning-rate
schedules, the losses and metrics by name or class, ``loss_weights``. Not carried,
so that the model is saved or loaded *uncompiled* and a warning says why:
another optimizer (netfit's L-BFGS and SDLM, Keras's Adadelta, ...), and a
``weight_decay``: netfit's is ESL's L2 penalty on the kernels, Keras's decoupled
decay of every variable (AdamW's too), so one would not train as the other.
The optimizer's state (Adam's moments) is never carried: a loaded model trains
on from fresh moments. Plain dicts in and out; Keras is never imported.
"""
from .keras_layout import short

#: netfit's optimizer classes that Keras 3 has under the same name and with the same formulas.
SHARED_OPTIMIZERS = ("SGD", "Adam", "RMSprop", "Adagrad", "Nadam")
_SCHEDULES = ("ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "CosineDecay")
_KERAS_KEYS = ("module", "registered_name", "shared_object_id")


def _obj(module, spec):
    """Keras's {"module", "class_name", "config", "registered_name"} for netfit's {"class_name", "config"} or a name."""
    if not isinstance(spec, dict):
        return spec
    if spec["class_name"] == "function":             # a loss or metric function of your own: Keras's form, by name
        return {"module": "builtins", "class_name": "function", "config": spec["config"],
                "registered_name": "function"}
    return {"module": module, "class_name": spec["class_name"], "config": dict(spec.get("config", {})),
            "registered_name": None}


def compile_to_keras(config):
    """``(Keras's compile_config, None)`` for netfit's ``model._compile_config()``, or ``(None, why not)``."""
    optimizer = config["optimizer"]
    kind, settings = optimizer["class_name"], dict(optimizer["config"])
    if kind not in SHARED_OPTIMIZERS:
        return None, f"Keras 3 has no {kind} optimizer"
    if settings.get("weight_decay"):
        return None, (f"{kind}(weight_decay={settings['weight_decay']}) is netfit's L2 penalty on the kernels, "
                      f"Keras's weight_decay a decoupled decay of every variable")
    settings["weight_decay"] = None
    rate = settings.get("learning_rate")
    if isinstance(rate, dict):
        if rate.get("class_name") not in _SCHEDULES:
            return None, f"Keras 3 has no learning-rate schedule {rate.get('class_name')!r}"
        settings["learning_rate"] = _obj("keras.optimizers.schedules", rate)
    several = isinstance(config["loss"], list)
    losses = config["loss"] if several else [config["loss"]]
    metrics = config["metrics"] if several else [config["metrics"]]
    return {"optimizer": _obj("keras.optimizers", {"class_name": kind, "config": settings}),
            "loss": [_obj("keras.losses", loss) for loss in losses] if several else _obj("keras.losses", losses[0]),
            "loss_weights": config.get("loss_weights"),
            "metrics": ([[_obj("keras.metrics", m) for m in ms] for ms in metrics] if several
                        else [_obj("keras.metrics", m) for m in metrics[0]]),
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}, None


def compile_from_keras(config):
    """``(model.compile's keyword arguments, None)`` for Keras's compile_config, or ``(None, why not)``."""
    if not isinstance(config, dict) or config.get("optimizer") is None:
        return None, "the file holds no optimizer"
    optimizer = _plain(config["optimizer"])
    if isinstance(optimizer, dict):
        kind, settings = optimizer.get("class_name"), dict(optimizer.get("config") or {})
        if kind not in SHARED_OPTIMIZERS:
            return None, (f"netfit has no {kind!r} optimizer with Keras's formulas (it has "
                          f"{', '.join(SHARED_OPTIMIZERS)})")
        if settings.get("weight_decay"):
            return None, (f"Keras's {kind}(weight_decay={settings['weight_decay']}) decays every variable "
                          f"(decoupled); netfit's weight_decay is an L2 penalty on the kernels")
        settings.pop("weight_decay", None)
        optimizer = {"class_name": kind, "config": settings}
    elif not isinstance(optimizer, str) or optimizer.capitalize() not in [o.capitalize() for o in SHARED_OPTIMIZERS]:
        return None, f"netfit has no {short(optimizer)} optimizer with Keras's formulas"
    for key in ("weighted_metrics",):
        if config.get(key):
            return None, f"netfit's compile has no {key} ({short(config[key])})"
    return {"optimizer": optimizer, "loss": _plain(config.get("loss")), "metrics": _plain(config.get("metrics")),
            "loss_weights": config.get("loss_weights")}, None


def _plain(value):
    """Keras's objects as netfit's {"class_name", "config"}: Keras's bookkeeping keys and default options dropped."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" not in value:
        return {k: _plain(v) for k, v in value.items()}
    config = value.get("config")
    if isinstance(config, dict):
        config = {k: _plain(v) for k, v in config.items() if k not in _KERAS_KEYS + ("name", "dtype")
                  and (k, v) != ("reduction", "sum_over_batch_size")}
    if value["class_name"] in _SCHEDULES:
        config.pop("name", None)
    return {"class_name": value["class_name"], "config": config if config is not None else {}}

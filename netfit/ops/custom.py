"""Custom losses and metrics in a model file: written by name, found again in ``custom_objects`` (Keras's way).

A model compiled with a function of your own saves it as Keras does,
``{"class_name": "function", "config": "my_loss"}``, and a Loss or Metric subclass as
its class name and ``get_config()``. A file never holds code, and loading never runs
any from it: :func:`resolve` replaces each such entry of a saved compile config by
the object you pass, ``load_model(path, custom_objects={"my_loss": my_loss})`` (a
class is rebuilt with its ``from_config``), and names any that is missing.
"""
from .. import custom_objects as custom_objects_mod
from .. import losses as losses_mod, metrics as metrics_mod
from . import metric as keras_metrics

__all__ = ["resolve"]

#: Keras's metric classes netfit.ops has (found without custom_objects).
_OWN_METRICS = {cls.__name__: cls for cls in (keras_metrics.Mean, keras_metrics.Sum)}


def _missing(kind, name, where):
    shown = name if name.isidentifier() else "obj"
    return ValueError(f"{where}: the model was compiled with the custom {kind} {name!r}, which a model file holds by "
                      f"name only (netfit never loads code from a file). Pass it when loading: "
                      f"load_model(path, custom_objects={{{name!r}: {shown}}}), or load it uncompiled with "
                      f"compile=False and compile it again.")


def _object(spec, kind, custom, where):
    """The object a saved loss/metric entry stands for, where it is a custom one; else the entry itself."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        return spec
    name, config = spec["class_name"], spec.get("config")
    if name == "function":                          # given here, in a custom_object_scope, or registered
        found = custom.get(config) if isinstance(config, str) else None
        if found is None and isinstance(config, str):
            found = custom_objects_mod.resolve(config, spec.get("registered_name"))
        if found is None:
            raise _missing(f"{kind} function", str(config), where)
        return found
    if kind == "loss":
        try:
            return losses_mod.get(spec)
        except (ValueError, TypeError):
            pass
    elif name in metrics_mod._CLASSES:
        return spec
    cls = custom.get(name) or (_OWN_METRICS.get(name) if kind == "metric" else None) or \
        custom_objects_mod.resolve(name, spec.get("registered_name"))
    if cls is None:
        raise _missing(kind, name, where)
    if not isinstance(config, dict):
        raise ValueError(f"{where}: expected the saved config of {kind} {name!r} to be a dict, got {config!r}.")
    return cls.from_config(dict(config)) if hasattr(cls, "from_config") else cls(**config)


def _each(value, fn):
    if isinstance(value, list):
        return [_each(v, fn) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _each(v, fn) for k, v in value.items()}
    return fn(value)


def resolve(config, custom_objects=None, where="load_model"):
    """A saved compile config with its custom losses and metrics replaced by the objects in ``custom_objects``.

    Raises
    ------
    ValueError
        A custom loss or metric that ``custom_objects`` lacks, naming it and the fix.
    TypeError
        ``custom_objects`` not a dict.
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"{where}: expected custom_objects a dict of name -> function or class, got "
                        f"{type(custom_objects).__name__}.")
    if not config:
        return config
    custom = dict(custom_objects or {})
    out = dict(config)
    out["loss"] = _each(config.get("loss"), lambda s: _object(s, "loss", custom, where))
    out["metrics"] = _each(config.get("metrics"), lambda s: _object(s, "metric", custom, where))
    return out

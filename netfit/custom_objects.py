"""Objects of your own by name: Keras 3's ``register_keras_serializable``, ``custom_object_scope`` and ``custom_objects=``.

A model file (``.keras``, ``.netfit``) or a config names each layer by its class.
netfit never runs code from a file and never imports a module a file names: a
class that is not one of netfit's own is found only among the objects *your
program* hands over, by one of three ways (Keras 3's, keras/src/saving/object_registration.py):

- ``load_model(path, custom_objects={"MyLayer": MyLayer})`` (also ``Model.from_config``,
  ``Sequential.from_config``, ``model_from_json``, ``keras.layers.deserialize``);
- ``with custom_object_scope({"MyLayer": MyLayer}): ...`` (nested scopes: the inner one
  first; one per thread and per asyncio task, a :class:`contextvars.ContextVar`);
- ``@register_keras_serializable(package="my_package")`` on the class or function: its
  registered name is ``"my_package>MyLayer"`` (what a file's ``registered_name`` holds).

A name is looked up in netfit's own classes first, then in the ``custom_objects`` of
the call, then in the active scopes (innermost first), then in the registry (by the
registered name, then by the plain class name when one registered class has it).
Keras looks in the scope and the registry before its own classes; a name that
means a netfit class means it here whatever is registered.

The found class is instantiated from the JSON config only, ``cls.from_config(config)``.

>>> @register_keras_serializable(package="doc")
... def twice(x):
...     return 2 * x
>>> get_registered_name(twice), get_registered_object("doc>twice") is twice
('doc>twice', True)
>>> with custom_object_scope({"Twice": twice}):
...     get_registered_object("Twice") is twice
True
"""
import contextlib
import contextvars
import inspect

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "get_registered_object", "register_keras_serializable", "resolve", "unknown_class_error"]

#: registered name ("package>Name") -> object, and object -> registered name (Keras's GLOBAL_CUSTOM_OBJECTS/NAMES).
_OBJECTS, _NAMES = {}, {}
#: The active scopes, innermost last: a tuple of dicts, per thread and task.
_SCOPES = contextvars.ContextVar("netfit_custom_object_scopes", default=())


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class or function under ``"package>name"`` (``name`` defaults to its ``__name__``).

    A class must have ``get_config`` (Keras's rule). Registering again under the same name
    replaces the earlier object (a re-run notebook cell).

    Raises
    ------
    ValueError
        A class without ``get_config``; a package or name holding ``>``.
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: expected package a str without '>', got {package!r}.")
    if name is not None and (not isinstance(name, str) or ">" in name):
        raise ValueError(f"register_keras_serializable: expected name a str without '>', got {name!r}.")

    def decorator(obj):
        class_name = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(class_name, str):
            raise ValueError(f"register_keras_serializable: {obj!r} has no __name__; pass name=.")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        registered = f"{package}>{class_name}"
        old = _OBJECTS.get(registered)
        if old is not None and _NAMES.get(old) == registered:
            del _NAMES[old]
        _OBJECTS[registered] = obj
        _NAMES[obj] = registered
        return obj
    return decorator


def get_registered_name(obj):
    """The name ``obj`` is registered under (``"package>Name"``), else its ``__name__`` (Keras's rule)."""
    if obj in _NAMES:
        return _NAMES[obj]
    return getattr(obj, "__name__", None)


def get_custom_objects():
    """The registry itself, ``{"package>Name": object}`` (Keras's ``get_custom_objects``); edits register."""
    return _OBJECTS


def _check_mapping(custom_objects, where):
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict) or not all(isinstance(k, str) for k in custom_objects):
        raise TypeError(f"{where}: expected custom_objects a dict of name -> class or function, got "
                        f"{type(custom_objects).__name__}.")
    return custom_objects


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}):`` names known to every load and config read inside.

    Several dicts may be given; scopes nest (the innermost wins); each thread and asyncio
    task has its own (a ContextVar), so two threads loading with different scopes do not mix.
    """

    def __init__(self, *custom_objects):
        merged = {}
        for mapping in custom_objects:
            merged.update(_check_mapping(mapping, "custom_object_scope"))
        self.custom_objects = merged
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_SCOPES.set(_SCOPES.get() + (self.custom_objects,)))
        return self

    def __exit__(self, *exc):
        _SCOPES.reset(self._tokens.pop())
        return False


#: Keras's function name for the same class.
custom_object_scope = CustomObjectScope


@contextlib.contextmanager
def given(custom_objects, where):
    """Inside: ``custom_objects`` of a load or from_config call, looked up before the scopes around it."""
    mapping = _check_mapping(custom_objects, where)
    if not mapping:
        yield
        return
    token = _SCOPES.set(_SCOPES.get() + (dict(mapping),))
    try:
        yield
    finally:
        _SCOPES.reset(token)


def _lookup(mapping, names):
    for name in names:
        if name and name in mapping:
            return mapping[name]
    return None


def resolve(class_name, registered_name=None, custom_objects=None):
    """The object of your own a config names, or None: custom_objects, scopes (innermost first), registry.

    Each place is asked for the registered name, then the plain class name.
    """
    names = [n for n in (registered_name, class_name) if isinstance(n, str)]
    found = _lookup(_check_mapping(custom_objects, "resolve"), names)
    if found is not None:
        return found
    for mapping in reversed(_SCOPES.get()):
        found = _lookup(mapping, names)
        if found is not None:
            return found
    found = _lookup(_OBJECTS, names)
    if found is not None:
        return found
    plain = [obj for key, obj in _OBJECTS.items() if key.split(">", 1)[1] == class_name]
    return plain[0] if len(plain) == 1 else None


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered or given under ``name``, else None (Keras's ``get_registered_object``).

    Looked up in ``custom_objects``, the active scopes, the registry, then ``module_objects``.
    """
    found = resolve(name, None, custom_objects)
    if found is None and module_objects:
        found = module_objects.get(name)
    return found


def unknown_class_error(class_name, where, what="layer", registered_name=None):
    """The ValueError for a class a config names that netfit neither has nor was given."""
    shown = registered_name if registered_name and registered_name != class_name else class_name
    plain = class_name.split(">")[-1] if isinstance(class_name, str) else class_name
    return ValueError(
        f"{where}: unknown {what} class {shown!r}; it is not one of netfit's and no class of that name was given. "
        f"netfit never runs code from a file: pass custom_objects={{{plain!r}: {plain}}} to load_model (or "
        f"from_config / model_from_json), run the load inside keras.saving.custom_object_scope(...), or decorate "
        f"the class with @keras.saving.register_keras_serializable().")

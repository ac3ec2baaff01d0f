"""Where Keras 3 puts a model's parts: the order of ``model.layers`` and each layer's group in model.weights.h5.

:func:`layer_paths` gives each layer's group in a ``.keras`` file's ``model.weights.h5``:
Keras's ``save_own_variables`` walk of ``model.layers`` (layers/dense, layers/dense_1,
..., a nested model's layers inside its own group; keras/src/saving/saving_lib.py),
with the variables at ``<group>/vars/0``, ``/1``, ... in the layer's own order.
``model.layers`` of a functional model is in the order :func:`keras_order` computes as
``map_graph`` in keras/src/ops/function.py does (deepest first, then first seen); it
reads Keras's config form (:mod:`netfit.keras_config`), whose calls
:func:`call_inputs` parses. Plain dicts in, plain values out; Keras is never imported.
"""
import re


def snake_case(name):
    """Keras's ``naming.to_snake_case``: the group name of a layer class in model.weights.h5 ("PReLU" -> "p_re_lu")."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def is_ref(ref):
    return (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
            and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in ref[1:]))


def call_inputs(node, where):
    """One call's input refs, from Keras's {"args", "kwargs"} form (or Keras 2's list of [layer, call, output])."""
    if isinstance(node, list):                               # Keras 2: [[layer, call, output, kwargs], ...]
        refs = [list(r[:3]) for r in node if isinstance(r, list)]
        if len(refs) != len(node) or not all(is_ref(r) for r in refs):
            raise ValueError(f"{where}: expected a call's inputs as [layer, call, output], got {short(node)}.")
        return refs
    args, kwargs = (node.get("args"), node.get("kwargs") or {}) if isinstance(node, dict) else (None, None)
    if not isinstance(args, list) or len(args) != 1 or not isinstance(kwargs, dict):
        raise ValueError(f"{where}: expected a call on one tensor or one list of tensors, got {short(node)}.")
    extra = {k: v for k, v in kwargs.items() if v is not None}
    if extra:
        raise ValueError(f"{where}: expected a call without keyword arguments, got {sorted(extra)}; netfit's "
                         f"layers take their inputs alone (training= is set by fit and predict).")
    tensors = args[0] if isinstance(args[0], list) else [args[0]]
    refs = []
    for t in tensors:
        history = t.get("config", {}).get("keras_history") if isinstance(t, dict) else None
        if not (isinstance(t, dict) and t.get("class_name") == "__keras_tensor__" and is_ref(history)):
            raise ValueError(f"{where}: expected Keras tensors as a call's inputs, got {short(t)}.")
        refs.append(list(history))
    return refs


def short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."



def layer_paths(model, prefix=""):
    """``[(h5 group, (layer name, ...), class_name, layer config)]`` for Keras's whole-model object ``model``.

    The group is where Keras's ``save_own_variables`` puts the layer's variables
    (``<group>/vars/0``, ``/1``, ...): layers/ + the snake-cased class name, made unique
    with _1, _2 in ``model.layers`` order; a nested model's layers within its own group.
    The names lead from the outer model down to the layer.
    """
    kind, config = model["class_name"], model.get("config", {})
    entries = config.get("layers", [])
    if kind == "Sequential":
        entries = [e for e in entries if e.get("class_name") != "InputLayer"]
    else:
        by_name = {e["name"]: e for e in entries}
        entries = [by_name[name] for name in keras_order(config)]
    found, used = [], {}
    for entry in entries:
        group = snake_case("Functional" if entry["class_name"] == "Model" else entry["class_name"])
        used[group] = used.get(group, -1) + 1
        path = f"{prefix}layers/{group}" + (f"_{used[group]}" if used[group] else "")
        name = entry.get("name") or entry.get("config", {}).get("name")
        if entry["class_name"] in ("Sequential", "Functional", "Model"):
            found += [(p, (name, *chain), c, cfg) for p, chain, c, cfg in layer_paths(entry, path + "/")]
        else:
            found.append((path, (name,), entry["class_name"], entry.get("config", {})))
    return found


def keras_order(config):
    """The layer names of a functional model's Keras config in Keras's ``model.layers`` order.

    ``map_graph`` in keras/src/ops/function.py: a depth-first walk from each output
    numbers the layers as first seen and lists the calls inputs first; a call's depth
    is the longest way from it to an output, a layer's its deepest call's; layers by
    decreasing depth, ties by first seen; an input no output needs last of all.
    """
    parents = {}
    for entry in config["layers"]:
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            parents[(entry["name"], k)] = [tuple(r[:2]) for r in call_inputs(node, entry["name"])]
    kinds = {e["name"]: e["class_name"] for e in config["layers"]}

    def ends(refs):
        refs = list(refs.values()) if isinstance(refs, dict) else refs
        refs = [refs] if refs and isinstance(refs[0], str) else refs
        return [(r[0], r[1] - (kinds[r[0]] in ("Functional", "Model"))) for r in refs]
    first_seen, order, finished = {}, [], set()
    for start in ends(config["output_layers"]):
        if start in finished:
            continue
        first_seen.setdefault(start[0], len(first_seen))
        stack, active = [(start, iter(parents.get(start, [])))], {start}
        while stack:
            node, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                stack.pop()
                active.discard(node)
                finished.add(node)
                order.append(node)
            elif nxt not in finished:
                if nxt in active:
                    raise ValueError(f"config.json: the call {nxt} of layer {nxt[0]!r} is part of a cycle.")
                first_seen.setdefault(nxt[0], len(first_seen))
                active.add(nxt)
                stack.append((nxt, iter(parents.get(nxt, []))))
    node_depth, layer_depth = {}, {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node[0], 0))
        layer_depth[node[0]] = node_depth[node] = depth
        for parent in parents.get(node, []):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for name, _ in ends(config["input_layers"]):
        if name not in layer_depth:
            layer_depth[name], first_seen[name] = 0, -1
    return sorted(layer_depth, key=lambda name: (-layer_depth[name], first_seen[name]))

"""Layers written as Python code: Keras's ``build`` + ``add_weight`` + ``call``, trained through the ops tape.

A built-in layer has its backward written out beside its forward. A layer of your
own (a :class:`~netfit.layers.Layer` subclass that defines ``call``, as in Keras)
has only a forward, written with :mod:`netfit.ops` and other layers; its backward
is found op by op:

- **forward** (training): ``call`` runs under a :class:`~netfit.ops.Tape`; the input
  is a traced leaf, each weight made by ``add_weight`` a leaf whose gradient goes
  to the record's gradient views, and each layer called inside ``call`` (a tracked
  sublayer: an attribute of the layer) is one tape entry that runs that layer's own
  forward with a record of its own;
- **backward**: the tape runs in reverse from δ at the output (:meth:`Tape.backward`),
  sums δ where a value was used twice, writes the weights' gradients, and each
  sublayer entry runs that layer's own written-out backward; s = ∂R/∂x is the
  input leaf's δ.

In inference (``predict``, ``evaluate``) no tape is kept: ``call`` gets its input as a
constant tensor and the ops are NumPy functions. Everything a call
keeps (its tape, its output, its sublayers' records) lives in its record
(:class:`~netfit.layers.base.Call`), never on the layer, as for every layer.

Weights: a custom layer's part of θ holds its own weights (``add_weight``, in
order) and then each sublayer's, in the order they were assigned as attributes
(Keras's order: own variables first, then the tracked layers'). A sublayer that
already has weights (a trained teacher model) keeps them.
"""
import contextlib
import contextvars
import functools
import inspect

import numpy as np

from ..config import dtype as _default_dtype
from ..ops.table import lookup
from ..ops.tape import CALLER, Entry, Tape, active
from ..ops.value import Value, Variable

__all__ = ["no_tape", "is_custom", "tracked_layers", "keras_build", "forward", "backward", "call_traced", "training_now"]

_TRAINING = contextvars.ContextVar("netfit_training", default=False)
_NO_TAPE = contextvars.ContextVar("netfit_no_tape", default=False)
_INFERENCE_TERMS = contextvars.ContextVar("netfit_inference_terms", default=None)   # add_loss's values, no tape


@contextlib.contextmanager
def no_tape():
    """Inside: custom layers keep no tape (predict, evaluate: no backward follows)."""
    token = _NO_TAPE.set(True)
    try:
        yield
    finally:
        _NO_TAPE.reset(token)


def training_now():
    """The training flag of the custom call running now (what a layer called inside it without ``training=`` gets)."""
    return _TRAINING.get()


def is_custom(layer):
    """True for a layer whose class defines Keras's ``call`` (its backward comes from the tape)."""
    return getattr(type(layer), "call", None) is not None


def tracked_layers(host):
    """The layers held in ``host``'s attributes (directly, or in lists, tuples and dicts), in assignment order."""
    found, seen = [], set()

    def visit(value):
        if hasattr(value, "forward") and hasattr(value, "new_call") and hasattr(value, "specs"):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)

    for name, value in vars(host).items():
        if not name.startswith("_"):
            visit(value)
    return found


def _accepts(fn, name):
    """True when ``fn`` takes the keyword ``name`` (looked up once per function: a forward pays nothing)."""
    return _takes(getattr(fn, "__func__", fn), name)


@functools.lru_cache(maxsize=None)
def _takes(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


# -- build -----------------------------------------------------------------------------------
def keras_build(layer, host, input_shape, spec_type):
    """Build a custom layer for per-example ``input_shape``; return its per-example output shape.

    Calls the user's ``build`` with Keras's batch-first shape ``(None, *input_shape)``
    (if the class has one), then runs ``call`` once on two examples of zeros: that builds
    the sublayers it calls and gives the output shape (``compute_output_shape``, if
    defined, is checked against it). The weights drawn for that run are not kept: the
    model draws them from its own seed when it lays θ out.
    """
    keras_shape = [(None,) + tuple(s) for s in input_shape] if isinstance(input_shape, list) \
        else (None,) + tuple(input_shape)
    early = layer.__dict__.get("_early_weights", [])          # weights made in __init__ (shape known there)
    layer._own_specs, layer._variables, layer._sub_parts = [s for s, _ in early], [v for _, v in early], []
    layer.specs = list(layer._own_specs)
    if defined_below(type(host), "build"):
        layer.__dict__["_in_build"] = True
        try:
            host.build(keras_shape)
        finally:
            layer.__dict__["_in_build"] = False
    # Run call once on two examples of zeros: it builds the sublayers it calls and gives the output shape.
    layer._sublayers = tracked_layers(host)
    for sub in layer._sublayers:                   # a model that knows its input shape builds now (its own seed):
        if not sub.built and hasattr(sub, "_ensure_built"):      # call may not use it (compute_loss's teacher)
            try:
                sub._ensure_built()
            except ValueError:                      # its input shape comes with the dry run below
                pass
    had_weights = {id(sub) for sub in layer._sublayers if sub._attached and sub.built}    # kept (a trained teacher)
    _lay_out_specs(layer, spec_type)
    layer.attach()
    layer.initialize(np.random.default_rng(0))
    dt = _default_dtype()
    zeros = [np.zeros((2,) + tuple(s), dt) for s in input_shape] if isinstance(input_shape, list) \
        else np.zeros((2,) + tuple(input_shape), dt)
    layer.__dict__["_dry_run"] = True               # add_weight in call is refused (netfit.layers.base)
    try:
        out = _run(host, _held(zeros, None), False)
    finally:
        layer.__dict__["_dry_run"] = False
    if out is None:
        raise TypeError(f"{layer.display_name}: call returned None; return the layer's output (`return outputs`).")
    if isinstance(out, (list, tuple)):
        raise ValueError(f"{layer.display_name}: call returned {len(out)} outputs; a custom layer returns "
                         f"one tensor (several outputs are a model's: use a keras.Model subclass or a "
                         f"functional model).")
    out_shape = tuple(np.shape(_array(out, layer.display_name)))[1:]
    if defined_below(type(host), "compute_output_shape"):
        declared = tuple(host.compute_output_shape(keras_shape))
        declared = declared[1:] if declared and declared[0] is None else declared
        if declared != out_shape:
            raise ValueError(f"{layer.display_name}: compute_output_shape gives {declared}, but call returns "
                             f"examples of shape {out_shape}; fix one of the two.")
    for sub in layer._sublayers:                   # weights drawn for the dry run are not kept: the model draws
        if id(sub) not in had_weights:             # them from its own seed, as for its other layers
            sub._attached = False
    _lay_out_specs(layer, spec_type)
    layer.__dict__["needs_rng"] = any(sub.needs_rng for sub in layer._sublayers) or layer.needs_rng
    layer.__dict__["whole_batch"] = any(sub.whole_batch for sub in layer._sublayers) or layer.whole_batch
    layer._attached = False                   # the model draws its own weights from its seed
    return out_shape


@functools.lru_cache(maxsize=None)
def defined_below(cls, name):
    """True when a class between ``cls`` and netfit's base classes defines ``name`` (the user's own method)."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("netfit."):
            return False
        if name in vars(klass):
            return True
    return False


def _lay_out_specs(layer, spec_type):
    """The layer's declared weights: its own, then each sublayer's (prefixed by the sublayer's name)."""
    specs, parts, offset = list(layer._own_specs), [], sum(s.size for s in layer._own_specs)
    taken = {spec.name for spec in specs}           # names are keys of the views: each one unique
    for k, sub in enumerate(layer._sublayers):
        size = _block_size(sub)
        prefix = f"{sub.display_name if sub.name else f'layer{k}'}/"
        sub_specs = list(sub.specs)
        if sum(s.size for s in sub_specs) == size:
            flags = sub.trainable_flags() if sub.specs else []
            for spec, flag in zip(sub_specs, flags):
                name = free_name(prefix + spec.name, taken)
                taken.add(name)
                specs.append(spec_type(name, spec.shape, spec.initializer, spec.fan_in, spec.fan_out,
                                       spec.decay, trainable=flag))
        elif size:
            name = free_name(prefix + "θ", taken)
            taken.add(name)
            specs.append(spec_type(name, (size,), None, None, None, False, trainable=sub.trainable))
        parts.append((sub, offset, offset + size))
        offset += size
    layer.specs, layer._sub_parts = specs, parts


def _block_size(sub):
    if hasattr(sub, "_theta") and getattr(sub, "built", False):
        return int(sub._theta.size)
    return sum(spec.size for spec in sub.specs)


class Views(dict):
    """A custom layer's weights by name, and the flat block they are views of (``flat``)."""

    __slots__ = ("flat",)


def views(layer, flat):
    out, offset = Views(), 0
    for spec in layer.specs:
        out[spec.name] = flat[offset:offset + spec.size].reshape(spec.shape)
        offset += spec.size
    out.flat = flat
    return out


def attach(layer, params, grads):
    """Lay out the sublayers in their parts of the layer's block; a sublayer with weights keeps them."""
    layer._kept_subs = set()
    for sub, start, stop in layer._sub_parts:
        if not sub.built:
            continue
        kept = [np.array(w) for w in sub.weights] if sub._attached and sub.specs else None
        sub.attach(params[start:stop], grads[start:stop])
        if kept is not None and [w.shape for w in kept] == [w.shape for w in sub.weights]:
            for w, value in zip(sub.weights, kept):
                w[...] = value
            layer._kept_subs.add(id(sub))
        sub._home = layer


def initialize(layer, rng):
    """Draw the layer's own weights from their initializers, then the sublayers' that have none yet."""
    for spec in layer._own_specs:
        layer.params[spec.name][...] = spec.initializer(spec.shape, rng, layer.params[spec.name].dtype,
                                                        spec.fan_in, spec.fan_out)
    for sub, _, _ in layer._sub_parts:
        if id(sub) not in getattr(layer, "_kept_subs", ()):
            sub.initialize(rng)


# -- the passes -------------------------------------------------------------------------------
def _run(host, x, training, **kwargs):
    token, named = _TRAINING.set(bool(training)), CALLER.set(getattr(host, "display_name", None) or host.name)
    try:
        if _accepts(host.call, "training"):
            kwargs["training"] = training
        return host.call(x, **kwargs)
    finally:
        _TRAINING.reset(token)
        CALLER.reset(named)


def loss_from(layer, call, compute_loss, y, sample_weight):
    """A model's ``compute_loss(x, y, y_pred, sample_weight)`` on the tape of the call that made y_pred.

    Training: recorded after the forward's ops, so backward runs from R itself
    (:func:`backward` with no δ). Inference: on arrays. Returns R as a float.
    """
    tape = call.tape
    if tape is None:                                # evaluate: self.losses is empty, the terms are added here
        out = compute_loss(x=call.x_in, y=y, y_pred=_array(call.out_array, ""), sample_weight=sample_weight)
        return float(_array(out, "")) + sum(float(t.data) for t in getattr(call, "added_losses", ()))
    with tape:
        token = _TRAINING.set(tape.training)
        try:
            loss = compute_loss(x=call.x_in, y=y, y_pred=call.out, sample_weight=sample_weight)
        finally:
            _TRAINING.reset(token)
    if getattr(loss, "_traced_kind", None) != "value" or loss.tape is not tape:
        raise ValueError(f"{layer.display_name}: compute_loss returned a value that does not depend on y_pred or "
                         f"on any weight ({np.asarray(_array(loss, '')).ravel()[:3]}), so nothing would train; "
                         f"compute it from y_pred with netfit.ops (or from the model's layers called on x).")
    if np.size(loss.data) != 1:
        raise ValueError(f"{layer.display_name}: compute_loss must return one number (the batch's R), got an "
                         f"array of shape {loss.shape}; reduce it, e.g. ops.mean(...).")
    call.loss_root = loss
    # Terms that layers of your own inside the model added are always in R (their backward adds their δ); the
    # model's own call's terms are in R through self.losses (super().compute_loss adds them), as in Keras.
    inside = added_loss([sub for sub, _, _ in call.__dict__.get("subcalls", {}).values()])
    return float(loss.data) + inside


def _array(out, where):
    if isinstance(out, (list, tuple)):
        return [_array(o, where) for o in out]
    data = getattr(out, "data", None) if getattr(out, "_traced_kind", None) == "value" else \
        out.value if getattr(out, "_traced_kind", None) == "variable" else out
    return np.asarray(data)


def _held(x, tape):
    """``x`` (an array or a list of them) as tensors of ``tape``: traced leaves, or constants for ``tape=None``
    (``call`` never writes into the caller's array: a tensor refuses ``x[...] = v``)."""
    return [Value(a, tape) for a in x] if isinstance(x, list) else Value(x, tape)


def forward(layer, host, x, training, call):
    """a = call(x): under a tape (what backward reads is kept in ``call``); in inference (:func:`no_tape`), or for
    a layer that writes its own backward, without one."""
    call.x_in = x
    if _NO_TAPE.get() or defined_below(type(layer), "backward"):   # inference, or a backward of your own
        if not _NO_TAPE.get():
            call.x = x                              # what a written-out backward reads (netfit's way)
        call.tape, call.added_losses = None, []
        held = _held(x, None)
        if _INFERENCE_TERMS.get() is not None:      # inside another custom layer's call: its record counts them
            call.out_array = _array(_run(host, held, training), layer.display_name)
            return call.out_array
        terms = []
        token = _INFERENCE_TERMS.set(terms)
        try:
            call.out_array = _array(_run(host, held, training), layer.display_name)
        finally:
            _INFERENCE_TERMS.reset(token)
        call.added_losses = _penalties_now(layer) + [Value(np.asarray(v), None) for v in terms]   # evaluate's
        # loss has the weights' penalties and the add_loss terms, as Keras's
        return call.out_array
    sinks = {}
    for var in layer._variables:
        if var.trainable and layer._trainable:
            sinks[id(var)] = call.grads[var._key]
    tape = Tape(sinks)
    tape.owner, tape.owner_call = layer, call
    call.deferred = []
    leaf = _held(x, tape if call.need_input_grad else None)     # a leaf whose δ is s, or a constant
    tape.training = bool(training)
    with tape:
        out = _run(host, leaf, training)
        _add_penalties(layer, tape)
    call.tape, call.leaf, call.out = tape, leaf, out
    call.out_array = _array(out, layer.display_name)
    call.added_losses = list(tape.added_losses)
    return call.out_array


def _add_penalties(layer, tape):
    """R(w) of each own trainable weight made with ``add_weight(regularizer=...)``, as an add_loss term of the tape
    (so R's gradient gets ∂R(w)/∂w; Keras 3 adds the penalties of the trainable weights to the loss)."""
    if not layer._trainable:
        return
    for var in layer._variables:
        if var.regularizer is None or not var.trainable:
            continue
        term = var.regularizer(var)
        if getattr(term, "_traced_kind", None) != "value" or term.tape is not tape:
            continue                                # a constant (a zero factor): nothing to train
        if np.size(term.data) != 1:
            raise ValueError(f"{layer.display_name}: the regularizer of weight {var.name!r} returned an array of "
                             f"shape {term.shape}; a regularizer returns one number (e.g. ops.sum(...)).")
        tape.added_losses.append(term)


def _penalties_now(layer):
    """The penalties R(w) of the layer's trainable weights, its own and its sublayers' of your own, as
    constants (inference: no tape; a sublayer's call there keeps no record of the model's)."""
    if not layer._trainable:
        return []
    out = [Value(np.asarray(float(_array(var.regularizer(var.value), layer.display_name))), None)
           for var in layer._variables if var.regularizer is not None and var.trainable]
    for sub in getattr(layer, "_sublayers", ()):
        if getattr(sub, "_variables", None) is not None and is_custom(sub):
            out += _penalties_now(sub)
    return out


def backward(layer, delta, call):
    """δ at the output back through the tape: the weights' gradients into ``call.grads``; return s."""
    tape = call.tape
    flat = call.grads.flat
    firsts = {}                                     # each sublayer's first use: it writes its part of the gradient
    for (key, use, _), (sub, target, own) in call.__dict__.get("subcalls", {}).items():
        sub.reached = False
        if use == 0:
            firsts[key] = sub
    for _, private in call.deferred:
        private[...] = 0
    if delta is None:                               # from R itself (a model's compute_loss, which adds
        roots = [call.loss_root]                    # self.losses itself when it wants them, as Keras 3's)
        grads = tape.backward(roots, [np.ones(v.shape, v.dtype) for v in roots])
        call.loss_root = None
    elif getattr(call.out, "_traced_kind", None) != "value" or call.out.tape is not tape:
        grads = {}                                  # the output does not depend on the input or the weights
    else:                                           # add_loss terms: ∂R/∂(term) = 1 (constants: none)
        extra = [t for t in call.added_losses if t.tape is tape]
        grads = tape.backward([call.out] + extra, [delta] + [np.ones(t.shape, t.dtype) for t in extra])
    tape.write_sinks(grads, layer._variables)
    for var in layer._variables:                    # weights made with trainable=False: no gradient
        if id(var) not in tape.sinks:
            call.grads[var._key][...] = 0
    for sub, start, stop in layer._sub_parts:       # a sublayer R does not reach (or not called): zero
        first = firsts.get(id(sub))
        if first is None or not first.reached:
            flat[start:stop] = 0
    for target, private in call.deferred:          # later uses of a shared sublayer: their sum
        target += private
    for sub, start, stop in layer._sub_parts:      # frozen sublayers: no gradient
        if not sub.trainable:
            flat[start:stop] = 0
    call.tape = call.out = None                     # the step's arrays go with the tape
    if not call.need_input_grad:
        return None
    leaf = call.leaf
    call.leaf = None
    if isinstance(leaf, list):
        return [grads.get(id(v), np.zeros(v.shape, v.dtype)) for v in leaf]
    return grads.get(id(leaf), np.zeros(leaf.shape, leaf.dtype))


class _LayerOp:
    """A layer called inside custom code: one tape entry whose VJP is the layer's own backward."""

    name, takes_need, family, instead, takes_list = "layer", False, "layers", None, False

    @staticmethod
    def vjp(g, out, *arrays, layer, call):
        call.reached = True
        s = layer.backward(g, call)
        if s is None:
            return (None,) * len(arrays)
        return tuple(s) if isinstance(s, list) else (s,)


_LAYER_OP = _LayerOp()


def call_traced(layer, inputs, training):
    """``layer(v)`` on a traced value inside custom code: the layer's forward, as one entry of the tape."""
    tape = active()
    several = isinstance(inputs, (list, tuple))
    items = list(inputs) if several else [inputs]
    arrays = [_array(v, layer.display_name) for v in items]
    parents = [v if getattr(v, "_traced_kind", None) == "value" and v.tape is tape else None for v in items]
    training = training_now() if training is None else bool(training)
    x = arrays if several or layer.multiple_inputs else arrays[0]
    owner = getattr(tape, "owner", None)
    if not layer.built:                             # made inside call (weights untracked: refused just below)
        layer._build([a.shape[1:] for a in arrays] if several or layer.multiple_inputs else arrays[0].shape[1:])
    call = _sub_call(layer, tape, owner, any(p is not None for p in parents))
    out = layer.forward(x, training, call)
    outs = out if isinstance(out, list) else [out]
    # The outputs may be the record's buffers: this use's own record, rewritten only by its next step's forward.
    values = [Value(np.asarray(o), tape) if np.asarray(o).dtype.kind == "f" else np.asarray(o) for o in outs]
    traced = [v for v in values if isinstance(v, Value)]
    if traced and (any(p is not None for p in parents) or layer.count_params()):
        tape.record(Entry(_LAYER_OP, parents, tuple(arrays), {"layer": layer, "call": call}, traced))
    return values if isinstance(out, list) else values[0]


def _sub_call(layer, tape, owner, need_input_grad):
    """The record of this use of ``layer`` inside ``owner``'s call (kept in the owner's record, reused)."""
    owner_call = getattr(tape, "owner_call", None)
    if owner is None or owner_call is None:
        return layer.new_call(need_input_grad=need_input_grad)
    part = next(((start, stop) for sub, start, stop in owner._sub_parts if sub is layer), None)
    if part is None:
        if layer.count_params():
            raise ValueError(f"{owner.display_name}: layer {layer.display_name!r} is called inside call() but is "
                             f"not an attribute of {owner.display_name}, so its weights are not trained; make "
                             f"it in __init__ (self.{_snake_name(layer)} = ...) and call that.")
        return layer.new_call(need_input_grad=need_input_grad)
    use = tape.uses.get(id(layer), 0)
    tape.uses[id(layer)] = use + 1
    cache = owner_call.__dict__.setdefault("subcalls", {})
    key = (id(layer), use, need_input_grad)
    if key not in cache:
        target = owner_call.grads.flat[part[0]:part[1]]
        own = target if use == 0 else np.zeros_like(target)
        sub = layer.new_call(layer.views(own), rng=owner_call.rng, need_input_grad=need_input_grad)
        cache[key] = (sub, target, own)
    sub, target, own = cache[key]
    sub.rng = owner_call.rng
    if own is not target:
        owner_call.deferred.append((target, own))
    return sub


def _snake_name(layer):
    return (layer.name or type(layer).__name__).lower()


def make_variable(layer, name, trainable, regularizer=None):
    """The :class:`~netfit.ops.Variable` that ``add_weight`` returns for a custom layer's weight ``name``
    (its ``regularizer``'s penalty is added to R by :func:`forward`)."""
    return Variable(_owner=layer, _key=name, name=name, trainable=trainable, regularizer=regularizer)


def free_name(base, taken):
    """``base``, or ``base_1``, ``base_2``, ... : the first not in ``taken``."""
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def traced(layer, inputs):
    """True when ``layer(inputs)`` is to be one entry of the tape recording now: an input is traced on it,
    or the layer is one of the sublayers of the custom layer whose call the tape records (its weights train)."""
    tape = active()
    if tape is None:
        return False
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if any(getattr(v, "_traced_kind", None) == "value" and v.tape is tape for v in items):
        return True
    return tape.owner is not None               # a layer called inside a custom call: tracked, or refused


def added_loss(calls):
    """Σ of the terms that layers of your own added with ``add_loss`` in this pass (records in ``calls``)."""
    total = 0.0
    for call in calls:
        for term in getattr(call, "added_losses", ()):
            total += float(term.data)
        inner = getattr(call, "inner", None)
        if inner is not None:
            total += added_loss(inner)
        subcalls = call.__dict__.get("subcalls")
        if subcalls:                                # layers of your own called inside a layer of your own
            total += added_loss([sub for sub, _, _ in subcalls.values()])
    return total


def current_losses():
    """The add_loss terms and weight penalties recorded on the tape running now (a list of traced values)."""
    tape = active()
    return list(tape.added_losses) if tape is not None else []


def add_loss(layer, loss):
    """``layer.add_loss(loss)`` inside ``call``: a term added to R (Keras sums a tensor given to it).

    In training a traced term is a root of back-propagation (its gradient flows); a constant
    is added to R's value only. In inference (evaluate) the term is added to the reported loss.
    """
    tape = active()
    if tape is None:
        collected = _INFERENCE_TERMS.get()
        if collected is not None:                   # evaluate's pass: the term's value enters the loss
            collected.append(float(np.sum(_array(loss, layer.display_name))))
        return
    if getattr(loss, "_traced_kind", None) != "value" or loss.tape is not tape:
        tape.added_losses.append(Value(np.asarray(np.sum(_array(loss, layer.display_name))), None))   # a constant
        return
    if np.size(loss.data) != 1:
        loss = lookup("sum")(loss)                  # Keras sums a loss tensor given to add_loss
    tape.added_losses.append(loss)


# -- a keras.Model subclass: its call as the one layer of its graph ----------------------------
def model_body_call(self, inputs, training=None, **kwargs):
    """The model's own ``call`` (what :class:`ModelBody` runs)."""
    host = self._model
    if _accepts(host.call, "training"):
        kwargs["training"] = training
    return host.call(inputs, **kwargs)

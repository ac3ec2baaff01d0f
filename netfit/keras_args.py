"""Keras names netfit lacks: each argument is refused with what to use instead, and attribute typos are errors.

Keras code carries its names over: ``Dense(8, kernel_regularizer=l2(1e-4))``,
``EarlyStopping(baseline=0.9)``, ``optimizer.lr = 1e-4``. A name that netfit
took and ignored would change nothing without a word, so every Keras 3 argument
of a netfit class is implemented, or accepted only at the value that means "off"
in Keras (``use_ema=False``), or refused here with the replacement
(:func:`refuse`). The table is :data:`FIXES`; each class names the Keras
arguments it lacks (``Layer.keras_only``, the optimizers' and callbacks' calls
to :func:`refuse`), and tests/test_keras_args.py holds the Keras 3 signatures
against them.

Setting an attribute is checked too (:class:`GuardedAttributes`): on netfit's
layers, optimizers and callbacks, assigning a name the object does not have
(``opt.learning_rte = 1e-4``, ``layer.kernel_regularizer = ...``) from outside
its own methods raises an AttributeError naming the closest attribute or the
Keras replacement, instead of creating an attribute nothing reads.
"""
import difflib
import inspect
import numbers
import sys

#: The Keras values of each refused argument that mean "off": given at one of them, the argument is accepted.
_OFF = {
    "activity_regularizer": (None,), "kernel_regularizer": (None,), "bias_regularizer": (None,),
    "beta_regularizer": (None,), "gamma_regularizer": (None,), "kernel_constraint": (None,),
    "bias_constraint": (None,), "beta_constraint": (None,), "gamma_constraint": (None,), "lora_rank": (None,),
    "lora_alpha": (None,), "quantization_config": (None,), "dtype": (None,), "weights": (None,),
    "batch_input_shape": (None,), "data_format": ("channels_last", None), "dilation_rate": (1, (1, 1)),
    "groups": (1,), "keepdims": (False,), "noise_shape": (None,), "renorm": (False,), "renorm_clipping": (None,),
    "sparse": (None, False), "ragged": (None, False), "input_tensor": (None,), "tensor": (None,),
    "optional": (False,), "use_ema": (False,), "ema_overwrite_frequency": (None,), "loss_scale_factor": (None,),
    "gradient_accumulation_steps": (None, 1), "amsgrad": (False,), "global_clipnorm": (None,),
    "loss_weights": (None,), "weighted_metrics": (None,), "steps_per_execution": (1,),
    "jit_compile": ("auto", False), "validation_freq": (1,), "on_train_batch_begin": (None,), "epsilon": (None,),
    "implementation": (1, 2, 3),
}
#: Arguments that do nothing in netfit whatever their (well-typed) value: accepted after a type check.
_ANY_BOOL = {"autocast", "run_eagerly", "auto_scale_loss", "synchronized"}
_ANY_NUMBER = {"renorm_momentum", "ema_momentum"}

_L2 = ("netfit puts ESL's L2 penalty λ Σ w² on every kernel through the optimizer: "
       "optimizer=nf.optimizers.Adam(weight_decay=λ) (Keras's kernel_regularizer=l2(λ) adds the same λ Σ w², "
       "but per layer)")
_CONSTRAINT = ("netfit has no weight constraints; bound the step with the optimizer's clipnorm, or clip the weights "
               "after each epoch in a LambdaCallback(on_epoch_end=...) with layer.set_weights")

#: Keras argument -> why netfit refuses it and what to use instead.
FIXES = {
    "activity_regularizer": "netfit has no activity penalties; regularise with Dropout or the optimizer's "
                            "weight_decay",
    "kernel_regularizer": _L2,
    "bias_regularizer": "netfit never penalises biases (ESL §11.5.2); leave it out",
    "beta_regularizer": "netfit never penalises β; leave it out",
    "gamma_regularizer": "netfit never penalises γ; leave it out",
    "kernel_constraint": _CONSTRAINT, "bias_constraint": _CONSTRAINT,
    "beta_constraint": _CONSTRAINT, "gamma_constraint": _CONSTRAINT,
    "lora_rank": "netfit has no LoRA; freeze the layer (trainable=False) and add a small Dense beside it instead",
    "lora_alpha": "netfit has no LoRA (see lora_rank)",
    "quantization_config": "netfit computes in float32 or float64 only; leave it out",
    "dtype": "a netfit model has one float type for all its layers: Sequential(..., dtype='float64') or "
             "nf.config.set_floatx('float64')",
    "weights": "Keras 2's initial weights: build the model, then call layer.set_weights([...])",
    "batch_input_shape": "it is Keras 2's shape with the batch axis: give input_shape without it, "
                         "e.g. input_shape=(28, 28), or nf.Input(shape=(28, 28)) first",
    "data_format": "netfit's images are channels-last, (n, height, width, channels): transpose channels-first "
                   "images with `x = x.transpose(0, 2, 3, 1)` and give the shape as (height, width, channels)",
    "dilation_rate": "netfit has no dilated convolution; a larger kernel_size sees as far, with more weights",
    "groups": "give Conv2D a connection table instead: connections=np.kron(np.eye(groups, dtype=bool), "
              "np.ones((c_in // groups, filters // groups), bool)) is Keras's grouped convolution",
    "keepdims": "follow the layer with Reshape((1, 1, channels))",
    "noise_shape": "netfit's Dropout drops each unit on its own; to drop whole feature maps, use a smaller "
                   "model or a higher rate",
    "renorm": "netfit's BatchNormalization has no batch renormalization; a larger batch_size steadies its statistics",
    "renorm_clipping": "netfit's BatchNormalization has no batch renormalization (see renorm)",
    "sparse": "netfit's inputs are dense NumPy arrays: x.toarray()",
    "ragged": "netfit's inputs are dense arrays of one shape: pad the examples to one length",
    "input_tensor": "netfit has no symbolic tensors; give shape=",
    "tensor": "netfit has no symbolic tensors; give shape=",
    "optional": "netfit's Sequential always takes its one input",
    "use_ema": "netfit keeps no moving average of the weights; average saved checkpoints yourself if you need one",
    "ema_overwrite_frequency": "netfit keeps no moving average of the weights (see use_ema)",
    "loss_scale_factor": "netfit computes in float32 or float64 and needs no loss scaling; leave it out",
    "gradient_accumulation_steps": "netfit has no memory limit per step that accumulation would work around: "
                                   "a batch_size k times larger takes the same averaged gradient in one step",
    "amsgrad": "netfit's Adam has no AMSGrad variant",
    "global_clipnorm": "netfit's clipnorm already clips the norm of all gradients together: use clipnorm",
    "loss_weights": "a netfit Sequential has one output and one loss; scale the loss with sample_weight instead",
    "weighted_metrics": "netfit's metrics are unweighted; for a weighted one compute it from "
                        "model.predict(x) with your weights, or evaluate(x, y, sample_weight=w) for the loss",
    "steps_per_execution": "netfit runs each step from Python; there is nothing to fuse, leave it out",
    "jit_compile": "netfit does not compile; `pip install 'netfit[fast]'` (numba) speeds up Adam's step instead",
    "validation_freq": "validate every epoch (validation_freq=1), or evaluate every k epochs yourself in a "
                       "LambdaCallback(on_epoch_end=...)",
    "on_train_batch_begin": "netfit's fit calls no hook before a batch; do the work in on_train_batch_end "
                            "(after step k is before step k + 1) or in on_epoch_begin",
    "epsilon": "it is Keras 2's name: use min_delta",
    "implementation": "Keras 2's implementation is 1, 2 or 3 (the same layer computed three ways)",
    # Accepted whatever their value (_ANY_BOOL, _ANY_NUMBER): why they change nothing here.
    "autocast": "netfit casts every input to the model's one float type",
    "run_eagerly": "netfit always runs eagerly, step by step in NumPy",
    "auto_scale_loss": "netfit has no mixed precision, so no loss scaling",
    "synchronized": "fit never cuts a BatchNormalization batch into shares, so its statistics are always over "
                    "the whole batch",
    "renorm_momentum": "it is used only with renorm, which netfit lacks",
    "ema_momentum": "it is used only with use_ema, which netfit lacks",
}


def refuse(where, given, names, allowed=(), otherwise=None):
    """Raise a TypeError for each argument in ``given`` that netfit does not honour, naming the replacement.

    Parameters
    ----------
    where : str
        The class, for the message.
    given : dict
        The keyword arguments left over after the class's own.
    names : iterable of str
        The Keras arguments of this class that netfit lacks (keys of :data:`FIXES`, or of
        ``_ANY_BOOL`` / ``_ANY_NUMBER``); given at their "off" value they are accepted.
    allowed : iterable of str
        The class's own argument names, for the "did you mean" of an unknown one.
    otherwise : str, optional
        What to say about an unknown name that is close to none (default: the list of ``allowed``).

    Raises
    ------
    TypeError
        A Keras argument at a value netfit cannot honour (with :data:`FIXES`'s replacement), or an
        argument neither netfit nor Keras has (with the closest name).
    """
    names = set(names)
    for key, value in given.items():
        if key not in names:
            hint = suggest(key, list(allowed) + sorted(names))
            if not hint:
                hint = f"; {otherwise}." if otherwise else (f"; it takes {', '.join(allowed)}." if allowed else ".")
            raise TypeError(f"{where}: unknown argument {key!r}{hint}")
        if key in _ANY_BOOL:
            if not isinstance(value, bool):
                raise TypeError(f"{where}: expected {key} True or False, got {_short(value)}; netfit accepts "
                                f"Keras's argument and changes nothing: {FIXES[key]}.")
            continue
        if key in _ANY_NUMBER:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{where}: expected {key} a number, got {_short(value)}; netfit accepts "
                                f"Keras's argument and changes nothing: {FIXES[key]}.")
            continue
        if _is_off(value, _OFF[key]):
            continue
        raise TypeError(f"{where}: Keras's argument {key}={_short(value)} is not available in netfit; "
                        f"{FIXES[key]}.")


def _is_off(value, choices):
    """True when ``value`` is one of the "off" ``choices`` (a list counts as the tuple; True is not 1)."""
    value = tuple(value) if isinstance(value, list) else value
    return any(value is choice or (type(value) is type(choice) and value == choice) for choice in choices)


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def suggest(name, candidates):
    """``"; did you mean 'x'?"`` for the closest of ``candidates`` (difflib), or ``""``."""
    close = difflib.get_close_matches(name, [c for c in candidates if c != name], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def own_arguments(cls):
    """The keyword arguments of ``cls`` and its bases' constructors (for "did you mean")."""
    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name != "self" and p.name not in names]
    return names


class GuardedAttributes:
    """Assigning an attribute that the object lacks, from outside its own methods, raises an AttributeError.

    ``opt.learning_rte = 1e-4`` would otherwise create an attribute that nothing
    reads, and training would go on at the old rate without a word. Allowed as
    before: attributes the object has (``opt.learning_rate``), names its class
    defines (properties such as ``opt.lr``, class attributes), private names
    (``_x``), and anything the object's own methods set (``self.x = ...`` in
    ``build``, ``on_train_begin``, or a helper they call). Subclasses written
    outside netfit are not guarded: your own layer or callback may add
    attributes freely.

    Examples
    --------
    >>> from netfit.optimizers import Adam
    >>> Adam().learning_rte = 1e-4
    Traceback (most recent call last):
    ...
    AttributeError: Adam: has no attribute 'learning_rte' to set; did you mean 'learning_rate'? Setting it ...
    """

    __slots__ = ()

    #: Keras arguments (keys of :data:`FIXES`) named in the error when they are set as attributes.
    keras_only = ()

    def __setattr__(self, name, value):
        if (name[:1] == "_" or name in self.__dict__ or hasattr(type(self), name)
                or not type(self).__module__.startswith("netfit.") or _set_from_inside(self)):
            object.__setattr__(self, name, value)
            return
        where = getattr(self, "display_name", None) or type(self).__name__
        if name in FIXES and name in type(self).keras_only:
            raise AttributeError(f"{where}: has no attribute {name!r} to set; Keras's {name} is not available in "
                                 f"netfit: {FIXES[name]}. Setting it would change nothing.")
        public = [n for n in list(vars(self)) + dir(type(self)) if not n.startswith("_")]
        raise AttributeError(f"{where}: has no attribute {name!r} to set{suggest(name, public) or '.'} Setting it "
                             f"would change nothing; netfit refuses it so that a misspelt name does not pass "
                             f"unnoticed.")


def _set_from_inside(obj, depth=8):
    """True when one of the calling frames (up to ``depth``) is a method of ``obj`` (its ``self`` is ``obj``)."""
    frame = sys._getframe(2)
    for _ in range(depth):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_argcount and code.co_varnames[0] == "self" and frame.f_locals.get("self") is obj:
            return True
        frame = frame.f_back
    return False

"""Keras names: every Keras 3 argument of a netfit class is implemented, accepted "off", or refused with the fix.

``KERAS`` holds Keras 3's constructor signatures (name -> default), read from
keras-team/keras at commit 3422977a5e38 (keras/src/layers, optimizers, callbacks).
For each class and each argument the table test checks one of:

- netfit has the argument (same name): it takes Keras's default value;
- netfit lacks it: Keras's default ("off") is accepted, and any other value is a
  TypeError that names the argument and says what to use instead.

Attributes are held to the same rule: setting one that a layer, optimizer or
callback lacks is an AttributeError naming the closest name, except Keras 2's
``optimizer.lr``, which is an alias of ``learning_rate``.
"""
import inspect
import math

import numpy as np
import pytest

import netfit as nf
from netfit import callbacks, keras_args, layers, optimizers
from netfit.callbacks import (CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                              ReduceLROnPlateau, TerminateOnNaN)
from netfit.layers import Dense

REQUIRED = object()
_LAYER = {"activity_regularizer": None, "trainable": True, "dtype": None, "autocast": True, "name": None}
_OPTIMIZER = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None, "use_ema": False,
              "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
              "gradient_accumulation_steps": None, "name": None}
_REGULARIZED = {"kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                "kernel_constraint": None, "bias_constraint": None}
_BETA_GAMMA = {"beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}

# Keras 3's signatures (keras-team/keras 3422977a5e38), each layer's own arguments plus Layer's.
KERAS = {
    "Dense": {"units": REQUIRED, "activation": None, "use_bias": True, "kernel_initializer": "glorot_uniform",
              "bias_initializer": "zeros", **_REGULARIZED, "lora_rank": None, "lora_alpha": None,
              "quantization_config": None},
    "Conv2D": {"filters": REQUIRED, "kernel_size": REQUIRED, "strides": (1, 1), "padding": "valid",
               "data_format": None, "dilation_rate": (1, 1), "groups": 1, "activation": None, "use_bias": True,
               "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", **_REGULARIZED,
               "lora_rank": None, "lora_alpha": None},
    # Keras 2's (Keras 3 dropped the layer): tf.keras.layers.LocallyConnected2D.
    "LocallyConnected2D": {"filters": REQUIRED, "kernel_size": REQUIRED, "strides": (1, 1), "padding": "valid",
                           "data_format": None, "activation": None, "use_bias": True,
                           "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros", **_REGULARIZED,
                           "implementation": 1},
    "MaxPooling2D": {"pool_size": (2, 2), "strides": None, "padding": "valid", "data_format": None, "name": None},
    "AveragePooling2D": {"pool_size": REQUIRED, "strides": None, "padding": "valid", "data_format": None,
                         "name": None},
    "GlobalAveragePooling2D": {"data_format": None, "keepdims": False},
    "GlobalMaxPooling2D": {"data_format": None, "keepdims": False},
    "Flatten": {"data_format": None},
    "Reshape": {"target_shape": REQUIRED},
    "Dropout": {"rate": REQUIRED, "noise_shape": None, "seed": None},
    "Activation": {"activation": REQUIRED},
    "Normalization": {"axis": -1, "mean": None, "variance": None, "invert": False},
    "BatchNormalization": {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                           "beta_initializer": "zeros", "gamma_initializer": "ones",
                           "moving_mean_initializer": "zeros", "moving_variance_initializer": "ones",
                           **_BETA_GAMMA, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
                           "synchronized": False},
    "LayerNormalization": {"axis": -1, "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": "zeros",
                           "gamma_initializer": "ones", **_BETA_GAMMA},
    "ZeroPadding2D": {"padding": (1, 1), "data_format": None},
    "InputLayer": {"shape": REQUIRED, "batch_size": None, "dtype": None, "sparse": None, "ragged": None,
                   "batch_shape": None, "input_tensor": None, "optional": False, "name": None},
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, **_OPTIMIZER},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False,
             **_OPTIMIZER},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07, "centered": False,
                **_OPTIMIZER},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-07, **_OPTIMIZER},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, **_OPTIMIZER},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
              "amsgrad": False, **{k: v for k, v in _OPTIMIZER.items() if k != "weight_decay"}},
    "EarlyStopping": {"monitor": "val_loss", "min_delta": 0, "patience": 0, "verbose": 0, "mode": "auto",
                      "baseline": None, "restore_best_weights": False, "start_from_epoch": 0},
    "ModelCheckpoint": {"filepath": REQUIRED, "monitor": "val_loss", "verbose": 0, "save_best_only": False,
                        "save_weights_only": False, "mode": "auto", "save_freq": "epoch",
                        "initial_value_threshold": None},
    "ReduceLROnPlateau": {"monitor": "val_loss", "factor": 0.1, "patience": 10, "verbose": 0, "mode": "auto",
                          "min_delta": 0.0001, "cooldown": 0, "min_lr": 0.0},
    "LearningRateScheduler": {"schedule": REQUIRED, "verbose": 0},
    "CSVLogger": {"filename": REQUIRED, "separator": ",", "append": False},
    "LambdaCallback": {"on_epoch_begin": None, "on_epoch_end": None, "on_train_begin": None, "on_train_end": None,
                       "on_train_batch_begin": None, "on_train_batch_end": None},
    "TerminateOnNaN": {"raise_error": False},
}
for _name in ("Dense", "Conv2D", "LocallyConnected2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
              "GlobalMaxPooling2D", "Flatten", "Reshape", "Dropout", "Activation", "Normalization",
              "BatchNormalization", "LayerNormalization", "ZeroPadding2D"):
    KERAS[_name] = {**_LAYER, **KERAS[_name]}

CLASSES = {**{name: getattr(layers, name) for name in KERAS if hasattr(layers, name)},
           **{name: getattr(optimizers, name) for name in ("SGD", "Adam", "RMSprop", "Adagrad", "Nadam", "AdamW")},
           "EarlyStopping": EarlyStopping, "ModelCheckpoint": ModelCheckpoint, "ReduceLROnPlateau": ReduceLROnPlateau,
           "LearningRateScheduler": LearningRateScheduler, "CSVLogger": CSVLogger, "LambdaCallback": LambdaCallback,
           "TerminateOnNaN": TerminateOnNaN}
# Values for the arguments Keras requires.
NEEDED = {"units": 3, "filters": 2, "kernel_size": 3, "pool_size": 2, "target_shape": (4,), "rate": 0.5,
          "activation": "relu", "filepath": "m.netfit", "schedule": lambda epoch, lr: lr, "filename": "log.csv",
          "shape": (3,)}


def _netfit_arguments(cls):
    return keras_args.own_arguments(cls)


def _rows():
    for cls_name, signature in KERAS.items():
        for arg, default in signature.items():
            yield pytest.param(cls_name, arg, default, id=f"{cls_name}-{arg}")


@pytest.mark.parametrize("cls_name, arg, default", list(_rows()))
def test_every_keras_argument_is_implemented_or_refused_with_the_replacement(cls_name, arg, default):
    cls = CLASSES[cls_name]
    required = {a: NEEDED[a] for a, d in KERAS[cls_name].items() if d is REQUIRED}
    if default is not REQUIRED:                  # Keras's default value is accepted, implemented or "off"
        cls(**{**required, arg: default})
    if arg in _netfit_arguments(cls):
        return
    assert arg in keras_args.FIXES or arg in keras_args._ANY_BOOL | keras_args._ANY_NUMBER, (cls_name, arg)
    with pytest.raises(TypeError, match=rf"^{cls.__name__}: .*{arg}.*[;:] \S") as info:
        cls(**{**required, arg: object()})       # any value netfit cannot honour
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("cls_name", list(KERAS))
def test_shared_arguments_come_in_keras_order(cls_name):
    """Keras's arguments that netfit has appear in Keras's relative order (the callbacks now take Keras's order)."""
    params = inspect.signature(CLASSES[cls_name].__init__).parameters.values()
    ours = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in KERAS[cls_name]]
    theirs = [a for a in KERAS[cls_name] if a in ours]
    assert ours == theirs


def test_an_unknown_argument_names_the_closest_one_or_lists_them():
    with pytest.raises(TypeError, match=r"^Dense: unknown argument 'activaton'; did you mean 'activation'\?$"):
        Dense(3, activaton="relu")
    with pytest.raises(TypeError, match=r"^EarlyStopping: unknown argument 'patient'; did you mean 'patience'\?$"):
        EarlyStopping(patient=3)
    with pytest.raises(TypeError, match=r"^Flatten: unknown argument 'zzz'; it takes input_shape, name, trainable"):
        layers.Flatten(zzz=1)
    with pytest.raises(TypeError, match=r"^Sequential.compile: unknown argument 'run_eager'; did you mean "
                                        r"'run_eagerly'\?$"):
        nf.Sequential([Dense(1)]).compile(loss="mse", run_eager=True)


def test_channels_first_data_format_is_refused_with_the_transpose():
    for cls in (layers.Conv2D, layers.LocallyConnected2D):
        with pytest.raises(TypeError, match=r"data_format='channels_first' .*channels-last.*"
                                            r"x = x.transpose\(0, 2, 3, 1\)"):
            cls(4, 3, data_format="channels_first")
    for cls in (layers.MaxPooling2D, layers.AveragePooling2D, layers.GlobalAveragePooling2D, layers.Flatten):
        with pytest.raises(TypeError, match=r"x.transpose\(0, 2, 3, 1\)"):
            cls(data_format="channels_first")
    assert layers.Conv2D(4, 3, data_format="channels_last").kernel_size == (3, 3)


def test_grouped_convolution_is_refused_with_the_connection_table_that_makes_it():
    with pytest.raises(TypeError, match=r"groups=2 .*connections=np.kron") as info:
        layers.Conv2D(4, 3, groups=2)
    groups, c_in, filters = 2, 4, 4
    table = np.kron(np.eye(groups, dtype=bool), np.ones((c_in // groups, filters // groups), bool))   # the fix
    conv = layers.Conv2D(filters, 3, connections=table)
    conv.setup((5, 5, c_in), rng=np.random.default_rng(0))
    assert "groups" in str(info.value) and conv.count_params() == 3 * 3 * 8 + 4


# -- optimizer.lr and attribute typos ---------------------------------------------------------------
def _problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]])


def _trained(set_rate):
    x, y = _problem()
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0, dtype="float64")
    model.compile(optimizers.SGD(0.1), "mse")
    set_rate(model.optimizer)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    return model.get_weights()


def test_optimizer_lr_is_an_alias_of_learning_rate_that_takes_effect():
    """Keras 2's `opt.lr = 1e-6` (still in many tutorials) sets γ: training then moves as with learning_rate."""
    opt = optimizers.Adam(learning_rate=0.01)
    assert opt.lr == 0.01
    opt.lr = 1e-6
    assert opt.learning_rate == 1e-6 and opt.lr == 1e-6
    by_lr = _trained(lambda o: setattr(o, "lr", 1e-4))
    by_name = _trained(lambda o: setattr(o, "learning_rate", 1e-4))
    untouched = _trained(lambda o: None)
    assert all(np.array_equal(a, b) for a, b in zip(by_lr, by_name))
    assert not all(np.array_equal(a, b) for a, b in zip(by_lr, untouched))
    with pytest.raises(ValueError, match=r"Adam.lr: expected learning_rate a positive number"):
        opt.lr = -1.0
    assert opt.learning_rate == 1e-6


@pytest.mark.parametrize("make, typo, closest", [
    (lambda: optimizers.Adam(), "learning_rte", "learning_rate"),
    (lambda: optimizers.SGD(momentum=0.9), "momentun", "momentum"),
    (lambda: EarlyStopping(), "patiense", "patience"),
    (lambda: ReduceLROnPlateau(), "min_lr_", "min_lr"),
    (lambda: ModelCheckpoint("m.netfit"), "save_best", "save_best_only"),
    (lambda: Dense(3), "activaton", "activation"),
    (lambda: layers.Dropout(0.5), "rat", "rate"),
])
def test_setting_a_misspelt_attribute_is_an_error_naming_the_closest(make, typo, closest):
    obj = make()
    before = dict(vars(obj))
    with pytest.raises(AttributeError, match=rf"has no attribute '{typo}' to set; did you mean '{closest}'\?"):
        setattr(obj, typo, 1)
    assert vars(obj) == before


def test_setting_a_keras_attribute_netfit_lacks_names_the_replacement():
    with pytest.raises(AttributeError, match=r"kernel_regularizer.*weight_decay"):
        Dense(3).kernel_regularizer = "l2"
    with pytest.raises(AttributeError, match=r"^Adam: has no attribute 'use_ema' to set; Keras's use_ema is not "
                                             r"available in netfit: .*Setting it would change nothing\.$"):
        optimizers.Adam().use_ema = True


def test_the_guard_leaves_real_attributes_properties_private_names_and_your_subclasses_alone():
    opt = optimizers.SGD()
    opt.learning_rate, opt.momentum, opt._scratch = 0.5, 0.9, 1      # attributes it has; a private name
    layer = Dense(3)
    layer.trainable = False                                          # a property
    layer.name = "head"
    assert (opt.learning_rate, opt.momentum, layer.trainable, layer.display_name) == (0.5, 0.9, False, "head")

    class Logger(callbacks.Callback):                                # your own subclass: free to add attributes
        def on_train_begin(self, logs=None):
            self.lines = []

    logger = Logger()
    logger.anything = 1
    assert logger.anything == 1

    class MyAdam(optimizers.Adam):
        pass

    mine = MyAdam()
    mine.note = "mine"                                               # outside netfit: not guarded
    assert mine.note == "mine"


def test_netfit_objects_still_set_their_own_attributes_as_they_train(tmp_path):
    """The lifecycle attributes (built layers, callbacks' counters, history) are set from inside: no refusal."""
    x, y = _problem()
    model = nf.Sequential([layers.BatchNormalization(input_shape=(3,)), Dense(4, activation="relu"), Dense(1)],
                          seed=0)
    model.compile("adam", "mse")
    cbs = [EarlyStopping("loss", patience=1, restore_best_weights=True), ReduceLROnPlateau("loss", patience=1),
           ModelCheckpoint(str(tmp_path / "m.netfit")), CSVLogger(str(tmp_path / "log.csv")), TerminateOnNaN()]
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=cbs)
    assert len(history.epoch) >= 2 and (tmp_path / "m.netfit").exists()


def test_build_takes_keras_batch_axis():
    model = nf.Sequential([Dense(3)], seed=0)
    model.build((None, 4))
    assert model.input_shape == (None, 4) and model.count_params() == 15
    other = nf.Sequential([Dense(3)], seed=0)
    other.build((4,))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights()))


def test_input_dim_and_batch_shape_are_keras_ways_to_give_the_shape():
    assert Dense(3, input_dim=4).input_shape == (4,)
    assert nf.Input(batch_shape=(None, 28, 28)).shape == (None, 28, 28)       # a symbolic tensor, as Keras's
    assert nf.Input(batch_shape=(8, 5)).node.layer.batch_size == 8
    with pytest.raises(ValueError, match=r"give input_shape or input_dim"):
        Dense(3, input_dim=4, input_shape=(5,))


# -- the callbacks' Keras arguments, implemented -------------------------------------------------------------
def _fit_logged(losses, callback, epochs=None):
    """fit with a LambdaCallback that writes the given per-epoch 'score' into the logs, then `callback`."""
    x, y = _problem()
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(optimizers.SGD(1e-3), "mse")
    write = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(score=losses[epoch]))
    return model.fit(x, y, epochs=epochs or len(losses), verbose=0, callbacks=[write, callback])


def test_early_stopping_baseline_and_start_from_epoch_as_keras():
    # Never beats the baseline 0.5: stops after `patience` epochs, as Keras does.
    history = _fit_logged([0.9, 0.8, 0.7, 0.6, 0.55, 0.52], EarlyStopping("score", patience=3, mode="min",
                                                                          baseline=0.5))
    assert history.epoch == [0, 1, 2] and "baseline" in history.stop_reason
    # Beats it from epoch 2 on and keeps improving: runs to the end (one epoch short of it counts as waiting).
    history = _fit_logged([0.9, 0.4, 0.3, 0.2, 0.1], EarlyStopping("score", patience=2, mode="min", baseline=0.5))
    assert history.epoch == [0, 1, 2, 3, 4] and history.stop_reason is None
    # start_from_epoch: the bad first epochs are not watched.
    values = [1.0, 2.0, 3.0, 0.5, 0.4, 0.45, 0.46]
    history = _fit_logged(values, EarlyStopping("score", patience=1, mode="min", start_from_epoch=3))
    assert history.epoch == [0, 1, 2, 3, 4, 5]
    history = _fit_logged(values, EarlyStopping("score", patience=1, mode="min"))
    assert history.epoch == [0, 1]


def test_model_checkpoint_save_freq_in_batches_and_initial_value_threshold(tmp_path):
    x, y = _problem()
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(optimizers.SGD(1e-3), "mse")
    path = str(tmp_path / "m-{epoch}-{batch}.netfit")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ModelCheckpoint(path, save_freq=3)])
    # 4 batches an epoch, a file every 3 batches counted across epochs: after batches 3, 6 (epoch 2, batch 2).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1-3.netfit", "m-2-2.netfit"]
    assert nf.load_model(tmp_path / "m-2-2.netfit").count_params() == 4
    with pytest.raises(ValueError, match=r"monitor \(save_freq=3: batch logs\) one of .*loss.*got 'val_loss'"):
        model.fit(x, y, validation_split=0.5, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "b.netfit"), save_freq=3, save_best_only=True)])
    best = ModelCheckpoint(str(tmp_path / "best.netfit"), monitor="loss", save_best_only=True,
                           initial_value_threshold=1e-9)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[best])
    assert not (tmp_path / "best.netfit").exists()                    # never beat the threshold
    with pytest.raises(ValueError, match=r"expected save_freq 'epoch' or a positive number of batches"):
        ModelCheckpoint("m.netfit", save_freq=0)


def test_terminate_on_nan_raise_error():
    cb = TerminateOnNaN(raise_error=True)
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile("sgd", "mse")
    cb.set_model(model)
    with pytest.raises(RuntimeError, match=r"TerminateOnNaN: loss was nan at batch 3 \(raise_error=True\)"):
        cb.on_train_batch_end(2, {"loss": math.nan})


def test_on_batch_end_is_kerass_alias():
    seen = []

    class Counter(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    x, y = _problem()
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile("sgd", "mse")
    alias = LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[Counter(), alias])
    assert len(seen) == 2 * 4


def test_compile_and_fit_keras_arguments():
    x, y = _problem()
    model = nf.Sequential([Dense(1, input_shape=(3,))], seed=0, dtype="float64")
    model.compile("sgd", "mse", run_eagerly=True, jit_compile=False, steps_per_execution=1, auto_scale_loss=True,
                  loss_weights=None, weighted_metrics=None)
    weighted = nf.models.clone_model(model)
    weighted.compile("sgd", "mse", loss_weights=[2.0])                 # Keras's loss_weights: R = 2 R_mse
    assert weighted.evaluate(x, y) == pytest.approx(2 * model.evaluate(x, y), rel=1e-12)
    with pytest.raises(TypeError, match=r"jit_compile=True is not available"):
        model.compile("sgd", "mse", jit_compile=True)
    a = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, validation_batch_size=5, validation_freq=1)
    model2 = nf.Sequential([Dense(1, input_shape=(3,))], seed=0, dtype="float64")
    model2.compile("sgd", "mse")
    b = model2.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-12)
    with pytest.raises(TypeError, match=r"validation_freq=2 is not available in netfit; validate every epoch"):
        model.fit(x, y, validation_split=0.25, verbose=0, validation_freq=2)
    with pytest.raises(ValueError, match=r"expected validation_batch_size >= 1"):
        model.fit(x, y, verbose=0, validation_batch_size=0)


def test_optimizer_name_is_kept_and_saved():
    opt = optimizers.Adam(name="my_adam")
    assert opt.name == "my_adam" and optimizers.get(optimizers.serialize(opt)).name == "my_adam"
    assert optimizers.Adam().name == "adam" and "name" not in optimizers.Adam().get_config()


def test_the_table_covers_what_the_classes_declare():
    """Each name a class lists in keras_only has a fix; each fix belongs to some class."""
    declared = set()
    for cls in CLASSES.values():
        declared.update(getattr(cls, "keras_only", ()))
    assert declared <= set(keras_args.FIXES) | keras_args._ANY_BOOL | keras_args._ANY_NUMBER
    assert set(inspect.signature(keras_args.refuse).parameters) == {"where", "given", "names", "allowed",
                                                                     "otherwise"}

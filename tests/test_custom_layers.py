"""Layers and models written as Python code (Keras's build / add_weight / call; keras.Model subclasses).

Their backward comes from the ops tape (netfit.layers.custom): checked against the
built-in layers' written-out backward (to 1e-12 in float64), against central
differences of the model's loss, and for the rules a graph adds (a sublayer used
twice gets the sum of its uses' gradients; frozen weights get none).
"""
import threading

import numpy as np
import pytest

import netfit as nf
from netfit import keras, ops
from netfit.layers import Dense, Dropout, Layer

RNG = np.random.default_rng(0)
X = RNG.standard_normal((24, 5))
Y = RNG.integers(0, 3, 24)


class MyDense(Layer):
    """The lecture's Dense written with ops: a = relu(x α + α_0)."""

    def __init__(self, units, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units, self.act = units, activation

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        z = ops.add(ops.matmul(inputs, self.w), self.b)
        return ops.relu(z) if self.act == "relu" else z

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.act}


class Residual(Layer):
    """Two tracked Dense layers, one of them used twice, and a weight of its own: y = d2(d1(x)) + d1(x) ⊙ s."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.d1 = Dense(units, activation="tanh")
        self.d2 = Dense(units)
        self.units = units

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")

    def call(self, inputs):
        h = self.d1(inputs)
        again = self.d1(inputs * 0.5)                   # the same layer a second time: its gradient is the sum
        return self.d2(h) + again * self.scale


def _model(*layers, dtype="float64", seed=1):
    model = nf.Sequential([nf.Input(shape=(5,)), *layers], seed=seed, dtype=dtype)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _numeric(model, x, y, h=1e-6, entries=6, seed=0):
    """Central differences of R for a few entries of each weight array: [(array index, entry, value)]."""
    rng = np.random.default_rng(seed)
    weights = model.get_weights()
    out = []
    for k, w in enumerate(weights):
        for _ in range(min(entries, w.size)):
            i = tuple(int(rng.integers(0, d)) for d in w.shape)
            for sign in (+1, -1):
                changed = [v.copy() for v in weights]
                changed[k][i] += sign * h
                model.set_weights(changed)
                value = model.loss_and_gradients(x, y, gradients=False)[0]
                out.append(value) if sign > 0 else out.append(value)
            up, down = out[-2], out[-1]
            del out[-2:]
            out.append((k, i, (up - down) / (2 * h)))
    model.set_weights(weights)
    return out


def _check_against_differences(model, x=X, y=Y, tol=1e-6):
    _, grads = model.loss_and_gradients(x, y)
    worst = 0.0
    for k, i, value in _numeric(model, x, y):
        assert abs(grads[k][i] - value) < tol * max(1.0, abs(value)), (k, i, grads[k][i], value)
        worst = max(worst, abs(grads[k][i] - value))
    return worst


def test_a_dense_written_with_ops_has_the_built_in_dense_gradients():
    custom = _model(MyDense(7), Dense(3, activation="softmax"))
    built_in = _model(Dense(7, activation="relu"), Dense(3, activation="softmax"))
    built_in.set_weights(custom.get_weights())
    l1, g1 = custom.loss_and_gradients(X, Y)
    l2, g2 = built_in.loss_and_gradients(X, Y)
    assert abs(l1 - l2) < 1e-12
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(custom.predict(X, verbose=0), built_in.predict(X, verbose=0), atol=1e-12)


def test_three_steps_of_the_custom_dense_follow_the_built_in_one():
    custom = _model(MyDense(7), Dense(3, activation="softmax"))
    built_in = _model(Dense(7, activation="relu"), Dense(3, activation="softmax"))
    built_in.set_weights(custom.get_weights())
    for model in (custom, built_in):
        model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), built_in.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_sublayers_a_shared_use_and_an_own_weight_against_central_differences():
    model = _model(Residual(4), Dense(3, activation="softmax"))
    assert [w.shape for w in model.get_weights()][:5] == [(4,), (5, 4), (4,), (4, 4), (4,)]   # own first, as Keras
    assert _check_against_differences(model) < 1e-6


def test_a_shared_sublayer_gets_the_sum_of_its_uses():
    class Twice(Layer):
        def __init__(self):
            super().__init__()
            self.d = Dense(5, use_bias=False)

        def call(self, x):
            return self.d(x) + self.d(2.0 * x)

    model = _model(Twice(), Dense(3, activation="softmax"))
    _, grads = model.loss_and_gradients(X, Y)
    single = _model(Dense(5, use_bias=False), Dense(3, activation="softmax"))
    single.set_weights(model.get_weights())
    # d(x) + d(2x) = d(3x) for a linear map without bias: the gradient of the shared kernel is that of x ↦ 3x α
    _, expected = single.loss_and_gradients(3.0 * X, Y)
    np.testing.assert_allclose(grads[0], expected[0], rtol=1e-10, atol=1e-12)


class Nested(Layer):
    def __init__(self):
        super().__init__()
        self.inner = MyDense(6, activation="relu")
        self.out = MyDense(3, activation=None)

    def call(self, x):
        return self.out(self.inner(x))


def test_a_custom_layer_inside_a_custom_layer_against_central_differences():
    model = _model(Nested(), nf.layers.Activation("softmax"))
    assert model.count_params() == 5 * 6 + 6 + 6 * 3 + 3
    assert _check_against_differences(model) < 1e-6


class Classifier(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = Dense(6, activation="tanh")
        self.mine = MyDense(4)
        self.head = Dense(3, activation="softmax")

    def call(self, x, training=False):
        return self.head(self.mine(self.hidden(x)))


def test_a_subclassed_model_equals_its_functional_twin():
    sub = Classifier()
    sub.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    sub.build((None, 5))
    x = nf.Input(shape=(5,))
    twin = nf.Model(x, Dense(3, activation="softmax")(Dense(4, activation="relu")(Dense(6, activation="tanh")(x))))
    twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert sub.count_params() == twin.count_params()
    sub_64 = [w.astype(np.float64) for w in sub.get_weights()]
    twin.set_weights(sub_64)
    l1, g1 = sub.loss_and_gradients(X, Y)
    l2, g2 = twin.loss_and_gradients(X, Y)
    assert abs(l1 - l2) < 1e-5
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_subclassed_model_is_built_by_its_first_data_and_trains():
    model = Classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert not model.built
    history = model.fit(X, Y, epochs=15, batch_size=8, verbose=0)
    assert model.built and model.count_params() == 5 * 6 + 6 + 6 * 4 + 4 + 4 * 3 + 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(X, verbose=0).shape == (24, 3)
    assert model(X[:2]).shape == (2, 3)


def test_a_subclassed_model_before_any_data_says_how_to_build_it():
    with pytest.raises(ValueError, match=r"build\(\(None, 28, 28, 1\)\)"):
        Classifier().build()


def test_weights_made_with_trainable_false_and_frozen_sublayers_do_not_move():
    class Counter(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 3), name="w")
            self.fixed = self.add_weight(shape=(3,), initializer="ones", trainable=False, name="fixed")

        def call(self, x):
            return ops.matmul(x, self.w) * self.fixed

    frozen = Dense(4)
    frozen.trainable = False

    class Holder(Layer):
        def __init__(self):
            super().__init__()
            self.frozen = frozen

        def call(self, x):
            return self.frozen(x)

    model = _model(Holder(), Counter(), nf.layers.Activation("softmax"))
    before = model.get_weights()
    model.fit(X, Y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])            # the frozen sublayer's kernel
    np.testing.assert_array_equal(before[3], after[3])            # add_weight(trainable=False)
    assert not np.array_equal(before[2], after[2])                # the trained weight moved
    counts = nf.summary.format_summary(model)
    assert "Non-trainable params: 27" in counts


def test_add_loss_terms_enter_the_loss_and_its_gradient():
    class Penalised(Layer):
        def __init__(self):
            super().__init__()
            self.d = Dense(3)

        def call(self, x):
            a = self.d(x)
            self.add_loss(0.1 * ops.sum(a * a) / 24.0)
            return a

    model = _model(Penalised(), nf.layers.Activation("softmax"))
    plain = _model(Dense(3, activation="softmax"))
    plain.set_weights(model.get_weights())
    loss, _ = model.loss_and_gradients(X, Y)
    base, _ = plain.loss_and_gradients(X, Y)
    a = model.layers[0].d.forward(X, False, model.layers[0].d.new_call())
    assert abs(loss - base - 0.1 * float(np.sum(a * a)) / 24.0) < 1e-10
    assert _check_against_differences(model) < 1e-6


def test_a_layer_made_inside_call_with_weights_is_refused_with_the_fix():
    class Careless(Layer):
        def call(self, x):
            return Dense(2)(x)

    with pytest.raises(ValueError, match=r"not an attribute of .*make it in __init__"):
        model = _model(Careless(), nf.layers.Activation("softmax"))
        model.loss_and_gradients(X, np.zeros(24, int))


def test_the_training_flag_reaches_layers_called_inside():
    class WithDropout(Layer):
        def __init__(self):
            super().__init__()
            self.drop = Dropout(0.5, seed=3)

        def call(self, x, training=None):
            return self.drop(x)

    layer = WithDropout()
    out = layer(np.ones((4, 8)))
    np.testing.assert_array_equal(out, np.ones((4, 8)))             # inference: no dropout
    model = _model(WithDropout(), Dense(3, activation="softmax"))
    model.fit(X, Y, epochs=1, verbose=0)                             # training: a mask is drawn (no error)
    dropped = model.layers[0](X, training=True)
    assert np.any(dropped == 0)


def test_predict_from_two_threads_equals_serial():
    model = Classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build((None, 5))
    big = np.random.default_rng(1).standard_normal((400, 5)).astype(np.float32)
    expected = model.predict(big, verbose=0)
    results = [None, None]

    def run(k):
        results[k] = model.predict(big, batch_size=16, verbose=0)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_variables_read_the_models_weights_and_assign_writes_them():
    model = _model(MyDense(4), Dense(3, activation="softmax"))
    first = model.get_weights()[0]                                   # builds the model
    layer = model.layers[0]
    np.testing.assert_array_equal(layer.w.numpy(), first)
    layer.w.assign(np.zeros((5, 4)))
    assert not model.get_weights()[0].any()
    with pytest.raises(ValueError, match="expected a value of shape"):
        layer.b.assign(np.zeros(7))


def test_the_models_seed_draws_the_sublayers_weights_and_threads_agree():
    big_x, big_y = np.tile(X, (20, 1)), np.tile(Y, 20)
    runs = []
    for threads in (1, 2):
        model = _model(Residual(4), Dense(3, activation="softmax"), seed=5)
        with nf.parallel.using(threads):
            model.fit(big_x, big_y, batch_size=240, epochs=2, verbose=0)
        runs.append(model.get_weights())
    again = _model(Residual(4), Dense(3, activation="softmax"), seed=5).get_weights()
    other = _model(Residual(4), Dense(3, activation="softmax"), seed=6).get_weights()
    first = _model(Residual(4), Dense(3, activation="softmax"), seed=5).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))                # the seed fixes every weight
    assert not np.array_equal(first[1], other[1])                                 # a sublayer's kernel too
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


class Distilling(keras.Model):
    """A compute_loss override: the student's cross-entropy and a KL term towards a trained teacher."""

    def __init__(self, student, teacher):
        super().__init__(dtype="float64")
        self.teacher, self.student = teacher, student

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        soft = self.teacher(x, training=False)
        kl = keras.losses.KLDivergence()(ops.softmax(soft / 2.0, axis=1), ops.softmax(y_pred / 2.0, axis=1))
        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, y_pred)
        return 0.3 * ce + 0.7 * kl * 4.0

    def call(self, x):
        return self.student(x)


def _distiller():
    teacher = nf.Sequential([nf.Input(shape=(5,)), Dense(4, activation="tanh"), Dense(3)], seed=2, dtype="float64")
    student = nf.Sequential([nf.Input(shape=(5,)), Dense(3)], seed=3, dtype="float64")
    model = Distilling(student, teacher)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    model.build((None, 5))
    return model, teacher


def test_compute_loss_against_central_differences_and_the_teacher_keeps_its_weights():
    model, teacher = _distiller()
    trained = [np.full_like(w, 0.1) for w in teacher.get_weights()]
    teacher.set_weights(trained)                                   # the model shares the teacher's weights
    assert _check_against_differences(model) < 1e-6
    history = model.fit(X, Y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] and "accuracy" in history.history
    assert len(model.evaluate(X, Y, verbose=0)) == 2


def test_a_compute_loss_that_ignores_y_pred_is_refused_before_a_step():
    class Careless(Distilling):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return ops.mean(np.ones(3))

    model = Careless(nf.Sequential([nf.Input(shape=(5,)), Dense(3)], seed=3), None)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="does not depend on y_pred"):
        model.fit(X, Y, epochs=1, verbose=0)


def test_the_readmes_example_runs_as_written_and_learns():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("import numpy as np\nfrom netfit import keras, ops")
    namespace = {}
    exec(readme[start:readme.index("```", start)], namespace)      # noqa: S102 — the README's own code
    history, model = namespace["history"].history, namespace["model"]
    assert history["loss"][-1] < 0.6 * history["loss"][0] and history["accuracy"][-1] > 0.75
    assert model.count_params() == 8 * 32 + 32 + 32 * 3 + 3
    assert "173 ops" in readme and len(ops.list_ops()) == 173


def test_an_op_given_a_framework_tensor_or_objects_names_them_and_the_fix():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"got a torch\.Tensor.*x\.detach\(\)\.cpu\(\)\.numpy\(\)"):
        ops.matmul(torch.ones(2, 2), np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"dtype=object.*np\.asarray\(x, dtype='float32'\)"):
        ops.add(np.array([np.ones(2), np.ones(3)], dtype=object), 1.0)
    with pytest.raises(AttributeError, match=r"no op 'matmull'; did you mean matmul"):
        ops.matmull


def test_a_shape_mismatch_in_call_names_the_layer():
    class Wrong(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(3, 2))

        def call(self, x):
            return ops.matmul(x, self.w)

    with pytest.raises(ValueError, match=r"wrong.*matmul|matmul.*wrong"):
        _model(Wrong(), Dense(3, activation="softmax")).get_weights()


def test_a_layer_with_a_backward_of_its_own_keeps_no_tape():
    class Scale(Layer):
        """a = x ⊙ s, its backward written out (netfit's way): ∂R/∂s = Σ_i δ_i ⊙ x_i, s_in = δ ⊙ s."""

        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x):
            return x * self.s

        def backward(self, delta, call=None):
            call = self.record(call)
            assert call.tape is None                                   # the tape is not used
            call.grads["s"][...] = np.sum(delta * call.x, axis=0)
            return delta * self.s.numpy() if call.need_input_grad else None

    model = _model(Dense(4, activation="tanh"), Scale(), Dense(3, activation="softmax"))
    assert _check_against_differences(model) < 1e-6


def test_numpy_functions_in_call_run_as_ops_and_train():
    class NumpyDense(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 4), name="w")

        def call(self, x):
            z = np.dot(x, self.w)                                      # np.dot -> ops.dot, on the tape
            both = np.concatenate([np.where(z > 0, z, 0.1 * z), np.tanh(z)], axis=-1)
            return np.sum(both, axis=-1, keepdims=True) * both

    model = _model(NumpyDense(), Dense(3, activation="softmax"))
    assert _check_against_differences(model) < 1e-6

    class Unknown(Layer):
        def call(self, x):
            return np.histogram(x)[0]

    with pytest.raises(TypeError, match=r"np\.histogram on a netfit tensor: netfit\.ops has no op"):
        Unknown()(X)


class WithSuper(keras.Model):
    """compute_loss = Keras's base (the compiled loss and self.losses) + a term of its own."""

    def __init__(self):
        super().__init__(dtype="float64")
        self.d1 = Dense(4, activation="tanh")
        self.d2 = Dense(3, activation="softmax")

    def call(self, x):
        h = self.d1(x)
        self.d1.add_loss(0.05 * ops.mean(h * h))                      # reaches R through self.losses
        return self.d2(h)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(x, y, y_pred, sample_weight) + 0.01 * ops.sum(y_pred * y_pred)


def test_super_compute_loss_gives_the_compiled_loss_and_self_losses():
    model = WithSuper()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.build((None, 5))
    assert _check_against_differences(model) < 1e-6
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert "accuracy" in history.history
    plain = WithSuper()
    plain.compile(optimizer="sgd", loss=None)
    plain.build((None, 5))
    with pytest.raises(ValueError, match="no loss was given to compile"):
        plain.fit(X, Y, epochs=1, verbose=0)
    assert ops.add(np.ones(2), 1.0).tolist() == [2.0, 2.0]           # no tape left behind by the refusal
    assert nf.ops.Tape is not None and nf.ops.tape.active() is None


def test_accuracy_with_a_loss_function_of_your_own_goes_by_the_shapes():
    def sce(y_true, y_pred):
        p = ops.take_along_axis(y_pred, ops.cast(ops.expand_dims(y_true, -1), "int64"), axis=-1)
        return -ops.log(p[:, 0] + 1e-7)

    model = _model(Dense(3, activation="softmax"))
    model.compile(optimizer="adam", loss=sce, metrics=["accuracy", "sparse_categorical_accuracy"])
    history = model.fit(X, Y, epochs=3, verbose=0)
    assert {"accuracy", "sparse_categorical_accuracy"} <= set(history.history)
    assert history.history["accuracy"] == history.history["sparse_categorical_accuracy"]


def test_add_loss_terms_are_in_evaluates_loss_as_in_fits():
    class Penalised(Layer):
        def __init__(self):
            super().__init__()
            self.d = Dense(3)

        def call(self, x):
            a = self.d(x)
            self.add_loss(0.1 * ops.mean(a * a))
            self.add_loss(0.5)                                           # a constant: in R's value only
            return a

    model = _model(Penalised(), nf.layers.Activation("softmax"))
    trained = model.loss_and_gradients(X, Y, gradients=False)[0]
    evaluated = model.evaluate(X, Y, batch_size=len(X), verbose=0)
    assert abs(trained - evaluated) < 1e-9 and trained > 0.5


def test_mistakes_a_newcomer_makes_are_named_with_the_fix():
    class LateWeight(Layer):
        def call(self, x):
            return x * self.add_weight(shape=(5,))

    with pytest.raises(RuntimeError, match=r"after the layer was built .*make it in build"):
        LateWeight()(X)

    class NoReturn(Layer):
        def call(self, x):
            ops.relu(x)

    with pytest.raises(TypeError, match="call returned None"):
        NoReturn()(X)

    class NoSuper(Layer):
        def __init__(self):
            self.units = 3

        def call(self, x):
            return x

    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\*\*kwargs\) first in NoSuper\.__init__"):
        NoSuper()(X)

    class Writes(Layer):
        def call(self, x):
            x[:, 0] = 0.0
            return x

    with pytest.raises(TypeError, match=r"immutable.*ops\.where\(mask, v, x\) or ops\.slice_update"):
        Writes()(X)


def test_a_weight_made_in_init_is_kept_through_build_and_updated_in_call():
    class ComputeSum(Layer):                       # keras.io's "making new layers" example: a non-trainable total
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    layer = ComputeSum(2)
    first = np.array(layer(np.ones((2, 2))))
    second = np.array(layer(np.ones((2, 2))))
    assert first.tolist() == [2.0, 2.0] and second.tolist() == [4.0, 4.0]


def test_a_train_step_override_is_refused_naming_compute_loss():
    class Stepper(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            raise AssertionError("netfit never calls it")

    with pytest.raises(TypeError, match=r"overrides train_step.*override compute_loss"):
        Stepper()


def test_a_sublayers_add_loss_is_in_compute_losss_r_and_in_evaluate():
    class ActReg(Layer):
        def __init__(self):
            super().__init__()
            self.d = Dense(3)

        def call(self, x):
            a = self.d(x)
            self.add_loss(0.3 * ops.mean(a * a))
            return a

    class Over(keras.Model):
        def __init__(self):
            super().__init__(dtype="float64")
            self.reg = ActReg()
            self.act = nf.layers.Activation("softmax")

        def call(self, x):
            return self.act(self.reg(x))

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return keras.losses.SparseCategoricalCrossentropy()(y, y_pred)

    model = Over()
    model.compile(optimizer="sgd")
    model.build((None, 5))
    assert _check_against_differences(model) < 1e-6                        # R and its gradient agree
    trained = model.loss_and_gradients(X, Y, gradients=False)[0]
    assert abs(model.evaluate(X, Y, batch_size=len(X), verbose=0) - trained) < 1e-9

    class Looks(Layer):
        def call(self, x):
            assert isinstance(x.numpy(), np.ndarray)                        # a netfit tensor in every pass
            return x * 2.0

    _model(Looks(), Dense(3, activation="softmax")).predict(X, verbose=0)

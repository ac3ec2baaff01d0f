"""Keras 3's side of tests/test_keras_file.py, run with the Keras venv's python (never imported by pytest).

    python tests/keras_side.py load DIR    # keras.saving.load_model each DIR/*.keras netfit wrote; predict
    python tests/keras_side.py save DIR    # build, train a step and save Keras models for netfit to read

``load`` reads DIR/<name>.keras and DIR/<name>.in.npz (the inputs, x0, x1, ...) and writes
DIR/<name>.keras_out.npz (Keras's outputs, y0, y1, ...) and DIR/<name>.compile.json (what Keras
made of the compile config); where DIR/<name>.weights.h5 exists too, it loads those weights into
the model and writes its outputs then to DIR/<name>.keras_wout.npz. ``save`` writes
DIR/<name>.keras, DIR/<name>.weights.h5 (the same weights), DIR/<name>.in.npz and
DIR/<name>.keras_out.npz. Keras runs on its numpy backend (KERAS_BACKEND=numpy), which imports JAX.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers as L  # noqa: E402


def _outputs(y):
    if isinstance(y, dict):
        return [y[k] for k in sorted(y)]
    return list(y) if isinstance(y, (list, tuple)) else [y]


def load(folder):
    for name in sorted(f[:-6] for f in os.listdir(folder) if f.endswith(".keras")):
        model = keras.saving.load_model(os.path.join(folder, name + ".keras"))
        xs = np.load(os.path.join(folder, name + ".in.npz"))
        keys = json.loads(str(xs["keys"])) if "keys" in xs else None
        inputs = [xs[f"x{k}"] for k in range(len([n for n in xs.files if n.startswith("x")]))]
        feed = dict(zip(keys, inputs)) if keys else (inputs if len(inputs) > 1 else inputs[0])
        ys = _outputs(model.predict(feed, verbose=0))
        np.savez(os.path.join(folder, name + ".keras_out.npz"), **{f"y{k}": y for k, y in enumerate(ys)})
        compiled = {"compiled": bool(model.compiled)}
        if model.compiled:
            compiled.update(optimizer=type(model.optimizer).__name__,
                            learning_rate=float(np.asarray(model.optimizer.learning_rate)),
                            loss=model.loss if isinstance(model.loss, (str, list)) else repr(model.loss))
        with open(os.path.join(folder, name + ".compile.json"), "w") as handle:
            json.dump(compiled, handle)
        weights = os.path.join(folder, name + ".weights.h5")
        if os.path.exists(weights):                      # netfit's save_weights, other weights than the .keras's
            model.load_weights(weights)
            ys = _outputs(model.predict(feed, verbose=0))
            np.savez(os.path.join(folder, name + ".keras_wout.npz"), **{f"y{k}": y for k, y in enumerate(ys)})
        print(name, "loaded", [y.shape for y in ys])


def _models():
    """name -> (model, inputs, compiled?): every layer both libraries have."""
    rng = np.random.default_rng(0)
    img = rng.random((6, 10, 10, 2)).astype("float32")
    seq = rng.random((6, 12, 3)).astype("float32")
    flat = rng.random((6, 5)).astype("float32")

    norm = L.Normalization()
    norm.adapt(flat * 4 + 1)
    yield "dense_norm", keras.Sequential([
        keras.Input((5,)), norm, L.Dense(8, activation="gelu"), L.BatchNormalization(), L.ReLU(max_value=6.0),
        L.Dropout(0.3), L.Dense(6, activation="selu"), L.LayerNormalization(), L.PReLU(), L.LeakyReLU(0.1),
        L.ELU(0.5), L.Dense(4, activation="tanh"), L.Activation("sigmoid"), L.Dense(3), L.Softmax()],
        name="dense_norm"), [flat], True
    yield "conv2d", keras.Sequential([
        keras.Input((10, 10, 2)), L.Rescaling(2.0, offset=-1.0), L.RandomFlip(), L.RandomRotation(0.1),
        L.RandomZoom(0.1), L.RandomTranslation(0.1, 0.1), L.RandomContrast(0.2),
        L.ZeroPadding2D(((1, 0), (0, 1))), L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.Cropping2D(((0, 1), (1, 0))), L.UpSampling2D(), L.Conv2DTranspose(3, 3, strides=2, padding="same"),
        L.MaxPooling2D(), L.AveragePooling2D(pool_size=2, padding="same"), L.Conv2D(2, 2, use_bias=False),
        L.Flatten(), L.Reshape((2, -1)), L.GlobalAveragePooling1D()], name="conv2d"), [img], False
    yield "conv1d", keras.Sequential([
        keras.Input((12, 3)), L.Conv1D(4, 3, activation="relu"), L.ZeroPadding1D(2), L.Cropping1D((1, 0)),
        L.UpSampling1D(2), L.Conv1DTranspose(3, 3, strides=2), L.MaxPooling1D(2), L.AveragePooling1D(2),
        L.GlobalMaxPooling1D()], name="conv1d"), [seq], False
    tokens = keras.Input((7,), name="tokens")
    emb = L.Embedding(20, 4)(tokens)
    pooled = L.GlobalAveragePooling1D()(emb)
    pic = keras.Input((10, 10, 2), name="pic")
    maps = L.Conv2D(3, 3)(pic)
    shared = L.Dense(5, activation="relu", name="shared")
    a, b = shared(L.GlobalMaxPooling2D()(maps)), shared(L.GlobalAveragePooling2D()(maps))
    inner = keras.Sequential([keras.Input((5,)), L.Dense(5, activation="softplus")], name="inner")
    sub_in = keras.Input((5,))
    sub = keras.Model(sub_in, L.Dense(4, activation="softsign")(sub_in), name="sub")
    merged = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
              L.Maximum()([a, b]), L.Minimum()([a, b])]
    joined = L.Concatenate()([inner(merged[0]), *merged[1:], pooled])
    dot = L.Dot(axes=1, normalize=True)([sub(merged[2]), L.Dense(4)(joined)])
    graph = keras.Model({"tokens": tokens, "pic": pic},
                        {"score": L.Dense(1, activation="sigmoid", name="score")(joined), "dot": dot}, name="graph")
    ids = rng.integers(0, 20, (6, 7)).astype("float32")
    yield "graph", graph, [ids, img], False
    last_in = keras.Input((4,))
    last = keras.Model(last_in, L.Dense(2, activation="softmax")(last_in), name="last")
    yield "nested_seq", keras.Sequential([
        keras.Input((5,)), keras.Sequential([keras.Input((5,)), L.Dense(6, activation="relu")], name="first"),
        L.Dense(4), last], name="nested_seq"), [flat], False


def _randomize(model):
    """Random weights everywhere (Keras's numpy backend cannot fit): BatchNormalization's moving variance > 0."""
    rng = np.random.default_rng(1)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, L.Normalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) * rng.choice([-1, 1], w.shape)
                               if "variance" not in v.path else rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                               for v, w in zip(layer.weights, layer.get_weights())])


def save(folder):
    for name, model, inputs, target in _models():
        _randomize(model)
        if target:
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
        model.save(os.path.join(folder, name + ".keras"))
        model.save_weights(os.path.join(folder, name + ".weights.h5"))
        struct = getattr(model, "_inputs_struct", None)
        keys = list(struct) if isinstance(struct, dict) else None
        feed = dict(zip(keys, inputs)) if keys else (inputs if len(inputs) > 1 else inputs[0])
        ys = _outputs(model.predict(feed, verbose=0))
        extra = {"keys": json.dumps(keys)} if keys else {}
        np.savez(os.path.join(folder, name + ".in.npz"), **{f"x{k}": x for k, x in enumerate(inputs)}, **extra)
        np.savez(os.path.join(folder, name + ".keras_out.npz"), **{f"y{k}": y for k, y in enumerate(ys)})
        print(name, "saved")


if __name__ == "__main__":
    {"load": load, "save": save}[sys.argv[1]](sys.argv[2])

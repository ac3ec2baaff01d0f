"""ZIP-code digits as vectors in R^256, classified by a net with 12 sigmoid hidden units.

The USPS digits of ESL §11.7: 16×16 grey images in [-1, 1], each flattened
to a point x ∈ R^256. The model is the lecture's single hidden layer,
z = σ(α_0 + αᵀx) with 12 sigmoid units, and a softmax output over the 10
digits, trained with cross-entropy. It writes three pictures: a 3×3 grid of
test digits with their predictions (misclassified in red), what each hidden
unit looks for (its column α_m of weights drawn as a 16×16 image) and the
confusion matrix on the test set.

The data are found through $NETFIT_DATA_DIR (``make test`` sets it to
../shared/data) or netfit's cache; ``netfit data fetch zip`` downloads them.

Run:  python examples/zip_code.py [--out examples/out] [--fast]
"""
import argparse
import os
from pathlib import Path

import netfit as nf
from netfit.datasets import zipcode
from netfit.layers import Dense
from netfit.plotting import plot_confusion_matrix, plot_digits, plot_first_layer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the pictures (default: examples/out)")
    parser.add_argument("--fast", action="store_true", default=bool(os.environ.get("NETFIT_FAST")),
                        help="2,000 training digits and 8 epochs (also: NETFIT_FAST=1)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 15, or 8 with --fast)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (8 if args.fast else 15)

    (x_train, y_train), (x_test, y_test) = zipcode.load_data()
    if args.fast:
        x_train, y_train = x_train[:2000], y_train[:2000]
    # Each 16×16 image becomes a vector in R^256 (row by row).
    v_train = x_train.reshape(len(x_train), 256)
    v_test = x_test.reshape(len(x_test), 256)
    print(f"training digits: {v_train.shape}, test digits: {v_test.shape}, values in "
          f"[{v_train.min():g}, {v_train.max():g}]")

    model = nf.Sequential([Dense(12, activation="sigmoid", input_shape=(256,)),
                           Dense(10, activation="softmax")], name="zip_12_hidden", seed=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    history = model.fit(v_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    print(f"{epochs} epochs: training loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}")
    loss, accuracy = model.evaluate(v_test, y_test)
    print(f"test accuracy: {accuracy:.3f} ({round(accuracy * len(y_test))} of {len(y_test)} digits)")

    predicted = model.predict_classes(v_test)
    print("first 9 test digits:", " ".join(map(str, y_test[:9])))
    print("predicted:          ", " ".join(map(str, predicted[:9])))

    args.out.mkdir(parents=True, exist_ok=True)
    paths = [args.out / name for name in ("zip_code.png", "zip_code_first_layer.png", "zip_code_confusion.png")]
    plot_digits(v_test, y_test, predicted, paths[0])           # 256-vectors are drawn as 16×16 again
    plot_first_layer(model, paths[1])
    plot_confusion_matrix(y_test, predicted, paths[2])
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The lecture's R keras code for MNIST, translated line by line into netfit.

Each Python line carries, as a comment, the R line it translates. The R
``%>%`` pipeline becomes a list of layers (building a model) or a method call
(``model %>% fit(...)`` is ``model.fit(...)``); R vectors ``c(28, 28)`` become
tuples; ``mnist$train$x`` becomes tuple unpacking. After 15 epochs the test
accuracy is about 0.98, as in the lecture.

Run:  python examples/mnist_keras_lecture.py [--epochs 15] [--subset N] [--out examples/out]
The test suite runs it with ``--epochs 1 --subset 2000``.
"""
import argparse
from pathlib import Path

import netfit as nf                                        # library(keras)
from netfit.datasets import mnist
from netfit.layers import Dense, Flatten
from netfit.plotting import plot_digits
from netfit.utils import to_categorical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training set (default 15)")
    parser.add_argument("--subset", type=int, default=None, metavar="N",
                        help="use only the first N training and N test images (a quick run)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the picture (default: examples/out)")
    args = parser.parse_args(argv)

    nf.utils.set_random_seed(0)                            # set.seed(0)  (R: tensorflow::set_random_seed(0))
    train, test = mnist.load_data()                        # mnist <- dataset_mnist()
    x_train, y_train = train                               # x_train <- mnist$train$x; y_train <- mnist$train$y
    x_test, y_test = test                                  # x_test <- mnist$test$x; y_test <- mnist$test$y
    if args.subset:                                        # (not in the lecture: a quick run on fewer images)
        x_train, y_train = x_train[:args.subset], y_train[:args.subset]
        x_test, y_test = x_test[:args.subset], y_test[:args.subset]

    # R computes in doubles; float32 is what Keras (and netfit) train in, at half the memory.
    x_train = x_train.astype("float32") / 255              # x_train <- x_train / 255
    x_test = x_test.astype("float32") / 255                # x_test <- x_test / 255
    Y_train = to_categorical(y_train, 10)                  # y_train <- to_categorical(y_train, 10)
    Y_test = to_categorical(y_test, 10)                    # y_test <- to_categorical(y_test, 10)

    model = nf.Sequential([                                # model <- keras_model_sequential() %>%
        Flatten(input_shape=(28, 28)),                     #   layer_flatten(input_shape = c(28, 28)) %>%
        Dense(128, activation="relu"),                     #   layer_dense(units = 128, activation = "relu") %>%
        Dense(10, activation="softmax"),                   #   layer_dense(units = 10, activation = "softmax")
    ])
    model.summary()                                        # summary(model)

    model.compile(optimizer="adam",                        # model %>% compile(optimizer = "adam",
                  loss="categorical_crossentropy",         #   loss = "categorical_crossentropy",
                  metrics=["accuracy"])                    #   metrics = "accuracy")

    model.fit(x_train, Y_train, epochs=args.epochs)        # model %>% fit(x_train, y_train, epochs = 15)

    score = model.evaluate(x_test, Y_test, verbose=0,      # score <- model %>% evaluate(x_test, y_test, verbose = 0)
                           return_dict=True)
    print("Test loss:", round(score["loss"], 4))           # cat("Test loss:", score$loss, "\n")
    print("Test accuracy:", round(score["accuracy"], 4))   # cat("Test accuracy:", score$acc, "\n")

    predictions = model.predict(x_test)                    # predictions <- model %>% predict(x_test)
    class_pred = model.predict_classes(x_test)             # class_pred <- model %>% predict_classes(x_test)
    print("First test image, P(digit):", predictions[0].round(3))
    print("Predicted classes:", class_pred[:9], "true:", y_test[:9])

    # par(mfcol = c(3, 3)); par(mar = c(0, 0, 1.5, 0), xaxs = "i", yaxs = "i")
    # for (i in 1:9) {
    #   img <- x_test[i, , ]; img <- t(apply(img, 2, rev))
    #   image(1:28, 1:28, img, col = gray((0:255) / 255), xaxt = "n", yaxt = "n",
    #         main = paste("True digit:", y_test[i], ", Prediction:", class_pred[i]))
    # }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "mnist_keras_lecture.png"
    plot_digits(x_test, y_test, class_pred, path, rows=3, cols=3)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

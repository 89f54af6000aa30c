"""The single-machine approach users start from, for comparison with the Spark job on the same rows:
pandas + scikit-learn + Keras in one process, as the published implementation of the method does it.

    .venv/bin/python tests/benchmarks/single_machine.py CSV [CSV ...] [--budget-seconds 1800]

Each CSV is a file or a directory of part files written by ``./spark-submit.sh generate --format
csv`` (or Train.csv). Per input: read with pandas, impute (median / most frequent), label-encode
the categories, standardise, train the 9-16-12-8 autoencoder with dropout on every row (100 epochs,
batch 32, Adam 0.001, early stopping on a 20 % validation split), encode, and scikit-learn KMeans
(k = 7, n_init = 50, max_iter = 500). Training stops when the budget is spent; the row then says
how many epochs ran and how long all 100 would take at the measured pace.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.cluster import KMeans
from sklearn.preprocessing import LabelEncoder, StandardScaler

NUMERIC = ["Age", "Work_Experience", "Family_Size"]
CATEGORICAL = ["Gender", "Ever_Married", "Graduated", "Profession", "Spending_Score", "Var_1"]
EPOCHS, BATCH = 100, 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--budget-seconds", type=float, default=1800.0)
    args = parser.parse_args()
    print("| input | rows | read + prepare s | train s | epochs | encode + KMeans s | total s | finished |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for path in args.inputs:
        print(run(path, budget=args.budget_seconds), flush=True)


def run(path: Path, *, budget: float) -> str:
    start = time.perf_counter()
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    for name in NUMERIC:
        frame[name] = frame[name].fillna(frame[name].median())
    for name in CATEGORICAL:
        frame[name] = LabelEncoder().fit_transform(frame[name].fillna(frame[name].mode()[0]).astype(str))
    x = StandardScaler().fit_transform(frame[NUMERIC + CATEGORICAL].to_numpy(np.float32)).astype(np.float32)
    prepared = time.perf_counter()

    tf.keras.utils.set_random_seed(42)
    inputs = tf.keras.Input(shape=(x.shape[1],))
    h = tf.keras.layers.Dropout(0.2)(tf.keras.layers.Dense(16, activation="relu")(inputs))
    h = tf.keras.layers.Dense(12, activation="relu")(h)
    latent = tf.keras.layers.Dense(8, activation="relu")(h)
    h = tf.keras.layers.Dense(12, activation="relu")(latent)
    h = tf.keras.layers.Dense(16, activation="relu")(h)
    autoencoder = tf.keras.Model(inputs, tf.keras.layers.Dense(x.shape[1])(h))
    autoencoder.compile(optimizer=tf.keras.optimizers.Adam(0.001), loss="mse")
    deadline = Deadline(budget - (prepared - start))
    history = autoencoder.fit(x, x, epochs=EPOCHS, batch_size=BATCH, validation_split=0.2, verbose=0,
                              callbacks=[tf.keras.callbacks.EarlyStopping(patience=15, restore_best_weights=True),
                                         deadline])
    trained = time.perf_counter()
    epochs = len(history.history["loss"])
    if deadline.passed:
        pace = (trained - prepared) / epochs
        return (f"| {path.name} | {len(x):,} | {prepared - start:.1f} | {trained - prepared:.1f} | {epochs} of {EPOCHS} "
                f"| not reached | > {budget:.0f} | no: {EPOCHS} epochs at {pace:.1f} s each take "
                f"{EPOCHS * pace / 60:.0f} min |")
    encoder = tf.keras.Model(inputs, latent)
    codes = encoder.predict(x, batch_size=4096, verbose=0)
    KMeans(n_clusters=7, n_init=50, max_iter=500, random_state=42).fit(codes)
    done = time.perf_counter()
    return (f"| {path.name} | {len(x):,} | {prepared - start:.1f} | {trained - prepared:.1f} | {epochs} "
            f"| {done - trained:.1f} | {done - start:.1f} | {'yes' if done - start <= budget else 'no'} |")


class Deadline(tf.keras.callbacks.Callback):
    """Stops training once ``seconds`` have passed since it began."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.passed = seconds, False

    def on_train_begin(self, logs=None) -> None:
        self.end = time.perf_counter() + self.seconds

    def on_epoch_end(self, epoch, logs=None) -> None:
        if time.perf_counter() > self.end:
            self.passed = self.model.stop_training = True


if __name__ == "__main__":
    main()

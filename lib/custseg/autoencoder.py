"""Keras autoencoder: model, seeded training on the driver's sample, export of numpy weights.

Driver only: this is the one module that imports TensorFlow. Executors get the weights as
numpy arrays through :func:`export_weights` and :mod:`custseg.encode`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

# TensorFlow's C++ log lines would drown the job's stage lines: start-up notes (oneDNN, CPU
# features) and, with TensorFlow 2.21, an error-level line when Keras fits, about a tf.data
# attribute (use_unbounded_threadpool) that its runtime does not know and ignores. Level 3 keeps
# fatal messages, and a failing operation still raises a Python exception. TF_CPP_MIN_LOG_LEVEL=0
# in the environment shows every line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# On CPUs where oneDNN's custom operations are on by default (this machine's, with AVX-512 and
# AMX, among them), TensorFlow prints a note about them at import that no log level silences. Off,
# the autoencoder trained to bit-identical weights in 0.85 to 0.90 times the time there
# (tests/benchmarks/onednn_train.py), so the job keeps them off; TF_ENABLE_ONEDNN_OPTS=1 in the
# environment turns them on.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402  (after the settings above, which TensorFlow reads on import)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from custseg.config import AutoencoderConfig
from custseg.encode import ACTIVATIONS, AutoencoderWeights, DenseLayer, make_predict_fn

log = logging.getLogger("custseg.autoencoder")

LATENT = "latent"
# Training steps per compiled call. The model is tiny, so Keras' per-step Python overhead
# dominates; 64 steps per call trained 2.2-2.4x faster here, with bit-identical weights.
STEPS_PER_EXECUTION = 64


@dataclass(frozen=True)
class TrainedAutoencoder:
    """A trained model and what its training did."""

    model: keras.Model
    history: list[dict[str, float]]  # one entry per epoch run: loss, val_loss, mae, val_mae, learning_rate
    epochs_run: int
    sample_rows: int
    seconds: float

    @property
    def best_val_loss(self) -> float:
        return min(epoch["val_loss"] for epoch in self.history)


def build_autoencoder(input_dim: int, settings: AutoencoderConfig) -> keras.Model:
    """Dense autoencoder ``input -> hidden -> latent -> reversed hidden -> input``, compiled.

    Parameters
    ----------
    input_dim : number of features.
    settings : layer sizes, activation, dropout and learning rate.

    Returns
    -------
    A compiled model (Adam, MSE loss, MAE metric) whose Dense layers are named ``encoder_<i>``,
    ``latent``, ``decoder_<i>`` and ``reconstruction``, so that :func:`export_weights` can split it.
    """
    if settings.activation not in ACTIVATIONS:
        raise ValueError(
            f"autoencoder.activation is {settings.activation!r}; allowed: {', '.join(ACTIVATIONS)}"
        )
    inputs = keras.Input(shape=(input_dim,), name="features")
    x = inputs

    def dense(x: Any, units: int, name: str) -> Any:
        x = keras.layers.Dense(units, activation=settings.activation, name=name)(x)
        if settings.dropout > 0:
            x = keras.layers.Dropout(settings.dropout, name=f"{name}_dropout")(x)
        return x

    for i, units in enumerate(settings.hidden_layers):
        x = dense(x, units, f"encoder_{i}")
    x = keras.layers.Dense(settings.latent_dim, activation=settings.activation, name=LATENT)(x)
    for i, units in enumerate(reversed(settings.hidden_layers)):
        x = dense(x, units, f"decoder_{i}")
    outputs = keras.layers.Dense(input_dim, activation="linear", name="reconstruction")(x)
    model = keras.Model(inputs, outputs, name="autoencoder")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss="mse",
        metrics=["mae"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


class _EpochLog(keras.callbacks.Callback):
    """Records each epoch's metrics with the learning rate that epoch actually used."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[dict[str, float]] = []
        self._rate = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        # ReduceLROnPlateau lowers the rate at epoch end; read it before the epoch runs.
        self._rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        entry = {key: float(logs[key]) for key in ("loss", "val_loss", "mae", "val_mae")}
        self.epochs.append({**entry, "learning_rate": self._rate})


def train_autoencoder(sample: np.ndarray, *, settings: AutoencoderConfig, seed: int) -> TrainedAutoencoder:
    """Train the autoencoder on the driver's sample, reproducibly.

    Parameters
    ----------
    sample : ``[rows, features]`` standardised features; the last ``validation_split`` share of
        a seeded permutation is held out for early stopping and learning-rate reduction.
    settings : model and training settings.
    seed : seeds weights, dropout, shuffling and the split; the same seed and sample give
        bit-identical weights.

    Returns
    -------
    The model with the weights of its best validation epoch, and the per-epoch history.
    """
    x = np.ascontiguousarray(sample, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"the training sample must be a 2-D array of rows by features, got shape {x.shape}")
    rows = len(x)
    train_rows = int(rows * (1 - settings.validation_split))
    if train_rows < 1 or rows - train_rows < 1:
        raise ValueError(
            f"autoencoder.sample_rows: the training sample has {rows} rows, too few to hold out "
            f"validation_split={settings.validation_split} and still train; "
            f"need at least {_min_rows(settings.validation_split)}"
        )
    keras.utils.set_random_seed(seed)
    # Without this, TF's multi-threaded reductions make two runs with one seed differ in the last bits.
    tf.config.experimental.enable_op_determinism()
    # Shuffle before splitting: a Spark sample arrives in partition order, so its tail is not random.
    order = np.random.default_rng(seed).permutation(rows)
    train, val = x[order[:train_rows]], x[order[train_rows:]]

    model = build_autoencoder(x.shape[1], settings)
    epoch_log = _EpochLog()
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=settings.early_stopping_patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=settings.reduce_lr_factor,
            patience=settings.reduce_lr_patience,
            min_lr=settings.min_learning_rate,
        ),
        epoch_log,
    ]
    start = time.perf_counter()
    model.fit(
        train,
        train,
        validation_data=(val, val),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        shuffle=True,  # drawn from the generator seeded above
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    trained = TrainedAutoencoder(model, epoch_log.epochs, len(epoch_log.epochs), rows, seconds)
    log.info(
        "autoencoder trained: %d rows, %d epochs run, best val_loss %.5f, %.1f s",
        rows, trained.epochs_run, trained.best_val_loss, seconds,
    )
    log.info(
        "autoencoder loss / val_loss per epoch: %s",
        " ".join(f"{e['loss']:.4f}/{e['val_loss']:.4f}" for e in trained.history),
    )
    return trained


def _min_rows(validation_split: float) -> int:
    rows = 2
    while int(rows * (1 - validation_split)) < 1 or rows - int(rows * (1 - validation_split)) < 1:
        rows += 1
    return rows


def export_weights(model: keras.Model) -> AutoencoderWeights:
    """Copy the Dense layers of a model from :func:`build_autoencoder` into numpy weights.

    Encoder layers run up to and including ``latent``; the rest are the decoder. Dropout layers
    carry no weights and are the identity at inference, so they are left out.
    """
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    names = [layer.name for layer in dense]
    if LATENT not in names:
        raise ValueError(
            f"model {model.name!r} has no Dense layer named {LATENT!r}; build it with build_autoencoder"
        )
    layers = tuple(
        DenseLayer(
            kernel=np.asarray(keras.ops.convert_to_numpy(layer.kernel), dtype=np.float32),
            bias=np.asarray(keras.ops.convert_to_numpy(layer.bias), dtype=np.float32),
            activation=keras.activations.serialize(layer.activation),
        )
        for layer in dense
    )
    cut = names.index(LATENT) + 1
    return AutoencoderWeights(encoder=layers[:cut], decoder=layers[cut:])


def principal_axes(weights: AutoencoderWeights, sample: np.ndarray) -> AutoencoderWeights:
    """The same linear autoencoder with canonical latent coordinates: principal axes of its reconstructions.

    Each training of a linear autoencoder reconstructs into (nearly) the same principal subspace but
    picks its own arbitrary invertible map of that subspace as its latent coordinates, and k-means
    depends on that map. Here the latent vector becomes the coordinates of the reconstruction along
    the principal axes of the sample's reconstructions (by falling variance, each axis' largest
    entry positive), so latent distances equal reconstruction distances and retrains with other
    seeds give the same geometry. Reconstructions, and so reconstruction errors, are unchanged.

    Parameters
    ----------
    weights : an autoencoder whose layers are all linear.
    sample : ``[rows, features]`` training sample the axes are estimated on.

    Returns
    -------
    Weights whose last encoder layer emits the canonical coordinates, and a one-layer decoder.
    """
    layers = weights.encoder + weights.decoder
    if any(layer.activation != "linear" for layer in layers):
        raise ValueError("autoencoder.latent_space principal needs autoencoder.activation linear; "
                         "set activation: linear or latent_space: raw")
    if weights.latent_dim > weights.input_dim:
        raise ValueError(f"autoencoder.latent_dim is {weights.latent_dim} but there are only "
                         f"{weights.input_dim} features; lower latent_dim or use latent_space: raw")
    decoder_kernel, decoder_bias = _affine(weights.decoder, weights.latent_dim)
    latent = make_predict_fn(weights)(sample)[0].astype(np.float64)
    reconstructed = latent @ decoder_kernel + decoder_bias
    centre = reconstructed.mean(axis=0)
    axes = np.linalg.svd(reconstructed - centre, full_matrices=False)[2][: weights.latent_dim].T
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    # latent -> canonical is affine; folding it into the last (linear) encoder layer keeps one product.
    last = weights.encoder[-1]
    to_canonical = decoder_kernel @ axes
    encoder_last = DenseLayer(
        kernel=(last.kernel.astype(np.float64) @ to_canonical).astype(np.float32),
        bias=((last.bias @ to_canonical) + (decoder_bias - centre) @ axes).astype(np.float32),
        activation="linear",
    )
    decoder = DenseLayer(kernel=axes.T.astype(np.float32), bias=centre.astype(np.float32), activation="linear")
    return AutoencoderWeights(encoder=(*weights.encoder[:-1], encoder_last), decoder=(decoder,))


def _affine(layers: tuple[DenseLayer, ...], input_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(kernel, bias)`` of a chain of linear layers composed into one, in float64."""
    kernel, bias = np.eye(input_dim), np.zeros(input_dim)
    for layer in layers:
        kernel = kernel @ layer.kernel.astype(np.float64)
        bias = bias @ layer.kernel.astype(np.float64) + layer.bias
    return kernel, bias

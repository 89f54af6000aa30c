"""Keras model, seeded training and the export that the numpy encoder must reproduce exactly."""

from __future__ import annotations

import dataclasses
import logging

import keras
import numpy as np
import pytest

from custseg.autoencoder import build_autoencoder, export_weights, principal_axes, train_autoencoder
from custseg.config import AutoencoderConfig
from custseg.encode import AutoencoderWeights, DenseLayer, make_predict_fn

# The reference method's ReLU model, which the tests of the Keras side exercise.
SETTINGS = AutoencoderConfig(hidden_layers=[16, 12], latent_dim=8, activation="relu", dropout=0.2,
                             latent_space="raw", epochs=3, learning_rate=0.001, batch_size=32)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    rng = np.random.default_rng(11)
    # Correlated columns, so the autoencoder has structure to learn.
    base = rng.standard_normal((600, 4))
    return np.hstack([base, base[:, :3] @ rng.standard_normal((3, 5))]).astype(np.float32)


@pytest.fixture(scope="module")
def trained(sample):
    return train_autoencoder(sample, settings=SETTINGS, seed=42)


def randomise(model: keras.Model, seed: int) -> None:
    """Non-zero biases and larger weights than Keras' initial ones, so that every term counts."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_numpy_predict_equals_keras(activation, sample):
    model = build_autoencoder(9, dataclasses.replace(SETTINGS, activation=activation))
    randomise(model, seed=1)
    latent, mse, mae = make_predict_fn(export_weights(model))(sample)
    keras_latent = keras.Model(model.input, model.get_layer("latent").output).predict(sample, verbose=0)
    keras_output = model.predict(sample, verbose=0)
    assert np.abs(latent - keras_latent).max() <= 1e-5
    assert np.abs(keras_latent).max() > 0.1  # not a vacuous comparison of zeros
    diff = keras_output.astype(np.float64) - sample
    np.testing.assert_allclose(mse, (diff**2).mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mae, np.abs(diff).mean(axis=1), rtol=1e-5, atol=1e-6)


def test_trained_model_exports_to_an_identical_encoder(trained, sample):
    latent, mse, _ = make_predict_fn(export_weights(trained.model))(sample)
    keras_latent = keras.Model(trained.model.input, trained.model.get_layer("latent").output).predict(sample, verbose=0)
    assert np.abs(latent - keras_latent).max() <= 1e-5
    reconstruction = trained.model.predict(sample, verbose=0)
    np.testing.assert_allclose(mse, ((reconstruction - sample) ** 2).mean(axis=1), rtol=1e-5, atol=1e-6)


def test_model_layout():
    model = build_autoencoder(9, SETTINGS)
    dense = [(layer.name, layer.units) for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [("encoder_0", 16), ("encoder_1", 12), ("latent", 8),
                     ("decoder_0", 12), ("decoder_1", 16), ("reconstruction", 9)]
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.2] * 4
    no_dropout = build_autoencoder(9, dataclasses.replace(SETTINGS, dropout=0.0))
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in no_dropout.layers)
    weights = export_weights(model)
    assert (weights.input_dim, weights.latent_dim, len(weights.encoder), len(weights.decoder)) == (9, 8, 3, 3)
    assert [layer.activation for layer in weights.decoder] == ["relu", "relu", "linear"]


def test_unsupported_activation_fails_before_training():
    with pytest.raises(ValueError, match="autoencoder.activation is 'tanh'; allowed: relu, linear"):
        build_autoencoder(9, dataclasses.replace(SETTINGS, activation="tanh"))


def test_same_seed_same_weights_other_seed_other_weights(trained, sample):
    again = train_autoencoder(sample, settings=SETTINGS, seed=42)
    other = train_autoencoder(sample, settings=SETTINGS, seed=43)
    for a, b in zip(trained.model.get_weights(), again.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(trained.model.get_weights(), other.model.get_weights()))
    assert again.history == trained.history


def test_history_has_one_entry_per_epoch(trained):
    assert trained.epochs_run == len(trained.history) == 3
    assert trained.sample_rows == 600 and trained.seconds > 0
    for epoch in trained.history:
        assert set(epoch) == {"loss", "val_loss", "mae", "val_mae", "learning_rate"}
        assert epoch["learning_rate"] == pytest.approx(SETTINGS.learning_rate)
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]


def test_early_stopping_and_learning_rate_reduction(sample):
    # A rate this high makes val_loss stall at once, so both callbacks act within a few epochs.
    settings = dataclasses.replace(SETTINGS, epochs=40, learning_rate=0.5, early_stopping_patience=4,
                                   reduce_lr_patience=1, reduce_lr_factor=0.5)
    result = train_autoencoder(sample, settings=settings, seed=1)
    assert result.epochs_run < 40 and len(result.history) == result.epochs_run
    rates = [epoch["learning_rate"] for epoch in result.history]
    assert rates[0] == pytest.approx(0.5) and min(rates) < 0.5
    assert rates == sorted(rates, reverse=True)


def test_too_small_sample_names_the_setting():
    with pytest.raises(ValueError, match="^autoencoder.sample_rows: the training sample has 1 rows.*need at least 2$"):
        train_autoencoder(np.zeros((1, 9), np.float32), settings=SETTINGS, seed=1)
    with pytest.raises(ValueError, match="has 2 rows, too few to hold out validation_split=0.6.*need at least 3$"):
        train_autoencoder(np.zeros((2, 9), np.float32), settings=dataclasses.replace(SETTINGS, validation_split=0.6), seed=1)


def test_logs_a_summary_and_the_loss_history(sample, caplog):
    with caplog.at_level(logging.INFO, logger="custseg.autoencoder"):
        trained = train_autoencoder(sample[:50], settings=dataclasses.replace(SETTINGS, epochs=2), seed=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "custseg.autoencoder"]
    assert len(lines) == 2 and lines[0].startswith("autoencoder trained: 50 rows, 2 epochs run, best val_loss ")
    history = " ".join(f"{e['loss']:.4f}/{e['val_loss']:.4f}" for e in trained.history)
    assert lines[1] == f"autoencoder loss / val_loss per epoch: {history}"


LINEAR = dataclasses.replace(SETTINGS, hidden_layers=[4], latent_dim=3, activation="linear", dropout=0.0)


@pytest.fixture(scope="module")
def linear_model():
    model = build_autoencoder(9, LINEAR)
    randomise(model, seed=2)
    return model


def test_principal_latent_is_the_reconstruction_along_its_principal_axes(linear_model, sample):
    latent, mse, _ = make_predict_fn(principal_axes(export_weights(linear_model), sample))(sample)
    reconstruction = linear_model.predict(sample, verbose=0).astype(np.float64)
    # Independently: eigenvectors of the reconstructions' covariance, largest first, largest entry positive.
    values, vectors = np.linalg.eigh(np.cov(reconstruction, rowvar=False))
    axes = vectors[:, ::-1][:, :3]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(3)])
    want = (reconstruction - reconstruction.mean(axis=0)) @ axes
    assert np.abs(want).max() > 1  # not a vacuous comparison of zeros
    np.testing.assert_allclose(latent, want, atol=1e-4)
    np.testing.assert_allclose(mse, ((reconstruction - sample) ** 2).mean(axis=1), rtol=1e-5, atol=1e-6)


def test_principal_latent_does_not_depend_on_the_latent_coordinates_a_training_picked(linear_model, sample):
    weights = export_weights(linear_model)
    # The same autoencoder in other latent coordinates: latent z -> z @ M, decoder undoes M.
    m = np.random.default_rng(3).standard_normal((3, 3)).astype(np.float32) + 2 * np.eye(3, dtype=np.float32)
    last, first = weights.encoder[-1], weights.decoder[0]
    remapped = AutoencoderWeights(
        encoder=(*weights.encoder[:-1], DenseLayer(last.kernel @ m, last.bias @ m, "linear")),
        decoder=(DenseLayer(np.linalg.inv(m) @ first.kernel, first.bias, "linear"), *weights.decoder[1:]),
    )
    raw, remapped_raw = make_predict_fn(weights)(sample)[0], make_predict_fn(remapped)(sample)[0]
    assert np.abs(raw - remapped_raw).max() > 1
    np.testing.assert_allclose(make_predict_fn(principal_axes(remapped, sample))(sample)[0],
                               make_predict_fn(principal_axes(weights, sample))(sample)[0], atol=1e-4)


def test_principal_axes_refuse_what_they_cannot_make_canonical(sample):
    relu = export_weights(build_autoencoder(9, dataclasses.replace(LINEAR, activation="relu")))
    with pytest.raises(ValueError, match="^autoencoder.latent_space principal needs autoencoder.activation linear; "
                                         "set activation: linear or latent_space: raw$"):
        principal_axes(relu, sample)
    wide = export_weights(build_autoencoder(9, dataclasses.replace(LINEAR, latent_dim=10)))
    with pytest.raises(ValueError, match="^autoencoder.latent_dim is 10 but there are only 9 features; "):
        principal_axes(wide, sample)

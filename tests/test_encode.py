"""The numpy forward pass, its .npz format and the Arrow UDF that runs it on executors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from custseg.encode import AutoencoderWeights, DenseLayer, encode, make_predict_fn


def random_weights(seed: int = 0, sizes=(9, 16, 12, 8), activation: str = "relu") -> AutoencoderWeights:
    rng = np.random.default_rng(seed)

    def layer(n_in: int, n_out: int, act: str) -> DenseLayer:
        kernel = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        return DenseLayer(kernel, rng.normal(0, 0.5, n_out).astype(np.float32), act)

    down = list(zip(sizes[:-1], sizes[1:]))
    up = [(b, a) for a, b in reversed(down)]
    acts = [activation] * (len(up) - 1) + ["linear"]
    return AutoencoderWeights(
        encoder=tuple(layer(a, b, activation) for a, b in down),
        decoder=tuple(layer(a, b, act) for (a, b), act in zip(up, acts)),
    )


def reference_forward(weights: AutoencoderWeights, x: np.ndarray):
    """Float64 forward pass written independently of make_predict_fn."""
    h = x.astype(np.float64)
    for layer in weights.encoder:
        h = h @ layer.kernel.astype(np.float64) + layer.bias
        h = np.maximum(h, 0) if layer.activation == "relu" else h
    latent = h
    for layer in weights.decoder:
        h = h @ layer.kernel.astype(np.float64) + layer.bias
        h = np.maximum(h, 0) if layer.activation == "relu" else h
    return latent, ((h - x) ** 2).mean(axis=1), np.abs(h - x).mean(axis=1)


# The reference method's ReLU layout, the same with linear layers, and the default: one linear layer each way.
@pytest.mark.parametrize(("sizes", "activation"), [((9, 16, 12, 8), "relu"), ((9, 16, 12, 8), "linear"),
                                                   ((9, 4), "linear")])
def test_predict_matches_an_independent_float64_forward_pass(sizes, activation):
    weights = random_weights(sizes=sizes, activation=activation)
    x = np.random.default_rng(1).standard_normal((500, 9)).astype(np.float32)
    latent, mse, mae = make_predict_fn(weights)(x)
    want_latent, want_mse, want_mae = reference_forward(weights, x)
    assert (latent.dtype, mse.dtype, mae.dtype) == (np.float32, np.float64, np.float64)
    assert latent.shape == (500, sizes[-1]) and mse.shape == mae.shape == (500,)
    np.testing.assert_allclose(latent, want_latent, atol=1e-5)
    np.testing.assert_allclose(mse, want_mse, rtol=1e-5)
    np.testing.assert_allclose(mae, want_mae, rtol=1e-5)


def test_unknown_activation_is_refused_by_name():
    with pytest.raises(ValueError, match="'tanh'.*allowed: relu, linear"):
        DenseLayer(np.zeros((2, 2), np.float32), np.zeros(2, np.float32), "tanh")


def test_dimensions():
    weights = random_weights(sizes=(5, 7, 3))
    assert (weights.input_dim, weights.latent_dim) == (5, 3)


def test_save_load_round_trip_is_exact(tmp_path):
    weights = random_weights()
    path = tmp_path / "weights.bin"
    weights.save(path)
    assert path.is_file()  # saved exactly where asked, no ".npz" appended
    loaded = AutoencoderWeights.load(path)
    for before, after in zip(weights.encoder + weights.decoder, loaded.encoder + loaded.decoder):
        assert after.activation == before.activation
        assert after.kernel.dtype == after.bias.dtype == np.float32
        np.testing.assert_array_equal(after.kernel, before.kernel)
        np.testing.assert_array_equal(after.bias, before.bias)
    assert (len(loaded.encoder), len(loaded.decoder)) == (3, 3)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    arrays = random_weights().to_arrays()
    arrays["encoder_activations"] = np.array(["relu", {"payload": 1}, "relu"], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        AutoencoderWeights.load(path)


@pytest.fixture(scope="module")
def customers(spark):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2000, 9)).astype(np.float32)
    pdf = pd.DataFrame(
        {"id": np.arange(2000) * 3 + 1, "region": rng.choice(["n", "s"], 2000), "x": list(x.astype(np.float64))}
    )
    df = spark.createDataFrame(pdf).repartition(4, "id")
    return df.select("id", "region", F.col("x").alias("features")), x


def test_encode_equals_numpy_predict_row_by_row(spark, customers):
    df, x = customers
    weights = random_weights(seed=3)
    latent, mse, mae = make_predict_fn(weights)(x)
    expected = spark.createDataFrame(
        pd.DataFrame({"id": np.arange(2000) * 3 + 1, "latent": list(latent.astype(np.float64)),
                      "reconstruction_error": mse, "reconstruction_abs_error": mae}),
        "id long, latent array<float>, reconstruction_error double, reconstruction_abs_error double",
    )
    # Small Arrow batches: several batches per task go through one predict function.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "300")
    try:
        encoded = encode(df, weights=weights)
        actual = encoded.select("id", "latent", "reconstruction_error", "reconstruction_abs_error")
        assertDataFrameEqual(actual, expected, rtol=1e-6, atol=1e-6)
        assert encoded.columns == [
            "id", "region", "features", "latent", "reconstruction_error", "reconstruction_abs_error"
        ]
        # Passthrough columns are untouched.
        assertDataFrameEqual(encoded.select("id", "region", "features"), df)
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")


def test_encode_refuses_features_of_the_wrong_size(spark, customers):
    df, _ = customers
    with pytest.raises(Exception, match="must have 5 values"):
        encode(df, weights=random_weights(sizes=(5, 3))).collect()


def test_workers_that_encode_never_import_tensorflow(spark, customers):
    df, _ = customers

    # Nested, so that cloudpickle ships it by value (workers cannot import the test module).
    def worker_state(batches):
        import os
        import sys

        encode_module = sys.modules.get("custseg.encode")
        for batch in batches:
            yield pd.DataFrame({
                "pid": [os.getpid()] * len(batch),
                "tensorflow": ["tensorflow" in sys.modules] * len(batch),
                "keras": ["keras" in sys.modules] * len(batch),
                "cached": [sorted(encode_module._PREDICT_FNS) if encode_module else []] * len(batch),
            })

    encode(df, weights=random_weights(seed=5)).write.format("noop").mode("overwrite").save()
    probe = spark.range(0, 64, numPartitions=8).mapInPandas(
        worker_state, "pid long, tensorflow boolean, keras boolean, cached array<string>"
    )
    workers = probe.distinct().collect()
    assert not any(w.tensorflow or w.keras for w in workers), workers
    # Python workers are reused: the ones probed include those whose cache the encode UDF filled.
    assert any(w.cached for w in workers), workers

"""The feature pipeline: imputation, ordinal mapping, indexing, encoding and scaling, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array

from custseg import model_store
from custseg.config import ColumnsConfig
from custseg.features import (
    FittedFeatures,
    build_feature_pipeline,
    feature_names,
    fit_feature_pipeline,
    transform_features,
)

COLUMNS = ColumnsConfig(id="ID", numeric=["Age"], nominal=["Gender"], ordinal={"Score": ["Low", "Average", "High"]},
                        label=None)
SCHEMA = "ID string, Age double, Score string, Gender string"
ROWS = [("1", 20.0, "Low", "Male"), ("2", 40.0, "HIGH", None), ("3", None, None, "Female"), ("4", 60.0, "Average", "Male")]


def _vectors(df) -> np.ndarray:
    rows = df.orderBy("ID").select("features").collect()
    return np.array([r.features for r in rows])


def _scaled(raw: np.ndarray) -> np.ndarray:
    return (raw - raw.mean(axis=0)) / raw.std(axis=0, ddof=1)


@pytest.fixture(scope="module")
def training(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def test_index_encoding_imputes_maps_indexes_and_standardises(training):
    model = FittedFeatures.of(fit_feature_pipeline(COLUMNS, training, encoding="index"))
    result = transform_features(model, training)
    assert result.columns == [*training.columns, "features"]
    # Age median 40; Score Low/Average/High -> 0/1/2, case-insensitive, missing -> median 1;
    # Gender levels in alphabetical order: (missing) 0, Female 1, Male 2.
    raw = np.array([[20, 0, 2], [40, 2, 0], [40, 1, 1], [60, 1, 2]], dtype=float)
    np.testing.assert_allclose(_vectors(result), _scaled(raw), atol=1e-9)
    assert feature_names(COLUMNS, model, encoding="index") == ["Age", "Score", "Gender"]


def test_unseen_categories_and_levels_never_fail_scoring(spark, training):
    model = FittedFeatures.of(build_feature_pipeline(COLUMNS, encoding="index").fit(training))
    scoring = spark.createDataFrame([("9", 40.0, "Extreme", "Other")], SCHEMA)
    vector = _vectors(transform_features(model, scoring))[0]
    raw = np.array([[20, 0, 2], [40, 2, 0], [40, 1, 1], [60, 1, 2]], dtype=float)
    mean, std = raw.mean(axis=0), raw.std(axis=0, ddof=1)
    # Unknown ordinal level -> the training median (1); unseen Gender -> the "keep" bucket, index 3.
    np.testing.assert_allclose(vector, (np.array([40, 1, 3]) - mean) / std, atol=1e-9)


def test_onehot_encoding_has_one_indicator_per_level(training):
    model = FittedFeatures.of(build_feature_pipeline(COLUMNS, encoding="onehot").fit(training))
    names = feature_names(COLUMNS, model, encoding="onehot")
    assert names == ["Age", "Score", "Gender=(missing)", "Gender=Female", "Gender=Male", "Gender=(unseen)"]
    vectors = _vectors(transform_features(model, training))
    assert vectors.shape == (4, len(names))
    indicators = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=float)
    raw = np.hstack([np.array([[20, 0], [40, 2], [40, 1], [60, 1]], dtype=float), indicators])
    std = raw.std(axis=0, ddof=1)
    expected = np.where(std > 0, (raw - raw.mean(axis=0)) / np.where(std > 0, std, 1), 0.0)
    np.testing.assert_allclose(vectors, expected, atol=1e-9)


@pytest.mark.parametrize("encoding", ["index", "onehot"])
def test_features_are_the_values_of_the_pipelines_own_transform(spark, training, encoding):
    model = build_feature_pipeline(COLUMNS, encoding=encoding).fit(training)
    # A NaN age, an unknown ordinal level, an unseen and a missing category.
    scoring = spark.createDataFrame(ROWS + [("5", float("nan"), "Extreme", "Other"), ("6", 7.0, None, None)], SCHEMA)
    expected = model.transform(scoring).orderBy("ID").select(vector_to_array("features").alias("features"))
    np.testing.assert_array_equal(_vectors(transform_features(FittedFeatures.of(model), scoring)),
                                  np.array([r.features for r in expected.collect()]))


@pytest.mark.parametrize("encoding", ["index", "onehot"])
def test_fitting_gives_the_model_that_the_pipelines_own_fit_gives(spark, encoding):
    # A NaN and a missing age, a missing and an unknown ordinal level, a missing category.
    frame = spark.createDataFrame(ROWS + [("5", float("nan"), "Extreme", "Other"), ("6", 7.0, None, None)], SCHEMA)
    fitted = fit_feature_pipeline(COLUMNS, frame, encoding=encoding)
    expected = build_feature_pipeline(COLUMNS, encoding=encoding).fit(frame)
    assert [type(stage) for stage in fitted.stages] == [type(stage) for stage in expected.stages]
    scaler, expected_scaler = fitted.stages[-1], expected.stages[-1]
    np.testing.assert_allclose(scaler.mean.toArray(), expected_scaler.mean.toArray(), rtol=1e-12)
    np.testing.assert_allclose(scaler.std.toArray(), expected_scaler.std.toArray(), rtol=1e-12)
    np.testing.assert_array_equal(_vectors(transform_features(FittedFeatures.of(fitted), frame)),
                                  _vectors(transform_features(FittedFeatures.of(expected), frame)))


@pytest.mark.parametrize("encoding", ["index", "onehot"])
def test_a_bundle_gives_the_features_of_the_fitted_pipeline_with_or_without_its_json(spark, encoding, tmp_path,
                                                                                    monkeypatch):
    # A NaN and a missing age, a missing and an unknown ordinal level, a missing and an unseen category.
    frame = spark.createDataFrame(ROWS + [("5", float("nan"), "Extreme", "Other"), ("6", 7.0, None, None)], SCHEMA)
    model = fit_feature_pipeline(COLUMNS, spark.createDataFrame(ROWS, SCHEMA), encoding=encoding)
    expected = _vectors(transform_features(FittedFeatures.of(model), frame))
    model.save(str(tmp_path / model_store.FEATURES))
    # A bundle written before the parameters were kept as JSON: read from the Spark ML model.
    older = model_store.load_features(tmp_path)
    np.testing.assert_array_equal(_vectors(transform_features(older, frame)), expected)
    (tmp_path / model_store.FEATURE_PARAMETERS).write_text(FittedFeatures.of(model).to_json(), encoding="utf-8")
    # With the JSON, the Spark ML model is not loaded at all.
    monkeypatch.setattr(PipelineModel, "load", lambda path: pytest.fail(f"PipelineModel.load({path})"))
    loaded = model_store.load_features(tmp_path)
    assert loaded == older
    np.testing.assert_array_equal(_vectors(transform_features(loaded, frame)), expected)


def test_quotes_in_ordinal_levels_are_escaped(spark):
    columns = ColumnsConfig(id="ID", numeric=[], nominal=[], ordinal={"Score": ["it's low", "high"]}, label=None)
    frame = spark.createDataFrame([("1", "It's low"), ("2", "high")], "ID string, Score string")
    fitted = FittedFeatures.of(build_feature_pipeline(columns, encoding="index").fit(frame))
    vectors = _vectors(transform_features(fitted, frame))
    np.testing.assert_allclose(vectors[:, 0], _scaled(np.array([[0.0], [1.0]]))[:, 0])

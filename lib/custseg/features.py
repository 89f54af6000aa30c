"""The Spark ML feature pipeline: typed customer columns -> one scaled feature vector per row."""

from __future__ import annotations

import numpy as np
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import (
    Imputer,
    ImputerModel,
    OneHotEncoder,
    OneHotEncoderModel,
    SQLTransformer,
    StandardScaler,
    StandardScalerModel,
    StringIndexer,
    StringIndexerModel,
    VectorAssembler,
)
from pyspark.ml.functions import array_to_vector
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from custseg.config import ColumnsConfig

FEATURES_COL = "features"
MISSING_LEVEL = "(missing)"


def build_feature_pipeline(columns: ColumnsConfig, *, encoding: str) -> Pipeline:
    """The unfitted pipeline: normalise -> impute -> index/encode -> assemble -> standardise.

    - Numeric and ordinal columns are imputed with their median. Ordinal levels map to
      0, 1, 2, ... in the configured order (case-insensitive); an unknown level counts as missing.
    - A missing nominal value becomes its own level, :data:`MISSING_LEVEL`, rather than the most
      frequent one: missingness here carries information, and imputing the mode would inflate the
      largest category. Categories never seen in training go to StringIndexer's "keep" bucket, so
      scoring new snapshots never fails on them.
    - ``encoding="index"`` feeds one number per nominal column, as the reference method does;
      ``"onehot"`` feeds one indicator per level.
    """
    numeric_in = [*columns.numeric, *[_ordinal_col(c) for c in columns.ordinal]]
    numeric_out = [f"__num_{c}" for c in numeric_in]
    nominal_in = [_nominal_col(c) for c in columns.nominal]
    indexed = [f"__idx_{c}" for c in columns.nominal]
    stages = [SQLTransformer(statement=_normalise_statement(columns))]
    if numeric_in:
        stages.append(Imputer(strategy="median", inputCols=numeric_in, outputCols=numeric_out))
    encoded = indexed
    if nominal_in:
        stages.append(
            StringIndexer(
                inputCols=nominal_in, outputCols=indexed, handleInvalid="keep", stringOrderType="alphabetAsc"
            )
        )
        if encoding == "onehot":
            encoded = [f"__ohe_{c}" for c in columns.nominal]
            # The indexer's "keep" bucket is already a category of its output, so unseen values get
            # an indicator of their own without the encoder adding a second one.
            stages.append(
                OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="error", dropLast=False)
            )
    stages += [
        VectorAssembler(inputCols=[*numeric_out, *encoded], outputCol="__assembled"),
        StandardScaler(inputCol="__assembled", outputCol=FEATURES_COL, withMean=True, withStd=True),
    ]
    return Pipeline(stages=stages)


def fit_feature_pipeline(columns: ColumnsConfig, df: DataFrame, *, encoding: str) -> PipelineModel:
    """:func:`build_feature_pipeline` fitted on ``df``: the same model as its ``fit``, in fewer seconds.

    ``Pipeline.fit`` feeds the scaler through every fitted stage's ``transform``, which hands a
    vector from stage to stage; here the scaler fits on the assembled values computed as
    :func:`transform_features` computes them, as column expressions (RESULTS.md has the times).
    """
    *stages, scaler = build_feature_pipeline(columns, encoding=encoding).getStages()
    fitted = Pipeline(stages=stages).fit(df)
    normalised, values = _feature_values(fitted, df)
    assembled = normalised.select(array_to_vector(F.array(*values[scaler.getInputCol()])).alias(scaler.getInputCol()))
    return PipelineModel(stages=[*fitted.stages, scaler.fit(assembled)])


def transform_features(model: PipelineModel, df: DataFrame) -> DataFrame:
    """Apply a fitted pipeline, keeping the input columns and adding only :data:`FEATURES_COL`.

    The features are an ``array<double>``: the values the pipeline's own ``transform`` puts in its
    vector, computed from its fitted parameters as column expressions. The pipeline hands a vector
    from stage to stage, which Spark serialises at each one; the expressions run in generated code,
    6.7 s against 20.6 s per pass over 10M customers on 2 cores (``features_pass.py``, RESULTS.md).
    """
    normalised, values = _feature_values(model, df)
    return normalised.select(*df.columns, F.array(*values[FEATURES_COL]).alias(FEATURES_COL))


def _feature_values(model: PipelineModel, df: DataFrame) -> tuple[DataFrame, dict[str, list[Column]]]:
    """``df`` normalised by the model's first stage, and every later stage's output as double expressions."""
    normalise, *fitted = model.stages
    normalised = normalise.transform(df)
    values: dict[str, list[Column]] = {}
    for stage in fitted:
        values.update(_stage_values(stage, values, normalised.schema))
    return normalised, values


def feature_names(columns: ColumnsConfig, model: PipelineModel, *, encoding: str) -> list[str]:
    """Names of the entries of the feature vector, in order (one per level for one-hot)."""
    names = [*columns.numeric, *columns.ordinal]
    if not columns.nominal:
        return names
    if encoding != "onehot":
        return names + list(columns.nominal)
    indexer = next(s for s in model.stages if hasattr(s, "labelsArray"))
    for column, labels in zip(columns.nominal, indexer.labelsArray):
        names += [f"{column}={label}" for label in [*labels, "(unseen)"]]
    return names


def _stage_values(stage, values: dict[str, list[Column]], schema: StructType) -> dict[str, list[Column]]:
    """The output columns of one fitted stage as lists of double expressions (one per vector entry)."""
    if isinstance(stage, ImputerModel):
        surrogates = stage.surrogateDF.first()
        return {out: [_imputed(name, surrogates[name], stage.getMissingValue(), schema[name].dataType)]
                for name, out in zip(stage.getInputCols(), stage.getOutputCols())}
    if isinstance(stage, StringIndexerModel):
        return {out: [_index(F.col(name), labels)]
                for name, out, labels in zip(stage.getInputCols(), stage.getOutputCols(), stage.labelsArray)}
    if isinstance(stage, OneHotEncoderModel):
        return {out: [F.when(values[name][0] == float(level), 1.0).otherwise(0.0) for level in range(size)]
                for name, out, size in zip(stage.getInputCols(), stage.getOutputCols(), stage.categorySizes)}
    if isinstance(stage, VectorAssembler):
        return {stage.getOutputCol(): [value for name in stage.getInputCols() for value in values[name]]}
    if isinstance(stage, StandardScalerModel):
        return {stage.getOutputCol(): _standardised(values[stage.getInputCol()], stage)}
    raise TypeError(f"feature pipeline stage {type(stage).__name__} is not one build_feature_pipeline makes")


def _imputed(name: str, surrogate: float, missing: float, data_type: DataType) -> Column:
    # As ImputerModel: nulls and the missing value (NaN, which equals NaN in Spark SQL) take the surrogate.
    value = F.col(name).cast("double")
    filled = F.when(value.isNull() | (value == missing), F.lit(float(surrogate))).otherwise(value)
    return filled.cast(data_type).cast("double")


def _index(value: Column, labels: list[str]) -> Column:
    # As StringIndexerModel with handleInvalid="keep": a label's position, or one past the last.
    positions = F.create_map(*[part for i, label in enumerate(labels) for part in (F.lit(label), F.lit(float(i)))])
    return F.coalesce(F.element_at(positions, value), F.lit(float(len(labels))))


def _standardised(entries: list[Column], scaler: StandardScalerModel) -> list[Column]:
    # As StandardScalerModel: minus the mean (withMean), times 1 / std (withStd), 0 where the std is 0.
    shifts = scaler.mean.toArray() if scaler.getWithMean() else np.zeros(len(entries))
    scales = [1.0 / s if s != 0 else 0.0 for s in scaler.std.toArray()] if scaler.getWithStd() else [1.0] * len(entries)
    return [(entry - float(shift)) * float(scale) for entry, shift, scale in zip(entries, shifts, scales)]


def _ordinal_col(name: str) -> str:
    return f"__ord_{name}"


def _nominal_col(name: str) -> str:
    return f"__cat_{name}"


def _normalise_statement(columns: ColumnsConfig) -> str:
    parts = ["*"]
    for name, levels in columns.ordinal.items():
        cases = " ".join(
            f"WHEN '{_sql_text(level.lower())}' THEN {rank}.0" for rank, level in enumerate(levels)
        )
        parts.append(f"CASE lower(`{name}`) {cases} ELSE NULL END AS `{_ordinal_col(name)}`")
    for name in columns.nominal:
        parts.append(f"coalesce(`{name}`, '{MISSING_LEVEL}') AS `{_nominal_col(name)}`")
    return f"SELECT {', '.join(parts)} FROM __THIS__"


def _sql_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")

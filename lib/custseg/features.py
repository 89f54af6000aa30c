"""The Spark ML feature pipeline: typed customer columns -> one scaled feature vector per row."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

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
    normalised, values = _feature_values(FittedFeatures.of(fitted), df)
    assembled = normalised.select(array_to_vector(F.array(*values[scaler.getInputCol()])).alias(scaler.getInputCol()))
    return PipelineModel(stages=[*fitted.stages, scaler.fit(assembled)])


@dataclass(frozen=True)
class FittedFeatures:
    """A fitted feature pipeline as plain values: all that :func:`transform_features` needs.

    Read once from the fitted ``PipelineModel`` (:meth:`of`). A model bundle keeps them as JSON
    beside that model, so a score run gets its features without ``PipelineModel.load``, which runs
    Spark jobs for every stage: a score command reaches its read stage 2.6 s sooner (RESULTS.md).

    ``statement`` is the first stage's SQL; ``stages`` holds each later stage's parameters, in
    pipeline order, with its ``kind``: ``impute``, ``index``, ``one_hot``, ``assemble`` or
    ``standardise``.
    """

    statement: str
    stages: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, model: PipelineModel) -> FittedFeatures:
        """The parameters of ``model``, a fitted :func:`build_feature_pipeline` (one small Spark job)."""
        normalise, *fitted = model.stages
        return cls(statement=normalise.getStatement(), stages=tuple(_stage_parameters(stage) for stage in fitted))

    def to_json(self) -> str:
        return json.dumps({"statement": self.statement, "stages": list(self.stages)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> FittedFeatures:
        parsed = json.loads(text)
        return cls(statement=parsed["statement"], stages=tuple(parsed["stages"]))


def transform_features(features: FittedFeatures, df: DataFrame) -> DataFrame:
    """Apply a fitted pipeline, keeping the input columns and adding only :data:`FEATURES_COL`.

    The features are an ``array<double>``: the values the pipeline's own ``transform`` puts in its
    vector, computed from its fitted parameters as column expressions. The pipeline hands a vector
    from stage to stage, which Spark serialises at each one; the expressions run in generated code,
    6.7 s against 20.6 s per pass over 10M customers on 2 cores (``features_pass.py``, RESULTS.md).
    """
    normalised, values = _feature_values(features, df)
    return normalised.select(*df.columns, F.array(*values[FEATURES_COL]).alias(FEATURES_COL))


def _feature_values(features: FittedFeatures, df: DataFrame) -> tuple[DataFrame, dict[str, list[Column]]]:
    """``df`` normalised by the first stage's SQL, and every later stage's output as double expressions."""
    normalised = SQLTransformer(statement=features.statement).transform(df)
    values: dict[str, list[Column]] = {}
    for stage in features.stages:
        values.update(_stage_values(stage, values, normalised.schema))
    return normalised, values


def feature_names(columns: ColumnsConfig, features: FittedFeatures, *, encoding: str) -> list[str]:
    """Names of the entries of the feature vector, in order (one per level for one-hot)."""
    names = [*columns.numeric, *columns.ordinal]
    if not columns.nominal:
        return names
    if encoding != "onehot":
        return names + list(columns.nominal)
    indexer = next(stage for stage in features.stages if stage["kind"] == "index")
    for column, labels in zip(columns.nominal, indexer["labels"]):
        names += [f"{column}={label}" for label in [*labels, "(unseen)"]]
    return names


def _stage_parameters(stage) -> dict[str, Any]:
    """A fitted stage's parameters as plain values, with the ``kind`` :func:`_stage_values` reads."""
    if isinstance(stage, ImputerModel):
        surrogates = stage.surrogateDF.first()
        missing = stage.getMissingValue()
        return {"kind": "impute", "inputs": stage.getInputCols(), "outputs": stage.getOutputCols(),
                "surrogates": [float(surrogates[name]) for name in stage.getInputCols()],
                # JSON has no NaN (the imputer's default missing value): null stands for it.
                "missing": None if math.isnan(missing) else missing}
    if isinstance(stage, StringIndexerModel):
        return {"kind": "index", "inputs": stage.getInputCols(), "outputs": stage.getOutputCols(),
                "labels": [list(labels) for labels in stage.labelsArray]}
    if isinstance(stage, OneHotEncoderModel):
        return {"kind": "one_hot", "inputs": stage.getInputCols(), "outputs": stage.getOutputCols(),
                "sizes": list(stage.categorySizes)}
    if isinstance(stage, VectorAssembler):
        return {"kind": "assemble", "inputs": stage.getInputCols(), "output": stage.getOutputCol()}
    if isinstance(stage, StandardScalerModel):
        # As StandardScalerModel: minus the mean (withMean), times 1 / std (withStd), 0 where the std is 0.
        size = len(stage.std)
        shifts = stage.mean.toArray() if stage.getWithMean() else np.zeros(size)
        scales = [1.0 / s if s != 0 else 0.0 for s in stage.std.toArray()] if stage.getWithStd() else [1.0] * size
        return {"kind": "standardise", "input": stage.getInputCol(), "output": stage.getOutputCol(),
                "shifts": [float(v) for v in shifts], "scales": [float(v) for v in scales]}
    raise TypeError(f"feature pipeline stage {type(stage).__name__} is not one build_feature_pipeline makes")


def _stage_values(stage: dict[str, Any], values: dict[str, list[Column]],
                  schema: StructType) -> dict[str, list[Column]]:
    """The output columns of one stage's parameters (:func:`_stage_parameters`) as lists of double expressions."""
    kind = stage["kind"]
    if kind == "impute":
        missing = float("nan") if stage["missing"] is None else stage["missing"]
        return {out: [_imputed(name, surrogate, missing, schema[name].dataType)]
                for name, out, surrogate in zip(stage["inputs"], stage["outputs"], stage["surrogates"])}
    if kind == "index":
        return {out: [_index(F.col(name), labels)]
                for name, out, labels in zip(stage["inputs"], stage["outputs"], stage["labels"])}
    if kind == "one_hot":
        return {out: [F.when(values[name][0] == float(level), 1.0).otherwise(0.0) for level in range(size)]
                for name, out, size in zip(stage["inputs"], stage["outputs"], stage["sizes"])}
    if kind == "assemble":
        return {stage["output"]: [value for name in stage["inputs"] for value in values[name]]}
    if kind == "standardise":
        return {stage["output"]: [(entry - shift) * scale for entry, shift, scale
                                  in zip(values[stage["input"]], stage["shifts"], stage["scales"])]}
    raise ValueError(f"feature stage kind {kind!r} is not one FittedFeatures holds")


def _imputed(name: str, surrogate: float, missing: float, data_type: DataType) -> Column:
    # As ImputerModel: nulls and the missing value (NaN, which equals NaN in Spark SQL) take the surrogate.
    value = F.col(name).cast("double")
    filled = F.when(value.isNull() | (value == missing), F.lit(float(surrogate))).otherwise(value)
    return filled.cast(data_type).cast("double")


def _index(value: Column, labels: list[str]) -> Column:
    # As StringIndexerModel with handleInvalid="keep": a label's position, or one past the last.
    positions = F.create_map(*[part for i, label in enumerate(labels) for part in (F.lit(label), F.lit(float(i)))])
    return F.coalesce(F.element_at(positions, value), F.lit(float(len(labels))))


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

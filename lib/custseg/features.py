"""The Spark ML feature pipeline: typed customer columns -> one scaled feature vector per row."""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import (
    Imputer,
    OneHotEncoder,
    SQLTransformer,
    StandardScaler,
    StringIndexer,
    VectorAssembler,
)
from pyspark.sql import DataFrame

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


def transform_features(model: PipelineModel, df: DataFrame) -> DataFrame:
    """Apply a fitted pipeline, keeping the input columns and adding only :data:`FEATURES_COL`."""
    return model.transform(df).select(*df.columns, FEATURES_COL)


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

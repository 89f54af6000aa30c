"""Drift of a scored snapshot against the model's training snapshot, with a verdict per feature.

At training the job keeps a small reference profile with the model (:func:`reference_profile`):
per numeric column its distribution at up to 1,001 quantiles and its shares in the decile bins,
per categorical column its level shares, the mean reconstruction error and the segment shares.
Scoring compares the new snapshot with it (:func:`drift_rows`), with Spark aggregations only:

- numeric: the Kolmogorov-Smirnov statistic (the largest gap between the two cumulative
  distributions, evaluated at the reference quantiles: exact for columns with few distinct values,
  within about 0.002 otherwise) and its asymptotic p-value, and the population stability index
  (PSI) over the training deciles, missing values being a bin of their own;
- categorical: PSI over the levels (missing and unknown values included);
- ``reconstruction_error``: the ratio of the mean reconstruction error to the training one;
- ``segment_shares``: PSI over the segments.

Each row gets a verdict, ``ok``, ``warn`` or ``retrain``, by the thresholds of ``drift`` in the config.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pyspark.ml.feature import Bucketizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from scipy.stats import kstwobign

from custseg.config import ColumnsConfig, DriftConfig

MISSING = "(missing)"
DRIFT_SCHEMA = ("feature string, kind string, ks_statistic double, ks_p_value double, psi double, "
                "reference double, current double, verdict string")
_QUANTILES = [i / 1000 for i in range(1001)]
_SHARE_FLOOR = 1e-4  # PSI of an empty bin would be infinite


def reference_profile(customers: DataFrame, segmented: DataFrame, columns: ColumnsConfig) -> dict[str, Any]:
    """What drift is measured against, from the training snapshot: small, JSON-ready."""
    numeric = {}
    for name in columns.numeric:
        grid = sorted(set(customers.approxQuantile(name, _QUANTILES, 0.001)))
        deciles = sorted(set(customers.approxQuantile(name, [i / 10 for i in range(1, 10)], 0.001)))
        numeric[name] = {
            "grid": grid,
            "cdf": _cdf(customers, name, grid).tolist(),
            "rows": customers.where(F.col(name).isNotNull()).count(),
            "mean": customers.agg(F.avg(name)).first()[0],
            "deciles": deciles,
            "shares": _bin_shares(customers, name, deciles).tolist(),
        }
    return {
        "numeric": numeric,
        "categorical": {name: _level_shares(customers, name) for name in columns.categorical},
        "reconstruction_error": segmented.agg(F.avg("reconstruction_error")).first()[0],
        "segment_shares": {str(k): v for k, v in _level_shares(segmented, "segment").items()},
    }


def drift_rows(customers: DataFrame, segmented: DataFrame, reference: dict[str, Any],
               thresholds: DriftConfig) -> list[tuple]:
    """One row per feature in :data:`DRIFT_SCHEMA` order, comparing a scored snapshot with ``reference``."""
    rows = []
    for name, ref in reference["numeric"].items():
        current = customers.where(F.col(name).isNotNull())
        n_current = current.count()
        gap = float(np.max(np.abs(np.array(ref["cdf"]) - _cdf(customers, name, ref["grid"])))) if n_current else 1.0
        p_value = _ks_p_value(gap, ref["rows"], n_current)
        psi = _psi(np.array(ref["shares"]), _bin_shares(customers, name, ref["deciles"]))
        mean = current.agg(F.avg(name)).first()[0]
        verdict = _worst(_grade(psi, thresholds.psi_warn, thresholds.psi_retrain),
                         _grade(gap, thresholds.ks_warn, thresholds.ks_retrain))
        rows.append((name, "numeric", gap, p_value, psi, ref["mean"], mean, verdict))
    for name, ref in reference["categorical"].items():
        psi = _psi_of_shares(ref, _level_shares(customers, name))
        rows.append((name, "categorical", None, None, psi, None, None,
                     _grade(psi, thresholds.psi_warn, thresholds.psi_retrain)))
    before, now = reference["reconstruction_error"], segmented.agg(F.avg("reconstruction_error")).first()[0]
    ratio = now / before if before else math.inf
    rows.append(("reconstruction_error", "reconstruction_error", None, None, None, before, now,
                 _grade(ratio, thresholds.reconstruction_warn, thresholds.reconstruction_retrain)))
    shares = {str(k): v for k, v in _level_shares(segmented, "segment").items()}
    psi = _psi_of_shares(reference["segment_shares"], shares)
    rows.append(("segment_shares", "segment_shares", None, None, psi, None, None,
                 _grade(psi, thresholds.psi_warn, thresholds.psi_retrain)))
    return rows


def overall_verdict(rows: list[tuple]) -> str:
    """The worst verdict of :func:`drift_rows`."""
    return _worst(*[row[-1] for row in rows])


def _cdf(df: DataFrame, name: str, grid: list[float]) -> np.ndarray:
    """Share of the non-missing values <= each grid point."""
    # Splits just above each grid point put a value equal to it in the bucket below the split.
    above = [math.nextafter(point, math.inf) for point in grid]
    counts = _bucket_counts(df, name, [-math.inf, *above, math.inf])
    total = counts.sum()
    return np.cumsum(counts)[:-1] / total if total else np.zeros(len(grid))


def _bin_shares(df: DataFrame, name: str, deciles: list[float]) -> np.ndarray:
    """Shares of the decile bins, and last of the missing values."""
    counts = _bucket_counts(df, name, [-math.inf, *deciles, math.inf])
    missing = df.where(F.col(name).isNull()).count()
    counts = np.append(counts, missing)
    return counts / counts.sum() if counts.sum() else counts


def _bucket_counts(df: DataFrame, name: str, splits: list[float]) -> np.ndarray:
    bucketed = Bucketizer(splits=splits, inputCol=name, outputCol="_bucket").transform(
        df.where(F.col(name).isNotNull()).select(F.col(name).cast("double").alias(name)))
    counts = np.zeros(len(splits) - 1)
    for row in bucketed.groupBy("_bucket").count().collect():
        counts[int(row["_bucket"])] = row["count"]
    return counts


def _level_shares(df: DataFrame, name: str) -> dict[str, float]:
    level = F.coalesce(F.col(name).cast("string"), F.lit(MISSING))
    rows = df.groupBy(level.alias("level")).count().collect()
    total = sum(r["count"] for r in rows)
    return {r["level"]: r["count"] / total for r in rows}


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.maximum(expected, _SHARE_FLOOR), np.maximum(actual, _SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _psi_of_shares(expected: dict[str, float], actual: dict[str, float]) -> float:
    levels = sorted(set(expected) | set(actual))
    return _psi(np.array([expected.get(k, 0.0) for k in levels]), np.array([actual.get(k, 0.0) for k in levels]))


def _ks_p_value(statistic: float, n: int, m: int) -> float | None:
    if not n or not m:
        return None
    return float(kstwobign.sf(statistic * math.sqrt(n * m / (n + m))))


def _grade(value: float, warn: float, retrain: float) -> str:
    return "retrain" if value >= retrain else "warn" if value >= warn else "ok"


def _worst(*verdicts: str) -> str:
    order = ("ok", "warn", "retrain")
    return max(verdicts, key=order.index, default="ok")

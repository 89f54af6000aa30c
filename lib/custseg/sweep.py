"""Choosing k: the features and the autoencoder trained once, then k-means and its quality for every k in a range.

For each k it measures, on all customers and with Spark, the inertia (for the elbow), the
silhouette, Davies-Bouldin and Calinski-Harabasz; and the stability of the segmentation: the mean
adjusted Rand index between k-means fits with different seeds on a bounded, seeded sample of the
latent vectors (scikit-learn's k-means on the driver, as the sample is small). The results land in
the ``k_selection`` table, a plot and a recommendation that states its rule.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import model_store
from custseg.catalog import RunCommit
from custseg.clustering import assign_segments, fit_segmentation, with_latent_vector
from custseg.config import ClusteringConfig, ConfigError, JobConfig
from custseg.encode import encode
from custseg.features import FEATURES_COL, FittedFeatures, fit_feature_pipeline, transform_features
from custseg.frame_store import FrameStore
from custseg.metrics import inertia, separation, silhouette
from custseg.report import REPORTS
from custseg.report_plots import Plot, sweep_plot
from custseg.sampling import bounded_sample
from custseg.snapshot import effective_config, read_snapshot

log = logging.getLogger("custseg")

STABILITY_ROWS = 5000  # latent vectors sampled for the stability fits
STABILITY_FITS = 5  # k-means fits with seeds seed, seed + 1, ...; stability averages the ARI of every pair
MIN_STABILITY = 0.9
RULE = (f"the highest silhouette among the k whose stability is at least {MIN_STABILITY}; "
        f"if no k is that stable, the most stable k")
COLUMNS = ["k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "stability", "recommended"]


@dataclass(frozen=True)
class KSelection:
    """The measures per k, the recommended k, and where the table and the plot went."""

    table: pd.DataFrame  # one row per k, :data:`COLUMNS`
    recommended: int
    plot: Path


def run(spark: SparkSession, config: JobConfig, *, k_min: int, k_max: int, run_date: date) -> KSelection:
    """Train features and autoencoder once on the configured snapshot, then measure every k in [k_min, k_max].

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the validated job config; ``clustering.k`` is replaced by each k of the range.
    k_min, k_max : the range of k, both included; 2 <= k_min <= k_max.
    run_date : the date the ``k_selection`` rows are filed under; re-running it replaces them.
    """
    check_range(k_min, k_max)
    config = effective_config(config)
    with FrameStore(spark, cache=config.spark.cache) as store:
        encoded, rows = _latent_vectors(spark, config, store, k_max=k_max)
        sample = _latent_sample(encoded, rows=rows, seed=config.seed)
        measured = [_measure(encoded, sample, settings=dataclasses.replace(config.clustering, k=k),
                             seed=config.seed, rows=rows) for k in range(k_min, k_max + 1)]
    table = pd.DataFrame(measured, columns=COLUMNS[:-1])
    best = recommend(table)
    table["recommended"] = table["k"] == best
    _commit(spark, table, database=config.output.database, run_date=run_date)
    plot = _write_plot(sweep_plot(table), Path(config.output.warehouse_dir) / REPORTS / f"run_date={run_date}")
    return KSelection(table=table, recommended=best, plot=plot)


def check_range(k_min: int, k_max: int) -> None:
    """Raise :class:`ConfigError` unless 2 <= k_min <= k_max."""
    if not 2 <= k_min <= k_max:
        raise ConfigError(f"--k-min {k_min} and --k-max {k_max} must satisfy 2 <= k-min <= k-max")


def summary(result: KSelection, *, database: str) -> str:
    """What the sweep command prints: the table, the recommended k with its rule, where the outputs are."""
    shown = result.table.assign(recommended=result.table["recommended"].map({True: "<-", False: ""}))
    return "\n".join([
        f"custseg: k selection (table {database}.k_selection)",
        shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        f"  recommended: k = {result.recommended}",
        f"  rule:        {RULE}",
        f"  plot:        {result.plot}",
    ])


def recommend(table: pd.DataFrame) -> int:
    """The k that :data:`RULE` picks from a table with ``k``, ``silhouette`` and ``stability``."""
    stable = table[table["stability"] >= MIN_STABILITY]
    if stable.empty:
        return int(table.loc[table["stability"].idxmax(), "k"])
    return int(stable.loc[stable["silhouette"].idxmax(), "k"])


def stability(sample: np.ndarray, *, k: int, settings: ClusteringConfig, seed: int) -> float:
    """Mean adjusted Rand index between :data:`STABILITY_FITS` k-means fits of ``sample`` with different seeds."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    # The sample is small: one thread is as fast and does not spin against Spark's tasks.
    with threadpool_limits(limits=1):
        fits = [KMeans(n_clusters=k, n_init=1, max_iter=settings.max_iter, tol=settings.tol,
                       random_state=seed + i).fit_predict(sample) for i in range(STABILITY_FITS)]
    return float(np.mean([adjusted_rand_score(a, b) for a, b in itertools.combinations(fits, 2)]))


def _latent_vectors(spark: SparkSession, config: JobConfig, store: FrameStore, *,
                    k_max: int) -> tuple[DataFrame, int]:
    """Every usable customer's latent vector, kept in ``store``, and their number.

    Features and autoencoder are fitted as a train run fits them.
    """
    from custseg import autoencoder  # TensorFlow is imported on the driver only, and only here.
    from custseg.train import training_sample

    snapshot = read_snapshot(spark, config, store, k=k_max)
    features = FittedFeatures.of(fit_feature_pipeline(config.columns, snapshot.customers,
                                                      encoding=config.features.encoding))
    featured = transform_features(features, snapshot.customers)
    sample = training_sample(features, snapshot.customers, rows=snapshot.rows_usable,
                             limit=config.autoencoder.sample_rows, seed=config.seed)
    trained = autoencoder.train_autoencoder(sample, settings=config.autoencoder, seed=config.seed)
    weights = autoencoder.export_weights(trained.model)
    encoded = with_latent_vector(encode(featured, weights=weights, features_col=FEATURES_COL))
    encoded = store.keep(encoded, "encoded")
    rows = encoded.count()
    log.info("latent vectors of %s customers ready; measuring k", f"{rows:,}")
    return encoded, rows


def _latent_sample(encoded: DataFrame, *, rows: int, seed: int) -> np.ndarray:
    sampled = bounded_sample(encoded, rows=rows, limit=STABILITY_ROWS, seed=seed)
    table = sampled.select(F.col("latent").cast("array<double>").alias("z")).toArrow()
    vectors = table.column("z").combine_chunks()
    return vectors.flatten().to_numpy().reshape(len(vectors), -1)


def _measure(encoded: DataFrame, sample: np.ndarray, *, settings: ClusteringConfig, seed: int, rows: int) -> tuple:
    segmented = assign_segments(encoded, fit_segmentation(encoded, settings=settings, seed=seed, rows=rows))
    separated = separation(segmented)
    row = (settings.k, inertia(segmented), silhouette(segmented, vector_col="latent"),
           separated.davies_bouldin, separated.calinski_harabasz,
           stability(sample, k=settings.k, settings=settings, seed=seed))
    log.info("k %d: inertia %.1f, silhouette %.3f, Davies-Bouldin %.3f, Calinski-Harabasz %.1f, stability %.3f",
             *row)
    return row


def _commit(spark: SparkSession, table: pd.DataFrame, *, database: str, run_date: date) -> None:
    frame = spark.createDataFrame(
        [(int(r.k), float(r.inertia), float(r.silhouette), float(r.davies_bouldin), float(r.calinski_harabasz),
          float(r.stability), bool(r.recommended)) for r in table.itertuples(index=False)],
        "k int, inertia double, silhouette double, davies_bouldin double, calinski_harabasz double, "
        "stability double, recommended boolean",
    )
    commit = RunCommit(spark, database=database, run_date=run_date, run_id=model_store.new_version())
    commit.stage("k_selection", frame.withColumn("run_date", F.lit(run_date)))
    commit.commit()


def _write_plot(plot: Plot, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = (directory / "k_selection.png").resolve()
    scratch = path.with_name(f".{path.name}.incomplete")
    scratch.write_bytes(plot.png)
    scratch.replace(path)
    return path

"""Segment quality benchmark: the same segments on every retrain, and segments that mean something.

For each configuration it segments Train.csv (k = 7, labels never used for fitting) with three seeds
and prints: the ARI between the three seeds' segments (all pairs), purity, NMI and ARI against the
Segmentation column, the silhouette in the reference method's scaled input space, and the ARI
against the planted segments of generated customers (three seeds again).

Named configurations are fast: features come from the project's own read stage and Spark feature
pipeline, then the autoencoder runs on the driver (custseg.autoencoder and its numpy encoder) and
scikit-learn clusters (KMeans(n_init), GaussianMixture or BisectingKMeans). ``--job`` runs the train
job itself instead (``spark-submit.sh train`` with conf/customers.yaml, ``--set seed=S`` and any further ``--set``
values): its training sample, autoencoder, Arrow UDF encoder and Spark KMeans, and the segments it
writes. Usage, from the repository root::

    nice -n 19 .venv/bin/python tests/benchmarks/quality.py [NAME ...] [--job [KEY=VALUE ...]]

Results and the commands that produced them: tests/benchmarks/quality_results.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import BisectingKMeans, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "customer-segmentation" / "Train.csv"
SEEDS = (1, 2, 3)
K = 7
GENERATED_ROWS = 20000
JOB_RUN_DATE = "2026-01-01"
# The reference method's features, in Train.csv's column order (see the data set's README).
REFERENCE_COLUMNS = ["Gender", "Ever_Married", "Age", "Graduated", "Profession", "Work_Experience",
                     "Spending_Score", "Family_Size", "Var_1"]


@dataclass(frozen=True)
class Candidate:
    """One configuration: features, the representation clustered, and k-means starts."""

    encoding: str = "index"  # features.encoding
    method: str = "autoencoder"  # kmeans (on the features) | pca (sklearn, a converged linear AE) | autoencoder
    latent: str = "principal"  # raw | principal (custseg.autoencoder.principal_axes) | whiten (PCA whitening)
    latent_dim: int = 3
    autoencoder: dict = field(default_factory=dict)  # AutoencoderConfig overrides
    missing_indicators: bool = False  # add standardised is-missing columns of the numeric features
    n_init: int = 10
    clusterer: str = "kmeans"  # kmeans | gmm (full-covariance Gaussian mixture) | bisecting (BisectingKMeans)


# The reference method's training (Adam at 0.001, batches of 32), and one that converges (the default).
SLOW = {"learning_rate": 0.001, "batch_size": 32}
CONVERGED = {"learning_rate": 0.01, "batch_size": 256}
LINEAR = {"hidden_layers": [], "activation": "linear", "dropout": 0.0}
REFERENCE_AE = {"hidden_layers": [16, 12], "activation": "relu", "dropout": 0.2, **SLOW}
CANDIDATES: dict[str, Candidate] = {
    "kmeans-reference-space": Candidate(encoding="reference", method="kmeans", n_init=50),
    **{f"kmeans-index-n{n}": Candidate(method="kmeans", n_init=n) for n in (1, 10, 50)},
    "kmeans-onehot-n10": Candidate(encoding="onehot", method="kmeans"),
    "kmeans-index+missing-n10": Candidate(method="kmeans", missing_indicators=True),
    "kmeans-onehot+missing-n10": Candidate(encoding="onehot", method="kmeans", missing_indicators=True),
    **{f"pca{d}-{enc}{'+missing' if miss else ''}{'-whiten' if white else ''}-n10": Candidate(
        encoding=enc, method="pca", latent="whiten" if white else "principal", latent_dim=d, missing_indicators=miss)
       for enc in ("index", "onehot") for miss in (False, True) for d in (8, 5, 3) for white in (False, True)},
    **{f"pca{d}-{enc}-n{n}": Candidate(encoding=enc, method="pca", latent_dim=d, n_init=n)
       for enc in ("index", "onehot") for d in (2, 3, 4) for n in (1, 10)},
    **{f"pca{d}-index-n20": Candidate(method="pca", latent_dim=d, n_init=20) for d in (5, 6, 7, 9)},
    "ae-relu-8-raw-n10": Candidate(latent="raw", latent_dim=8, autoencoder=REFERENCE_AE),
    "ae-relu-8-whiten-n10": Candidate(latent="whiten", latent_dim=8, autoencoder=REFERENCE_AE),
    **{f"ae-linear-{d}-{enc}-{latent}-n10": Candidate(encoding=enc, latent=latent, latent_dim=d,
                                                       autoencoder={**LINEAR, **SLOW})
       for enc in ("index", "onehot") for d in (3, 4) for latent in ("raw", "principal")},
    **{f"pca{d}-{enc}-{clusterer}-n10": Candidate(encoding=enc, method="pca", latent_dim=d, clusterer=clusterer)
       for enc in ("index", "onehot") for d in (2, 3, 4) for clusterer in ("gmm", "bisecting")},
    **{f"pca{d}-index-n10": Candidate(method="pca", latent_dim=d) for d in (6, 7)},
    # A converging training, optionally with a smaller validation share.
    **{f"ae-linear-{d}-onehot-principal-converged-n10": Candidate(
        encoding="onehot", latent_dim=d, autoencoder={**LINEAR, **CONVERGED}) for d in (2, 3, 4)},
    "ae-linear-2-onehot-principal-converged-val05-n10": Candidate(
        encoding="onehot", latent_dim=2, autoencoder={**LINEAR, **CONVERGED, "validation_split": 0.05}),
    "ae-linear-3-index-principal-converged-n10": Candidate(latent_dim=3, autoencoder={**LINEAR, **CONVERGED}),
}


@dataclass(frozen=True)
class Dataset:
    """Features of one snapshot in ID order, with its labels."""

    features: dict[str, np.ndarray]  # by encoding
    missing: np.ndarray  # is-missing indicators of the numeric columns
    labels: np.ndarray


def load(spark, overrides: list[str]) -> Dataset:
    """Read a snapshot as the train job does and run the project's feature pipeline for both encodings."""
    from pyspark.sql import functions as F

    from custseg.config import load_config
    from custseg.features import FEATURES_COL, FittedFeatures, build_feature_pipeline, transform_features
    from custseg.frame_store import FrameStore
    from custseg.snapshot import effective_config, read_snapshot

    config = effective_config(load_config(ROOT / "conf" / "customers.yaml", overrides))
    columns = config.columns
    features = {}
    with FrameStore(spark, cache=config.spark.cache) as store:
        customers = read_snapshot(spark, config, store).customers
        for encoding in ("index", "onehot"):
            model = FittedFeatures.of(build_feature_pipeline(columns, encoding=encoding).fit(customers))
            rows = transform_features(model, customers).orderBy(F.col(columns.id).cast("long")).select(
                F.col(FEATURES_COL).alias("f"), F.col(columns.label).cast("string").alias("label"),
                *[F.col(c).isNull().cast("double").alias(c) for c in columns.numeric]).toPandas()
            features[encoding] = np.stack(rows["f"].to_numpy())
    missing = rows[columns.numeric].to_numpy()
    missing = missing[:, missing.std(axis=0) > 0]
    return Dataset(features, (missing - missing.mean(axis=0)) / missing.std(axis=0),
                   rows["label"].to_numpy())


@dataclass(frozen=True)
class Reference:
    """Train.csv in ID order: its IDs, its Segmentation labels and the reference method's scaled inputs."""

    ids: np.ndarray
    labels: np.ndarray
    scaled: np.ndarray


def reference_space(path: Path) -> Reference:
    """The reference method's scaled inputs: median / mode imputation, label codes, standardised.

    Plain k-means in this space reproduces the data set README's figures (purity 0.440, NMI 0.091,
    ARI 0.084, silhouette 0.177), so silhouettes measured here compare with its 0.131 and 0.177.
    """
    df = pd.read_csv(path).sort_values("ID")
    labels = df["Segmentation"].to_numpy()
    for name in ("Age", "Work_Experience", "Family_Size"):
        df[name] = df[name].fillna(df[name].median())
    for name in ("Gender", "Ever_Married", "Graduated", "Profession", "Spending_Score", "Var_1"):
        df[name] = df[name].fillna(df[name].mode()[0]).astype("category").cat.codes
    return Reference(df["ID"].to_numpy(), labels,
                     StandardScaler().fit_transform(df[REFERENCE_COLUMNS].to_numpy(dtype=float)))


def inputs(candidate: Candidate, data: Dataset, reference: np.ndarray | None) -> np.ndarray:
    if candidate.encoding == "reference":
        return reference
    x = data.features[candidate.encoding]
    return np.hstack([x, data.missing]) if candidate.missing_indicators else x


def represent(candidate: Candidate, x: np.ndarray, seed: int) -> np.ndarray:
    """What k-means clusters: the features, their principal components, or the autoencoder's latent vectors."""
    if candidate.method == "kmeans":
        return x
    if candidate.method == "pca":
        return PCA(candidate.latent_dim, whiten=candidate.latent == "whiten").fit_transform(x)
    from custseg.autoencoder import export_weights, principal_axes, train_autoencoder
    from custseg.config import AutoencoderConfig
    from custseg.encode import make_predict_fn

    settings = AutoencoderConfig(**{**candidate.autoencoder, "latent_dim": candidate.latent_dim,
                                    "latent_space": "principal" if candidate.latent == "principal" else "raw"})
    sample = x.astype(np.float32)
    weights = export_weights(train_autoencoder(sample, settings=settings, seed=seed).model)
    if candidate.latent == "principal":
        weights = principal_axes(weights, sample)
    latent = make_predict_fn(weights)(sample)[0]
    return PCA(whiten=True).fit_transform(latent) if candidate.latent == "whiten" else latent


def segments_fast(candidate: Candidate, data: Dataset, reference: np.ndarray | None, seed: int) -> np.ndarray:
    z = represent(candidate, inputs(candidate, data, reference), seed)
    if candidate.clusterer == "gmm":
        return GaussianMixture(K, n_init=candidate.n_init, random_state=seed).fit(z).predict(z)
    if candidate.clusterer == "bisecting":
        return BisectingKMeans(K, n_init=candidate.n_init, random_state=seed).fit_predict(z)
    return KMeans(K, n_init=candidate.n_init, random_state=seed).fit_predict(z)


def job_segments(data: Path, *, seed: int, workdir: Path, overrides: list[str]) -> pd.Series:
    """Run the train job itself (``spark-submit.sh train``) with ``seed``; its segment by customer id.

    The job's defaults come from conf/customers.yaml, as a user runs it; ``overrides`` are
    ``--set`` values on top. Each run gets a warehouse of its own under ``workdir``.
    """
    warehouse = workdir / f"{data.stem}-seed{seed}"
    sets = [f"seed={seed}", f"output.warehouse_dir={warehouse}", *overrides]
    subprocess.run([str(ROOT / "spark-submit.sh"), "train", "--conf", str(ROOT / "conf" / "customers.yaml"),
                    "--input", str(data), "--run-date", JOB_RUN_DATE, *[a for s in sets for a in ("--set", s)]],
                   check=True, stdout=subprocess.DEVNULL)
    table = pd.read_parquet(warehouse / "custseg.db" / "customer_segments", columns=["customer_id", "segment"])
    return table.set_index(table["customer_id"].astype("int64"))["segment"]


def job_runs(overrides: list[str], reference_ids: np.ndarray, workdir: Path) -> tuple[list, list, np.ndarray]:
    """Segments of three job runs on Train.csv (in ``reference_ids`` order) and on generated customers.

    Returns the Train.csv runs, the generated runs and the generated customers' planted segments.
    The generated customers are written once (``spark-submit.sh generate``, seed 42 as the job's
    default run) and evaluated against their planted segments.
    """
    generated = workdir / "generated"
    subprocess.run([str(ROOT / "spark-submit.sh"), "generate", "--rows", str(GENERATED_ROWS), "--output",
                    str(generated), "--seed", "42"], check=True, stdout=subprocess.DEVNULL)
    planted = pd.read_parquet(generated, columns=["ID", "planted_segment"]).set_index("ID")["planted_segment"]
    planted_overrides = ["columns.label=planted_segment", *overrides]
    real = [job_segments(DATA, seed=seed, workdir=workdir, overrides=overrides).loc[reference_ids].to_numpy()
            for seed in SEEDS]
    made = [job_segments(generated, seed=seed, workdir=workdir, overrides=planted_overrides)
            .loc[planted.index].to_numpy() for seed in SEEDS]
    return real, made, planted.to_numpy()


def purity(labels: np.ndarray, segments: np.ndarray) -> float:
    table = contingency_matrix(labels, segments)
    return float(table.max(axis=0).sum() / table.sum())


def figures(name: str, runs: list[np.ndarray], reference: Reference, planted_runs: list[np.ndarray],
            planted: np.ndarray | None) -> dict:
    """The row of one configuration: its seeds' segments of Train.csv (in ID order) and of generated customers."""
    pairs = [adjusted_rand_score(a, b) for a, b in combinations(runs, 2)]
    return {
        "configuration": name,
        "seed ARI (1-2, 1-3, 2-3)": " / ".join(f"{v:.3f}" for v in pairs),
        "purity": np.mean([purity(reference.labels, s) for s in runs]),
        "NMI": np.mean([normalized_mutual_info_score(reference.labels, s) for s in runs]),
        "ARI vs labels": np.mean([adjusted_rand_score(reference.labels, s) for s in runs]),
        "silhouette": np.mean([silhouette_score(reference.scaled, s) for s in runs]),
        "ARI vs planted": " / ".join(f"{adjusted_rand_score(planted, s):.3f}" for s in planted_runs),
    }


def markdown_row(row: dict) -> str:
    cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"configurations to run fast; known: {', '.join(CANDIDATES)}")
    parser.add_argument("--job", nargs="*", metavar="KEY=VALUE",
                        help="run the train job itself: conf/customers.yaml with these --set values")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(CANDIDATES))
    if unknown:
        parser.exit(2, f"unknown configuration {unknown[0]}; known: {', '.join(CANDIDATES)}\n")
    if not DATA.is_file():
        parser.exit(2, f"real customer data not found at {DATA}; place the shared data beside the repository\n")
    reference = reference_space(DATA)
    print("| " + " | ".join(["configuration", "seed ARI (1-2, 1-3, 2-3)", "purity", "NMI", "ARI vs labels",
                             "silhouette", "ARI vs planted (seeds 1, 2, 3)"]) + " |")
    print("|---|---|---|---|---|---|---|", flush=True)
    if args.names:
        run_fast(args.names, reference)
    if args.job is not None:
        with tempfile.TemporaryDirectory(prefix="custseg-quality-") as workdir:
            real, made, planted = job_runs(args.job, reference.ids, Path(workdir))
        name = "job" + "".join(f" {o}" for o in args.job)
        print(markdown_row(figures(name, real, reference, made, planted)), flush=True)


def run_fast(names: list[str], reference: Reference) -> None:
    """Print the row of each named configuration, clustered on the driver with scikit-learn.

    Also prints the variances of the principal components of Train.csv's features: how well a
    d-coordinate principal subspace is determined depends on the gap after its d-th variance.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("custseg-quality")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    real = load(spark, [f"input.path={DATA}"])
    generated = load(spark, [f"input.generated_rows={GENERATED_ROWS}"])
    spark.stop()
    for encoding, x in real.features.items():
        variances = np.linalg.eigvalsh(np.cov(x, rowvar=False))[::-1]
        print(f"principal variances, {encoding}: " + " ".join(f"{v:.3f}" for v in variances[:9]), file=sys.stderr)
    for name in names:
        candidate = CANDIDATES[name]
        runs = [segments_fast(candidate, real, reference.scaled, seed) for seed in SEEDS]
        made = [] if candidate.encoding == "reference" else [
            segments_fast(candidate, generated, None, seed) for seed in SEEDS]
        print(markdown_row(figures(name, runs, reference, made, generated.labels)), flush=True)


if __name__ == "__main__":
    main()

"""Drift's numeric histograms: every count grouped by one number, or by the names of its column, kind and bucket.

    .venv/bin/python tests/benchmarks/drift_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one). The snapshot its active model was trained on is read and kept as the jobs keep it; then,
alternating, ``--repeats`` times each, one pass counts its numeric columns on the grids and
deciles of the model's reference profile: as :mod:`custseg.drift` does, grouped by one number per
(histogram, bucket), and grouped by the column's name, the kind and the bucket as text, the way
the job counted before. Checks that both give the same counts, then prints the median seconds of each.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import generated_snapshot, local_session, pass_arguments, timed_actions
from custseg import drift
from custseg.model_store import load_model


def by_names(df: DataFrame, grids: dict[str, list[float]], deciles: dict[str, list[float]]) -> dict:
    """The counts of ``drift._histograms``, from the same buckets, grouped by three columns of text."""
    buckets = drift._buckets(grids, deciles)
    counts: dict = {(name, kind): {} for name, kind, _ in buckets}
    keyed = F.explode(F.array(*[
        F.struct(F.lit(name).alias("column"), F.lit(kind).alias("kind"),
                 F.coalesce(F.col(f"__bucket{i}").cast("string"), F.lit(drift.MISSING)).alias("bucket"))
        for i, (name, kind, _) in enumerate(buckets)]))
    grouped = drift._bucketed(df, buckets).select(keyed.alias("k")).groupBy("k.column", "k.kind", "k.bucket")
    for row in grouped.count().collect():
        counts[(row["column"], row["kind"])][row["bucket"]] = row["count"]
    return counts


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    model = load_model((Path(args.warehouse) / "models").resolve())
    numeric = model.manifest["reference"]["numeric"]
    grids = {name: reference["grid"] for name, reference in numeric.items()}
    deciles = {name: reference["deciles"] for name, reference in numeric.items()}
    with generated_snapshot(spark, model.manifest["input"]) as (_, snapshot):
        customers = snapshot.customers
        if drift._histograms(customers, grids=grids, deciles=deciles) != by_names(customers, grids, deciles):
            raise SystemExit("the two ways count differently")
        timed_actions({
            "grouped by the names as text (before)": lambda: by_names(customers, grids, deciles),
            "grouped by one number (drift._histograms)": lambda: drift._histograms(customers, grids=grids,
                                                                                    deciles=deciles),
        }, rows=snapshot.rows_usable, repeats=args.repeats, heading="drift's numeric histograms, kept as files")


if __name__ == "__main__":
    main()

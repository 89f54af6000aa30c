"""The train job's samples of feature vectors: a sample of featured customers against the features of a sample.

    .venv/bin/python tests/benchmarks/sample_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``. It is read as the jobs read
a snapshot (checked, typed and cached) and the shipped config's feature pipeline is fitted. For
both samples the train job draws (``autoencoder.sample_rows`` and ``clustering.sample_rows``),
alternating, ``--repeats`` times each, two passes send the sample's features to Spark's no-op
sink: a seeded sample of the featured customers (what the job did before: Spark computes the
features of every customer below the sample) and :func:`custseg.train.sampled_features`, which
samples first. Checks that both give the same vectors in the same order, then prints the median
seconds of each and their ratio.
"""

from __future__ import annotations

import numpy as np

from bench import generated_snapshot, local_session, pass_arguments, timed_passes
from custseg.features import FEATURES_COL, FittedFeatures, fit_feature_pipeline, transform_features
from custseg.sampling import bounded_sample
from custseg.train import sampled_features


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    with generated_snapshot(spark, args.data) as (config, snapshot):
        customers, rows, seed = snapshot.customers, snapshot.rows_usable, config.seed
        model = FittedFeatures.of(fit_feature_pipeline(config.columns, customers, encoding=config.features.encoding))
        for setting, limit in (("autoencoder.sample_rows", config.autoencoder.sample_rows),
                               ("clustering.sample_rows", config.clustering.sample_rows)):
            passes = {
                "sample of the featured customers": lambda: bounded_sample(
                    transform_features(model, customers), rows=rows, limit=limit, seed=seed).select(FEATURES_COL),
                "features of a sample (sampled_features)": lambda: sampled_features(
                    model, customers, rows=rows, limit=limit, seed=seed).select(FEATURES_COL),
            }
            before, after = (_vectors(build()) for build in passes.values())
            assert before.shape == after.shape == (min(limit, rows), before.shape[1]) and np.array_equal(before, after)
            medians = timed_passes(passes, rows=rows, repeats=args.repeats,
                                   heading=f"a sample of {limit:,} ({setting}), the same vectors both ways")
            names = list(medians)
            print(f"\n{names[1]} / {names[0]} = {medians[names[1]] / medians[names[0]]:.2f}")
    spark.stop()


def _vectors(sample) -> np.ndarray:
    vectors = sample.toArrow().column(FEATURES_COL).combine_chunks()
    return vectors.flatten().to_numpy().reshape(len(vectors), -1)


if __name__ == "__main__":
    main()

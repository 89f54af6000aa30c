"""Fitting the feature pipeline: Spark ML's ``Pipeline.fit`` against :func:`custseg.features.fit_feature_pipeline`.

    .venv/bin/python tests/benchmarks/features_fit.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``. It is read as the jobs read
a snapshot (checked, typed and cached); then, after a fit that warms the JVM up, alternating,
``--repeats`` times each, the shipped config's feature pipeline is fitted both ways. Checks that
both give the same scaler (mean and standard deviation), then prints the seconds of each fit and
the ratio of their medians.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench import generated_snapshot, local_session, pass_arguments
from custseg.features import build_feature_pipeline, fit_feature_pipeline


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    with generated_snapshot(spark, args.data) as (config, snapshot):
        customers = snapshot.customers
        encoding = config.features.encoding
        fits = {
            "Pipeline.fit": lambda: build_feature_pipeline(config.columns, encoding=encoding).fit(customers),
            "fit_feature_pipeline": lambda: fit_feature_pipeline(config.columns, customers, encoding=encoding),
        }
        fits["Pipeline.fit"]()  # warms the JVM up; not timed
        seconds: dict[str, list[float]] = {name: [] for name in fits}
        scalers = {}
        for _ in range(args.repeats):
            for name, fit in fits.items():
                start = time.perf_counter()
                scalers[name] = fit().stages[-1]
                seconds[name].append(time.perf_counter() - start)
        expected, fitted = scalers["Pipeline.fit"], scalers["fit_feature_pipeline"]
        assert np.allclose(fitted.mean.toArray(), expected.mean.toArray(), rtol=1e-12, atol=0)
        assert np.allclose(fitted.std.toArray(), expected.std.toArray(), rtol=1e-12, atol=0)
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        print(f"\n{snapshot.rows_usable:,} customers, {encoding} encoding, the same scaler from both fits\n")
        print("| fit | median s | runs s |")
        print("|---|---:|---|")
        for name, median in medians.items():
            print(f"| {name} | {median:.2f} | {', '.join(f'{s:.1f}' for s in seconds[name])} |")
        print(f"\nfit_feature_pipeline / Pipeline.fit = {medians['fit_feature_pipeline'] / medians['Pipeline.fit']:.2f}")
    spark.stop()


if __name__ == "__main__":
    main()

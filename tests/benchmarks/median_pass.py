"""The segment profiles' numeric pass: medians over every customer against medians over a seeded sample.

    .venv/bin/python tests/benchmarks/median_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one). The customers its active model was trained on are read as the jobs read a snapshot, joined
to their segments in its ``customer_segments`` table and kept where the shipped config's
``spark.cache`` says, as the job keeps its segmented customers. Then, alternating, ``--repeats``
times each, the numeric profiles (size, mean, median and standard deviation per segment and column)
are computed with the medians over every customer and over a sample of about
``metrics.median_rows`` of them, as the job computes them. Checks that the sizes, means and
deviations agree, prints how far apart the medians are and the median seconds of each way.
"""

from __future__ import annotations

import statistics
import time


from bench import local_session, pass_arguments, trained_customers
from custseg.frame_store import FrameStore
from custseg.profiles import segment_profiles


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    with trained_customers(spark, args.warehouse, ["segment"]) as (config, _, joined), \
            FrameStore(spark, cache=config.spark.cache) as store:
        segmented = store.keep(joined, "segmented")
        rows = segmented.count()
        numeric = config.columns.numeric
        fraction = min(1.0, config.metrics.median_rows / rows)
        ways = {"every customer": 1.0, f"a sample of about {min(rows, config.metrics.median_rows):,}": fraction}
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        tables = {}
        for _ in range(args.repeats):
            for name, share in ways.items():
                start = time.perf_counter()
                profiles = segment_profiles(segmented, numeric_cols=numeric, categorical_cols=[],
                                            median_fraction=share, seed=config.seed)
                seconds[name].append(time.perf_counter() - start)
                tables[name] = {(r.segment, r.feature): r for r in profiles.table.collect()}
        exact, sampled = tables.values()
        assert exact.keys() == sampled.keys()
        for key, row in exact.items():
            other = sampled[key]
            assert row.segment_size == other.segment_size
            assert abs(row.mean - other.mean) <= 1e-12 * abs(row.mean) and abs(row.std - other.std) <= 1e-12 * row.std
        gaps = [abs(row.median - sampled[key].median) for key, row in exact.items()]
        print(f"\n{rows:,} customers, {len(exact)} (segment, column) medians: {sum(g == 0 for g in gaps)} the same "
              f"both ways, largest difference {max(gaps):g}\n")
        print("| numeric profiles, medians over | median s | runs s |")
        print("|---|---:|---|")
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        for name, median in medians.items():
            print(f"| {name} | {median:.2f} | {', '.join(f'{s:.1f}' for s in seconds[name])} |")
        names = list(medians)
        print(f"\n{names[1]} / {names[0]} = {medians[names[1]] / medians[names[0]]:.2f}")
    spark.stop()


if __name__ == "__main__":
    main()

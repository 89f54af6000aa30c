"""The score job's floor: the least work that turns a snapshot into segments, without the job's guarantees.

    .venv/bin/python tests/benchmarks/score_floor.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one); its active model scores the snapshot it was trained on, read as the jobs read it. Alternating,
``--repeats`` times each, four passes over every customer, none cached:

- read: the snapshot's columns as read, to Spark's no-op sink;
- read, encode: typed (without the checks), features, encoder and segment, to the no-op sink;
- read, encode, write: the same, written as the ``customer_segments`` table's Parquet files;
- read, checks, encode, write: the same after the checks of the read stage, whose duplicate-id
  check shuffles the customers by id.

The last is the one pass a score needs at the least: what the job does on top of it (caching the
checked and the segmented customers, counting every row into the run's accounting, the quality
metrics, drift and profiles, the quarantine and the segment transitions, the commit and the
report) is the price of its guarantees. Prints the median seconds of each pass.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench import generated_config, local_session, pass_arguments, timed_actions, to_noop
from custseg import cleaning, io, outputs, quarantine
from custseg.clustering import assign_segments
from custseg.encode import encode
from custseg.features import FEATURES_COL, transform_features
from custseg.model_store import load_model


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    model = load_model((Path(args.warehouse) / "models").resolve())
    config = generated_config(model.manifest["input"])
    columns = config.columns
    written = Path(args.warehouse).resolve().parent / "score_floor"

    def raw():
        return io.read_customers(spark, source=config.input, columns=columns)

    def unchecked():
        texts = cleaning.as_text(raw(), [columns.id, *columns.inputs, columns.label])
        return cleaning.typed_customers(cleaning.parse_values(texts, columns), columns=columns)

    def checked():
        return quarantine.accepted_rows(quarantine.flag_rows(raw(), columns=columns))

    def segments(customers):
        featured = transform_features(model.features, customers)
        encoded = encode(featured, weights=model.weights, features_col=FEATURES_COL)
        segmented = outputs.without_features(assign_segments(encoded, model.segmentation))
        return outputs.customer_segments(segmented, columns)

    def to_parquet(df):
        df.write.mode("overwrite").parquet(str(written))

    rows = raw().count()
    timed_actions({
        "read": lambda: to_noop(raw()),
        "read, encode": lambda: to_noop(segments(unchecked())),
        "read, encode, write": lambda: to_parquet(segments(unchecked())),
        "read, checks, encode, write": lambda: to_parquet(segments(checked())),
    }, rows=rows, repeats=args.repeats, heading="the score job's floor, nothing cached")
    shutil.rmtree(written, ignore_errors=True)


if __name__ == "__main__":
    main()

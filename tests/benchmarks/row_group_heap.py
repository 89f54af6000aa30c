"""The heap the Parquet writer holds: one uncached encode pass into three sinks, each in a JVM of its own.

    .venv/bin/python tests/benchmarks/row_group_heap.py WAREHOUSE [--repeats 1]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one); its active model encodes and segments the snapshot it was trained on, typed without the
checks, as ``score_floor.py``'s "read, encode" pass. The pass goes to Spark's no-op sink, to
Parquet files with the writer's default row groups (128 MiB) and with 16 MiB ones, alternating,
each in a fresh local session whose driver logs its collections. Prints each pass's seconds and the
driver's largest heap after a collection (an upper bound of what it held, as in ``scale.py``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SINKS = ("noop", "parquet, 128 MiB row groups", "parquet, 16 MiB row groups")
SMALL_ROW_GROUP_BYTES = 16 * 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sink", choices=SINKS, help=argparse.SUPPRESS)  # one pass, in the child process
    args = parser.parse_args()
    if args.sink:
        _one_pass(args.warehouse, args.sink)
        return
    print("| sink | seconds | driver heap after GC MiB |\n|---|---:|---:|", flush=True)
    for _ in range(args.repeats):
        for sink in SINKS:
            subprocess.run([sys.executable, __file__, args.warehouse, "--sink", sink], check=True)


def _one_pass(warehouse: str, sink: str) -> None:
    from bench import generated_config, local_session, to_noop
    from scale import GC_PAUSE
    from custseg import cleaning, io, outputs
    from custseg.clustering import assign_segments
    from custseg.encode import encode
    from custseg.features import FEATURES_COL, transform_features
    from custseg.model_store import load_model

    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "gc.log"
        spark = local_session(f"-Xlog:gc:file={log}")
        model = load_model((Path(warehouse) / "models").resolve())
        config = generated_config(model.manifest["input"])
        columns = config.columns
        raw = io.read_customers(spark, source=config.input, columns=columns)
        texts = cleaning.as_text(raw, [columns.id, *columns.inputs, columns.label])
        customers = cleaning.typed_customers(cleaning.parse_values(texts, columns), columns=columns)
        encoded = encode(transform_features(model.features, customers), weights=model.weights,
                         features_col=FEATURES_COL)
        segmented = outputs.without_features(assign_segments(encoded, model.segmentation))
        start = time.perf_counter()
        if sink == "noop":
            to_noop(segmented)
        else:
            writer = segmented.write.mode("overwrite")
            if sink == SINKS[2]:
                writer = writer.option("parquet.block.size", str(SMALL_ROW_GROUP_BYTES))
            writer.parquet(f"{scratch}/segmented")
        seconds = time.perf_counter() - start
        spark.stop()
        heap = max((int(size) for size in GC_PAUSE.findall(log.read_text())), default=0)
    print(f"| {sink} | {seconds:.1f} | {heap:,} |", flush=True)


if __name__ == "__main__":
    main()

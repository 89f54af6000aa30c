"""The autoencoder's training with oneDNN's custom operations on and off, alternating.

    .venv/bin/python tests/benchmarks/onednn_train.py [--repeats 3]

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` when it is imported, so each training runs in a
process of its own, with the setting in its environment. Each trains the shipped autoencoder
settings on the same seeded sample of ``autoencoder.sample_rows`` rows of 35 correlated features
(the width of the shipped one-hot features). Prints each run's training seconds, epochs, best
validation loss and a hash of the trained weights: equal hashes mean bit-identical weights.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys

FEATURES = 35


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_once:
        train_once()
        return
    print("| oneDNN custom operations | training s | epochs | best val_loss | weights |")
    print("|---|---:|---:|---:|---|")
    for _ in range(args.repeats):
        for setting in ("1", "0"):
            environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting}
            run = subprocess.run([sys.executable, __file__, "--train-once"], env=environment,
                                 capture_output=True, text=True, check=True)
            print(f"| {'on' if setting == '1' else 'off'} | {run.stdout.strip()} |", flush=True)


def train_once() -> None:
    import numpy as np

    from custseg.autoencoder import train_autoencoder
    from custseg.config import AutoencoderConfig

    settings = AutoencoderConfig()
    rng = np.random.default_rng(0)
    sample = rng.normal(size=(settings.sample_rows, FEATURES)).astype(np.float32)
    sample[:, :5] += 2 * sample[:, 5:10]
    trained = train_autoencoder(sample, settings=settings, seed=42)
    weights = hashlib.sha1(b"".join(np.asarray(w).tobytes() for w in trained.model.get_weights())).hexdigest()
    print(f"{trained.seconds:.2f} | {trained.epochs_run} | {trained.best_val_loss:.6f} | {weights[:10]}")


if __name__ == "__main__":
    main()

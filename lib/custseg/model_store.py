"""Versioned model bundles on disk, each written whole or not at all."""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pyspark.ml import PipelineModel
from pyspark.ml.clustering import KMeansModel

from custseg.clustering import Segmentation
from custseg.config import ColumnsConfig, config_from_dict
from custseg.encode import AutoencoderWeights
from custseg.features import FittedFeatures

MANIFEST = "manifest.json"
FEATURES = "features"
FEATURE_PARAMETERS = "feature_parameters.json"
KERAS_MODEL = "autoencoder.keras"
ENCODER_WEIGHTS = "encoder_weights.npz"
KMEANS = "kmeans"
ACTIVE = "ACTIVE"


class ModelNotFoundError(LookupError):
    """No usable model where the job looks for one, phrased as one line with the fix."""


@dataclass(frozen=True)
class SavedModel:
    """A model version loaded for scoring: everything but the Keras model, which only training needs."""

    version: str
    bundle: Path
    manifest: dict[str, Any]
    features: FittedFeatures
    weights: AutoencoderWeights
    segmentation: Segmentation

    @property
    def columns(self) -> ColumnsConfig:
        """The columns the model was trained on, which is what it can score."""
        return config_from_dict({"columns": self.manifest["config"]["columns"]}).columns


def load_model(model_dir: Path, version: str | None = None) -> SavedModel:
    """Load model ``version`` from ``model_dir``, or the active one when ``version`` is None."""
    version = version or active_version(model_dir)
    if version is None:
        raise ModelNotFoundError(f"no active model in {model_dir}; run train first, or pass --model-version")
    manifest = load_manifest_of(model_dir, version)
    bundle = model_dir / version
    segmentation = Segmentation(model=KMeansModel.load(str(bundle / KMEANS)),
                                segment_of_cluster=tuple(manifest["segment_of_cluster"]))
    return SavedModel(version=version, bundle=bundle, manifest=manifest, features=load_features(bundle),
                      weights=AutoencoderWeights.load(bundle / ENCODER_WEIGHTS), segmentation=segmentation)


def load_features(bundle: Path) -> FittedFeatures:
    """The fitted feature parameters of ``bundle``: from their JSON, or from the Spark ML model in a
    bundle written before the JSON was."""
    parameters = bundle / FEATURE_PARAMETERS
    if parameters.is_file():
        return FittedFeatures.from_json(parameters.read_text(encoding="utf-8"))
    return FittedFeatures.of(PipelineModel.load(str(bundle / FEATURES)))


def load_manifest_of(model_dir: Path, version: str) -> dict[str, Any]:
    """The manifest of model ``version``; :class:`ModelNotFoundError` naming the versions there if it has none."""
    bundle = model_dir / version
    if not (bundle / MANIFEST).is_file():
        known = [m["version"] for m in list_manifests(model_dir)]
        raise ModelNotFoundError(f"model version {version} not found in {model_dir}; "
                                 f"versions there: {', '.join(known) or 'none'}")
    return read_manifest(bundle)


def new_version(now: datetime | None = None) -> str:
    """A version name that sorts by creation time, e.g. ``20260101T120000Z``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


@contextmanager
def new_bundle(model_dir: Path, version: str) -> Iterator[Path]:
    """Yield a scratch directory to write a bundle into; publish it as ``model_dir/version`` on success.

    The bundle appears under its final name only by one rename after every part is written, so a
    failed or killed run never leaves a half-written bundle where readers look.
    """
    final = model_dir / version
    if final.exists():
        raise FileExistsError(f"model version {version} already exists at {final}")
    scratch = model_dir / f".incomplete-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    scratch.rename(final)


def set_active(model_dir: Path, version: str) -> None:
    """Make ``version`` the active model: the one scoring uses unless told otherwise.

    The pointer file is replaced by one rename, so readers see the old or the new version, never
    a half-written name.
    """
    if not (model_dir / version / MANIFEST).is_file():
        raise FileNotFoundError(f"model version {version} has no bundle in {model_dir}")
    scratch = model_dir / f".{ACTIVE}-{version}"
    scratch.write_text(version + "\n", encoding="utf-8")
    scratch.replace(model_dir / ACTIVE)


def active_version(model_dir: Path) -> str | None:
    """The active model version, or ``None`` before any model has become active."""
    pointer = model_dir / ACTIVE
    return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None


def list_manifests(model_dir: Path) -> list[dict[str, Any]]:
    """The manifests of every complete bundle in ``model_dir``, oldest version first."""
    bundles = sorted(p for p in model_dir.iterdir() if (p / MANIFEST).is_file()) if model_dir.is_dir() else []
    return [read_manifest(bundle) for bundle in bundles]


def write_manifest(bundle: Path, manifest: dict[str, Any]) -> None:
    """Write the bundle's manifest (version, time, config, schema, metrics, library versions)."""
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8")


def read_manifest(bundle: Path) -> dict[str, Any]:
    """Read a bundle's manifest."""
    return json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a bundle depends on, to reproduce or audit it."""
    versions = {"python": platform.python_version()}
    for package in ("pyspark", "tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions

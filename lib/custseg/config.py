"""Typed, validated job configuration loaded from YAML.

The YAML maps one to one onto the frozen dataclasses below. Unknown keys, wrong types and
values outside what is allowed fail fast with a one-line :class:`ConfigError` that names the
key and what it accepts.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Spark settings that carry credentials (e.g. spark.hadoop.fs.s3a.secret.key) never reach a log or manifest.
SECRET_KEY = re.compile(r"secret|password|token|credential|access\.key", re.IGNORECASE)
REDACTED = "***"


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the key and the fix."""


@dataclass(frozen=True)
class CsvOptions:
    header: bool = True
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    encoding: str = "UTF-8"


@dataclass(frozen=True)
class InputConfig:
    path: Optional[str] = None
    format: Literal["csv", "parquet", "table"] = "csv"
    csv: CsvOptions = field(default_factory=CsvOptions)
    # Customers generated when no path is given, so the job runs with nothing but the repository.
    generated_rows: int = 20000


@dataclass(frozen=True)
class ColumnsConfig:
    id: str = "ID"
    numeric: list[str] = field(default_factory=lambda: ["Age", "Work_Experience", "Family_Size"])
    nominal: list[str] = field(
        default_factory=lambda: ["Gender", "Ever_Married", "Graduated", "Profession", "Var_1"]
    )
    ordinal: dict[str, list[str]] = field(
        default_factory=lambda: {"Spending_Score": ["Low", "Average", "High"]}
    )
    label: Optional[str] = "Segmentation"
    # Optional [min, max] per numeric column (inclusive); rows outside are quarantined.
    ranges: dict[str, list[float]] = field(default_factory=dict)
    # Optional declared levels per nominal column, matched after trimming and ignoring case;
    # other values become the unknown level and are counted, so typos never become segments.
    levels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def categorical(self) -> list[str]:
        """Nominal and ordinal columns: the ones profiled by category share."""
        return [*self.nominal, *self.ordinal]

    @property
    def inputs(self) -> list[str]:
        """Every column that feeds the features, in a fixed order."""
        return [*self.numeric, *self.ordinal, *self.nominal]


@dataclass(frozen=True)
class FeaturesConfig:
    # "onehot" (one indicator per level), or "index" as in the reference method (one number per category).
    # With one-hot features the leading principal subspaces are well separated from the rest, so
    # autoencoders trained with other seeds learn the same one (tests/benchmarks/quality_results.md).
    encoding: Literal["index", "onehot"] = "onehot"


@dataclass(frozen=True)
class AutoencoderConfig:
    sample_rows: int = 20000
    # A linear autoencoder in principal coordinates: the most stable configuration of the search, which
    # tests/benchmarks/quality_results.md holds with what the train job itself measured.
    hidden_layers: list[int] = field(default_factory=list)
    latent_dim: int = 2
    activation: str = "linear"
    dropout: float = 0.0
    # A larger rate and batch than the reference method's (0.001, 32), and a small validation share (the
    # seeds' training rows overlap more): trainings converge to the same subspace before early stopping
    # ends them, which the same segments on every retrain need.
    learning_rate: float = 0.01
    epochs: int = 100
    batch_size: int = 256
    validation_split: float = 0.05
    early_stopping_patience: int = 15
    reduce_lr_factor: float = 0.5
    reduce_lr_patience: int = 5
    min_learning_rate: float = 1.0e-6
    # "principal": latent vectors are the coordinates of the reconstruction along its principal axes,
    # the same geometry for every seed that learns the same subspace (linear autoencoders only);
    # "raw": the latent layer's output.
    latent_space: Literal["raw", "principal"] = "principal"


@dataclass(frozen=True)
class ClusteringConfig:
    k: int = 7
    # The centroids are fitted on a seeded sample of at most this many customers, then every
    # customer is assigned in one pass: the passes of KMeans stay bounded however large the input.
    sample_rows: int = 200000
    # KMeans starts from this many seeded initialisations and keeps the one of lowest cost: with
    # one start, retrains with other seeds fell into other local optima (quality_results.md).
    n_init: int = 10
    max_iter: int = 20
    tol: float = 1.0e-4
    init_steps: int = 2
    # Farthest a retrained segment's input-space centroid may lie from the active model's segment
    # whose id it takes over; beyond it the segment gets a new id.
    match_max_distance: float = 1.0


@dataclass(frozen=True)
class MetricsConfig:
    # The two silhouettes are measured on a seeded sample of about this many customers; every other
    # figure on all of them. Each silhouette pass computes the features again (they are not cached),
    # and a sample of a million estimates the mean to about a thousandth.
    silhouette_rows: int = 1000000
    # The segment profiles' medians are estimated from a seeded sample of about this many customers;
    # their means, deviations and shares from all of them. The median's sketch sorts every value it
    # is given: over all 10M customers it took most of the profiles' numeric pass.
    median_rows: int = 1000000


@dataclass(frozen=True)
class DriftConfig:
    # Verdict thresholds: a value at or above *_warn is "warn", at or above *_retrain "retrain".
    # PSI: < 0.1 stable, 0.1-0.25 some shift, > 0.25 a large shift (the usual reading).
    psi_warn: float = 0.1
    psi_retrain: float = 0.25
    ks_warn: float = 0.1
    ks_retrain: float = 0.2
    # Mean reconstruction error of the scored snapshot over that of the training snapshot.
    reconstruction_warn: float = 1.25
    reconstruction_retrain: float = 1.5
    # A train run finds the quantiles that drift's histograms are counted on from a seeded sample
    # of about this many customers; the histograms count every customer. Over all 10M customers
    # the quantiles' sketch took 7.5 s of a train run's metrics stage.
    reference_rows: int = 1000000


@dataclass(frozen=True)
class GatesConfig:
    # Checked before a run commits anything. A failed gate stops the run (on_failure: fail, exit
    # code 3, nothing written) or is logged and the run commits (on_failure: warn).
    min_segment_share: float = 0.01
    min_silhouette: Optional[float] = None
    # Score runs: the worst drift verdict that passes (ok < warn < retrain).
    max_drift: Literal["ok", "warn", "retrain"] = "warn"
    on_failure: Literal["fail", "warn"] = "fail"
    # auto: a train run that passes every gate becomes the active model; manual: only with --promote.
    promote: Literal["auto", "manual"] = "auto"


@dataclass(frozen=True)
class SegmentsConfig:
    # Business names of segment ids, e.g. {0: "Young urban professionals"}. Ids are kept across
    # retrains (see clustering.match_max_distance), so a name stays with its segment.
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportConfig:
    # Latent vectors drawn (seeded) to the driver for the run report's PCA and t-SNE plots. t-SNE's
    # time grows faster than the sample: 500 vectors take about a third of the CPU time of 1,000.
    sample_rows: int = 500
    tsne_perplexity: float = 30.0


@dataclass(frozen=True)
class OutputConfig:
    database: str = "custseg"
    warehouse_dir: str = "warehouse"
    # Versioned model bundles; relative paths are taken below warehouse_dir.
    model_dir: str = "models"


@dataclass(frozen=True)
class SparkConfig:
    app_name: str = "custseg"
    # Where a job keeps the customers it reads many times (the snapshot, the segmented customers):
    # "files" as Parquet files of the run's own under the warehouse, removed when it ends
    # (custseg.frame_store); "disk" in Spark's cache on the executors' local disks; "memory_and_disk"
    # in Spark's cache in the JVM heap first. For 10M customers on 2 cores, disk kept a local run's
    # peak memory 1.3-1.9 GB lower than memory_and_disk in about the same time (cache_level.py).
    cache: Literal["files", "disk", "memory_and_disk"] = "files"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobConfig:
    seed: int = 42
    input: InputConfig = field(default_factory=InputConfig)
    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    gates: GatesConfig = field(default_factory=GatesConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)

    def to_dict(self) -> dict[str, Any]:
        """The effective configuration as plain data for logs and the model manifest, secrets masked."""
        data = dataclasses.asdict(self)
        data["spark"]["conf"] = {
            key: REDACTED if SECRET_KEY.search(key) else value for key, value in data["spark"]["conf"].items()
        }
        return data


def load_config(path: str | Path, overrides: list[str] = ()) -> JobConfig:
    """Read a YAML config, apply ``key=value`` overrides and validate the result.

    Parameters
    ----------
    path : YAML file.
    overrides : dotted ``key=value`` strings (values parsed as YAML), e.g. ``clustering.k=5``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass --conf with a YAML file such as conf/customers.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys at the top level")
    for override in overrides:
        _apply_override(raw, override)
    return config_from_dict(raw)


def config_from_dict(raw: dict[str, Any]) -> JobConfig:
    """Build and validate a :class:`JobConfig` from plain data."""
    config = _build(JobConfig, raw, "")
    _validate(config)
    return config


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {override!r} must look like key=value, e.g. clustering.k=5")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    *parents, leaf = _override_path(key)
    node = raw
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part} is not a section of the config")
        node = child
    node[leaf] = value


def _override_path(key: str) -> list[str]:
    """Split a dotted key into sections; inside a mapping of settings the rest is one key."""
    parts = key.split(".")
    hint: Any = JobConfig
    for depth, part in enumerate(parts):
        if typing.get_origin(hint) is dict:
            return [*parts[:depth], ".".join(parts[depth:])]
        if not dataclasses.is_dataclass(hint):
            break
        hint = typing.get_type_hints(hint).get(part)
    return parts


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config key {prefix.rstrip('.') or '(top level)'} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = prefix + str(unknown[0])
        raise ConfigError(f"unknown config key {key}; allowed here: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {name: _convert(hints[name], raw[name], prefix + name) for name in raw}
    return cls(**values)


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, key)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"config key {key} is {value!r}; allowed: {', '.join(map(str, args))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config key {key} must be a list, got {_type_name(value)}")
        return [_convert(args[0], item, f"{key}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key} must be a mapping, got {_type_name(value)}")
        return {
            _convert(args[0], _whole_number_key(args[0], k), f"{key} (a key)"): _convert(args[1], v, f"{key}.{k}")
            for k, v in value.items()
        }
    return _scalar(hint, value, key)


def _whole_number_key(hint: Any, key: Any) -> Any:
    # Keys given with --set arrive as text: segments.names.0=Families means the segment id 0.
    if hint is int and isinstance(key, str) and re.fullmatch(r"-?\d+", key.strip()):
        return int(key)
    return key


def _scalar(hint: type, value: Any, key: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        # Spark settings such as spark.sql.shuffle.partitions: 8 arrive from YAML as numbers.
        return str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"config key {key} must be {_TYPE_WORDS[hint]}, got {_type_name(value)} {value!r}")
    return value


_TYPE_WORDS = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), type(value).__name__)


def _validate(config: JobConfig) -> None:
    checks = [
        (config.clustering.k >= 2, "clustering.k must be at least 2"),
        (config.clustering.sample_rows >= config.clustering.k,
         "clustering.sample_rows must be at least clustering.k"),
        (config.clustering.n_init >= 1, "clustering.n_init must be at least 1"),
        (config.clustering.max_iter >= 1, "clustering.max_iter must be at least 1"),
        (config.clustering.init_steps >= 1, "clustering.init_steps must be at least 1"),
        (config.clustering.match_max_distance >= 0, "clustering.match_max_distance must be at least 0"),
        (config.metrics.silhouette_rows >= 1000, "metrics.silhouette_rows must be at least 1000"),
        (config.metrics.median_rows >= 1000, "metrics.median_rows must be at least 1000"),
        (config.drift.reference_rows >= 1000, "drift.reference_rows must be at least 1000"),
        (config.drift.psi_warn <= config.drift.psi_retrain, "drift.psi_warn must not exceed drift.psi_retrain"),
        (config.drift.ks_warn <= config.drift.ks_retrain, "drift.ks_warn must not exceed drift.ks_retrain"),
        (config.drift.reconstruction_warn <= config.drift.reconstruction_retrain,
         "drift.reconstruction_warn must not exceed drift.reconstruction_retrain"),
        (0 <= config.gates.min_segment_share < 1, "gates.min_segment_share must be in [0, 1)"),
        (config.autoencoder.sample_rows >= 10, "autoencoder.sample_rows must be at least 10"),
        (config.autoencoder.latent_dim >= 1, "autoencoder.latent_dim must be at least 1"),
        (all(n >= 1 for n in config.autoencoder.hidden_layers), "autoencoder.hidden_layers must be positive sizes"),
        (0 <= config.autoencoder.dropout < 1, "autoencoder.dropout must be in [0, 1)"),
        (0 < config.autoencoder.validation_split < 1, "autoencoder.validation_split must be in (0, 1)"),
        (config.autoencoder.epochs >= 1, "autoencoder.epochs must be at least 1"),
        (config.autoencoder.batch_size >= 1, "autoencoder.batch_size must be at least 1"),
        (config.autoencoder.learning_rate > 0, "autoencoder.learning_rate must be positive"),
        (config.report.sample_rows >= 10, "report.sample_rows must be at least 10"),
        (config.report.tsne_perplexity > 0, "report.tsne_perplexity must be positive"),
        (config.autoencoder.latent_space == "raw" or config.autoencoder.activation == "linear",
         "autoencoder.latent_space principal needs autoencoder.activation linear; "
         "set activation: linear or latent_space: raw"),
        (config.input.generated_rows >= 1, "input.generated_rows must be at least 1"),
        (config.input.path is not None or config.input.format != "table",
         "input.path must name the table when input.format is table"),
        (len(config.input.csv.delimiter) == 1, "input.csv.delimiter must be one character"),
        (IDENTIFIER.match(config.output.database) is not None,
         f"output.database {config.output.database!r} must be a SQL identifier (letters, digits, _)"),
        (bool(config.columns.inputs), "columns must name at least one numeric, nominal or ordinal column"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    _validate_columns(config.columns)


def _validate_columns(columns: ColumnsConfig) -> None:
    names = [columns.id, *columns.inputs] + ([columns.label] if columns.label else [])
    seen: set[str] = set()
    for name in names:
        if not IDENTIFIER.match(name):
            raise ConfigError(f"column {name!r} must be a SQL identifier (letters, digits, _)")
        if name in seen:
            raise ConfigError(f"column {name} is named twice in columns; give each column one role")
        seen.add(name)
    for name, levels in columns.ordinal.items():
        # Levels are matched ignoring case and surrounding blanks, so they must differ that way too.
        if len(levels) < 2 or len({level.strip().lower() for level in levels}) != len(levels):
            raise ConfigError(f"columns.ordinal.{name} must list at least two distinct levels, lowest first")
    _validate_ranges(columns)
    _validate_levels(columns)


def _validate_ranges(columns: ColumnsConfig) -> None:
    for name, bounds in columns.ranges.items():
        if name not in columns.numeric:
            raise ConfigError(f"columns.ranges.{name} names no numeric column; allowed: {', '.join(columns.numeric)}")
        if len(bounds) != 2 or bounds[0] > bounds[1]:
            raise ConfigError(f"columns.ranges.{name} must be [min, max] with min <= max, got {bounds}")


def _validate_levels(columns: ColumnsConfig) -> None:
    for name, levels in columns.levels.items():
        if name not in columns.nominal:
            raise ConfigError(f"columns.levels.{name} names no nominal column (ordinal columns list their levels "
                              f"in columns.ordinal); allowed: {', '.join(columns.nominal)}")
        folded = [level.strip().lower() for level in levels]
        if not levels or "" in folded or len(set(folded)) != len(folded):
            raise ConfigError(f"columns.levels.{name} must list distinct, non-empty levels (case is ignored)")

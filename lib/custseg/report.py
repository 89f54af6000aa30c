"""The run report: one self-contained HTML file per run date, for people who would rather look than read.

Written by train and score runs once their tables have committed, from those committed tables
(small aggregates, and a bounded seeded sample of latent vectors for the 2-D projections), so
every number in it is one a SQL query of that run date returns. Plots are embedded as base64
PNG: the file opens anywhere, offline, and can be mailed on its own.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import report_plots
from custseg.config import JobConfig, OutputConfig
from custseg.report_bands import METRICS, PCA_VARIANCE, band, legend
from custseg.sampling import bounded_sample

log = logging.getLogger("custseg")

REPORTS = "reports"
REPORT_FILE = "report.html"


def report_path(output: OutputConfig, run_date: date) -> Path:
    """Where the report of ``run_date`` lives: ``<warehouse_dir>/reports/run_date=<date>/report.html``."""
    return (Path(output.warehouse_dir) / REPORTS / f"run_date={run_date.isoformat()}" / REPORT_FILE).resolve()


@dataclass(frozen=True)
class RunFrames:
    """What the report shows of one run date, read from its committed tables."""

    metrics: dict[str, Any]
    profiles: pd.DataFrame
    names: dict[int, str]
    label_mapping: pd.DataFrame
    drift: pd.DataFrame
    transitions: pd.DataFrame
    latent: np.ndarray  # [sampled customers, latent_dim]
    segments: np.ndarray  # the segment of each sampled customer


def publish_run_report(spark: SparkSession, config: JobConfig, *, run_date: date,
                       history: list[dict[str, float]]) -> Path | None:
    """:func:`write_run_report`, or ``None`` and one warning line when it fails.

    Train and score call it after their tables have committed: a report that cannot be written
    does not turn a committed run into a failed one, which a scheduler would retry in full. A
    report left by an earlier run of the same date is removed, so that none contradicts the tables.
    """
    try:
        return write_run_report(spark, config, run_date=run_date, history=history)
    except Exception as error:  # Any failure of the report leaves the committed run standing.
        report_path(config.output, run_date).unlink(missing_ok=True)
        reason = (str(error).strip().splitlines() or [""])[0]
        log.warning("report of run date %s not written (%s: %s); the run's tables are committed",
                    run_date, type(error).__name__, reason)
        return None


def write_run_report(spark: SparkSession, config: JobConfig, *, run_date: date,
                     history: list[dict[str, float]]) -> Path:
    """Render the report of ``run_date`` from its committed tables and replace its file in one rename.

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the run's effective config (database, warehouse, report settings, seed).
    run_date : the run date whose tables have just committed.
    history : the model's loss and val_loss per epoch (from training or from its manifest).
    """
    started = time.perf_counter()
    frames = read_run(spark, database=config.output.database, run_date=run_date,
                      sample_rows=config.report.sample_rows, seed=config.seed)
    page = render(frames, history=history, perplexity=config.report.tsne_perplexity, seed=config.seed)
    path = report_path(config.output, run_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.incomplete")
    scratch.write_text(page, encoding="utf-8")
    scratch.replace(path)
    log.info("report of run date %s written to %s in %.1f s", run_date, path, time.perf_counter() - started)
    return path


def read_run(spark: SparkSession, *, database: str, run_date: date, sample_rows: int, seed: int) -> RunFrames:
    """The run date's small tables as pandas frames and a seeded sample of at most ``sample_rows`` latent vectors."""
    def table(name: str) -> DataFrame:
        rows = spark.table(f"`{database}`.{name}").where(F.col("run_date") == F.lit(run_date))
        return rows if name == "run_metrics" else rows.drop("run_date", "model_version")

    (metrics,) = [row.asDict() for row in table("run_metrics").collect()]
    names = {int(r.segment): r.segment_name for r in table("segment_names").collect() if r.segment_name}
    customers = table("customer_segments")
    sampled = bounded_sample(customers, rows=int(metrics["rows_segmented"]), limit=sample_rows, seed=seed)
    arrow = sampled.select("segment", "latent").toArrow()
    latent = arrow.column("latent").combine_chunks()
    return RunFrames(
        metrics=metrics, profiles=table("segment_profiles").toPandas(), names=names,
        label_mapping=table("label_mapping").toPandas(), drift=table("drift").toPandas(),
        transitions=table("segment_transitions").toPandas(),
        latent=latent.flatten().to_numpy().reshape(len(latent), -1).astype(np.float64),
        segments=arrow.column("segment").to_numpy(),
    )


def render(frames: RunFrames, *, history: list[dict[str, float]], perplexity: float, seed: int) -> str:
    """The whole HTML page of a run."""
    m = frames.metrics
    labels = _segment_labels(frames)
    sections = [
        _section("Run", _table(_run_facts(m))),
        _section("Quality", _table(_quality(m)),
                 "<p>Bands from the method guide. The silhouette here uses squared Euclidean distances, "
                 "which the bands were not written for: read them as a rough guide.</p>"),
        _section("Training history", _image(report_plots.history_plot(history), "loss and val_loss per epoch")
                 if history else "<p>The model's manifest holds no training history.</p>"),
        _section("Segment sizes", _image(report_plots.sizes_plot(_sizes(frames, labels)), "customers per segment")),
        _section("Latent space", *_projections(frames, labels, perplexity=perplexity, seed=seed)),
        _section("Segment profiles", *_profile_heatmaps(frames.profiles, labels)),
    ]
    if not frames.label_mapping.empty:
        label = frames.label_mapping["label_column"].iloc[0]
        sections.append(_section(f"Segments against the label {label}",
                                 _table(frames.label_mapping.drop(columns="label_column").sort_values("segment"))))
    if not frames.drift.empty:
        sections.append(_section("Drift against the training snapshot", _table(frames.drift)))
    moved = frames.transitions.dropna(subset=["previous_run_date"])
    if not moved.empty:
        sections.append(_section(f"Transitions since {moved['previous_run_date'].iloc[0]}",
                                 _image(report_plots.transitions_plot(moved, labels), "customers per segment move")))
    title = f"custseg {m['run_kind']} run of {m['run_date']}"
    return _PAGE.format(title=html.escape(title), body="\n".join(sections))


def projections(latent: np.ndarray, *, perplexity: float,
                seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """PCA and t-SNE 2-D projections of a latent sample.

    Returns the PCA points, the variance ratio each PCA component explains, the t-SNE points and
    the perplexity used: t-SNE needs one well below the number of points, so a small sample
    lowers it to a third of them.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    pca = PCA(n_components=2, random_state=seed).fit(latent)
    used = min(perplexity, (len(latent) - 1) / 3)
    # On a busy driver, OpenMP threads spin against Spark's: one thread took a third of the CPU time.
    with threadpool_limits(limits=1):
        tsne = TSNE(n_components=2, perplexity=used, init="pca", random_state=seed).fit_transform(latent)
    return pca.transform(latent), pca.explained_variance_ratio_, tsne, used


def _projections(frames: RunFrames, labels: dict[int, str], *, perplexity: float, seed: int) -> list[str]:
    rows, dim = frames.latent.shape
    if dim < 2 or rows < 4:
        return [f"<p>No 2-D projection: the latent sample holds {rows} vectors of {dim} dimensions.</p>"]
    pca, variance, tsne, used = projections(frames.latent, perplexity=perplexity, seed=seed)
    explained = float(variance.sum())
    caption = (f"PCA of {rows:,} sampled latent vectors: the two components explain {variance[0]:.1%} + "
               f"{variance[1]:.1%} = {explained:.1%} of their variance ({band(PCA_VARIANCE, explained)}; "
               f"{legend(PCA_VARIANCE)}).")
    return [
        _image(report_plots.projection_plot(pca, frames.segments, title="PCA", labels=labels), "PCA projection"),
        f"<p>{html.escape(caption)}</p>",
        _image(report_plots.projection_plot(tsne, frames.segments, title="t-SNE", labels=labels), "t-SNE projection"),
        f"<p>t-SNE of the same {rows:,} vectors, perplexity {used:g}. Distances between groups in a t-SNE map "
        f"mean little; which points sit together means more.</p>",
    ]


def _profile_heatmaps(profiles: pd.DataFrame, labels: dict[int, str]) -> list[str]:
    numeric, categories = report_plots.profile_plots(profiles, labels)
    return [_image(plot, alt) for plot, alt in ((numeric, "numeric profile"), (categories, "category profile"))
            if plot is not None]


def _segment_labels(frames: RunFrames) -> dict[int, str]:
    segments = sorted(int(s) for s in frames.profiles["segment"].unique())
    return {s: f"{s} {frames.names[s]}" if s in frames.names else str(s) for s in segments}


def _sizes(frames: RunFrames, labels: dict[int, str]) -> pd.DataFrame:
    sizes = frames.profiles.groupby("segment", as_index=False)[["segment_size", "segment_share"]].first()
    return sizes.assign(label=sizes["segment"].map(labels))


def _run_facts(m: dict[str, Any]) -> pd.DataFrame:
    facts = [("model version", m["model_version"]), ("run kind", m["run_kind"]), ("input", m["input"]),
             ("finished at (UTC)", m["finished_at"]), ("segments (k)", m["k"]),
             ("rows read", f"{m['rows_read']:,}"), ("rows segmented", f"{m['rows_segmented']:,}"),
             ("rows quarantined", f"{m['rows_quarantined']:,}"), ("seconds", f"{m['seconds_total']:.0f}")]
    return pd.DataFrame(facts, columns=["", "value"])


def _quality(m: dict[str, Any]) -> pd.DataFrame:
    rows = [(metric.name, metric.format(m[metric.name]), band(metric, m[metric.name]),
             f"{metric.reading}; bands: {legend(metric)}" if metric.bands else metric.reading)
            for metric in METRICS if m.get(metric.name) is not None and not pd.isna(m[metric.name])]
    return pd.DataFrame(rows, columns=["metric", "value", "band", "how to read it"])


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n" + "\n".join(parts) + "\n</section>"


def _image(plot: report_plots.Plot, alt: str) -> str:
    return f'<img src="data:image/png;base64,{plot.as_base64()}" alt="{html.escape(alt)}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:.4g}")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }}
th, td {{ padding: 0.25em 0.8em; text-align: left; border-bottom: 1px solid #eee; }}
img {{ max-width: 100%; display: block; margin: 0.5em 0; }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""

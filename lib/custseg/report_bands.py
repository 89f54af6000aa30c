"""How to read the run's metrics: the interpretation bands of the method guide (section 8).

A band list holds ``(upper bound, verdict)`` pairs, bounds ascending, the last one infinite: a value
gets the verdict of the first bound it stays below. Metrics the guide gives no bands for have none
and say how to compare them instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

INF = math.inf


@dataclass(frozen=True)
class Metric:
    """One figure of ``run_metrics`` with its bands and a line on how to read it."""

    name: str
    reading: str
    bands: tuple[tuple[float, str], ...] = ()
    format: Callable[[float], str] = "{:.3f}".format


SILHOUETTE_BANDS = ((0.26, "no substantial structure"), (0.51, "weak structure, some overlap"),
                    (0.71, "reasonable structure"), (INF, "strong structure"))

METRICS = (
    Metric("silhouette", "-1 to 1, higher is better: how much nearer customers lie to their own segment "
           "than to the next one (latent space)", SILHOUETTE_BANDS),
    Metric("silhouette_input", "the same in the scaled input space", SILHOUETTE_BANDS),
    Metric("davies_bouldin", "0 and up, lower is better: how much segments overlap with their most similar one",
           ((1.0, "good separation"), (2.0, "moderate separation"), (INF, "poor separation"))),
    Metric("calinski_harabasz", "higher is better; no universal threshold: compare across k "
           "(./spark-submit.sh sweep)", format="{:,.1f}".format),
    Metric("inertia", "sum of squared distances to the centroids; always falls as k grows: look for the elbow "
           "across k (./spark-submit.sh sweep)", format="{:,.1f}".format),
    Metric("reconstruction_mse", "mean squared error of the autoencoder's reconstruction of the scaled inputs",
           ((0.5, "excellent"), (1.5, "reasonable"), (2.0, "between reasonable and poor"), (INF, "poor"))),
    Metric("reconstruction_mae", "mean absolute error of the reconstruction, in standard deviations",
           ((0.3, "excellent"), (0.8, "reasonable"), (1.0, "between reasonable and poor"), (INF, "poor"))),
    Metric("purity", "share of customers whose label is their segment's majority label (0 to 1)"),
    Metric("nmi", "normalised mutual information of segments and labels (0: none, 1: identical)"),
    Metric("ari", "adjusted Rand index of segments and labels (0: chance, 1: identical)"),
)

PCA_VARIANCE = Metric("pca_explained_variance", "share of the latent variance the 2-D PCA plot shows",
                      ((0.5, "may miss important structure"), (0.7, "good representation"),
                       (INF, "excellent representation")), "{:.1%}".format)


def band(metric: Metric, value: float) -> str:
    """The verdict of the band ``value`` falls in; empty when the metric has no bands."""
    return next((verdict for upper, verdict in metric.bands if value < upper), "")


def legend(metric: Metric) -> str:
    """The metric's bands in words, e.g. ``below 0.26: no substantial structure; 0.26 to 0.51: ...``."""
    parts, lower = [], None
    for upper, verdict in metric.bands:
        if lower is None:
            parts.append(f"below {upper:g}: {verdict}")
        elif upper == INF:
            parts.append(f"{lower:g} and above: {verdict}")
        else:
            parts.append(f"{lower:g} to {upper:g}: {verdict}")
        lower = upper
    return "; ".join(parts)

"""The plots of the run report and the notebooks: matplotlib figures drawn headless into PNG images.

Figures are built with :class:`matplotlib.figure.Figure` directly, not pyplot, so no display,
no global figure state and no backend choice are involved: they render with Agg.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 100


@dataclass(frozen=True)
class Plot:
    """A rendered plot: PNG bytes, shown as an image by Jupyter and embeddable in HTML as base64."""

    png: bytes

    def _repr_png_(self) -> bytes:
        return self.png

    def as_base64(self) -> str:
        """The PNG as base64 text, for an ``<img src="data:image/png;base64,...">``."""
        return base64.b64encode(self.png).decode("ascii")


def to_plot(figure: Figure) -> Plot:
    """Draw ``figure`` into a :class:`Plot`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return Plot(buffer.getvalue())


def segment_colour(segment: int) -> tuple[float, ...]:
    """One fixed colour per segment id, the same in every plot of the report."""
    return colormaps["tab20"](segment % 20)


def history_plot(history: list[dict[str, float]]) -> Plot:
    """Training and validation loss per epoch."""
    figure = Figure(figsize=(6.5, 3.2))
    axes = figure.subplots()
    epochs = np.arange(1, len(history) + 1)
    for key, label in (("loss", "loss (training)"), ("val_loss", "val_loss (validation)")):
        axes.plot(epochs, [entry[key] for entry in history], marker="o", markersize=3, label=label)
    axes.set(xlabel="epoch", ylabel="mean squared error", title="Autoencoder training history")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend()
    axes.grid(alpha=0.3)
    return to_plot(figure)


def sizes_plot(sizes: pd.DataFrame) -> Plot:
    """Customers per segment as bars; ``sizes`` has ``segment``, ``label``, ``segment_size`` and ``segment_share``."""
    figure = Figure(figsize=(6.5, 0.45 * len(sizes) + 1.2))
    axes = figure.subplots()
    positions = np.arange(len(sizes))
    axes.barh(positions, sizes["segment_size"], color=[segment_colour(s) for s in sizes["segment"]])
    for y, (count, share) in enumerate(zip(sizes["segment_size"], sizes["segment_share"])):
        axes.annotate(f" {count:,} ({share:.1%})", (count, y), va="center", fontsize=9)
    axes.set_yticks(positions, sizes["label"])
    axes.invert_yaxis()
    axes.set(xlabel="customers", title="Segment sizes")
    axes.margins(x=0.25)
    return to_plot(figure)


def projection_plot(points: np.ndarray, segments: np.ndarray, *, title: str, labels: dict[int, str]) -> Plot:
    """2-D points coloured by segment, with a legend naming each segment."""
    figure = Figure(figsize=(6.5, 5.2))
    axes = figure.subplots()
    for segment in sorted(set(segments.tolist())):
        mine = points[segments == segment]
        axes.scatter(mine[:, 0], mine[:, 1], s=6, alpha=0.6, color=segment_colour(segment),
                     label=labels.get(segment, str(segment)))
    axes.set(title=title, xticks=[], yticks=[])
    axes.legend(markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return to_plot(figure)


def heatmap_plot(values: pd.DataFrame, *, title: str, text: pd.DataFrame, colour_label: str) -> Plot:
    """A heatmap of ``values`` (rows x columns) with each cell annotated by the matching cell of ``text``."""
    figure = Figure(figsize=(1.0 * values.shape[1] + 3.5, 0.32 * values.shape[0] + 1.6))
    axes = figure.subplots()
    image = axes.imshow(values.to_numpy(dtype=float), cmap="viridis", aspect="auto")
    axes.set_xticks(np.arange(values.shape[1]), [str(c) for c in values.columns])
    axes.set_yticks(np.arange(values.shape[0]), [str(r) for r in values.index])
    axes.tick_params(labelsize=8)
    shade = image.norm(values.to_numpy(dtype=float))
    for (row, column), cell in np.ndenumerate(text.to_numpy(dtype=object)):
        # Dark text on the light end of viridis, light text on the dark end.
        colour = "black" if shade[row, column] > 0.6 else "white"
        axes.text(column, row, cell, ha="center", va="center", fontsize=7, color=colour)
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label=colour_label)
    return to_plot(figure)


def profile_plots(profiles: pd.DataFrame, labels: dict[int, str]) -> tuple[Plot | None, Plot | None]:
    """Heatmaps of ``segment_profiles`` rows: numeric means, and category level shares (None without such rows)."""
    numeric = profiles[profiles["level"].isna()].pivot(index="feature", columns="segment", values="mean")
    categories = profiles[profiles["level"].notna()].assign(row=lambda p: p["feature"] + " = " + p["level"])
    shares = categories.pivot(index="row", columns="segment", values="share").fillna(0.0)
    numbers = levels = None
    if not numeric.empty:
        spread = numeric.std(axis=1, ddof=0).replace(0.0, 1.0)
        standardised = numeric.sub(numeric.mean(axis=1), axis=0).div(spread, axis=0)
        numbers = heatmap_plot(standardised.rename(columns=labels), text=numeric.map(lambda v: f"{v:.1f}"),
                             title="Numbers: mean per segment", colour_label="standardised across segments")
    if not shares.empty:
        levels = heatmap_plot(shares.rename(columns=labels), text=shares.map(lambda v: f"{v:.0%}"),
                                   title="Categories: share of each level within the segment", colour_label="share")
    return numbers, levels


def transitions_plot(moves: pd.DataFrame, labels: dict[int, str]) -> Plot:
    """Heatmap of ``segment_transitions`` rows of one run date: customers from segment (rows) to segment (columns)."""
    def name(segment: object, absent: str) -> str:
        return absent if pd.isna(segment) else labels.get(int(segment), str(int(segment)))

    named = moves.assign(source=[name(s, "new") for s in moves["from_segment"]],
                         target=[name(s, "gone") for s in moves["to_segment"]])
    matrix = named.pivot_table(index="source", columns="target", values="customers", aggfunc="sum", fill_value=0)
    return heatmap_plot(matrix, text=matrix.map(lambda v: f"{v:,}"),
                        title="Customers from segment (rows) to segment (columns)", colour_label="customers")


def sweep_plot(table: pd.DataFrame) -> Plot:
    """One panel per measure of ``k_selection`` rows against k, the recommended k marked."""
    measures = [("inertia", "inertia (elbow)"), ("silhouette", "silhouette (higher is better)"),
                ("davies_bouldin", "Davies-Bouldin (lower is better)"),
                ("calinski_harabasz", "Calinski-Harabasz (higher is better)"), ("stability", "stability (ARI)")]
    figure = Figure(figsize=(15.0, 3.0))
    chosen = table.loc[table["recommended"], "k"]
    for axes, (column, title) in zip(figure.subplots(1, len(measures)), measures):
        axes.plot(table["k"], table[column], marker="o")
        for k in chosen:
            axes.axvline(k, color="grey", linestyle="--", linewidth=1)
        axes.set(title=title, xlabel="k")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    return to_plot(figure)

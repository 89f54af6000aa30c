"""The run report: the method guide's bands, the page built from a run's frames, a train run's report in Chromium."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from support import REPORT_IMAGES, open_in_chromium

from custseg import cli, report
from custseg.config import config_from_dict
from custseg.outputs import RunResult
from custseg.report import RunFrames, projections, render
from custseg.report_bands import METRICS, PCA_VARIANCE, band, legend

SILHOUETTE, DAVIES_BOULDIN, MSE = (next(m for m in METRICS if m.name == name)
                                   for name in ("silhouette", "davies_bouldin", "reconstruction_mse"))


@pytest.mark.parametrize(("metric", "value", "verdict"), [
    (SILHOUETTE, 0.25, "no substantial structure"), (SILHOUETTE, 0.26, "weak structure, some overlap"),
    (SILHOUETTE, 0.50, "weak structure, some overlap"), (SILHOUETTE, 0.693, "reasonable structure"),
    (SILHOUETTE, 0.71, "strong structure"), (DAVIES_BOULDIN, 0.905, "good separation"),
    (DAVIES_BOULDIN, 1.0, "moderate separation"), (DAVIES_BOULDIN, 2.0, "poor separation"),
    (MSE, 1.7, "between reasonable and poor"), (PCA_VARIANCE, 0.58, "good representation"),
])
def test_a_value_gets_the_band_of_the_method_guide(metric, value, verdict):
    assert band(metric, value) == verdict


def test_bands_read_as_words_and_metrics_without_bands_have_none():
    assert legend(SILHOUETTE) == ("below 0.26: no substantial structure; 0.26 to 0.51: weak structure, some overlap; "
                                  "0.51 to 0.71: reasonable structure; 0.71 and above: strong structure")
    calinski = next(m for m in METRICS if m.name == "calinski_harabasz")
    assert (band(calinski, 1234.5), legend(calinski)) == ("", "")


def _frames(*, drift: bool = False, previous: dt.date | None = None) -> RunFrames:
    rng = np.random.default_rng(0)
    segments = np.repeat([0, 1], 30)
    metrics = {"model_version": "V1", "run_kind": "train", "input": "generated", "k": 2,
               "run_date": dt.date(2026, 3, 1), "finished_at": dt.datetime(2026, 3, 1, 2, 0), "rows_read": 61,
               "rows_segmented": 60, "rows_quarantined": 1, "seconds_total": 12.0, "silhouette": 0.693,
               "silhouette_input": 0.2,
               "davies_bouldin": 2.5, "calinski_harabasz": 1234.5, "inertia": 10.0, "reconstruction_mse": 0.4,
               "reconstruction_mae": 0.5, "purity": None, "nmi": None, "ari": None}
    profiles = pd.DataFrame(
        [(0, 40, 2 / 3, "Age", None, 30.0, None), (1, 20, 1 / 3, "Age", None, 50.0, None),
         (0, 40, 2 / 3, "Gender", "Male", None, 0.25), (0, 40, 2 / 3, "Gender", "Female", None, 0.75),
         (1, 20, 1 / 3, "Gender", "Male", None, 1.0)],
        columns=["segment", "segment_size", "segment_share", "feature", "level", "mean", "share"])
    drifted = [("Age", "numeric", 0.3, 0.001, 0.4, 30.0, 40.0, "retrain")] if drift else []
    return RunFrames(
        metrics=metrics, profiles=profiles, names={0: "Young"},
        label_mapping=pd.DataFrame(columns=["segment", "majority_label", "segment_purity", "size", "label_column"]),
        drift=pd.DataFrame(drifted, columns=["feature", "kind", "ks_statistic", "ks_p_value", "psi", "reference",
                                             "current", "verdict"]),
        transitions=pd.DataFrame([(None, 0, 40, previous), (1, 1, 20, previous)],
                                 columns=["from_segment", "to_segment", "customers", "previous_run_date"]),
        latent=rng.normal(size=(60, 3)) + segments[:, None] * 4, segments=segments,
    )


def _sections(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def test_a_train_page_shows_the_metrics_with_their_bands_and_every_plot():
    page = render(_frames(), history=[{"loss": 1.0, "val_loss": 0.9}], perplexity=30, seed=1)
    assert _sections(page) == ["Run", "Quality", "Training history", "Segment sizes", "Latent space",
                               "Segment profiles"]
    assert re.findall(r'alt="([^"]*)"', page) == REPORT_IMAGES
    assert "<td>silhouette</td>\n      <td>0.693</td>\n      <td>reasonable structure</td>" in page
    assert "<td>davies_bouldin</td>\n      <td>2.500</td>\n      <td>poor separation</td>" in page
    assert "<td>calinski_harabasz</td>\n      <td>1,234.5</td>\n      <td></td>" in page
    # Without a label there are no label scores to show.
    assert "<td>purity</td>" not in page and "<td>rows quarantined</td>\n      <td>1</td>" in page


def test_a_score_page_adds_drift_and_transitions_and_says_when_there_is_no_history():
    page = render(_frames(drift=True, previous=dt.date(2026, 2, 1)), history=[], perplexity=30, seed=1)
    assert _sections(page)[-2:] == ["Drift against the training snapshot", "Transitions since 2026-02-01"]
    assert "<td>Age</td>\n      <td>numeric</td>\n      <td>0.3</td>" in page and "<td>retrain</td>" in page
    assert "The model's manifest holds no training history." in page
    assert re.findall(r'alt="([^"]*)"', page) == REPORT_IMAGES[1:] + ["customers per segment move"]


def test_projections_are_seeded_and_explain_the_variance_pca_finds():
    latent = _frames().latent
    pca, variance, tsne, used = projections(latent, perplexity=30, seed=3)
    again = projections(latent, perplexity=30, seed=3)
    np.testing.assert_array_equal(tsne, again[2])
    np.testing.assert_allclose(variance, PCA(n_components=2).fit(latent).explained_variance_ratio_)
    assert pca.shape == tsne.shape == (60, 2)
    # 60 points are too few for perplexity 30: it comes down to a third of them.
    assert used == pytest.approx(59 / 3)


def test_a_train_runs_report_renders_every_plot_in_chromium(cli_workdir, cli_run, tmp_path):
    trained = cli_run[0]
    report = cli_workdir / "warehouse" / "reports" / "run_date=2026-03-01" / "report.html"
    assert f"  report:    {report}" in trained.stdout.splitlines()
    page = report.read_text(encoding="utf-8")
    # The figures of the run's own tables: the silhouette the job printed, the rows it read.
    silhouette = re.search(r"silhouette (\d\.\d{3})", trained.stdout).group(1)
    assert f"<td>silhouette</td>\n      <td>{silhouette}</td>" in page
    assert "<td>rows read</td>\n      <td>2,000</td>" in page
    images = open_in_chromium(report, tmp_path / "report.png")
    assert [alt for alt, _, _ in images] == REPORT_IMAGES
    assert all(complete and width > 0 for _, complete, width in images), images
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_a_report_that_fails_after_the_commit_is_one_warning_and_leaves_no_stale_report(tmp_path, monkeypatch,
                                                                                        caplog):
    config = config_from_dict({"output": {"warehouse_dir": str(tmp_path)}})
    run_date = dt.date(2026, 3, 1)
    stale = report.report_path(config.output, run_date)
    stale.parent.mkdir(parents=True)
    stale.write_text("the report of an earlier run of this date", encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device\n(a second line)")

    monkeypatch.setattr(report, "write_run_report", full_disk)
    with caplog.at_level(logging.WARNING, logger="custseg"):
        assert report.publish_run_report(None, config, run_date=run_date, history=[]) is None
    assert caplog.messages == ["report of run date 2026-03-01 not written (OSError: No space left on device); "
                               "the run's tables are committed"]
    assert not stale.exists()


def test_the_summary_of_a_run_without_its_report_says_so():
    config = config_from_dict({})
    result = RunResult(model_version="V1", bundle=Path("/m/V1"), tables=("run_metrics",), report=None,
                       metrics=_frames().metrics | {"purity": None})
    lines = cli._summary(config, result, dt.date(2026, 3, 1)).splitlines()
    assert "  report:    not written (the warning above says why); the tables are committed" in lines

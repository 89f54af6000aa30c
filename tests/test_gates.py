"""The quality gates on the figures a run has already measured: no Spark needed."""

from __future__ import annotations

import pytest

from custseg.config import GatesConfig
from custseg.gates import GateFailure, enforce, failed_gates


def test_a_run_that_passes_every_gate_has_no_failures():
    gates = GatesConfig(min_segment_share=0.01, min_silhouette=0.2, max_drift="warn")
    assert failed_gates({0: 1, 1: 99}, silhouette=0.2, drift_verdict="warn", gates=gates) == []


def test_each_failed_gate_is_one_phrase_with_its_figure_and_setting():
    gates = GatesConfig(min_segment_share=0.02, min_silhouette=0.3, max_drift="ok")
    assert failed_gates({3: 1, 5: 60, 6: 39}, silhouette=0.25, drift_verdict="warn", gates=gates) == [
        "the smallest segment holds 1.00% of the customers, below gates.min_segment_share 2.00%",
        "silhouette 0.250 is below gates.min_silhouette 0.300",
        "drift verdict warn exceeds gates.max_drift ok (see the drift table)",
    ]


def test_failed_gates_stop_the_run_or_only_warn_as_configured(caplog):
    failures = ["silhouette 0.250 is below gates.min_silhouette 0.300"]
    with pytest.raises(GateFailure, match=r"^quality gate failed: silhouette 0\.250 .*; nothing was written"):
        enforce(failures, GatesConfig(on_failure="fail"))
    assert enforce(failures, GatesConfig(on_failure="warn")) is False
    assert "committing anyway" in caplog.text
    assert enforce([], GatesConfig()) is True

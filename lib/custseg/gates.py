"""Quality gates: a run whose segments are too small or too blurred, or whose input drifted too far, is stopped."""

from __future__ import annotations

import logging

from custseg.config import GatesConfig

log = logging.getLogger("custseg")
VERDICTS = ("ok", "warn", "retrain")


class GateFailure(RuntimeError):
    """A quality gate failed and the config says to stop: one line naming the gate and what to do."""


def failed_gates(segment_sizes: dict[int, int], *, silhouette: float, drift_verdict: str | None,
                 gates: GatesConfig) -> list[str]:
    """One phrase per failed gate; empty when the run may commit. ``segment_sizes``: customers per segment."""
    failures = []
    smallest = min(segment_sizes.values()) / sum(segment_sizes.values())
    if smallest < gates.min_segment_share:
        failures.append(f"the smallest segment holds {smallest:.2%} of the customers, below "
                        f"gates.min_segment_share {gates.min_segment_share:.2%}")
    if gates.min_silhouette is not None and silhouette < gates.min_silhouette:
        failures.append(f"silhouette {silhouette:.3f} is below gates.min_silhouette {gates.min_silhouette:.3f}")
    if drift_verdict is not None and VERDICTS.index(drift_verdict) > VERDICTS.index(gates.max_drift):
        failures.append(f"drift verdict {drift_verdict} exceeds gates.max_drift {gates.max_drift} "
                        "(see the drift table)")
    return failures


def enforce(failures: list[str], gates: GatesConfig) -> bool:
    """Raise :class:`GateFailure` if gates failed and ``on_failure`` is ``fail``; else log them.

    Returns True when every gate passed.
    """
    if not failures:
        return True
    summary = "; ".join(failures)
    if gates.on_failure == "fail":
        raise GateFailure(f"quality gate failed: {summary}; nothing was written "
                          "(set gates.on_failure: warn to commit anyway)")
    log.warning("quality gate failed, committing anyway (gates.on_failure: warn): %s", summary)
    return False

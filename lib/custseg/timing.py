"""Wall time per stage, logged as one line each."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("custseg")


class StageTimer:
    """Records the seconds each named stage took and logs what it did."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, object]]:
        """Time a stage; the caller may put ``rows`` and other facts into the yielded dict to log."""
        facts: dict[str, object] = {}
        start = time.perf_counter()
        yield facts
        self.seconds[name] = time.perf_counter() - start
        details = "".join(f", {key} {value:,}" if isinstance(value, int) else f", {key} {value}"
                          for key, value in facts.items())
        log.info("stage %-8s %6.1f s%s", name, self.seconds[name], details)

    @property
    def total(self) -> float:
        """Seconds since the timer was created."""
        return time.perf_counter() - self._started

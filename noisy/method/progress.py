"""Progress lines for long steps: elapsed time, throughput and time left."""

from __future__ import annotations

import logging
import time


def format_duration(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressLog:
    """Logs one line per finished item of a loop of ``total`` items: the item, its images/s
    and an ETA from the mean time per item so far."""

    def __init__(self, logger: logging.Logger, total: int, what: str):
        self.logger = logger
        self.total = total
        self.what = what
        self.done = 0
        self.started = time.perf_counter()
        self.item_started = self.started

    def finished(self, name: str, images: int, result: str) -> None:
        """Record that item ``name`` (``images`` images) finished with ``result``."""
        now = time.perf_counter()
        self.done += 1
        rate = images / max(now - self.item_started, 1e-9)
        eta = (now - self.started) / self.done * (self.total - self.done)
        self.logger.info("%s %d/%d %s: %s, %.0f images/s, ETA %s", self.what, self.done,
                         self.total, name, result, rate, format_duration(eta))
        self.item_started = now

"""Progress of long steps: the time spent in them, and lines with elapsed time,
throughput and time left."""

from __future__ import annotations

import logging
import time

import torch


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


class Stopwatch:
    """Seconds spent in stretches of training steps, measured where the steps run.

    On a GPU the steps run asynchronously: the host's clock would stop long before the GPU
    has finished. There each stretch is timed by CUDA events recorded in the stream, read
    only when the total is asked for (which waits for the last one; callers ask where they
    wait anyway: saving the state, scoring a monitored epoch). On the CPU: the host's clock.
    """

    def __init__(self, device: torch.device, seconds: float = 0.0):
        self.cuda = device.type == "cuda"
        self.seconds = seconds
        self.stretches: list[tuple] = []
        self.begin = None

    def _mark(self):
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def start(self) -> None:
        self.begin = self._mark()

    def stop(self) -> None:
        self.stretches.append((self.begin, self._mark()))
        self.begin = None

    def total(self) -> float:
        """Seconds of the stopped stretches (on CUDA, waits until the last one has run)."""
        for begin, end in self.stretches:
            if self.cuda:
                end.synchronize()
                self.seconds += begin.elapsed_time(end) / 1000
            else:
                self.seconds += end - begin
        self.stretches = []
        return self.seconds

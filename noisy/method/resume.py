"""Resumable training: what a training job's state holds, when it is saved, and how a rerun
picks it up; an exclusive lock, an atomically saved state file and SIGTERM.

The state (:class:`TrainingRun`: model, optimizer, scheduler, RNG states, the epoch's
permutation and running sums, history) lives in a side file that is none of the job's
declared outputs, logs or shadow folders, so Snakemake's ``--rerun-incomplete`` (which
deletes those) never removes it. It is saved at a step boundary every
``checkpoint_interval_s`` seconds, on SIGTERM (then the job stops) and at the end. The
state stores a fingerprint of the job's configuration and data; a state whose fingerprint
differs (a changed budget, say) is discarded, never resumed. It holds tensors and plain
values only and is loaded with ``weights_only=True``, so a state file planted in a shared
results folder cannot run code. The final state of a finished job is kept (marked
finished), so a job whose outputs were deleted after it finished (e.g. recorded TIMEOUT by
SLURM) rewrites them without training again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noisy.errors import UserError
from noisy.files import DamagedFileError, atomic_path, read_torch
from noisy.method.progress import Stopwatch

log = logging.getLogger(__name__)


class JobLockedError(UserError):
    """Another process is running the same training job."""


class TrainingInterrupted(UserError):
    """Training stopped on a termination signal after saving its state (a user error in
    that the message is the whole story: rerun the job to resume; no traceback)."""


def fingerprint(settings: dict[str, Any], *arrays: np.ndarray) -> str:
    """sha256 of the JSON-encoded settings and the raw bytes of the given arrays."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


@contextlib.contextmanager
def exclusive_lock(state_path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on ``<state_path>.lock`` or fail at once with a clear message.

    The lock is an OS file lock (flock), released by the kernel when the holder dies,
    even by ``kill -9``, so a stale lock file never blocks a later run.
    """
    lock_path = Path(f"{state_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise JobLockedError(
                f"another copy of this training job is running (pid {holder}) and holds "
                f"{lock_path}; wait for it to finish or stop it before starting this job again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def load_state(state_path: str | os.PathLike, expected_fingerprint: str) -> dict | None:
    """Return the saved state if it exists and matches the fingerprint, else ``None``.

    A state that cannot be read (loading runs no code: tensors and plain values only) or
    whose fingerprint differs is renamed to ``*.stale`` (kept for inspection), with a
    warning that names it and the reason.
    """
    path = Path(state_path)
    if not path.exists():
        return None
    try:
        state = read_torch(path, ("fingerprint",))
    except DamagedFileError as error:
        reason = error.problem
    else:
        if state["fingerprint"] == expected_fingerprint:
            return state
        reason = (f"its settings or data differ from this job's (fingerprint "
                  f"{str(state['fingerprint'])[:12]}, this job's {expected_fingerprint[:12]})")
    stale = path.with_name(path.name + ".stale")
    os.replace(path, stale)
    log.warning("training state %s set aside as %s, training starts from zero: %s", path,
                stale.name, reason)
    return None


def save_state(state_path: str | os.PathLike, state: dict) -> None:
    """Save the training state atomically (a crash mid-write leaves the old state intact)."""
    with atomic_path(state_path) as tmp:
        torch.save(state, tmp)


class StopRequest:
    """Set by SIGTERM (what SLURM sends before it kills a job); polled between steps."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        """True once a termination signal arrived."""
        return self.signal is not None


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[StopRequest]:
    """Turn SIGTERM into a :class:`StopRequest` for the duration of the block.

    Outside the main thread (where Python cannot install handlers) the request is never
    set and SIGTERM keeps its default action.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        request.signal = signum

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield request
    finally:  # None: a handler installed outside Python; the default is the closest
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def rng_states(device: torch.device, generator: torch.Generator) -> dict:
    """The random states a training draws from: torch's on the CPU, the augmentation's
    ``generator`` and, on CUDA, the device's."""
    states = {"cpu": torch.get_rng_state(), "augment": generator.get_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def restore_rng_states(states: dict, device: torch.device, generator: torch.Generator) -> None:
    """Set the random states :func:`rng_states` captured."""
    torch.set_rng_state(states["cpu"])
    generator.set_state(states["augment"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


@dataclass
class EpochPosition:
    """Where training is inside the current epoch (saved in mid-epoch states)."""

    order: torch.Tensor  # this epoch's permutation of the training set
    step: int  # next step of the epoch
    loss_sum: torch.Tensor
    correct: torch.Tensor
    lr: float  # learning rate at the start of the epoch (the history's value)
    clock: Stopwatch  # time spent in this epoch's steps so far

    @classmethod
    def start(cls, order: torch.Tensor, lr: float, device: torch.device) -> EpochPosition:
        """An epoch about to take its first step through ``order``."""
        return cls(order, 0, torch.zeros((), device=device), torch.zeros((), device=device), lr,
                   Stopwatch(device))

    def to_state(self) -> dict:
        return {"order": self.order.cpu(), "step": self.step, "loss_sum": self.loss_sum.cpu(),
                "correct": self.correct.cpu(), "lr": self.lr,
                "train_seconds": self.clock.total()}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> EpochPosition:
        return cls(state["order"].to(device), state["step"], state["loss_sum"].to(device),
                   state["correct"].to(device), state["lr"],
                   Stopwatch(device, state["train_seconds"]))


class TrainingRun:
    """A training job in progress, all that its state holds: the model, its optimizer and
    scheduler, the augmentation's ``generator``, where it is (epochs done, the epoch under
    way), its history and wall time. Saved to ``state_path`` with the job's fingerprint."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                 generator: torch.Generator, device: torch.device, epochs: int,
                 steps_per_epoch: int, state_path: str | os.PathLike, job_fingerprint: str,
                 stop: StopRequest, interval_s: float):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.generator, self.device = generator, device
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.state_path, self.fingerprint, self.stop = state_path, job_fingerprint, stop
        self.interval_s = interval_s
        self.history: list[dict] = []
        self.epoch = 0  # epochs finished
        self.current: EpochPosition | None = None  # the epoch under way, if any
        self.wall_before = 0.0  # wall time of the earlier attempts
        self.start_clock()

    def restore(self, state: dict) -> None:
        """Continue from a saved ``state`` (at an epoch's end or mid-epoch)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng_states(state["rng"], self.device, self.generator)
        self.history, self.epoch, self.wall_before = (state["history"], state["epoch"],
                                                      state["wall_s"])
        if state["current"] is not None:
            self.current = EpochPosition.from_state(state["current"], self.device)

    def start_clock(self) -> None:
        """Count wall time and the checkpoint interval from now."""
        self.run_start = self.last_save = time.perf_counter()

    def wall_s(self) -> float:
        return self.wall_before + time.perf_counter() - self.run_start

    def save(self, finished: bool = False) -> None:
        """Save the whole run as its state: tensors and plain values only (the scheduler's
        milestones are a ``collections.Counter``, which ``weights_only`` loading allows), so
        :func:`load_state` reads it without unpickling code."""
        save_state(self.state_path, {
            "fingerprint": self.fingerprint, "epoch": self.epoch, "finished": finished,
            "current": self.current.to_state() if self.current is not None else None,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_states(self.device, self.generator), "history": self.history,
            "wall_s": round(self.wall_s(), 2),
        })

    def save_due(self) -> bool:
        """Whether the checkpoint interval has passed or SIGTERM came."""
        return self.stop.requested or time.perf_counter() - self.last_save >= self.interval_s

    def save_if_due_or_stopped(self) -> None:
        """Save when the checkpoint interval has passed or on SIGTERM; then stop on SIGTERM
        (:class:`TrainingInterrupted`)."""
        stop = self.stop
        if self.save_due():
            self.save()
            self.last_save = time.perf_counter()
        if stop.requested:
            where = (f"epoch {self.epoch + 1}, step {self.current.step}/{self.steps_per_epoch}"
                     if self.current is not None else f"the end of epoch {self.epoch}")
            log.warning("signal %d: saved the training state at %s to %s; rerun to resume",
                        stop.signal, where, self.state_path)
            raise TrainingInterrupted(f"stopped by signal {stop.signal} at {where}; the state "
                                      f"is saved in {self.state_path}, rerun the job to resume")

"""Resumable training state: an exclusive lock, an atomically saved state file and SIGTERM.

The state lives in a side file that is none of the job's declared outputs, logs or
shadow folders, so Snakemake's ``--rerun-incomplete`` (which deletes those) never
removes it. The state stores a fingerprint of the job's configuration and data; a
state whose fingerprint differs (a changed budget, say) is discarded, never resumed.
It holds tensors and plain values only and is loaded with ``weights_only=True``, so a
state file planted in a shared results folder cannot run code.
The final state of a finished job is kept (marked finished), so a job whose outputs
were deleted after it finished (e.g. recorded TIMEOUT by SLURM) rewrites them without
training again.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from noisy.errors import UserError
from noisy.files import DamagedFileError, atomic_path, read_torch

log = logging.getLogger(__name__)


class JobLockedError(UserError):
    """Another process is running the same training job."""


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

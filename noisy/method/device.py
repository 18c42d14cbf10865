"""Choosing the compute device and configuring it for speed.

On a machine with several GPUs, Snakemake starts jobs without saying which GPU each one
should use. A job that resolves to CUDA without an index therefore claims a free GPU
itself: it takes an exclusive ``flock`` on one of ``jobs_per_gpu`` slot files per GPU in
a lock folder and holds it until the process ends (the kernel releases it, even after a
kill -9). Slots are taken GPU by GPU before a second job goes on any GPU; when every slot
is taken the job waits for one. ``NOISY_JOBS_PER_GPU`` (default 1) sets the slots per GPU
and ``NOISY_GPU_LOCK_DIR`` the lock folder. With a single visible GPU (a SLURM job that
asked for one, or ``CUDA_VISIBLE_DEVICES=3``) there is nothing to choose: ``cuda:0``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import IO

import torch
from torch.overrides import TorchFunctionMode

from noisy.errors import SettingsError, UserError
from noisy.precision import cpu_has_native_bf16

JOBS_PER_GPU_ENV = "NOISY_JOBS_PER_GPU"
LOCK_DIR_ENV = "NOISY_GPU_LOCK_DIR"

log = logging.getLogger(__name__)

# The GPU index this process claimed and the open lock file that holds its slot.
_claim: tuple[int, IO[str]] | None = None


def resolve_device(name: str = "auto") -> torch.device:
    """Turn ``auto`` into CUDA when present (else CPU); check explicit names exist.

    ``cuda`` without an index claims a free GPU when several are visible (see the module
    docstring); an explicit ``cuda:N`` is used as given.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise UserError(f"device {name!r} was requested but CUDA is not available here")
    if device.index is None:
        device = torch.device("cuda", _claimed_index())
        torch.cuda.set_device(device)
    return device


def _claimed_index() -> int:
    """This process's GPU: its earlier claim, 0 with one visible GPU, else a new claim."""
    global _claim
    if _claim is None:
        gpu_ids = visible_gpu_ids()
        if len(gpu_ids) <= 1:
            return 0
        _claim = claim_gpu(gpu_ids, jobs_per_gpu(), lock_dir())
    return _claim[0]


def visible_gpu_ids() -> list[str]:
    """Names of the visible GPUs: the entries of CUDA_VISIBLE_DEVICES, else 0..count-1."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [entry.strip() for entry in visible.split(",") if entry.strip()]
    return [str(index) for index in range(torch.cuda.device_count())]


def jobs_per_gpu() -> int:
    """Jobs that may share one GPU, from ``NOISY_JOBS_PER_GPU`` (default 1)."""
    value = os.environ.get(JOBS_PER_GPU_ENV, "1")
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{JOBS_PER_GPU_ENV} must be a positive integer, got {value!r}")
    return int(value)


def lock_dir() -> Path:
    """The folder of GPU slot lock files: ``NOISY_GPU_LOCK_DIR`` or one per user in /tmp."""
    default = Path(tempfile.gettempdir()) / f"noisy-gpu-locks-{os.getuid()}"
    return Path(os.environ.get(LOCK_DIR_ENV) or default)


def claim_gpu(gpu_ids: list[str], per_gpu: int, folder: Path,
              poll_seconds: float = 5.0) -> tuple[int, IO[str]]:
    """Lock the first free slot, slot 0 of every GPU first; wait while all are taken.

    Returns the GPU's position in ``gpu_ids`` (its CUDA index in this process) and the
    open lock file, which must stay open as long as the GPU is in use.
    """
    folder.mkdir(parents=True, exist_ok=True)
    waiting = False
    while True:
        for slot in range(per_gpu):
            for index, gpu_id in enumerate(gpu_ids):
                name = f"gpu{gpu_id.replace('/', '_')}-slot{slot}.lock"
                handle = open(folder / name, "a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                handle.truncate(0)
                handle.write(f"{os.getpid()}\n")
                handle.flush()
                log.info("claimed GPU %s (slot %d of %d) via %s", gpu_id, slot + 1, per_gpu,
                         folder)
                return index, handle
        if not waiting:
            log.warning("all %d GPU slots in %s are taken; waiting for one (more Snakemake "
                        "`gpu` resources than GPUs x %s?)", len(gpu_ids) * per_gpu, folder,
                        JOBS_PER_GPU_ENV)
            waiting = True
        time.sleep(poll_seconds)


def set_threads(threads: int | None) -> None:
    """Limit torch's CPU threads (Snakemake passes the rule's ``threads``)."""
    if threads:
        torch.set_num_threads(int(threads))


def use_device(name: str = "auto", threads: int | None = None) -> torch.device:
    """The device a job computes on, the same way for every job that runs a network
    (training, prediction, evaluation): torch limited to ``threads`` CPU threads, then
    ``name`` resolved (:func:`resolve_device`, which may claim a GPU)."""
    set_threads(threads)
    return resolve_device(name)


def describe(device: torch.device) -> dict:
    """What a job computes on, for the record: the ``device`` (``cpu``, ``cuda:0``), its
    ``name`` (the GPU's, or the CPU's architecture and core count) and ``torch``'s version."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{platform.machine()}, {os.cpu_count()} CPUs"
    return {"device": str(device), "name": name, "torch": torch.__version__}


def autocast(device: torch.device, precision: str):
    """bf16 autocast on ``device`` when ``precision`` is ``bf16`` (the training step only);
    a no-op context for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def warn_if_bf16_is_emulated(device: torch.device, precision: str) -> None:
    """Log a warning when bf16 is asked of a device without native bf16 arithmetic: the
    numbers are those of bf16 training, but slower than fp32 there."""
    if precision != "bf16":
        return
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
    else:
        native = cpu_has_native_bf16()
    if not native:
        log.warning("precision bf16 on %s, which has no native bf16 arithmetic: the training "
                    "is emulated and slow; set `precision: fp32` in the config to train in "
                    "fp32 instead (a different model folder)", device)


def full_precision(device: torch.device):
    """A context where ``device`` computes in fp32 even inside an autocast region.

    Prediction (the teacher's probabilities) and every evaluation run in it: bf16
    moves a max probability by up to ~0.007, enough to move images across the
    pseudo-label threshold.
    """
    return torch.autocast(device.type, enabled=False)


# Convolutions run on channels_last tensors on every device: with bf16 on CUDA, and with
# oneDNN on CPU, where a ResNet-20 training step measured 1.4-1.5x faster than with the
# default layout (benchmarks/README.md). On CPU the result stays deterministic.
CONV_MEMORY_FORMAT = torch.channels_last


class HostSyncError(RuntimeError):
    """A call that makes the host wait for the device ran inside :func:`no_host_sync`."""


# Torch calls that make the host wait for a GPU: reading a tensor on the host, building one
# from host data (a copy from pageable memory), or an output size known only on the device.
_SYNCING_CALLS = frozenset({"item", "tolist", "cpu", "numpy", "__bool__", "__int__",
                            "__float__", "__index__", "tensor", "as_tensor", "nonzero",
                            "unique", "masked_select", "bincount"})


class _HostSyncGuard(TorchFunctionMode):
    """Raises :class:`HostSyncError` on the calls that synchronise on a GPU, on any device."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        masked = name in ("__getitem__", "__setitem__") and _is_mask(args[1])
        if name in _SYNCING_CALLS or masked or (name == "where" and len(args) == 1):
            raise HostSyncError(f"{name}: a call that waits for the device, in a region that "
                                f"must not (noisy.method.device.no_host_sync)")
        return func(*args, **(kwargs or {}))


def _is_mask(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, torch.Tensor) and part.dtype == torch.bool for part in parts)


@contextlib.contextmanager
def no_host_sync(device: torch.device):
    """A region that must never make the host wait for ``device`` (a training step, an
    inference batch): any call that would raises :class:`HostSyncError`.

    On CUDA, ``torch.cuda.set_sync_debug_mode("error")`` also makes every synchronising
    CUDA call in the region fail. On every device the torch calls that synchronise on a GPU
    are caught by name (host reads, tensors from host data, boolean masks, sizes known only
    on the device), so a test on the CPU checks the same code."""
    if device.type == "cuda":
        torch.cuda.set_sync_debug_mode("error")
    try:
        with _HostSyncGuard():
            yield
    finally:
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("default")

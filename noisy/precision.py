"""What defines a trained model's arithmetic: its precision, not the device's name.

A training's numbers change with the arithmetic of its step (fp32 or bf16 autocast,
``torch.compile``), not with the name of the device it runs on: ``cuda``, ``cuda:1`` and
``auto`` on a GPU box train the same model, and so do ``auto`` and ``cpu`` on a CPU.
:func:`training_definition` is the one place that says which training settings define a
model; the plan hashes it into the model's folder name and the training job into the
fingerprint of its resumable state, so the two can never disagree.

``precision: auto`` resolves, without importing torch (the plan must stay light), to

- ``bf16`` on CUDA: bf16 autocast for the training step;
- ``bf16`` on a CPU with native bf16 instructions, read from ``/proc/cpuinfo``: the x86
  flags ``avx512_bf16`` or ``amx_bf16``, or the aarch64 feature ``bf16``; oneDNN runs
  convolutions under ``torch.autocast("cpu", dtype=torch.bfloat16)`` on them;
- ``fp32`` elsewhere (no ``/proc/cpuinfo``, e.g. macOS, or a CPU without them).

``device: auto`` counts as CUDA when an NVIDIA driver lists a GPU
(``/proc/driver/nvidia/gpus``). The resolution happens where the plan is made (where
Snakemake runs): on a cluster whose nodes differ from the login node, set ``precision``
explicitly. The teacher's probabilities and every evaluation run in fp32 whatever the
precision (:func:`noisy.method.device.full_precision`).
"""

from __future__ import annotations

from pathlib import Path

from noisy.errors import SettingsError

PRECISIONS = ("auto", "fp32", "bf16")
# Settings a training job receives that choose where and how it runs, not what it computes.
RUNTIME_KEYS = frozenset({"device", "threads", "checkpoint_interval_s"})
CPUINFO = Path("/proc/cpuinfo")
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def cpu_has_native_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """True when the CPU lists a bf16 instruction set (see the module docstring)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return bool(NATIVE_BF16_FLAGS & set(value.split()))
    return False


def nvidia_gpu_listed(gpus: Path = NVIDIA_GPUS) -> bool:
    """True when an NVIDIA driver lists at least one GPU (no torch import)."""
    try:
        return any(gpus.iterdir())
    except OSError:
        return False


def resolve_precision(precision: str, device: str) -> str:
    """``fp32`` or ``bf16``: ``precision`` itself unless it is ``auto`` (module docstring)."""
    if precision not in PRECISIONS:
        raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    on_cuda = device.startswith("cuda") or (device == "auto" and nvidia_gpu_listed())
    return "bf16" if on_cuda or cpu_has_native_bf16() else "fp32"


def training_definition(settings: dict) -> dict:
    """The training settings that define its result: all but where and how it runs
    (:data:`RUNTIME_KEYS`). Precision and ``compile`` stay: they change the numbers."""
    return {key: value for key, value in settings.items() if key not in RUNTIME_KEYS}

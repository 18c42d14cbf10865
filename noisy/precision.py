"""What defines a trained model's arithmetic: its precision, not the device's name.

A training's numbers change with the arithmetic of its step (fp32 or bf16 autocast,
``torch.compile``), not with the name of the device it runs on: ``cuda``, ``cuda:1`` and
``auto`` on a GPU box train the same model, and so do ``auto`` and ``cpu`` on a CPU.
:func:`training_definition` is the one place that says which training settings define a
model; the plan hashes it into the model's folder name and the training job into the
fingerprint of its resumable state, so the two can never disagree.

``precision: auto`` resolves to the arithmetic whose cost in accuracy is measured and
nil, on every device: today that is ``fp32``, on CPUs and GPUs alike. bf16 autocast is
about 2x faster on CPUs with native bf16 instructions (x86 ``avx512_bf16``/``amx_bf16``,
aarch64 ``bf16``) and on GPUs, but its cost in accuracy is measured negative on a CPU at the
``small`` scale and unmeasured on GPUs (docs/teacher_gap.md), so it is chosen by name
only (``precision: bf16``). Where the evidence clears it for a device, ``auto`` follows it there.

The resolution happens where the plan is made (where Snakemake runs), without importing
torch. The teacher's probabilities and every evaluation run in fp32 whatever the precision
(:func:`noisy.method.device.full_precision`).
"""

from __future__ import annotations

from pathlib import Path

from noisy.errors import SettingsError

PRECISIONS = ("auto", "fp32", "bf16")
# Settings a training job receives that choose where and how it runs, not what it computes.
RUNTIME_KEYS = frozenset({"device", "threads", "checkpoint_interval_s"})
# What `auto` resolves to: the arithmetic whose cost is measured and nil (module docstring).
AUTO_PRECISION = "fp32"
CPUINFO = Path("/proc/cpuinfo")
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


def resolve_precision(precision: str) -> str:
    """``fp32`` or ``bf16``: ``precision`` itself unless it is ``auto`` (module docstring)."""
    if precision not in PRECISIONS:
        raise SettingsError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return AUTO_PRECISION if precision == "auto" else precision


def training_definition(settings: dict) -> dict:
    """The training settings that define its result: all but where and how it runs
    (:data:`RUNTIME_KEYS`). Precision and ``compile`` stay: they change the numbers."""
    return {key: value for key, value in settings.items() if key not in RUNTIME_KEYS}

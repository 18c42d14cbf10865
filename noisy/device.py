"""Choosing the compute device and configuring it for speed."""

from __future__ import annotations

import contextlib

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """Turn ``auto`` into CUDA when present (else CPU); check explicit names exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was requested but CUDA is not available here")
    return device


def set_threads(threads: int | None) -> None:
    """Limit torch's CPU threads (Snakemake passes the rule's ``threads``)."""
    if threads:
        torch.set_num_threads(int(threads))


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context on CPU (fp32 there)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA (faster convolutions with bf16), contiguous on CPU."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format

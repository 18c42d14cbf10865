"""Batched inference: class probabilities of a model on uint8 images."""

from __future__ import annotations

import numpy as np
import torch

from noisy.method.augment import standardize_uint8
from noisy.method.device import CONV_MEMORY_FORMAT, full_precision


def images_to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, 32, 32, 3) uint8 numpy → (N, 3, 32, 32) uint8 tensor on ``device``."""
    # One copy into NCHW; it is writable even when ``images`` is a read-only memory map.
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).to(device)


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, images: np.ndarray | torch.Tensor,
                   device: torch.device, batch_size: int = 1000) -> torch.Tensor:
    """Logits (float32, on ``device``) of ``model`` in eval mode on clean images.

    Always fp32, also on CUDA and inside an enclosing autocast region.
    """
    model.eval()
    if isinstance(images, np.ndarray):
        images = images_to_tensor(images, device)
    outputs = []
    for start in range(0, images.shape[0], batch_size):
        batch = standardize_uint8(images[start:start + batch_size].to(device))
        batch = batch.contiguous(memory_format=CONV_MEMORY_FORMAT)
        with full_precision(device):
            outputs.append(model(batch).float())
    if not outputs:
        return torch.zeros((0, model.fc.out_features), device=device)
    return torch.cat(outputs)


def predict_probs(model: torch.nn.Module, images: np.ndarray | torch.Tensor,
                  device: torch.device, batch_size: int = 1000) -> np.ndarray:
    """Softmax probabilities (N, K) float32 as numpy."""
    logits = predict_logits(model, images, device, batch_size)
    return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float32)

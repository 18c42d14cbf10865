"""FGSM robustness (Goodfellow et al. 2015) with the cross-entropy loss on logits.

x' = clip(x + eps * sign(grad_x CE(model(standardize(x)), y)), 0, 1) on [0, 1] pixels,
true labels, model in eval mode. The report's code applied ``nll_loss`` to raw logits,
a different (weaker) attack; this module does not copy that defect.

Two accuracies per eps: the standard one (adversarial prediction == label) and the
report's accounting (the clean prediction is correct and the attack leaves it
unchanged). The second can only be lower or equal; both are reported, the figure
draws the standard one. The attack runs in fp32 on every device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from noisy.method.device import full_precision


def _as_tensor(values: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A tensor view of a numpy array (shared memory), or the tensor itself."""
    return values if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))


def fgsm_accuracy(model: torch.nn.Module, images: np.ndarray | torch.Tensor,
                  labels: np.ndarray | torch.Tensor, epsilons: Sequence[float],
                  standardize: Callable[[torch.Tensor], torch.Tensor], batch_size: int = 500,
                  device: str | torch.device = "cpu") -> dict[str, list[float]]:
    """Top-1 accuracies (%) under FGSM for each ``eps`` in ``epsilons`` (eps = 0: clean).

    Returns ``{"accuracy": [...], "accuracy_unchanged": [...]}``, one value per eps:
    adversarial prediction == label, and clean prediction == label == adversarial
    prediction (the report's accounting).

    ``images`` are uint8 (N, 32, 32, 3); ``standardize`` maps float [0, 1] images
    (B, 3, H, W) to the network input. The input gradient does not depend on eps, so
    it is computed once per batch and reused for every eps. The model's train/eval
    mode is restored afterwards.
    """
    images = _as_tensor(images)
    labels = _as_tensor(labels).long()
    if images.ndim != 4 or images.shape[-1] != 3 or labels.shape != (images.shape[0],):
        raise ValueError(f"expected images (N, H, W, 3) and labels (N,), got "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}")
    if images.shape[0] == 0:
        raise ValueError("no images")
    device = torch.device(device)
    correct = [0] * len(epsilons)
    unchanged = [0] * len(epsilons)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, images.shape[0], batch_size):
            batch = images[start:start + batch_size].to(device)
            targets = labels[start:start + batch_size].to(device)
            clean = batch.permute(0, 3, 1, 2).float().div(255.0).requires_grad_(True)
            with torch.enable_grad(), full_precision(device):
                logits = model(standardize(clean))
                loss = F.cross_entropy(logits, targets, reduction="sum")
                (gradient,) = torch.autograd.grad(loss, clean)
            step = gradient.sign()
            clean = clean.detach()
            clean_right = logits.detach().argmax(dim=1) == targets
            with torch.no_grad(), full_precision(device):
                for index, eps in enumerate(epsilons):
                    adversarial = (clean + eps * step).clamp(0.0, 1.0)
                    right = model(standardize(adversarial)).argmax(dim=1) == targets
                    correct[index] += int(right.sum())
                    unchanged[index] += int((right & clean_right).sum())
    finally:
        model.train(was_training)
    count = images.shape[0]
    return {"accuracy": [100.0 * value / count for value in correct],
            "accuracy_unchanged": [100.0 * value / count for value in unchanged]}

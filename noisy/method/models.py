"""CIFAR ResNets (depth 6n+2) with the paper's model noise: stochastic depth and dropout.

The architecture follows the paper (sections 2.3 and 3.1) and its code: a 3x3 stem
convolution without batch norm, three stages of basic blocks (16, 32, 64 channels),
"option A" shortcuts (subsample and zero-pad channels), then BN, ReLU, global average
pooling, dropout and a linear layer.
A saved model carries its own architecture, so :func:`load_model` needs only the path.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from noisy.errors import SettingsError
from noisy.files import DamagedFileError, atomic_path, read_torch, remedy_for
from noisy.method.device import CONV_MEMORY_FORMAT

NETWORK_DEPTHS = {"resnet20": 20, "resnet26": 26, "resnet32": 32, "resnet38": 38}
STOCHASTIC_DEPTH_MODES = ("batch", "sample")


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild a network: name, noise settings, classes."""

    network: str = "resnet20"
    num_classes: int = 10
    final_survival: float = 1.0  # survival probability of the last block; 1.0 = no drop
    stochastic_depth_mode: str = "batch"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.network not in NETWORK_DEPTHS:
            raise SettingsError(
                f"unknown network {self.network!r}; choose from {list(NETWORK_DEPTHS)}")
        if not 0.0 < self.final_survival <= 1.0:
            raise SettingsError(f"final_survival must be in (0, 1], got {self.final_survival}")
        if self.stochastic_depth_mode not in STOCHASTIC_DEPTH_MODES:
            raise SettingsError(
                f"stochastic_depth_mode must be one of {STOCHASTIC_DEPTH_MODES}, "
                f"got {self.stochastic_depth_mode!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise SettingsError(f"dropout must be in [0, 1), got {self.dropout}")


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN residual branch, option-A shortcut, stochastic depth."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, survival: float,
                 mode: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.stride = stride
        self.extra_channels = out_channels - in_channels
        self.survival = survival
        self.mode = mode

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Option A: take every second pixel and zero-pad the new channels."""
        if self.stride == 1 and self.extra_channels == 0:
            return x
        x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra_channels - half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.survival < 1.0:
            if self.training:
                # The keep decision stays on the device: no host synchronisation.
                shape = (x.shape[0], 1, 1, 1) if self.mode == "sample" else (1, 1, 1, 1)
                keep = torch.rand(shape, device=x.device) < self.survival
                branch = branch * keep.to(branch.dtype)
            else:
                branch = branch * self.survival
        return F.relu(self.shortcut(x) + branch)


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 images as described in this module's docstring."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        blocks_per_stage = (NETWORK_DEPTHS[arch.network] - 2) // 6
        total_blocks = 3 * blocks_per_stage
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        blocks = []
        in_channels = 16
        for stage, channels in enumerate((16, 32, 64)):
            for index in range(blocks_per_stage):
                position = stage * blocks_per_stage + index
                survival = 1.0 - position / max(total_blocks - 1, 1) * (1.0 - arch.final_survival)
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(BasicBlock(in_channels, channels, stride, survival,
                                         arch.stochastic_depth_mode))
                in_channels = channels
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(64)
        self.dropout = nn.Dropout(arch.dropout)
        self.fc = nn.Linear(64, arch.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = F.relu(self.bn(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.dropout(x))


def build_model(arch: Architecture) -> CifarResNet:
    """Build a freshly initialised network (uses the global torch RNG), its convolution
    weights in ``CONV_MEMORY_FORMAT``."""
    return CifarResNet(arch).to(memory_format=CONV_MEMORY_FORMAT)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_model(model: CifarResNet, path: str | os.PathLike, **metadata) -> None:
    """Save weights with the architecture (and optional metadata), atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"arch": asdict(model.arch), "state_dict": state, "metadata": metadata}, tmp)


def load_checkpoint(path: str | os.PathLike,
                    device: str | torch.device = "cpu") -> tuple[CifarResNet, dict]:
    """Load a model saved by :func:`save_model` (eval mode, on ``device``) and its metadata.

    Raises :class:`DamagedFileError` for a file that is no such model.
    """
    payload = read_torch(path, ("arch", "state_dict"))
    try:
        model = build_model(Architecture(**payload["arch"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, RuntimeError, SettingsError) as error:
        raise DamagedFileError(path, "its weights do not fit its architecture",
                               remedy_for(path)) from error
    return model.to(device).eval(), payload.get("metadata", {})


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> CifarResNet:
    """Load a model saved by :func:`save_model`, in eval mode, on ``device``."""
    return load_checkpoint(path, device)[0]

"""The supervised training stage: a network trained on the labeled part of a split."""

from __future__ import annotations

import numpy as np

from noisy.data import load
from noisy.models import Architecture
from noisy.split import load_split
from noisy.training import TrainSettings, train


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(N,) integer labels → (N, K) float32 one-hot target vectors."""
    targets = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    targets[np.arange(labels.shape[0]), labels] = 1.0
    return targets


def monitor_indices(test_size: int, monitor_size: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded subset of the test set scored after every epoch (monitoring only)."""
    order = np.random.default_rng(seed).permutation(test_size)
    return np.sort(order[:monitor_size])


def train_supervised(data_path: str, split_path: str, settings: dict, state_path: str,
                     model_path: str, history_path: str, threads: int | None = None,
                     checkpoint_interval_s: float = 60.0) -> dict:
    """Train the configured network on the split's labeled images with their true labels."""
    dataset = load(data_path)
    split = load_split(split_path)
    labeled = split.labeled
    num_classes = len(dataset.classes)
    monitor = monitor_indices(dataset.test_labels.shape[0], settings["monitor_test_size"])
    arch = Architecture(num_classes=num_classes, **settings["arch"])
    train_settings = TrainSettings(**settings["train"], threads=threads,
                                   checkpoint_interval_s=checkpoint_interval_s)
    metadata = {
        "role": "supervised",
        "labeled": int(labeled.shape[0]),
        "pseudo": 0,
        "seed": train_settings.seed,
    }
    return train(arch, train_settings, dataset.train_images[labeled],
                 one_hot(dataset.train_labels[labeled], num_classes),
                 dataset.test_images[monitor], dataset.test_labels[monitor],
                 model_path, history_path, state_path, metadata)

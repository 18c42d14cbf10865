"""Robustness test sets: CIFAR-10-C / CIFAR-10-P generated here, or the official files.

Generated files follow the official layout for the evaluated test subset:
``<corruption>.npy`` is (5 n, 32, 32, 3) severity-major, ``<perturbation>.npy`` is
(n, frames, 32, 32, 3), where the n images are :func:`robustness_subset` of the test
set. Official files hold all 10,000 test images; the same subset is read from them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from noisy.corruptions import corruption_grid, write_corruption
from noisy.data import load
from noisy.perturbations import write_perturbation
from noisy.subsets import TEST_SUBSET_SEED, per_class_subset


def robustness_subset(test_labels: np.ndarray, per_class: int | None) -> np.ndarray:
    """Indices of the test images the corrupted and perturbed sets are made from."""
    return per_class_subset(test_labels, per_class, TEST_SUBSET_SEED)


def generate_corruption(data_path: str, name: str, per_class: int | None, seed: int,
                        out_path: str | os.PathLike) -> None:
    """Write CIFAR-10-C corruption ``name`` of the test subset to ``out_path``."""
    dataset = load(data_path)
    chosen = robustness_subset(dataset.test_labels, per_class)
    write_corruption(dataset.test_images[chosen], name, seed, out_path)


def generate_perturbation(data_path: str, name: str, per_class: int | None, seed: int,
                          out_path: str | os.PathLike) -> None:
    """Write CIFAR-10-P perturbation ``name`` of the test subset to ``out_path``."""
    dataset = load(data_path)
    chosen = robustness_subset(dataset.test_labels, per_class)
    write_perturbation(dataset.test_images[chosen], name, seed, out_path)


def load_corruption(path: str | os.PathLike, chosen: np.ndarray, official: bool) -> np.ndarray:
    """(5, n, 32, 32, 3) images of one corruption for the chosen test images."""
    images = np.load(Path(path), mmap_mode="r")
    per_severity = images.reshape(5, -1, *images.shape[1:])
    return np.asarray(per_severity[:, chosen] if official else per_severity)


def load_perturbation(path: str | os.PathLike, chosen: np.ndarray, official: bool) -> np.ndarray:
    """(n, frames, 32, 32, 3) sequences of one perturbation for the chosen test images."""
    sequences = np.load(Path(path), mmap_mode="r")
    return np.asarray(sequences[chosen] if official else sequences)


def corruption_grid_figure(data_path: str, out_path: str, seed: int, images: int = 2) -> None:
    """The corruption picture: a few test images under every corruption and severity."""
    dataset = load(data_path)
    chosen = robustness_subset(dataset.test_labels, 1)[:images]
    corruption_grid(dataset.test_images[chosen], out_path, seed)

"""Robustness test sets: CIFAR-10-C / CIFAR-10-P generated here, or the official files.

Generated files (:func:`noisy.corruption.corruptions.write_corruption`,
:func:`noisy.corruption.perturbations.write_perturbation`) follow the official layout for the
evaluated test subset: ``<corruption>.npy`` is (5 n, 32, 32, 3) severity-major,
``<perturbation>.npy`` is (n, frames, 32, 32, 3), where the n images are
:func:`robustness_subset` of the test set. Official files hold all 10,000 test images;
the same subset is read from them.
"""

from __future__ import annotations

import os

import numpy as np

from noisy.files import DamagedFileError, read_npy
from noisy.method.data import Dataset
from noisy.method.subsets import TEST_SUBSET_SEED, per_class_subset


def robustness_subset(test_labels: np.ndarray, per_class: int | None) -> np.ndarray:
    """Indices of the test images the corrupted and perturbed sets are made from."""
    return per_class_subset(test_labels, per_class, TEST_SUBSET_SEED)


def robustness_images(dataset: Dataset, per_class: int | None) -> np.ndarray:
    """The test images the corrupted and perturbed sets are made from: ``per_class`` of
    each class (None: all), :func:`robustness_subset` of the test set."""
    return dataset.test_images[robustness_subset(dataset.test_labels, per_class)]


def _remedy(what: str, rule: str, official: bool) -> str:
    if official:
        return f"replace it with a sound copy of the official {what} file"
    return f"delete it and rerun Snakemake: rule {rule} writes it again"


def _holds_chosen(count: int, chosen: np.ndarray, official: bool) -> bool:
    """Whether a file of ``count`` test images holds the chosen ones: all test images
    (official) or exactly the chosen ones (generated here)."""
    return count > chosen.max() if official else count == len(chosen)


def _chosen_count(chosen: np.ndarray, official: bool) -> str:
    return f"at least {chosen.max() + 1}" if official else str(len(chosen))


def load_corruption(path: str | os.PathLike, chosen: np.ndarray, official: bool) -> np.ndarray:
    """(5, n, 32, 32, 3) images of one corruption for the chosen test images; a damaged
    file raises :class:`noisy.files.DamagedFileError`."""
    remedy = _remedy("CIFAR-10-C", "generate_corruption", official)
    images = read_npy(path, ("n", 32, 32, 3), remedy)
    if len(images) % 5 or not _holds_chosen(len(images) // 5, chosen, official):
        raise DamagedFileError(path, f"holds {len(images)} images, expected 5 severities of "
                               f"{_chosen_count(chosen, official)} test images", remedy)
    per_severity = images.reshape(5, -1, *images.shape[1:])
    return np.asarray(per_severity[:, chosen] if official else per_severity)


def load_perturbation(path: str | os.PathLike, chosen: np.ndarray, official: bool) -> np.ndarray:
    """(n, frames, 32, 32, 3) sequences of one perturbation for the chosen test images; a
    damaged file raises :class:`noisy.files.DamagedFileError`."""
    remedy = _remedy("CIFAR-10-P", "generate_perturbation", official)
    sequences = read_npy(path, ("n", "frames", 32, 32, 3), remedy)
    if not _holds_chosen(len(sequences), chosen, official):
        raise DamagedFileError(path, f"holds {len(sequences)} sequences, expected "
                               f"{_chosen_count(chosen, official)}", remedy)
    return np.asarray(sequences[chosen] if official else sequences)

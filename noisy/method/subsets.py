"""Seeded per-class subsets: the reduced train pool and test set of small scales."""

from __future__ import annotations

import numpy as np

TEST_SUBSET_SEED = 0  # every model is scored, attacked and corrupted on the same test images


def per_class_subset(labels: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` images of every class, drawn with ``seed``.

    ``None`` keeps every image. A class with fewer images keeps all of them.
    """
    labels = np.asarray(labels)
    if per_class is None:
        return np.arange(labels.shape[0])
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(labels == cls))[:per_class] for cls in np.unique(labels)
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)

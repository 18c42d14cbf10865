"""The labeled/unlabeled split of the train set: a pure function of (labels, ratio, seed, mode).

Random numbers come from ``numpy.random.Generator(PCG64(seed))``, whose streams numpy keeps
stable across platforms and versions, so a split is reproducible anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from noisy.errors import SettingsError, UserError
from noisy.files import read_npz, save_npz

MODES = ("random", "stratified")
# The arrays of a split file and their shapes (see noisy.files.read_npz).
SPLIT_ARRAYS = {"labeled": ("n",), "unlabeled": ("m",), "labeled_per_class": ("k",),
                "labeled_ratio": (), "seed": (), "mode": ()}


@dataclass(frozen=True)
class Split:
    """Sorted train-set indices with and without labels, and labeled images per class."""

    labeled: np.ndarray
    unlabeled: np.ndarray
    labeled_per_class: np.ndarray
    labeled_ratio: float
    seed: int
    mode: str

    def summary(self) -> dict:
        """The JSON-ready description of this split."""
        return {
            "labeled_ratio": self.labeled_ratio,
            "seed": self.seed,
            "mode": self.mode,
            "labeled": int(self.labeled.size),
            "unlabeled": int(self.unlabeled.size),
            "labeled_per_class": [int(count) for count in self.labeled_per_class],
        }


def make_split(train_labels: np.ndarray, labeled_ratio: float, seed: int, mode: str,
               pool: np.ndarray | None = None) -> Split:
    """Split the train indices in ``pool`` (default: all) into labeled and unlabeled.

    ``random``: a seeded random subset of ``round(labeled_ratio * N)`` of the N pool images
    (as in the paper). ``stratified``: ``round(labeled_ratio * N / K)`` images of each of
    the K classes of ``train_labels``; a class with fewer images in the pool is an error.
    A ratio of 1.0 labels the whole pool in both modes. Both index arrays are sorted.
    """
    labels = np.asarray(train_labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.size == 0:
        raise ValueError(f"train_labels must be a non-empty 1-D integer array, got {labels!r}")
    if labels.min() < 0:
        raise ValueError("train_labels must be non-negative")
    if not 0.0 < labeled_ratio <= 1.0:
        raise SettingsError(f"labeled_ratio must be in (0, 1], got {labeled_ratio}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SettingsError(f"seed must be a non-negative integer, got {seed!r}")
    if mode not in MODES:
        raise SettingsError(f"unknown split mode {mode!r}; expected one of {MODES}")
    pool = np.arange(labels.size) if pool is None else np.unique(np.asarray(pool, np.int64))
    if pool.size == 0 or pool[0] < 0 or pool[-1] >= labels.size:
        raise ValueError(f"pool must be non-empty indices in 0..{labels.size - 1}")
    num_classes = int(labels.max()) + 1
    rng = np.random.Generator(np.random.PCG64(seed))
    if labeled_ratio == 1.0:
        labeled = pool
    elif mode == "random":
        labeled = np.sort(rng.permutation(pool)[: _rounded(labeled_ratio * pool.size)])
    else:
        per_class = _rounded(labeled_ratio * pool.size / np.unique(labels).size)
        chosen = []
        for cls in np.unique(labels):
            members = pool[labels[pool] == cls]
            if members.size < per_class:
                raise UserError(
                    f"class {cls} has {members.size} images in the pool; a stratified split "
                    f"with ratio {labeled_ratio} needs {per_class} per class"
                )
            chosen.append(rng.permutation(members)[:per_class])
        labeled = np.sort(np.concatenate(chosen))
    return Split(
        labeled=labeled.astype(np.int64),
        unlabeled=np.setdiff1d(pool, labeled).astype(np.int64),
        labeled_per_class=np.bincount(labels[labeled], minlength=num_classes).astype(np.int64),
        labeled_ratio=float(labeled_ratio),
        seed=int(seed),
        mode=mode,
    )


def _rounded(count: float) -> int:
    """``count`` rounded to an integer; zero labeled images is an error."""
    rounded = round(count)
    if rounded < 1:
        raise SettingsError(f"the labeled ratio leaves no labeled image ({count:.3g} rounds to 0)")
    return rounded


def save_split(split: Split, path: str | os.PathLike) -> None:
    """Write ``split`` to ``path`` (``.npz``), atomically."""
    save_npz(
        path,
        labeled=split.labeled,
        unlabeled=split.unlabeled,
        labeled_per_class=split.labeled_per_class,
        labeled_ratio=np.float64(split.labeled_ratio),
        seed=np.int64(split.seed),
        mode=np.str_(split.mode),
    )


def load_split(path: str | os.PathLike) -> Split:
    """Load a split written by :func:`save_split`; a damaged file raises
    :class:`noisy.files.DamagedFileError`."""
    data = read_npz(path, SPLIT_ARRAYS)
    return Split(
        labeled=data["labeled"],
        unlabeled=data["unlabeled"],
        labeled_per_class=data["labeled_per_class"],
        labeled_ratio=float(data["labeled_ratio"]),
        seed=int(data["seed"]),
        mode=str(data["mode"]),
    )

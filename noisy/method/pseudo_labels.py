"""Pseudo labels: target vectors from teacher probabilities, and confidence selection.

Target types (the paper, section 2.2, following the report's code exactly):

* ``hard``: 0.99 on the teacher's argmax, 0 elsewhere;
* ``soft``: the teacher's probabilities clipped at 0.99, *not* renormalised (the
  report's code is ``np.minimum(probs, 0.99)``, so a clipped vector sums to less
  than one; the training loss renormalises targets);
* ``smooth``: ``eps / (K - 1)`` off the argmax and ``(1 - eps) * 0.99`` on it.

Labeled images get their true label: one-hot (1.0) for hard and soft, smoothed
(``1 - eps`` / ``eps / (K - 1)``, unscaled) for smooth. The report's code ranks the
candidates of class balancing by their max target value, and there the 0.99 factor puts
every labeled image above every pseudo-labeled one. Here balancing ranks by
``is_labeled``, then the teacher's confidence (:mod:`noisy.method.balancing`), so the
factor plays no part in it: it only shapes the targets, which the training loss
renormalises to sum to one. A hard target is then one-hot again; a soft one differs
only where the teacher's probability was above 0.99; a smooth one (eps 0.1) has
0.891 / 0.991 (about 0.899) on its argmax, where a labeled image has 0.9.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from noisy.errors import SettingsError
from noisy.files import read_npz, save_npz

LABEL_TYPES = ("hard", "soft", "smooth")
PSEUDO_SCALE = 0.99
# The arrays of a target set (candidates, a balanced set) and of a teacher's predictions,
# with their shapes (see noisy.files.read_npz).
TARGET_SET_ARRAYS = {"indices": ("n",), "targets": ("n", "k"), "is_labeled": ("n",),
                       "teacher_confidence": ("n",)}
PREDICTION_ARRAYS = {"indices": ("n",), "probs": ("n", "k")}


@dataclass(frozen=True, eq=False)
class TargetSet:
    """Train-set indices with their target vectors: the candidates (labeled images plus
    pseudo labels) and, balanced, a student's training set (trainset.npz).

    ``indices`` (int64, M) index the full train set (an image may repeat after
    balancing), ``targets`` is float32 (M, K), ``is_labeled`` bool (M,) and
    ``teacher_confidence`` float32 (M,) the teacher's max probability for each
    pseudo-labeled entry (1.0 for labeled ones): the balancing rank key. Target
    values cannot serve as that key, since every hard pseudo target is 0.99 and
    every smooth one 0.891.
    """

    indices: np.ndarray
    targets: np.ndarray
    is_labeled: np.ndarray
    teacher_confidence: np.ndarray

    def __post_init__(self) -> None:
        indices = np.asarray(self.indices, dtype=np.int64)
        targets = np.asarray(self.targets, dtype=np.float32)
        is_labeled = np.asarray(self.is_labeled, dtype=bool)
        teacher_confidence = np.asarray(self.teacher_confidence, dtype=np.float32)
        if (indices.ndim != 1 or targets.ndim != 2 or is_labeled.ndim != 1
                or teacher_confidence.ndim != 1):
            raise ValueError(
                "indices, is_labeled and teacher_confidence must be 1-D and targets 2-D"
            )
        if not len(indices) == len(targets) == len(is_labeled) == len(teacher_confidence):
            raise ValueError(
                f"length mismatch: {len(indices)} indices, {len(targets)} targets, "
                f"{len(is_labeled)} is_labeled flags, {len(teacher_confidence)} "
                "teacher confidences"
            )
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "is_labeled", is_labeled)
        object.__setattr__(self, "teacher_confidence", teacher_confidence)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def classes(self) -> np.ndarray:
        """Class of each entry: argmax of its target vector."""
        return self.targets.argmax(axis=1)

    def class_counts(self, num_classes: int) -> np.ndarray:
        """Number of entries per class (argmax of target), length ``num_classes``."""
        return np.bincount(self.classes, minlength=num_classes)[:num_classes]

    def subset(self, positions: np.ndarray) -> TargetSet:
        """Entries at ``positions`` (rows of this set; repeats allowed), in that order."""
        positions = np.asarray(positions, dtype=np.int64)
        return TargetSet(self.indices[positions], self.targets[positions],
                           self.is_labeled[positions], self.teacher_confidence[positions])

    def save(self, path: str | os.PathLike) -> None:
        """Write the set to an ``.npz`` file atomically."""
        save_npz(path, indices=self.indices, targets=self.targets, is_labeled=self.is_labeled,
                 teacher_confidence=self.teacher_confidence)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TargetSet:
        """Read a set written by :meth:`save`; a damaged file raises
        :class:`noisy.files.DamagedFileError`."""
        data = read_npz(path, TARGET_SET_ARRAYS)
        return cls(data["indices"], data["targets"], data["is_labeled"],
                   data["teacher_confidence"])


def _check_label_type(label_type: str) -> None:
    if label_type not in LABEL_TYPES:
        raise SettingsError(f"unknown label_type {label_type!r}; expected one of {LABEL_TYPES}")


def _smoothed(classes: np.ndarray, num_classes: int, eps: float, top_scale: float) -> np.ndarray:
    targets = np.full((len(classes), num_classes), eps / (num_classes - 1), dtype=np.float32)
    targets[np.arange(len(classes)), classes] = (1.0 - eps) * top_scale
    return targets


def pseudo_targets(probs: np.ndarray, label_type: str, eps: float = 0.1) -> np.ndarray:
    """Target vectors (N, K) float32 for teacher probabilities ``probs`` (N, K).

    hard: 0.99 one-hot of the argmax; soft: ``min(probs, 0.99)``, not renormalised;
    smooth: ``eps/(K-1)`` off the argmax, ``(1-eps)*0.99`` on it.
    """
    _check_label_type(label_type)
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2:
        raise ValueError(f"probs must be (N, K), got shape {probs.shape}")
    if label_type == "soft":
        return np.minimum(probs, np.float32(PSEUDO_SCALE))
    classes = probs.argmax(axis=1)
    if label_type == "smooth":
        return _smoothed(classes, probs.shape[1], eps, PSEUDO_SCALE)
    targets = np.zeros(probs.shape, dtype=np.float32)
    targets[np.arange(len(probs)), classes] = PSEUDO_SCALE
    return targets


def labeled_targets(
    labels: np.ndarray, num_classes: int, label_type: str, eps: float = 0.1
) -> np.ndarray:
    """Target vectors (M, K) float32 of true labels: one-hot, or smoothed for ``smooth``."""
    _check_label_type(label_type)
    labels = np.asarray(labels, dtype=np.int64)
    if label_type == "smooth":
        return _smoothed(labels, num_classes, eps, 1.0)
    return np.eye(num_classes, dtype=np.float32)[labels]


def select(
    probs: np.ndarray,
    unlabeled_indices: np.ndarray,
    labeled_indices: np.ndarray,
    labeled_labels: np.ndarray,
    threshold: float,
    label_type: str,
    eps: float = 0.1,
) -> TargetSet:
    """Labeled images, then unlabeled images whose max probability is above ``threshold``.

    ``probs`` (N, K) are the teacher's probabilities for ``unlabeled_indices`` (N,).
    Selection is strict (``max prob > threshold``; equal is rejected, as in the
    report's code) and done in float32, the probabilities' precision, so a stored
    probability equal to ``float32(threshold)`` is rejected whatever type
    ``threshold`` has. Labeled images are always included, first, in the given order.
    """
    probs = np.asarray(probs, dtype=np.float32)
    unlabeled_indices = np.asarray(unlabeled_indices, dtype=np.int64)
    labeled_indices = np.asarray(labeled_indices, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(unlabeled_indices):
        raise ValueError(
            f"probs must be (N, K) with N = {len(unlabeled_indices)} unlabeled indices, "
            f"got shape {probs.shape}"
        )
    if len(labeled_indices) != len(labeled_labels):
        raise ValueError("labeled_indices and labeled_labels differ in length")
    max_probs = probs.max(axis=1)
    keep = max_probs > np.float32(threshold)
    num_classes = probs.shape[1]
    return TargetSet(
        indices=np.concatenate([labeled_indices, unlabeled_indices[keep]]),
        targets=np.concatenate([
            labeled_targets(labeled_labels, num_classes, label_type, eps),
            pseudo_targets(probs[keep], label_type, eps),
        ]),
        is_labeled=np.concatenate([
            np.ones(len(labeled_indices), dtype=bool), np.zeros(int(keep.sum()), dtype=bool)
        ]),
        teacher_confidence=np.concatenate([
            np.ones(len(labeled_indices), dtype=np.float32), max_probs[keep]
        ]),
    )

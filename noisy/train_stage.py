"""The training stage: a network trained on a split's labeled images or on a student's set.

With a split it is a supervised model (the teacher, the baselines, the yardsticks) trained
on the labeled images with their one-hot labels; with a balanced training set it is a
student trained from scratch on its labeled and pseudo-labeled targets.
"""

from __future__ import annotations

import numpy as np

from noisy.method.data import Dataset, load
from noisy.method.models import Architecture
from noisy.method.pseudo_labels import TrainingSet, labeled_targets
from noisy.method.split import load_split
from noisy.method.training import TrainSettings, train


def monitor_indices(test_size: int, monitor_size: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded subset of the test set scored after every epoch (monitoring only)."""
    order = np.random.default_rng(seed).permutation(test_size)
    return np.sort(order[:monitor_size])


def _labeled_part(dataset: Dataset, split_path: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Images, one-hot targets and metadata of the split's labeled images."""
    labeled = load_split(split_path).labeled
    targets = labeled_targets(dataset.train_labels[labeled], len(dataset.classes), "hard")
    return (dataset.train_images[labeled], targets,
            {"role": "supervised", "labeled": int(labeled.shape[0]), "pseudo": 0})


def _balanced_set(dataset: Dataset, trainset_path: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Images, targets and metadata of a student's balanced training set."""
    trainset = TrainingSet.load(trainset_path)
    labeled = len(set(trainset.indices[trainset.is_labeled].tolist()))
    return (dataset.train_images[trainset.indices], trainset.targets,
            {"role": "student", "labeled": labeled, "pseudo": int(len(trainset) - labeled)})


def train_stage(data_path: str, settings: dict, state_path: str, model_path: str,
                history_path: str, *, split_path: str | None = None,
                trainset_path: str | None = None, device: str = "auto",
                threads: int | None = None, checkpoint_interval_s: float = 60.0) -> dict:
    """Train the configured network on exactly one of a split or a balanced training set.

    ``settings``: ``arch`` and ``train`` (:class:`Architecture` and :class:`TrainSettings`
    fields that define the model) and ``monitor_test_size``; ``device``, ``threads`` and
    ``checkpoint_interval_s`` say where and how it runs. Writes the model and its history;
    returns the summary of :func:`noisy.method.training.train`.
    """
    if (split_path is None) == (trainset_path is None):
        raise ValueError("give exactly one of a split and a training set")
    dataset = load(data_path)
    if split_path is not None:
        images, targets, metadata = _labeled_part(dataset, split_path)
    else:
        images, targets, metadata = _balanced_set(dataset, trainset_path)
    monitor = monitor_indices(dataset.test_labels.shape[0], settings["monitor_test_size"])
    arch = Architecture(num_classes=len(dataset.classes), **settings["arch"])
    train_settings = TrainSettings(**settings["train"], device=device, threads=threads,
                                   checkpoint_interval_s=checkpoint_interval_s)
    return train(arch, train_settings, images, targets, dataset.test_images[monitor],
                 dataset.test_labels[monitor], model_path, history_path, state_path,
                 {**metadata, "seed": train_settings.seed})

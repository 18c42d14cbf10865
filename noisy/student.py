"""The student stage: a network trained from scratch on a balanced pseudo-labeled set."""

from __future__ import annotations

from noisy.data import load
from noisy.models import Architecture
from noisy.pseudo_labels import TrainingSet
from noisy.supervised import monitor_indices
from noisy.training import TrainSettings, train


def train_student(data_path: str, trainset_path: str, settings: dict, state_path: str,
                  model_path: str, history_path: str, threads: int | None = None,
                  checkpoint_interval_s: float = 60.0) -> dict:
    """Train the student network with model noise, input noise and optional mixup."""
    dataset = load(data_path)
    trainset = TrainingSet.load(trainset_path)
    monitor = monitor_indices(dataset.test_labels.shape[0], settings["monitor_test_size"])
    arch = Architecture(num_classes=len(dataset.classes), **settings["arch"])
    train_settings = TrainSettings(**settings["train"], threads=threads,
                                   checkpoint_interval_s=checkpoint_interval_s)
    labeled = len(set(trainset.indices[trainset.is_labeled].tolist()))
    metadata = {
        "role": "student",
        "labeled": labeled,
        "pseudo": int(len(trainset) - labeled),
        "seed": train_settings.seed,
    }
    return train(arch, train_settings, dataset.train_images[trainset.indices], trainset.targets,
                 dataset.test_images[monitor], dataset.test_labels[monitor],
                 model_path, history_path, state_path, metadata)

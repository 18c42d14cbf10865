"""Shared test helpers: tiny synthetic CIFAR-like sources and canonical data sets.

Import the helpers in a test module with ``from conftest import make_image_folder``, or use
the ``tiny_data`` fixture for a ready canonical ``.npz``.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from noisy.method.data import BATCHES_FOLDER, Dataset, save

CLASSES = ("cat", "dog", "frog")
# The real CIFAR-10 as JPEG images, beside the project where it is shared (a clone
# elsewhere has none: the tests that need it are skipped).
REAL_CIFAR10 = Path(__file__).resolve().parents[2] / "shared/data/cifar10-jpeg.tar.gz"
# tests/slurm needs a running SLURM cluster: only `make test-slurm` (which starts one and
# sets NOISY_SLURM_TESTS=1) collects it.
collect_ignore = [] if os.environ.get("NOISY_SLURM_TESTS") == "1" else ["slurm"]


def synthetic_images(count: int, seed: int = 0, size: int = 32) -> np.ndarray:
    """``count`` random (size, size, 3) uint8 images, the same for the same arguments."""
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def synthetic_dataset(n_train_per_class: int = 4, n_test_per_class: int = 2,
                      classes: Sequence[str] = CLASSES, size: int = 32, seed: int = 0) -> Dataset:
    """Random images ordered by class (sorted names), then by index, as a :class:`Dataset`."""
    num_classes = len(classes)
    train_labels = np.repeat(np.arange(num_classes, dtype=np.int64), n_train_per_class)
    test_labels = np.repeat(np.arange(num_classes, dtype=np.int64), n_test_per_class)
    return Dataset(
        train_images=synthetic_images(train_labels.size, seed, size),
        train_labels=train_labels,
        test_images=synthetic_images(test_labels.size, seed + 1, size),
        test_labels=test_labels,
        classes=tuple(sorted(classes)),
    )


def make_image_folder(root: Path, n_train_per_class: int = 4, n_test_per_class: int = 2,
                      classes: Sequence[str] = CLASSES, size: int = 32, fmt: str = "png",
                      seed: int = 0) -> Dataset:
    """Write ``root/{train,test}/<class>/NNNN.<fmt>`` and return the pixels written.

    With a lossy ``fmt`` (``jpg``) the returned pixels are those before encoding.
    """
    dataset = synthetic_dataset(n_train_per_class, n_test_per_class, classes, size, seed)
    for split, images, labels in (("train", dataset.train_images, dataset.train_labels),
                                  ("test", dataset.test_images, dataset.test_labels)):
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = Path(root, split, dataset.classes[label])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:04d}.{fmt}")
    return dataset


def make_archive(tree: Path, archive: Path, top_level: str | None = None) -> Path:
    """Pack everything in ``tree`` into ``archive`` (``.tar``, or gzip for ``.tar.gz``/``.tgz``).

    ``top_level`` puts the contents under one top-level folder of that name.
    """
    mode = "w" if archive.name.endswith(".tar") else "w:gz"
    with tarfile.open(archive, mode) as handle:
        for child in sorted(Path(tree).iterdir()):
            handle.add(child, arcname=f"{top_level}/{child.name}" if top_level else child.name)
    return archive


def make_cifar_batches(root: Path, n_per_batch: int = 3, n_test: int = 3,
                       classes: Sequence[str] = CLASSES, seed: int = 0) -> Dataset:
    """Write ``root/cifar-10-batches-py`` in the official pickled format; return its content.

    Five train batches of ``n_per_batch`` images and a test batch of ``n_test``; labels
    cycle through ``classes`` (kept in the given order, like ``label_names``).
    """
    folder = Path(root, BATCHES_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    n_train = 5 * n_per_batch
    train_images = synthetic_images(n_train, seed)
    test_images = synthetic_images(n_test, seed + 1)
    train_labels = np.arange(n_train, dtype=np.int64) % len(classes)
    test_labels = np.arange(n_test, dtype=np.int64) % len(classes)

    def dump(name: str, images: np.ndarray, labels: np.ndarray) -> None:
        entry = {
            "batch_label": name,
            "labels": [int(label) for label in labels],
            "data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
            "filenames": [f"{name}_{i}.png" for i in range(len(images))],
        }
        with open(folder / name, "wb") as handle:
            pickle.dump(entry, handle, protocol=2)

    for batch in range(5):
        part = slice(batch * n_per_batch, (batch + 1) * n_per_batch)
        dump(f"data_batch_{batch + 1}", train_images[part], train_labels[part])
    dump("test_batch", test_images, test_labels)
    meta = {"num_cases_per_batch": n_per_batch, "label_names": list(classes), "num_vis": 3072}
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump(meta, handle, protocol=2)
    return Dataset(train_images, train_labels, test_images, test_labels, tuple(classes))


def make_canonical_dataset(path: Path, n_train_per_class: int = 8, n_test_per_class: int = 4,
                           classes: Sequence[str] = CLASSES, seed: int = 0) -> Dataset:
    """Write a synthetic canonical ``.npz`` at ``path``; return its content."""
    dataset = synthetic_dataset(n_train_per_class, n_test_per_class, classes, seed=seed)
    save(dataset, path, {"kind": "synthetic", "seed": seed})
    return dataset


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """Path of a canonical ``.npz`` with 3 classes, 8 train and 4 test images each."""
    path = tmp_path / "data" / "tiny.npz"
    make_canonical_dataset(path)
    return path

"""The canonical data set: every source is turned into one ``.npz`` that later stages read.

The ``.npz`` holds ``train_images``/``test_images`` (N, 32, 32, 3) uint8,
``train_labels``/``test_labels`` int64 and ``classes`` (names, label order). Its summary (a JSON
file the caller names) records its sha256, the counts per class and where the data came
from.

Sources (see :func:`read_source`):

* ``"torchvision"``: the official CIFAR-10, downloaded and md5-checked by torchvision;
* a ``cifar-10-batches-py`` folder (or a folder holding one): the official pickled batches;
* an image-folder tree ``train/<class>/*`` and ``test/<class>/*`` (any format PIL reads,
  32x32 pixels, converted to RGB), optionally inside one top-level folder;
* a ``.tar``, ``.tar.gz`` or ``.tgz`` archive of such a tree, read by streaming its members.

Class labels of image folders follow the sorted class folder names. Names starting with
``.`` (hidden files, macOS ``._*`` files) are ignored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from noisy.errors import UserError
from noisy.files import read_npz, save_npz, write_json

IMAGE_SIZE = 32
SPLITS = ("train", "test")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
BATCHES_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
# The arrays of the canonical .npz and their shapes (see noisy.files.read_npz).
DATA_ARRAYS = {"train_images": ("n", IMAGE_SIZE, IMAGE_SIZE, 3), "train_labels": ("n",),
               "test_images": ("t", IMAGE_SIZE, IMAGE_SIZE, 3), "test_labels": ("t",),
               "classes": ("k",)}

# One image file: its name for messages and either its path or its bytes.
_Payload = Path | bytes


class DataSourceError(UserError):
    """A data source that cannot be read; the message names the file or folder and the problem."""


@dataclass(frozen=True)
class Dataset:
    """Train and test images (N, 32, 32, 3) uint8 with int64 labels indexing ``classes``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]


def read_source(source: str, download_root: str | os.PathLike) -> tuple[Dataset, dict]:
    """The data set of ``source`` and a description of where it came from (for the summary).

    ``download_root`` is where torchvision downloads to (``source`` ``"torchvision"``).
    Raises :class:`DataSourceError` for a missing, unknown or malformed source.
    """
    if source == "torchvision":
        root = Path(download_root)
        return _read_torchvision(root), {"kind": "torchvision", "download_root": str(root)}
    return _read_path(Path(source))


def save(dataset: Dataset, out_path: str | os.PathLike, source: dict,
         summary_path: str | os.PathLike | None = None) -> dict:
    """Write ``dataset`` as the canonical ``.npz`` (and its summary as JSON to
    ``summary_path`` if given); return the summary."""
    save_npz(
        out_path,
        train_images=dataset.train_images,
        train_labels=dataset.train_labels,
        test_images=dataset.test_images,
        test_labels=dataset.test_labels,
        classes=np.array(dataset.classes, dtype=str),
    )
    summary = {
        "file": Path(out_path).name,
        "sha256": _sha256(out_path),
        "classes": list(dataset.classes),
        "train_count": int(dataset.train_labels.shape[0]),
        "test_count": int(dataset.test_labels.shape[0]),
        "train_per_class": _counts(dataset.train_labels, dataset.classes),
        "test_per_class": _counts(dataset.test_labels, dataset.classes),
        "source": source,
    }
    if summary_path is not None:
        write_json(summary_path, summary)
    return summary


def load(path: str | os.PathLike) -> Dataset:
    """Load a canonical ``.npz`` written by :func:`save`; a damaged file raises
    :class:`noisy.files.DamagedFileError`."""
    data = read_npz(path, DATA_ARRAYS)
    return Dataset(
        train_images=data["train_images"],
        train_labels=data["train_labels"],
        test_images=data["test_images"],
        test_labels=data["test_labels"],
        classes=tuple(str(name) for name in data["classes"]),
    )


def _sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts(labels: np.ndarray, classes: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(labels, minlength=len(classes))
    return {name: int(count) for name, count in zip(classes, counts, strict=True)}


def _read_path(path: Path) -> tuple[Dataset, dict]:
    """Dispatch a local source on its kind; return the data set and its description."""
    if not path.exists():
        raise DataSourceError(f"{path}: no such file or folder")
    if path.is_dir():
        batches = path if path.name == BATCHES_FOLDER else path / BATCHES_FOLDER
        if batches.is_dir():
            return _read_batches(batches), {"kind": "cifar-batches", "path": str(batches)}
        return _read_tree(*_walk_folder(path), str(path)), {"kind": "folder", "path": str(path)}
    if path.name.endswith(ARCHIVE_SUFFIXES):
        description = {"kind": "archive", "path": str(path), "sha256": _sha256(path)}
        return _read_tree(*_walk_archive(path), str(path)), description
    raise DataSourceError(
        f"{path}: unknown source kind; expected 'torchvision', a {BATCHES_FOLDER} folder, "
        f"an image folder or a {'/'.join(ARCHIVE_SUFFIXES)} archive"
    )


def _read_torchvision(root: Path) -> Dataset:
    """Download (or find) the official CIFAR-10 in ``root``; torchvision checks its md5."""
    from torchvision.datasets import CIFAR10

    try:
        train = CIFAR10(str(root), train=True, download=True)
        test = CIFAR10(str(root), train=False, download=True)
    except (OSError, RuntimeError) as exc:
        raise DataSourceError(f"{root}: torchvision could not get CIFAR-10 ({exc})") from exc
    return Dataset(
        train_images=np.ascontiguousarray(train.data, dtype=np.uint8),
        train_labels=np.asarray(train.targets, dtype=np.int64),
        test_images=np.ascontiguousarray(test.data, dtype=np.uint8),
        test_labels=np.asarray(test.targets, dtype=np.int64),
        classes=tuple(train.classes),
    )


# --- the official pickled batches -------------------------------------------------------


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DataSourceError(f"{path}: missing file of the CIFAR-10 batches")
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DataSourceError(f"{path}: cannot unpickle ({exc!r})") from exc
    if not isinstance(entry, dict):
        raise DataSourceError(f"{path}: expected a pickled dict, found {type(entry).__name__}")
    return entry


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    entry = _unpickle(path)
    try:
        data = np.asarray(entry["data"], dtype=np.uint8)
        labels = np.asarray(entry["labels"], dtype=np.int64)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataSourceError(f"{path}: no valid 'data' and 'labels' ({exc!r})") from exc
    pixels = 3 * IMAGE_SIZE * IMAGE_SIZE
    if data.ndim != 2 or data.shape[1] != pixels or labels.shape != (data.shape[0],):
        raise DataSourceError(
            f"{path}: expected 'data' (N, {pixels}) and N labels, "
            f"found {data.shape} and {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataSourceError(f"{path}: labels outside 0..{num_classes - 1}")
    images = data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _read_batches(folder: Path) -> Dataset:
    """Read ``data_batch_1..5``, ``test_batch`` and ``batches.meta`` from ``folder``.

    Like torchvision, this unpickles the files: use it only on trusted data.
    """
    meta_path = folder / META_FILE
    try:
        classes = tuple(str(name) for name in _unpickle(meta_path)["label_names"])
    except (KeyError, TypeError) as exc:
        raise DataSourceError(f"{meta_path}: no valid 'label_names' ({exc!r})") from exc
    train = [_read_batch(folder / name, len(classes)) for name in TRAIN_BATCHES]
    test_images, test_labels = _read_batch(folder / TEST_BATCH, len(classes))
    return Dataset(
        train_images=np.concatenate([images for images, _ in train]),
        train_labels=np.concatenate([labels for _, labels in train]),
        test_images=test_images,
        test_labels=test_labels,
        classes=classes,
    )


# --- image-folder trees, on disk or in an archive ----------------------------------------


def _walk_folder(root: Path) -> tuple[dict[tuple[str, ...], _Payload], set[tuple[str, ...]]]:
    """Files (relative parts -> path) and folders (relative parts) under ``root``."""
    files: dict[tuple[str, ...], _Payload] = {}
    folders: set[tuple[str, ...]] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        relative = Path(dirpath).relative_to(root).parts
        folders.update(relative + (name,) for name in dirnames)
        for name in filenames:
            if not name.startswith("."):
                files[relative + (name,)] = Path(dirpath, name)
    return files, folders


def _walk_archive(path: Path) -> tuple[dict[tuple[str, ...], _Payload], set[tuple[str, ...]]]:
    """Files (member parts -> bytes) and folders of a tar archive, streamed without extracting.

    A gzip stream is read to its end so that its CRC and length are checked too.
    """
    files: dict[tuple[str, ...], _Payload] = {}
    folders: set[tuple[str, ...]] = set()
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    parts = PurePosixPath(member.name.lstrip("/")).parts
                    if not parts or any(part.startswith(".") for part in parts):
                        continue
                    if member.isdir():
                        folders.add(parts)
                    elif member.isfile():
                        files[parts] = archive.extractfile(member).read()
                        folders.update(parts[:i] for i in range(1, len(parts)))
            while compressed and stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataSourceError(f"{path}: truncated or corrupt archive ({exc})") from exc
    return files, folders


def _top_level(folders: set[tuple[str, ...]]) -> tuple[str, ...]:
    """The prefix holding ``train``/``test``: none, or the single top-level folder."""
    tops = {parts[0] for parts in folders}
    if tops & set(SPLITS) or len(tops) != 1:
        return ()
    return (tops.pop(),)


def _read_tree(files: dict[tuple[str, ...], _Payload], folders: set[tuple[str, ...]],
               where: str) -> Dataset:
    """Check the ``train/<class>/<image>`` layout of a tree and decode its images."""
    prefix = _top_level(folders)
    depth = len(prefix)
    root = "/".join(prefix + ("",))
    for split in SPLITS:
        if (*prefix, split) not in folders:
            raise DataSourceError(f"{where}: missing '{root}{split}' folder")
    members: dict[str, dict[str, list[tuple[str, _Payload]]]] = {split: {} for split in SPLITS}
    for parts in folders:
        if parts[:depth] == prefix and len(parts) == depth + 2 and parts[depth] in SPLITS:
            members[parts[depth]].setdefault(parts[depth + 1], [])
    for parts, payload in files.items():
        if parts[:depth] != prefix or parts[depth] not in SPLITS:
            continue
        name = "/".join(parts)
        if len(parts) != depth + 3:
            raise DataSourceError(
                f"{where}: {name}: expected images at {root}<train|test>/<class>/<image>"
            )
        members[parts[depth]].setdefault(parts[depth + 1], []).append((name, payload))
    train_classes, test_classes = set(members["train"]), set(members["test"])
    if train_classes != test_classes:
        raise DataSourceError(
            f"{where}: train and test class folders differ: missing from test "
            f"{sorted(train_classes - test_classes)}, extra in test "
            f"{sorted(test_classes - train_classes)}"
        )
    classes = tuple(sorted(train_classes))
    for split in SPLITS:
        for name in classes:
            if not members[split][name]:
                raise DataSourceError(f"{where}: empty class folder '{root}{split}/{name}'")
    train_images, train_labels = _decode_split(members["train"], classes, where)
    test_images, test_labels = _decode_split(members["test"], classes, where)
    return Dataset(train_images, train_labels, test_images, test_labels, classes)


def _decode_split(members: dict[str, list[tuple[str, _Payload]]], classes: tuple[str, ...],
                  where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ordered by class, then by file name, with their labels."""
    total = sum(len(entries) for entries in members.values())
    images = np.empty((total, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    labels = np.empty(total, dtype=np.int64)
    index = 0
    for label, class_name in enumerate(classes):
        for name, payload in sorted(members[class_name], key=lambda entry: entry[0]):
            images[index] = _decode_image(name, payload, where)
            labels[index] = label
            index += 1
    return images, labels


def _decode_image(name: str, payload: _Payload, where: str) -> np.ndarray:
    """One 32x32 image as (32, 32, 3) uint8 RGB."""
    try:
        with Image.open(io.BytesIO(payload) if isinstance(payload, bytes) else payload) as image:
            if image.size != (IMAGE_SIZE, IMAGE_SIZE):
                width, height = image.size
                raise DataSourceError(
                    f"{where}: {name}: image is {width}x{height} pixels, "
                    f"expected {IMAGE_SIZE}x{IMAGE_SIZE}"
                )
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except DataSourceError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataSourceError(f"{where}: {name}: unreadable image ({exc})") from exc

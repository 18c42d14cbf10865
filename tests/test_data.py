"""The canonical data set: every source kind round-trips, every bad source is named."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    CLASSES,
    REAL_CIFAR10,
    make_archive,
    make_canonical_dataset,
    make_cifar_batches,
    make_image_folder,
    synthetic_dataset,
)
from PIL import Image

from noisy import cli
from noisy.method.data import Dataset, DataSourceError, load, read_source

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck")


def assert_same(actual: Dataset, expected: Dataset) -> None:
    assert actual.classes == expected.classes
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        got, want = getattr(actual, name), getattr(expected, name)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def prepare_data(source: Path | str, out: Path, summary_file: Path, *options: str) -> dict:
    """Run the prepare_data job; return the summary it wrote."""
    assert cli.main(["prepare-data", "--source", str(source), "--out", str(out),
                     "--summary", str(summary_file), *options]) == 0
    return json.loads(summary_file.read_text())


def prepare_and_load(source: Path | str, tmp_path: Path) -> tuple[dict, Dataset]:
    out, summary_file = tmp_path / "out" / "data.npz", tmp_path / "out" / "summary.json"
    summary = prepare_data(source, out, summary_file)
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    return summary, load(out)


def test_image_folder_round_trips(tmp_path):
    expected = make_image_folder(tmp_path / "src", classes=("frog", "cat", "dog"))
    summary, dataset = prepare_and_load(tmp_path / "src", tmp_path)
    assert_same(dataset, expected)
    assert dataset.classes == ("cat", "dog", "frog")
    assert dataset.train_images.dtype == np.uint8 and dataset.train_labels.dtype == np.int64
    assert summary["train_per_class"] == {"cat": 4, "dog": 4, "frog": 4}
    assert summary["test_per_class"] == {"cat": 2, "dog": 2, "frog": 2}
    assert summary["source"]["kind"] == "folder"


def test_folder_with_one_top_level_folder(tmp_path):
    expected = make_image_folder(tmp_path / "src" / "cifar-tiny")
    (tmp_path / "src" / "README.md").write_text("a file beside the top-level folder is ignored")
    assert_same(prepare_and_load(tmp_path / "src", tmp_path)[1], expected)


@pytest.mark.parametrize("name,top_level", [
    ("tree.tar.gz", None), ("tree.tar.gz", "cifar-tiny"), ("tree.tgz", "x"), ("tree.tar", None),
])
def test_archive_round_trips(tmp_path, name, top_level):
    expected = make_image_folder(tmp_path / "src")
    archive = make_archive(tmp_path / "src", tmp_path / name, top_level)
    summary, dataset = prepare_and_load(archive, tmp_path)
    assert_same(dataset, expected)
    assert summary["source"]["kind"] == "archive"


@pytest.mark.parametrize("inside", [False, True])
def test_cifar_batches_round_trip(tmp_path, inside):
    expected = make_cifar_batches(tmp_path, classes=("plane", "car", "bird"))
    source = tmp_path / "cifar-10-batches-py" if inside else tmp_path
    summary, dataset = prepare_and_load(source, tmp_path)
    assert_same(dataset, expected)
    assert summary["source"]["kind"] == "cifar-batches"
    assert summary["train_count"] == 15 and summary["test_count"] == 3


def test_torchvision_source_uses_the_download_root(tmp_path, monkeypatch):
    expected = synthetic_dataset(n_train_per_class=2, n_test_per_class=1)
    roots = []

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            assert download
            roots.append(root)
            self.data = expected.train_images if train else expected.test_images
            labels = expected.train_labels if train else expected.test_labels
            self.targets = [int(label) for label in labels]
            self.classes = list(expected.classes)

    fake = types.ModuleType("torchvision.datasets")
    fake.CIFAR10 = FakeCIFAR10
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake)
    out = tmp_path / "data.npz"
    summary = prepare_data("torchvision", out, tmp_path / "data.json", "--download-root",
                           str(tmp_path / "downloads"))
    assert_same(load(out), expected)
    assert roots == [str(tmp_path / "downloads")] * 2
    assert summary["source"] == {"kind": "torchvision",
                                 "download_root": str(tmp_path / "downloads")}


def test_torchvision_failure_is_a_data_source_error(tmp_path, monkeypatch):
    def offline(root, train, download):
        raise RuntimeError("no internet")

    fake = types.ModuleType("torchvision.datasets")
    fake.CIFAR10 = offline
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake)
    with pytest.raises(DataSourceError, match="downloads.*no internet"):
        read_source("torchvision", tmp_path / "downloads")


def test_grayscale_and_rgba_images_become_rgb(tmp_path):
    make_image_folder(tmp_path / "src")
    gray = np.arange(32 * 32, dtype=np.uint8).reshape(32, 32)
    Image.fromarray(gray, "L").save(tmp_path / "src/train/cat/0000.png")
    Image.new("RGBA", (32, 32), (10, 20, 30, 0)).save(tmp_path / "src/test/dog/0002.png")
    dataset = prepare_and_load(tmp_path / "src", tmp_path)[1]
    np.testing.assert_array_equal(dataset.train_images[0], np.stack([gray] * 3, axis=-1))
    np.testing.assert_array_equal(dataset.test_images[2], np.full((32, 32, 3), (10, 20, 30)))


def test_jpeg_folder(tmp_path):
    expected = make_image_folder(tmp_path / "src", fmt="jpg")
    dataset = prepare_and_load(tmp_path / "src", tmp_path)[1]
    assert dataset.train_images.shape == expected.train_images.shape
    np.testing.assert_array_equal(dataset.train_labels, expected.train_labels)
    np.testing.assert_array_equal(dataset.test_labels, expected.test_labels)


def test_canonical_helper_writes_a_loadable_dataset(tmp_path):
    expected = make_canonical_dataset(tmp_path / "c.npz", classes=CLASSES)
    assert_same(load(tmp_path / "c.npz"), expected)


# --- bad sources: a DataSourceError that names the offending file or folder ----------------


def expect_error(source: Path | str, tmp_path: Path, *fragments: str) -> None:
    with pytest.raises(DataSourceError) as error:
        read_source(str(source), tmp_path / "downloads")
    for fragment in fragments:
        assert fragment in str(error.value)


def test_missing_path(tmp_path):
    expect_error(tmp_path / "nowhere", tmp_path, "nowhere", "no such file")


@pytest.mark.parametrize("name", ["images.zip", "notes.txt"])
def test_unknown_source_kind(tmp_path, name):
    (tmp_path / name).write_bytes(b"not a data set")
    expect_error(tmp_path / name, tmp_path, name, "unknown source kind")


@pytest.mark.parametrize("keep", [0.5, -10, -4])
def test_truncated_archive(tmp_path, keep):
    make_image_folder(tmp_path / "src")
    archive = make_archive(tmp_path / "src", tmp_path / "tree.tar.gz")
    content = archive.read_bytes()
    cut = int(len(content) * keep) if keep > 0 else len(content) + keep
    archive.write_bytes(content[:cut])
    expect_error(archive, tmp_path, "tree.tar.gz", "truncated or corrupt")


def test_corrupt_archive(tmp_path):
    make_image_folder(tmp_path / "src")
    archive = make_archive(tmp_path / "src", tmp_path / "tree.tgz")
    content = bytearray(archive.read_bytes())
    content[len(content) // 2: len(content) // 2 + 64] = bytes(64)
    archive.write_bytes(bytes(content))
    expect_error(archive, tmp_path, "tree.tgz", "truncated or corrupt")


@pytest.mark.parametrize("split", ["train", "test"])
def test_missing_split_folder(tmp_path, split):
    make_image_folder(tmp_path / "src")
    shutil.rmtree(tmp_path / "src" / split)
    expect_error(tmp_path / "src", tmp_path, "src", f"missing '{split}' folder")


def test_missing_split_folder_in_archive_with_top_level(tmp_path):
    make_image_folder(tmp_path / "src")
    shutil.rmtree(tmp_path / "src" / "test")
    archive = make_archive(tmp_path / "src", tmp_path / "tree.tar.gz", "cifar-tiny")
    expect_error(archive, tmp_path, "tree.tar.gz", "missing 'cifar-tiny/test' folder")


def test_class_missing_from_test(tmp_path):
    make_image_folder(tmp_path / "src")
    shutil.rmtree(tmp_path / "src/test/dog")
    expect_error(tmp_path / "src", tmp_path, "missing from test ['dog']", "extra in test []")


def test_extra_class_in_test(tmp_path):
    make_image_folder(tmp_path / "src")
    shutil.copytree(tmp_path / "src/test/dog", tmp_path / "src/test/bird")
    expect_error(tmp_path / "src", tmp_path, "extra in test ['bird']")


def test_empty_class_folder(tmp_path):
    make_image_folder(tmp_path / "src")
    for image in (tmp_path / "src/train/frog").iterdir():
        image.unlink()
    expect_error(tmp_path / "src", tmp_path, "empty class folder 'train/frog'")


def test_empty_class_folder_in_archive(tmp_path):
    make_image_folder(tmp_path / "src")
    for image in (tmp_path / "src/test/cat").iterdir():
        image.unlink()
    archive = make_archive(tmp_path / "src", tmp_path / "tree.tar.gz", "top")
    expect_error(archive, tmp_path, "tree.tar.gz", "empty class folder 'top/test/cat'")


def test_wrong_image_size(tmp_path):
    make_image_folder(tmp_path / "src")
    Image.new("RGB", (31, 32)).save(tmp_path / "src/train/cat/0001.png")
    expect_error(tmp_path / "src", tmp_path, "train/cat/0001.png", "31x32")


def test_wrong_image_size_in_archive(tmp_path):
    make_image_folder(tmp_path / "src", size=28)
    archive = make_archive(tmp_path / "src", tmp_path / "tree.tar.gz", "top")
    expect_error(archive, tmp_path, "tree.tar.gz", "top/train/cat/0000.png", "28x28")


def test_unreadable_image(tmp_path):
    make_image_folder(tmp_path / "src")
    (tmp_path / "src/train/dog/0005.png").write_bytes(b"garbage")
    expect_error(tmp_path / "src", tmp_path, "train/dog/0005.png", "unreadable image")


def test_truncated_image(tmp_path):
    make_image_folder(tmp_path / "src")
    image = tmp_path / "src/test/frog/0004.png"
    image.write_bytes(image.read_bytes()[:200])
    expect_error(tmp_path / "src", tmp_path, "test/frog/0004.png", "unreadable image")


def test_image_outside_a_class_folder(tmp_path):
    make_image_folder(tmp_path / "src")
    shutil.copy(tmp_path / "src/train/cat/0000.png", tmp_path / "src/train/stray.png")
    expect_error(tmp_path / "src", tmp_path, "train/stray.png")


def test_missing_cifar_batch(tmp_path):
    make_cifar_batches(tmp_path)
    (tmp_path / "cifar-10-batches-py/data_batch_3").unlink()
    expect_error(tmp_path, tmp_path, "data_batch_3", "missing")


def test_corrupt_cifar_batch(tmp_path):
    make_cifar_batches(tmp_path)
    batch = tmp_path / "cifar-10-batches-py/test_batch"
    batch.write_bytes(batch.read_bytes()[:100])
    expect_error(tmp_path, tmp_path, "test_batch", "cannot unpickle")


@pytest.mark.skipif(not REAL_CIFAR10.exists(), reason="the real CIFAR-10 JPEG tarball is absent")
def test_real_tarball(tmp_path):
    summary, dataset = prepare_and_load(REAL_CIFAR10, tmp_path)
    assert dataset.classes == CIFAR_CLASSES
    assert dataset.train_images.shape == (50_000, 32, 32, 3)
    assert dataset.test_images.shape == (10_000, 32, 32, 3)
    assert summary["train_per_class"] == dict.fromkeys(CIFAR_CLASSES, 5000)
    assert summary["test_per_class"] == dict.fromkeys(CIFAR_CLASSES, 1000)
    assert np.array_equal(np.bincount(dataset.train_labels), [5000] * 10)

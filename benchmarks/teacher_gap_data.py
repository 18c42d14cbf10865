"""The data sets of docs/teacher_gap.md's lossless arms, built outside the repository.

Reads the two canonical data sets that ``python -m noisy prepare-data`` makes from
``../shared/data/cifar10-jpeg.tar.gz`` and ``cifar10-png.tar.gz``, checks that they pair image
by image (same labels in the same order; the PNG copy's official train statistics), and
writes three more into ``OUT``:

* ``png-train.npz``: the lossless train images, the 10,000 JPEG test images (so a lossless
  arm is monitored and scored on the same test images as a JPEG arm);
* ``png-test.npz``: the 1,000 lossless test images (train images: the JPEG copy's, unused);
* ``jpeg-twins.npz``: the JPEG twins of those 1,000 test images.

Usage: ``python benchmarks/teacher_gap_data.py JPEG.npz PNG.npz OUT``. Never commit its output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from noisy.method.data import Dataset, load, save


def _twin_indices(png: Dataset, jpeg: Dataset) -> np.ndarray:
    """Indices into the JPEG test set of the PNG test images: both are sorted by class, then by
    the image's rank within its class (the file name), and the PNG copy holds the first ranks."""
    starts = np.searchsorted(jpeg.test_labels, np.arange(len(jpeg.classes)))
    ranks = np.concatenate([np.arange(n) for n in np.bincount(png.test_labels)])
    return starts[png.test_labels] + ranks


def main(jpeg_path: str, png_path: str, out: str) -> None:
    jpeg, png = load(jpeg_path), load(png_path)
    if jpeg.classes != png.classes or not np.array_equal(jpeg.train_labels, png.train_labels):
        raise SystemExit("the two copies' train labels differ")
    twins = _twin_indices(png, jpeg)
    if not np.array_equal(jpeg.test_labels[twins], png.test_labels):
        raise SystemExit("the PNG test images' JPEG twins have other labels")

    def difference(a: np.ndarray, b: np.ndarray) -> dict:
        delta = a.astype(np.float64) - b.astype(np.float64)
        per_image = np.abs(delta).reshape(len(a), -1).mean(axis=1)
        psnr = 10 * np.log10(255.0**2 / (delta**2).mean())
        return {"mean_abs_grey_levels": round(float(per_image.mean()), 3),
                "worst_image_mean_abs": round(float(per_image.max()), 3),
                "psnr_db": round(float(psnr), 2)}

    def statistics(images: np.ndarray) -> dict:
        pixels = images.reshape(-1, 3) / 255.0
        return {"mean": [round(float(v), 4) for v in pixels.mean(axis=0)],
                "std": [round(float(v), 4) for v in pixels.std(axis=0)]}

    report = {
        "train_png": statistics(png.train_images), "train_jpeg": statistics(jpeg.train_images),
        "train_difference": difference(png.train_images, jpeg.train_images),
        "test_difference": difference(png.test_images, jpeg.test_images[twins]),
    }
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = {"kind": "teacher-gap arm", "jpeg": jpeg_path, "png": png_path}
    save(Dataset(png.train_images, png.train_labels, jpeg.test_images, jpeg.test_labels,
                 png.classes), out_dir / "png-train.npz", source | {"part": "png train"})
    save(Dataset(jpeg.train_images, jpeg.train_labels, png.test_images, png.test_labels,
                 png.classes), out_dir / "png-test.npz", source | {"part": "png test"})
    save(Dataset(jpeg.train_images, jpeg.train_labels, jpeg.test_images[twins],
                 jpeg.test_labels[twins], png.classes), out_dir / "jpeg-twins.npz",
         source | {"part": "jpeg twins of the png test"})
    (out_dir / "pairing.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])

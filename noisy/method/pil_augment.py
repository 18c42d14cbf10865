"""The paper's augmentation path: per-image RandAugment on PIL images.

The paper (embedded-noisystudent) uses the RandAugment of ildoonet/pytorch-randaugment, fed
one PIL image at a time through a DataLoader. This module reimplements those 17 operations
with the same semantics, so it serves both as the reference for the batched tensor path in
:mod:`noisy.method.augment` and as the baseline of the throughput benchmark:

- geometric ops use ``Image.transform(AFFINE)`` / ``Image.rotate`` with Pillow's defaults:
  nearest-neighbour resampling and black fill; the sign flips with probability 0.5;
- translate and cutout values are fractions of the image width (``value * width`` pixels);
- posterize keeps ``max(1, int(value))`` bits, as the original code (values below 1, i.e.
  M <= 7, keep 1 bit rather than blanking the image); solarize-add adds ``value`` (then
  truncates) before solarizing at 128;
- cutout paints the inclusive box ``(x0, y0, x1, y1)`` with ``x0 = int(max(0, cx - v/2))`` and
  ``x1 = min(width, x0 + v)`` in grey (125, 123, 114), centre uniform over [0, W) x [0, H).

Given the same op, sign and cutout centre, every op gives the original code's image pixel
for pixel (tests/fixtures/randaugment_original.md); Identity is one of the 17 ops, as in
the paper's text and the original's list. Differences from the original code: SolarizeAdd
is written without the removed ``np.int`` alias; the cutout centre comes from ``random``
(or the given rng), uniform over [0, W) x [0, H), whereas the original's
``np.random.uniform(w)`` (low=w, high=1) draws each coordinate from (1, w].
"""

from __future__ import annotations

import random

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from noisy.method.augment import MEAN, OP_NAMES, SIGNED_OPS, STD, op_value

CUTOUT_FILL = (125, 123, 114)


def _solarize_add(img: Image.Image, addition: float, threshold: int = 128) -> Image.Image:
    added = np.clip(np.asarray(img, dtype=np.int64) + addition, 0, 255).astype(np.uint8)
    return ImageOps.solarize(Image.fromarray(added), threshold)


def _cutout(img: Image.Image, fraction: float, center: tuple[float, float]) -> Image.Image:
    if fraction <= 0:
        return img
    side = fraction * img.size[0]
    width, height = img.size
    x0 = int(max(0, center[0] - side / 2.0))
    y0 = int(max(0, center[1] - side / 2.0))
    box = (x0, y0, min(width, x0 + side), min(height, y0 + side))
    img = img.copy()
    ImageDraw.Draw(img).rectangle(box, CUTOUT_FILL)
    return img


def _affine(img: Image.Image, matrix: tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, matrix)


def apply_pil_op(img: Image.Image, name: str, value: float,
                 center: tuple[float, float] | None = None,
                 rng: random.Random | None = None) -> Image.Image:
    """Apply op ``name`` with its final (already signed) ``value`` to an RGB PIL image.

    Cutout uses ``center`` (x, y in pixels) when given, else draws it from ``rng`` (or the
    ``random`` module) uniformly over the image.
    """
    if name == "identity":
        return img
    if name == "auto_contrast":
        return ImageOps.autocontrast(img)
    if name == "equalize":
        return ImageOps.equalize(img)
    if name == "invert":
        return ImageOps.invert(img)
    if name == "rotate":
        return img.rotate(value)
    if name == "posterize":
        return ImageOps.posterize(img, max(1, int(value)))
    if name == "solarize":
        return ImageOps.solarize(img, value)
    if name == "solarize_add":
        return _solarize_add(img, value)
    if name == "color":
        return ImageEnhance.Color(img).enhance(value)
    if name == "contrast":
        return ImageEnhance.Contrast(img).enhance(value)
    if name == "brightness":
        return ImageEnhance.Brightness(img).enhance(value)
    if name == "sharpness":
        return ImageEnhance.Sharpness(img).enhance(value)
    if name == "shear_x":
        return _affine(img, (1, value, 0, 0, 1, 0))
    if name == "shear_y":
        return _affine(img, (1, 0, 0, value, 1, 0))
    if name == "translate_x":
        return _affine(img, (1, 0, value * img.size[0], 0, 1, 0))
    if name == "translate_y":
        return _affine(img, (1, 0, 0, 0, 1, value * img.size[1]))
    if name == "cutout":
        if center is None:
            rng = rng or random
            center = (rng.random() * img.size[0], rng.random() * img.size[1])
        return _cutout(img, value, center)
    raise ValueError(f"unknown augmentation op {name!r}")


class PILRandAugment:
    """RandAugment(n, m) on one PIL image, as in the paper's code.

    ``rng`` defaults to the ``random`` module, which DataLoader workers reseed individually.
    """

    def __init__(self, n: int, m: float, rng: random.Random | None = None):
        self.n = n
        self.m = m
        self.rng = rng if rng is not None else random

    def __call__(self, img: Image.Image | np.ndarray) -> Image.Image:
        """Augment ``img`` (PIL or HWC uint8 array) with ``n`` random ops at magnitude ``m``."""
        if not isinstance(img, Image.Image):
            img = Image.fromarray(np.asarray(img))
        for name in self.rng.choices(OP_NAMES, k=self.n):
            value = op_value(name, self.m)
            if name in SIGNED_OPS and self.rng.random() > 0.5:
                value = -value
            img = apply_pil_op(img, name, value, rng=self.rng)
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, m={self.m})"


def paper_train_transform(n: int, m: float) -> T.Compose:
    """The paper's training transform: RandAugment, crop with padding 4, flip, standardize
    (torchvision's ``Normalize``)."""
    return T.Compose([
        PILRandAugment(n, m),
        T.RandomCrop(32, padding=4),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(MEAN, STD),
    ])


class PILBatchAugment:
    """The paper's input path, image by image, behind the interface of ``TrainAugment``.

    For comparing training results with the batched pipeline (``input_pipeline: pil``):
    each batch goes to the host, through :func:`paper_train_transform` one PIL image at
    a time, and back. Its Python RNG is seeded from ``generator`` at every call, so runs
    are repeatable.
    """

    def __init__(self, n: int, m: float, padding: int = 4):
        self.rng = random.Random()
        self.transform = T.Compose([
            PILRandAugment(n, m, rng=self.rng),
            T.RandomCrop(32, padding=padding),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ])

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, 3, H, W) uint8 on any device → standardized float on the same device."""
        self.rng.seed(int(torch.randint(2**62, (1,), generator=generator,
                                        device=generator.device)))
        host = images.permute(0, 2, 3, 1).cpu().numpy()
        batch = torch.stack([self.transform(Image.fromarray(image)) for image in host])
        return batch.to(images.device)

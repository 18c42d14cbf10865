"""CIFAR-10-P: the ten perturbation sequences evaluated by Hendrycks' ``cifar-p-eval.py``.

Parameters of ``make_cifar_p.py``. Noise sequences and zoom_blur start with the clean
image; the others start at one end of their parameter sweep (e.g. rotate at -15 degrees).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np

from noisy.corruption.corruptions import CHUNK_SIZE, chunk_rng, write_npy_chunks
from noisy.corruption.image_filters import (
    WATER_COLOUR,
    gaussian_blur,
    motion_blur,
    pil_affine,
    shift_hsv,
    warp_perspective,
    water_drops,
)
from noisy.errors import SettingsError

PERTURBATIONS = (
    "gaussian_noise",
    "shot_noise",
    "motion_blur",
    "zoom_blur",
    "spatter",
    "brightness",
    "translate",
    "rotate",
    "tilt",
    "scale",
)
FRAMES = {name: 31 for name in PERTURBATIONS} | {"motion_blur": 21, "translate": 16}
STARTS_CLEAN = ("gaussian_noise", "shot_noise", "zoom_blur")


def _gaussian_noise(images, rng):
    x = images / 255.0
    noisy = np.clip(x[:, None] + rng.normal(0.0, 0.02, (len(x), 30) + x.shape[1:]), 0, 1)
    return np.concatenate([images[:, None], (noisy * 255).astype(np.uint8)], axis=1)


def _shot_noise(images, rng):
    x = images / 255.0
    draws = rng.poisson(x[:, None] * 700, (len(x), 30) + x.shape[1:]) / 700
    noisy = (255 * np.clip(draws, 0, 1)).astype(np.uint8)
    return np.concatenate([images[:, None], noisy], axis=1)


def _motion_blur(images, rng):
    frames = [
        motion_blur(images.astype(np.float64), 6, 1.8, np.full(len(images), (i - 20) * 9.0))
        for i in range(21)
    ]
    return np.stack(frames, axis=1).astype(np.uint8)


def _pil_frames(images: np.ndarray, count: int, **affine: Callable[[int], object]) -> np.ndarray:
    """Frame i of each image = ``pil_affine`` with keyword k set to affine[k](i)."""
    out = np.empty((len(images), count) + images.shape[1:], dtype=np.uint8)
    for i in range(count):
        kwargs = {key: value(i) for key, value in affine.items()}
        for n, image in enumerate(images):
            out[n, i] = pil_affine(image, **kwargs)
    return out


def _zoom_blur(images, rng):
    zooms = _pil_frames(images, 31, scale=lambda i: 1 + 0.004 * i).astype(np.float32) / 255
    zooms[:, 0] = images / np.float32(255)
    running = np.cumsum(zooms, axis=1) / np.arange(1, 32, dtype=np.float32)[:, None, None, None]
    out = (running * 255).astype(np.uint8)
    out[:, 0] = images
    return out


def _brightness(images, rng):
    x = images / 255.0
    frames = [shift_hsv(x, 2, 1.0, (i - 15) * 1.5 / 100) for i in range(31)]
    return (np.stack(frames, axis=1) * 255).astype(np.uint8)


def _translate(images, rng):
    out = np.zeros((len(images), 16) + images.shape[1:], dtype=np.uint8)
    for i in range(16):
        shift = i - 7  # pixels to the right; vacated columns are black
        if shift >= 0:
            out[:, i, :, shift:] = images[:, :, : 32 - shift]
        else:
            out[:, i, :, :shift] = images[:, :, -shift:]
    return out


def _rotate(images, rng):
    return _pil_frames(images, 31, angle=lambda i: float(i - 15))


def _scale(images, rng):
    return _pil_frames(images, 31, scale=lambda i: (2 * i + 70) / 100)


def tilt_matrix(degrees: float, size: int = 32) -> np.ndarray:
    """Homography of the official tilt: rotate by ``degrees`` about both x and y, re-project."""
    phi = theta = np.deg2rad(degrees)
    focal = np.sqrt(2.0) * size
    half = size / 2
    to_3d = np.array([[1, 0, -half], [0, 1, -half], [0, 0, 1], [0, 0, 1]])
    rot_x = np.array(
        [
            [1, 0, 0, 0],
            [0, np.cos(theta), -np.sin(theta), 0],
            [0, np.sin(theta), np.cos(theta), 0],
            [0, 0, 0, 1],
        ]
    )
    rot_y = np.array(
        [
            [np.cos(phi), 0, -np.sin(phi), 0],
            [0, 1, 0, 0],
            [np.sin(phi), 0, np.cos(phi), 0],
            [0, 0, 0, 1],
        ]
    )
    push = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, focal], [0, 0, 0, 1]])
    project = np.array([[focal, 0, half, 0], [0, focal, half, 0], [0, 0, 1, 0]])
    return project @ push @ rot_x @ rot_y @ to_3d


def _tilt(images, rng):
    frames = [warp_perspective(images, tilt_matrix(0.75 * (i - 15))) for i in range(31)]
    return np.stack(frames, axis=1)


def _spatter(images, rng):
    x = images.astype(np.float32) / 255
    liquid = gaussian_blur(rng.normal(0.6, 0.265, x.shape[:3]), 1.75)
    liquid[liquid < 0.7] = 0
    frames = []
    for _ in range(31):
        drops = water_drops(liquid, 0.6)[..., None]
        frames.append((np.clip(x + drops * WATER_COLOUR, 0, 1) * 255).astype(np.uint8))
        # Smear downwards: each column convolved with [0.2, 0.8] ('same' keeps the top).
        smeared = 0.2 * liquid
        smeared[:, 1:] += 0.8 * liquid[:, :-1]
        liquid = smeared
    return np.stack(frames, axis=1)


_FUNCTIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "motion_blur": _motion_blur,
    "zoom_blur": _zoom_blur,
    "spatter": _spatter,
    "brightness": _brightness,
    "translate": _translate,
    "rotate": _rotate,
    "tilt": _tilt,
    "scale": _scale,
}


def perturb(images: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """Perturbation sequences of uint8 (N, 32, 32, 3) images: uint8 (N, FRAMES[name], 32, 32, 3)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"expected uint8 images of shape (N, 32, 32, 3), got {images.shape}")
    if name not in _FUNCTIONS:
        raise SettingsError(f"unknown perturbation {name!r}; choose from {PERTURBATIONS}")
    return _FUNCTIONS[name](images, rng)


def write_perturbation(images: np.ndarray, name: str, seed: int,
                       path: str | os.PathLike) -> None:
    """Write one CIFAR-10-P file: ``images`` under perturbation ``name``, (N, frames, 32,
    32, 3) uint8, atomically to ``path``.

    Chunk k is drawn from SeedSequence([seed, key("P/" + name), k]).
    """
    if name not in _FUNCTIONS:
        raise SettingsError(f"unknown perturbation {name!r}; choose from {PERTURBATIONS}")
    count = len(images)

    def blocks() -> Iterator[tuple[slice, np.ndarray]]:
        for index, start in enumerate(range(0, count, CHUNK_SIZE)):
            part = slice(start, min(start + CHUNK_SIZE, count))
            yield part, perturb(images[part], name, chunk_rng(seed, f"P/{name}", index))

    write_npy_chunks(path, (count, FRAMES[name], 32, 32, 3), blocks())

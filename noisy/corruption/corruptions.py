"""CIFAR-10-C: the 19 corruptions of Hendrycks & Dietterich (ICLR 2019) at CIFAR parameters.

Re-implemented from the parameters of Hendrycks' ``make_cifar_c.py`` (its CIFAR values;
see docs/robustness_generation.md) without OpenCV, scikit-image or ImageMagick. Pixel math is on
x/255 in [0, 1]; results are clipped, scaled by 255 and truncated to uint8 like the
official ``np.uint8(...)``. Frost needs the frost photographs of the PyPI package
``imagecorruptions`` (``pip install --no-deps imagecorruptions==1.1.2``; never imported).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from noisy.corruption.image_filters import (
    GRAY_WEIGHTS,
    WATER_COLOUR,
    affine_from_points,
    clipped_zoom,
    gaussian_blur,
    motion_blur,
    plasma_fractal,
    shift_hsv,
    warp_affine,
    water_drops,
)
from noisy.errors import SettingsError, UserError
from noisy.files import atomic_path

BENCHMARK_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
EXTRA_CORRUPTIONS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
CORRUPTIONS = BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS
SEVERITIES = (1, 2, 3, 4, 5)
CHUNK_SIZE = 500  # images per random stream of a generated file (part of the seeding)

# CIFAR parameters for severities 1..5 (make_cifar_c.py).
PARAMS: dict[str, tuple] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "speckle_noise": (0.06, 0.10, 0.12, 0.16, 0.20),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    "zoom_blur": tuple(np.arange(1, stop, 0.01) for stop in (1.06, 1.11, 1.16, 1.21, 1.26)),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
    # loc, scale, zoom, threshold, blur radius, blur sigma, blend
    "snow": (
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    # loc, scale, sigma, threshold, intensity, mud
    "spatter": (
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
    # alpha, sigma, affine shift (IMSIZE = 32 times the official fractions)
    "elastic_transform": tuple(
        (32 * a, 32 * s, 32 * f)
        for a, s, f in ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06))
        + ((0.1, 0.04, 0.05), (0.1, 0.03, 0.03))
    ),
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    "jpeg_compression": (80, 65, 58, 50, 40),
}

MUD_COLOUR = (np.array([63, 42, 20]) / 255.0).astype(np.float32)
FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")


# --------------------------------------------------------------------------- noise


def _gaussian_noise(x, sigma, rng):
    return np.clip(x + rng.normal(0.0, sigma, x.shape), 0, 1) * 255


def _shot_noise(x, rate, rng):
    return np.clip(rng.poisson(x * rate) / rate, 0, 1) * 255


def _impulse_noise(x, amount, rng):
    flipped = rng.random(x.shape) <= amount
    salted = rng.random(x.shape) <= 0.5
    out = np.where(flipped & salted, 1.0, np.where(flipped, 0.0, x))
    return np.clip(out, 0, 1) * 255


def _speckle_noise(x, sigma, rng):
    return np.clip(x + x * rng.normal(0.0, sigma, x.shape), 0, 1) * 255


# --------------------------------------------------------------------------- blur


def _disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The official float32 ``disk()``: 17x17 disk, 3x3 ``cv2.GaussianBlur``, trimmed to support.

    OpenCV blurs float32 separably (rows, then columns) with float32 taps, as
    ``centre * k1 + (left + right) * k0``; this float32 rounding is reproduced exactly.
    """
    grid = np.arange(-8, 9)
    xx, yy = np.meshgrid(grid, grid)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float32)
    disk /= disk.sum()
    taps = np.exp(-(np.arange(-1, 2) ** 2) / (2 * alias_blur**2))
    side, centre = (taps / taps.sum()).astype(np.float32)[:2]
    padded = np.pad(disk, 1, mode="reflect")  # cv2 reflect-101
    rows = padded[:, 1:-1] * centre + (padded[:, :-2] + padded[:, 2:]) * side
    disk = rows[1:-1] * centre + (rows[:-2] + rows[2:]) * side
    support = np.flatnonzero(disk.any(axis=0))
    return disk[support[0] : support[-1] + 1, support[0] : support[-1] + 1]


def _defocus_blur(x, params, rng):
    kernel = _disk_kernel(*params)
    return np.clip(ndimage.correlate(x, kernel[None, :, :, None], mode="mirror"), 0, 1) * 255


def _glass_blur(x, params, rng):
    sigma, delta, iterations = params
    pixels = (gaussian_blur(x, sigma) * 255).astype(np.uint8)
    n = len(x)
    inner = np.arange(delta + 1, 32)  # the official scan covers rows/cols 32-d .. d+1
    batch = np.arange(n)[:, None, None]
    for _ in range(iterations):
        # The official per-pixel "swap" is really a copy from (h+dy, w+dx), dx, dy in [-d, d);
        # its descending scan only ever reads untouched pixels, so one gather is exact.
        # Draws as the official loop makes them: (dx, dy) per pixel, rows and columns descending.
        shifts = rng.integers(-delta, delta, (n, inner.size, inner.size, 2))[:, ::-1, ::-1]
        dx, dy = shifts[..., 0], shifts[..., 1]
        rows = inner[None, :, None] + dy
        cols = inner[None, None, :] + dx
        pixels[:, inner[0] :, inner[0] :] = pixels[batch, rows, cols]
    return np.clip(gaussian_blur(pixels / 255.0, sigma), 0, 1) * 255


def _motion_blur(x, params, rng):
    radius, sigma = params
    angles = rng.uniform(-45, 45, len(x))
    return motion_blur(np.rint(x * 255), radius, sigma, angles)


def _zoom_blur(x, zooms, rng):
    x = x.astype(np.float32)
    total = np.zeros_like(x)
    for factor in zooms:
        total += clipped_zoom(x, factor)
    return np.clip((x + total) / (len(zooms) + 1), 0, 1) * 255


def _gaussian_blur(x, sigma, rng):
    return np.clip(gaussian_blur(x, sigma), 0, 1) * 255


# --------------------------------------------------------------------------- weather


def _snow(x, params, rng):
    loc, scale, zoom, threshold, radius, sigma, blend = params
    x = x.astype(np.float32)
    n = len(x)
    layer = clipped_zoom(rng.normal(loc, scale, (n, 32, 32)), zoom)
    layer[layer < threshold] = 0
    layer = (np.clip(layer, 0, 1) * 255).astype(np.uint8)
    layer = motion_blur(layer.astype(np.float64), radius, sigma, rng.uniform(-135, -45, n))
    layer = (layer / 255.0)[..., None]
    grey = (x @ GRAY_WEIGHTS.astype(np.float32))[..., None]
    x = blend * x + (1 - blend) * np.maximum(x, grey * 1.5 + 0.5)
    return np.clip(x + layer + layer[:, ::-1, ::-1], 0, 1) * 255


def frost_directory() -> Path:
    """Folder of the frost photographs shipped by the ``imagecorruptions`` package."""
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "frost needs the photographs of the PyPI package imagecorruptions: "
            "pip install --no-deps imagecorruptions==1.1.2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "frost"


@lru_cache(maxsize=1)
def frost_textures() -> tuple[np.ndarray, ...]:
    """frost1..frost5 as RGB uint8, reduced 5x like the official ``cv2.resize(fx=0.2)``."""
    textures = []
    for name in FROST_FILES:
        with Image.open(frost_directory() / name) as image:
            rgb = np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))[..., :3]
        height, width = round(rgb.shape[0] * 0.2), round(rgb.shape[1] * 0.2)
        # cv2 INTER_LINEAR at scale 1/5 samples source pixel 5*i + 2 exactly.
        textures.append(np.ascontiguousarray(rgb[2::5, 2::5][:height, :width]))
    return tuple(textures)


def _frost(x, params, rng):
    image_weight, frost_weight = params
    textures = frost_textures()
    crops = np.empty(x.shape, dtype=np.float64)
    for i, which in enumerate(rng.integers(0, len(textures), len(x))):
        texture = textures[which]
        top = rng.integers(0, texture.shape[0] - 32)
        left = rng.integers(0, texture.shape[1] - 32)
        crops[i] = texture[top : top + 32, left : left + 32]
    return np.clip(image_weight * np.rint(x * 255) + frost_weight * crops, 0, 255)


def _fog(x, params, rng):
    strength, decay = params
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    x = x + strength * plasma_fractal(len(x), 32, decay, rng)[..., None]
    return np.clip(x * peak / (peak + strength), 0, 1) * 255


def _spatter(x, params, rng):
    loc, scale, sigma, threshold, intensity, mud = params
    x = x.astype(np.float32)
    liquid = gaussian_blur(rng.normal(loc, scale, x.shape[:3]), sigma)
    liquid[liquid < threshold] = 0
    if not mud:
        drops = water_drops(liquid, intensity)[..., None]
        return np.clip(x + drops * WATER_COLOUR, 0, 1) * 255
    mask = gaussian_blur((liquid > threshold).astype(np.float32), intensity)
    mask[mask < 0.8] = 0
    mask = mask[..., None]
    return np.clip(x * (1 - mask) + MUD_COLOUR * mask, 0, 1) * 255


# --------------------------------------------------------------------------- digital


def _brightness(x, shift, rng):
    return np.clip(shift_hsv(x, 2, 1.0, shift), 0, 1) * 255


def _saturate(x, params, rng):
    return np.clip(shift_hsv(x, 1, *params), 0, 1) * 255


def _contrast(x, factor, rng):
    means = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - means) * factor + means, 0, 1) * 255


def _elastic_transform(x, params, rng):
    alpha, sigma, shift = params
    x = x.astype(np.float32)
    n = len(x)
    batch, rows, cols, chans = np.meshgrid(
        np.arange(n), np.arange(32), np.arange(32), np.arange(3), indexing="ij"
    )
    # Random affine (cv2.getAffineTransform + warpAffine, reflect-101): points are (x, y).
    source_points = np.array([[26, 26], [26, 6], [6, 6]], dtype=np.float32)
    moved = source_points + rng.uniform(-shift, shift, (n, 3, 2)).astype(np.float32)  # float32
    x = warp_affine(x, affine_from_points(source_points, moved))
    # Elastic displacement: smoothed uniform noise times alpha, reflect sampling.
    dx = gaussian_blur(rng.uniform(-1, 1, (n, 32, 32)), sigma, 3, "reflect") * alpha
    dy = gaussian_blur(rng.uniform(-1, 1, (n, 32, 32)), sigma, 3, "reflect") * alpha
    dx = dx.astype(np.float32)[..., None]
    dy = dy.astype(np.float32)[..., None]
    coords = [batch, rows + dy, cols + dx, chans]
    out = ndimage.map_coordinates(x, coords, order=1, mode="reflect")
    return np.clip(out, 0, 1) * 255


def _pil_each(images: np.ndarray, edit: Callable[[Image.Image], Image.Image]) -> np.ndarray:
    return np.stack([np.asarray(edit(Image.fromarray(image))) for image in images])


def _pixelate(x, factor, rng):
    size = int(32 * factor)
    box = Image.Resampling.BOX
    return _pil_each(
        _to_uint8_exact(x), lambda im: im.resize((size, size), box).resize((32, 32), box)
    )


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(buffer)


def _jpeg_compression(x, quality, rng):
    return _pil_each(_to_uint8_exact(x), lambda im: _jpeg(im, quality))


def _to_uint8_exact(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 255).astype(np.uint8)


_FUNCTIONS: dict[str, Callable[[np.ndarray, object, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "defocus_blur": _defocus_blur,
    "glass_blur": _glass_blur,
    "motion_blur": _motion_blur,
    "zoom_blur": _zoom_blur,
    "snow": _snow,
    "frost": _frost,
    "fog": _fog,
    "brightness": _brightness,
    "contrast": _contrast,
    "elastic_transform": _elastic_transform,
    "pixelate": _pixelate,
    "jpeg_compression": _jpeg_compression,
    "speckle_noise": _speckle_noise,
    "gaussian_blur": _gaussian_blur,
    "spatter": _spatter,
    "saturate": _saturate,
}


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"expected uint8 images of shape (N, 32, 32, 3), got {images.shape}")
    return images


def corrupt(images: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Apply corruption ``name`` at ``severity`` (1..5) to uint8 (N, 32, 32, 3) images.

    Every image gets its own random draws from ``rng``; the result is uint8, truncated.
    """
    images = _check_images(images)
    if name not in _FUNCTIONS:
        raise SettingsError(f"unknown corruption {name!r}; choose from {CORRUPTIONS}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be 1..5, got {severity}")
    if len(images) == 0:
        return images.copy()
    params = PARAMS[name][severity - 1]
    out = _FUNCTIONS[name](images / 255.0, params, rng)
    return np.asarray(out).astype(np.uint8)


def name_key(name: str) -> int:
    """Stable 64-bit integer for a name (SHA-256 based; unlike ``hash()`` it never changes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def chunk_rng(seed: int, name: str, *parts: int) -> np.random.Generator:
    """Generator for one (seed, name, parts...) cell, independent of every other cell."""
    return np.random.default_rng(np.random.SeedSequence([seed, name_key(name), *parts]))


def write_npy_chunks(
    path: str | os.PathLike, shape: tuple[int, ...], blocks: Iterator[tuple[slice, np.ndarray]]
) -> None:
    """Atomically write a uint8 ``.npy`` of ``shape`` filled block by block (memory-mapped)."""
    with atomic_path(path) as tmp:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        for where, block in blocks:
            array[where] = block
        array.flush()
        del array


def _chunks(count: int) -> Iterator[tuple[int, slice]]:
    for index, start in enumerate(range(0, count, CHUNK_SIZE)):
        yield index, slice(start, min(start + CHUNK_SIZE, count))


def write_corruption(images: np.ndarray, name: str, seed: int,
                     path: str | os.PathLike) -> None:
    """Write one CIFAR-10-C file: ``images`` under corruption ``name`` at severities 1 to 5,
    (5N, 32, 32, 3) uint8 severity-major, atomically to ``path``.

    Chunk k of severity s is drawn from SeedSequence([seed, key(name), s, k]), so the file
    depends only on (images, seed, name).
    """
    images = _check_images(images)
    if name not in _FUNCTIONS:
        raise SettingsError(f"unknown corruption {name!r}; choose from {CORRUPTIONS}")
    count = len(images)

    def blocks() -> Iterator[tuple[slice, np.ndarray]]:
        for severity in SEVERITIES:
            base = (severity - 1) * count
            for index, part in _chunks(count):
                rng = chunk_rng(seed, name, severity, index)
                where = slice(base + part.start, base + part.stop)
                yield where, corrupt(images[part], name, severity, rng)

    write_npy_chunks(path, (5 * count, 32, 32, 3), blocks())


def corruption_grid(
    images: np.ndarray, path: str | os.PathLike, seed: int, names: Sequence[str] = CORRUPTIONS
) -> None:
    """Save a labelled PNG grid: one row per corruption, columns clean + severities 1..5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = _check_images(images)
    columns = [("clean", None)] + [(f"s{s}", s) for s in SEVERITIES]
    n_cols = len(columns) * len(images)
    fig, axes = plt.subplots(
        len(names), n_cols, figsize=(0.75 * n_cols + 1.4, 0.8 * len(names) + 0.4), squeeze=False
    )
    for row, name in enumerate(names):
        panels = [images] + [corrupt(images, name, s, chunk_rng(seed, name, s)) for s in SEVERITIES]
        for i in range(len(images)):
            for j, (title, _) in enumerate(columns):
                ax = axes[row, i * len(columns) + j]
                ax.imshow(panels[j][i], interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(title, fontsize=8)
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=0.14, right=0.99, top=0.97, bottom=0.01, wspace=0.05, hspace=0.08)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)

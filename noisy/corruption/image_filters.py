"""Batched image primitives shared by the CIFAR-10-C and CIFAR-10-P generators.

NumPy/SciPy/Pillow re-implementations of what Hendrycks' scripts take from OpenCV,
scikit-image and ImageMagick. Batches have shape (N, H, W) or (N, H, W, C); axis 0
is never filtered across.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as cv2.COLOR_RGB2GRAY
WATER_COLOUR = (np.array([175, 238, 238]) / 255.0).astype(np.float32)  # pale turquoise (spatter)


def _spatial(value: float, ndim: int) -> tuple[float, ...]:
    """Per-axis parameter that acts on the two spatial axes of a batch only."""
    return (0.0, value, value) + (0.0,) * (ndim - 3)


def gaussian_blur(
    images: np.ndarray, sigma: float, truncate: float = 4.0, mode: str = "nearest"
) -> np.ndarray:
    """Spatial Gaussian blur like ``skimage.filters.gaussian`` (default edge mode 'nearest')."""
    return ndimage.gaussian_filter(
        images, sigma=_spatial(sigma, images.ndim), mode=mode, truncate=truncate
    )


def motion_blur(images: np.ndarray, radius: float, sigma: float, angles: np.ndarray) -> np.ndarray:
    """ImageMagick ``MotionBlurImage`` on 0..255 images, one angle (degrees) per image.

    One-sided Gaussian line kernel: weight exp(-i^2 / 2 sigma^2) for i = 0 .. 2*ceil(radius),
    taken at offset (ceil(i cos a - 0.5), ceil(i sin a - 0.5)) (x right, y down), with edge
    replication. As ImageMagick 6.9.11-60 Q16 does, the sum runs on 16-bit quanta (257 v),
    is rounded to a quantum, and the 8-bit output is floor(quantum / 257).
    """
    width = 2 * math.ceil(radius) + 1
    steps = np.arange(width)
    weights = np.exp(-(steps**2) / (2.0 * sigma**2))
    weights /= weights.sum()
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64))[:, None]
    col_offsets = np.ceil(steps * np.cos(theta) - 0.5).astype(np.intp)
    row_offsets = np.ceil(steps * np.sin(theta) - 0.5).astype(np.intp)
    n, height, wid = images.shape[:3]
    batch = np.arange(n)[:, None, None]
    rows = np.arange(height)[None, :, None]
    cols = np.arange(wid)[None, None, :]
    out = np.zeros(images.shape, dtype=np.float64)
    for step in range(width):
        src_rows = np.clip(rows + row_offsets[:, step, None, None], 0, height - 1)
        src_cols = np.clip(cols + col_offsets[:, step, None, None], 0, wid - 1)
        out += weights[step] * (257.0 * images[batch, src_rows, src_cols])
    return np.floor(np.floor(out + 0.5) / 257)


def clipped_zoom(images: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre of square images by ``factor`` (bilinear), cropped back to size."""
    size = images.shape[1]
    crop = int(np.ceil(size / factor))
    top = (size - crop) // 2
    zoom = (1.0, factor, factor) + (1.0,) * (images.ndim - 3)
    zoomed = ndimage.zoom(images[:, top : top + crop, top : top + crop], zoom, order=1)
    trim = (zoomed.shape[1] - size) // 2
    return zoomed[:, trim : trim + size, trim : trim + size]


def plasma_fractal(
    count: int, mapsize: int, wibble_decay: float, rng: np.random.Generator
) -> np.ndarray:
    """Diamond-square height maps (count, mapsize, mapsize) scaled to [0, 1] (toroidal means)."""
    maps = np.zeros((count, mapsize, mapsize))
    step = mapsize
    wibble = 100.0
    while step >= 2:
        half = step // 2
        corners = maps[:, ::step, ::step]
        squares = corners + np.roll(corners, -1, axis=1)
        squares = squares + np.roll(squares, -1, axis=2)
        maps[:, half::step, half::step] = squares / 4 + wibble * rng.uniform(
            -wibble, wibble, squares.shape
        )
        centres = maps[:, half::step, half::step]
        corners = maps[:, ::step, ::step]
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maps[:, ::step, half::step] = left / 4 + wibble * rng.uniform(-wibble, wibble, left.shape)
        top = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maps[:, half::step, ::step] = top / 4 + wibble * rng.uniform(-wibble, wibble, top.shape)
        step = half
        wibble /= wibble_decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] to HSV in [0, 1], with scikit-image's conventions (grey: H = S = 0)."""
    value = rgb.max(axis=-1)
    delta = value - rgb.min(axis=-1)
    grey = delta == 0
    safe_delta = np.where(grey, 1.0, delta)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(
        blue == value,
        4.0 + (red - green) / safe_delta,
        np.where(
            green == value,
            2.0 + (blue - red) / safe_delta,
            (green - blue) / safe_delta,
        ),
    )
    hue = np.where(grey, 0.0, (hue / 6.0) % 1.0)
    saturation = np.where(grey, 0.0, delta / np.where(value == 0, 1.0, value))
    return np.stack([hue, saturation, value], axis=-1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsv` (scikit-image's sector formulas)."""
    hue, sat, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    sector = np.floor(hue * 6.0)
    frac = hue * 6.0 - sector
    p = value * (1 - sat)
    q = value * (1 - frac * sat)
    t = value * (1 - (1 - frac) * sat)
    sector = sector.astype(np.int64) % 6
    table = np.stack(
        [
            np.stack([value, t, p], -1),
            np.stack([q, value, p], -1),
            np.stack([p, value, t], -1),
            np.stack([p, q, value], -1),
            np.stack([t, p, value], -1),
            np.stack([value, p, q], -1),
        ]
    )
    return np.take_along_axis(table, sector[None, ..., None], axis=0)[0]


def shift_hsv(images01: np.ndarray, channel: int, scale: float, offset: float) -> np.ndarray:
    """Set HSV channel ``channel`` to clip(channel * scale + offset, 0, 1); return RGB in [0, 1]."""
    hsv = rgb_to_hsv(images01)
    hsv[..., channel] = np.clip(hsv[..., channel] * scale + offset, 0, 1)
    return hsv_to_rgb(hsv)


def pil_affine(
    image: np.ndarray,
    angle: float = 0.0,
    translate: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    resample: Image.Resampling = Image.Resampling.BILINEAR,
) -> np.ndarray:
    """torchvision-0.2 ``affine`` of one uint8 (H, W, C) image via Pillow (fill 0).

    As in torchvision 0.2 the centre is (W/2 + 0.5, H/2 + 0.5) in Pillow coordinates.
    """
    height, width = image.shape[:2]
    centre_x, centre_y = width * 0.5 + 0.5, height * 0.5 + 0.5
    rad = math.radians(angle)
    a, b = math.cos(rad) / scale, math.sin(rad) / scale
    d, e = -math.sin(rad) / scale, math.cos(rad) / scale
    shift_x, shift_y = -centre_x - translate[0], -centre_y - translate[1]
    matrix = (
        a,
        b,
        a * shift_x + b * shift_y + centre_x,
        d,
        e,
        d * shift_x + e * shift_y + centre_y,
    )
    out = Image.fromarray(image).transform(
        (width, height), Image.Transform.AFFINE, matrix, resample=resample, fillcolor=0
    )
    return np.asarray(out)


def affine_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``cv2.getAffineTransform`` for one set of 3 source points and (N, 3, 2) destinations.

    Solves OpenCV's 6x6 system with its LU (partial pivoting, row operations in float64),
    so the (N, 2, 3) matrices agree with OpenCV's to the last bit.
    """
    dst = np.asarray(dst, dtype=np.float64)
    a = np.zeros((6, 6))
    for i, (x, y) in enumerate(np.asarray(src, dtype=np.float64)):
        a[2 * i, :3] = a[2 * i + 1, 3:] = (x, y, 1.0)
    b = dst.reshape(len(dst), 6).copy()  # (x0, y0, x1, y1, x2, y2) per image
    for i in range(6):
        pivot = i
        for j in range(i + 1, 6):  # the first strictly larger magnitude wins, as in OpenCV
            if abs(a[j, i]) > abs(a[pivot, i]):
                pivot = j
        a[[i, pivot], i:] = a[[pivot, i], i:]
        b[:, [i, pivot]] = b[:, [pivot, i]]
        d = -1 / a[i, i]
        for j in range(i + 1, 6):
            alpha = a[j, i] * d
            a[j, i + 1 :] += alpha * a[i, i + 1 :]
            b[:, j] += alpha * b[:, i]
    for i in range(5, -1, -1):
        total = b[:, i].copy()
        for k in range(i + 1, 6):
            total -= a[i, k] * b[:, k]
        b[:, i] = total / a[i, i]
    return b.reshape(len(dst), 2, 3)


def _reflect101(index: np.ndarray, size: int) -> np.ndarray:
    """OpenCV's BORDER_REFLECT_101 index for any integer position."""
    index = np.abs(index) % (2 * size - 2)
    return np.where(index < size, index, 2 * size - 2 - index)


def warp_affine(images: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """``cv2.warpAffine`` (bilinear, BORDER_REFLECT_101) of float32 (N, H, W, C) images.

    ``matrices`` (N, 2, 3) map source to destination (x, y). As OpenCV: the inverse map is
    evaluated in 1/1024 pixel fixed point, rounded to 1/32 pixel, and the four taps are
    weighted in float32.
    """
    n, height, width, _ = images.shape
    (a, b, tx), (d, e, ty) = np.moveaxis(np.asarray(matrices, dtype=np.float64), (1, 2), (0, 1))
    det = a * e - b * d
    det = np.divide(1.0, det, out=np.zeros_like(det), where=det != 0)
    inv_a, inv_b, inv_d, inv_e = e * det, b * -det, d * -det, a * det
    inv_tx = -inv_a * tx - inv_b * ty
    inv_ty = -inv_d * tx - inv_e * ty
    cols = np.arange(width, dtype=np.float64)
    rows = np.arange(height, dtype=np.float64)
    fixed = []
    for lin_x, lin_y, shift in ((inv_a, inv_b, inv_tx), (inv_d, inv_e, inv_ty)):
        start = np.rint((lin_y[:, None] * rows + shift[:, None]) * 1024).astype(np.int64) + 16
        step = np.rint(lin_x[:, None] * cols * 1024).astype(np.int64)
        fixed.append((start[:, :, None] + step[:, None, :]) >> 5)  # (N, H, W) in 1/32 pixel
    batch = np.arange(n)[:, None, None]
    fractions = [(f & 31).astype(np.float32) * np.float32(1 / 32) for f in fixed]
    taps = []
    for dy in (0, 1):
        for dx in (0, 1):
            wy = fractions[1] if dy else 1 - fractions[1]
            wx = fractions[0] if dx else 1 - fractions[0]
            r = _reflect101((fixed[1] >> 5) + dy, height)
            c = _reflect101((fixed[0] >> 5) + dx, width)
            taps.append(images[batch, r, c] * (wy * wx)[..., None])
    return ((taps[0] + taps[1]) + taps[2]) + taps[3]


def invert3(matrix: np.ndarray) -> np.ndarray:
    """``cv2.invert`` of a 3x3 matrix (its closed-form cofactor path, in float64)."""
    m = np.asarray(matrix, dtype=np.float64)
    det = (
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
        - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
        + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0])
    )
    scale = 1.0 / det

    def cofactor(i: int, j: int) -> float:
        r1, r2, c1, c2 = (j + 1) % 3, (j + 2) % 3, (i + 1) % 3, (i + 2) % 3
        return (m[r1, c1] * m[r2, c2] - m[r1, c2] * m[r2, c1]) * scale

    return np.array([[cofactor(i, j) for j in range(3)] for i in range(3)])


def warp_perspective(images: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``cv2.warpPerspective`` of uint8 (N, H, W, C) images: bilinear, black border.

    As OpenCV: source positions are rounded to 1/32 pixel, the four taps weighted in 15-bit
    fixed point (taps outside the image count as 0) and the sum rounded to uint8.
    """
    n, height, width, channels = images.shape
    inv = invert3(matrix)
    rows = np.arange(height, dtype=np.float64)[:, None]
    cols = np.arange(width, dtype=np.float64)[None, :]
    weight = inv[2, 1] * rows + inv[2, 2] + inv[2, 0] * cols
    weight = np.divide(32.0, weight, out=np.zeros_like(weight), where=weight != 0)
    fixed = []
    for r in (0, 1):
        pos = (inv[r, 1] * rows + inv[r, 2] + inv[r, 0] * cols) * weight
        fixed.append(np.rint(np.clip(pos, -(2**31), 2**31 - 1)).astype(np.int64))
    src_cols, src_rows = fixed[0] >> 5, fixed[1] >> 5
    frac_x, frac_y = fixed[0] & 31, fixed[1] & 31
    padded = np.zeros((n, height + 2, width + 2, channels), dtype=np.int64)
    padded[:, 1:-1, 1:-1] = images
    total = np.full(images.shape, 1 << 14, dtype=np.int64)
    for dy, wy in ((0, 32 - frac_y), (1, frac_y)):
        for dx, wx in ((0, 32 - frac_x), (1, frac_x)):
            r = np.clip(src_rows + dy, -1, height) + 1  # outside -> a zero pad pixel
            c = np.clip(src_cols + dx, -1, width) + 1
            total += padded[:, r, c] * (wy * wx * 32)[None, :, :, None]
    return np.clip(total >> 15, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- spatter (water)


def _correlate_reflect101(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D correlation of (N, H, W) with OpenCV's default border (reflect-101)."""
    return ndimage.correlate(images, kernel[None], mode="mirror")


def box_blur3(images: np.ndarray) -> np.ndarray:
    """``cv2.blur(x, (3, 3))`` before its output cast: the exact 3x3 sum in float64 times 1/9."""
    return _correlate_reflect101(images.astype(np.float64), np.ones((3, 3))) * (1 / 9)


def canny(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """``cv2.Canny`` (3x3 Sobel, L1 magnitude, hysteresis) of uint8 (N, H, W); bool edges."""
    padded = np.pad(images.astype(np.int64), ((0, 0), (1, 1), (1, 1)), mode="edge")
    height, width = images.shape[1:]

    def at(grid: np.ndarray, dr: int, dc: int) -> np.ndarray:
        return grid[:, 1 + dr : 1 + dr + height, 1 + dc : 1 + dc + width]

    gx = at(padded, -1, 1) + 2 * at(padded, 0, 1) + at(padded, 1, 1)
    gx -= at(padded, -1, -1) + 2 * at(padded, 0, -1) + at(padded, 1, -1)
    gy = at(padded, 1, -1) + 2 * at(padded, 1, 0) + at(padded, 1, 1)
    gy -= at(padded, -1, -1) + 2 * at(padded, -1, 0) + at(padded, -1, 1)
    mag = np.abs(gx) + np.abs(gy)
    mp = np.pad(mag, ((0, 0), (1, 1), (1, 1)))
    # OpenCV's fixed-point direction test: tan(22.5 deg) * 2^15 = 13573.
    tg22 = np.abs(gx) * 13573
    ys = np.abs(gy) << 15
    horizontal = ys < tg22
    vertical = ys > tg22 + (np.abs(gx) << 16)
    diagonal = ~horizontal & ~vertical
    same_sign = (gx ^ gy) >= 0
    peak = horizontal & (mag > at(mp, 0, -1)) & (mag >= at(mp, 0, 1))
    peak |= vertical & (mag > at(mp, -1, 0)) & (mag >= at(mp, 1, 0))
    peak |= diagonal & same_sign & (mag > at(mp, -1, -1)) & (mag > at(mp, 1, 1))
    peak |= diagonal & ~same_sign & (mag > at(mp, -1, 1)) & (mag > at(mp, 1, -1))
    candidate = peak & (mag > low)
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = True
    labels, _ = ndimage.label(candidate, structure=structure)
    strong = np.unique(labels[candidate & (mag > high)])
    return np.isin(labels, strong[strong > 0])


def chamfer_distance(features: np.ndarray) -> np.ndarray:
    """``cv2.distanceTransform(DIST_L2, 5)``: 5x5 chamfer distance to the nearest True pixel.

    float32 like OpenCV 4.8: every candidate is float32(neighbour + cost), scanned pixel by
    pixel within a row (forward pass from the top left, backward pass from the bottom right).
    """
    a, b, c = np.float32(1.0), np.float32(1.4), np.float32(2.1969)
    n, height, width = features.shape
    padded = np.full((n, height + 4, width + 4), np.inf, dtype=np.float32)
    padded[:, 2:-2, 2:-2] = np.where(features, 0.0, np.inf)
    neighbours = ((1, -1, b), (1, 0, a), (1, 1, b), (1, -2, c), (1, 2, c), (2, -1, c), (2, 1, c))
    for sign in (1, -1):  # forward pass (from above/left), then backward (from below/right)
        order = range(height) if sign == 1 else range(height - 1, -1, -1)
        for row in order:
            r = row + 2
            best = padded[:, r, 2:-2]
            for dr, dc, cost in neighbours:
                shifted = padded[:, r - sign * dr, 2 + sign * dc : 2 + sign * dc + width]
                best = np.minimum(best, shifted + cost)
            columns = range(1, width) if sign == 1 else range(width - 2, -1, -1)
            for col in columns:  # in-row chaining from the pixel just scanned
                best[:, col] = np.minimum(best[:, col], best[:, col - sign] + a)
            padded[:, r, 2:-2] = best
    return padded[:, 2:-2, 2:-2]


def equalize_hist(images: np.ndarray) -> np.ndarray:
    """``cv2.equalizeHist`` of each uint8 (H, W) image in a batch."""
    n = images.shape[0]
    flat = images.reshape(n, -1).astype(np.int64)
    total = flat.shape[1]
    hist = np.bincount((flat + 256 * np.arange(n)[:, None]).ravel(), minlength=256 * n)
    hist = hist.reshape(n, 256)
    first = np.argmax(hist > 0, axis=1)
    first_count = hist[np.arange(n), first]
    cumulative = np.cumsum(hist, axis=1) - first_count[:, None]
    # float32 scale and product, rounded half to even, as OpenCV
    scale = np.float32(255) / np.maximum(total - first_count, 1).astype(np.float32)
    lut = np.clip(np.rint(cumulative.astype(np.float32) * scale[:, None]), 0, 255)
    lut[np.arange(256)[None, :] <= first[:, None]] = 0
    constant = first_count == total
    lut[constant] = first[constant, None]
    return np.take_along_axis(lut, flat, axis=1).reshape(images.shape).astype(np.uint8)


_EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)


def water_drops(liquid: np.ndarray, intensity: float) -> np.ndarray:
    """Spatter's float32 water-drop mask (N, H, W) from a thresholded liquid layer in [0, 1]."""
    liquid8 = (np.clip(liquid, 0, 1) * 255).astype(np.uint8)
    dist = np.minimum(chamfer_distance(canny(liquid8, 50, 150)), np.float32(20))
    dist = box_blur3(dist).astype(np.float32).astype(np.uint8)
    dist = equalize_hist(dist)
    dist = np.clip(np.rint(_correlate_reflect101(dist.astype(np.float64), _EMBOSS)), 0, 255)
    mask = liquid8 * np.rint(box_blur3(dist)).astype(np.float32)
    peak = mask.max(axis=(1, 2), keepdims=True)
    drops = np.divide(mask, peak, out=np.zeros_like(mask), where=peak > 0)
    return drops * np.float32(intensity)

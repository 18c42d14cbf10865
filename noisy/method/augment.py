"""Batched input noise on uint8 image tensors: RandAugment, crop/flip, standardize, mixup.

The network's input is standardized images, ``(x - MEAN) / STD`` per channel, from float
images in [0, 1] (:func:`standardize`, the FGSM attack's path) or from uint8 images
(:func:`standardize_uint8`, training, prediction and evaluation).

All functions take a whole batch ``(B, 3, H, W)`` of uint8 images on any device, without
per-image Python loops. All randomness comes from an explicit ``torch.Generator`` on the
images' device. Every op matches the paper's PIL implementation (:mod:`noisy.method.pil_augment`)
pixel for pixel, including Pillow's fixed-point nearest-neighbour affine resampling.

One RandAugment round draws an op per sample. Two code paths give identical images:

- batched (default off the CPU): no host synchronisation, so a GPU queues it
  asynchronously; three stages each run on the whole batch, leaving a sample unchanged
  unless its op belongs to the stage: (1) pixel ops (auto-contrast, equalize, invert,
  posterize, solarize, solarize-add) as a per-sample, per-channel 256-entry table applied
  by one gather; (2) enhance ops (color/contrast/brightness/sharpness) as one blend with a
  per-sample degenerate image and factor; (3) shear/translate/rotate as a per-sample
  fixed-point affine map and cutout as a box pointing at a grey pixel, resolved by one
  gather into which :class:`TrainAugment` folds the random crop and flip;
- grouped (default on the CPU, where reading the op counts costs nothing): the samples are
  sorted by op and each op runs only on its own samples (the warp ops share one gather),
  single-threaded; crop and flip follow as one gather.
"""

from __future__ import annotations

import contextlib
import functools

import torch

MEAN = (0.4913, 0.4821, 0.4465)
STD = (0.2470, 0.2434, 0.2615)

# Value range of each op; RandAugment magnitude m in 0..30 maps to m/30*(max-min)+min.
OP_RANGES: dict[str, tuple[float, float]] = {
    "identity": (0.0, 1.0),
    "auto_contrast": (0.0, 1.0),
    "equalize": (0.0, 1.0),
    "invert": (0.0, 1.0),
    "rotate": (0.0, 30.0),
    "posterize": (0.0, 4.0),
    "solarize": (0.0, 256.0),
    "solarize_add": (0.0, 110.0),
    "color": (0.1, 1.9),
    "contrast": (0.1, 1.9),
    "brightness": (0.1, 1.9),
    "sharpness": (0.1, 1.9),
    "shear_x": (0.0, 0.3),
    "shear_y": (0.0, 0.3),
    "cutout": (0.0, 0.2),
    "translate_x": (0.0, 0.33),
    "translate_y": (0.0, 0.33),
}
OP_NAMES: tuple[str, ...] = tuple(OP_RANGES)
GEOMETRIC_OPS = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
SIGNED_OPS = frozenset(GEOMETRIC_OPS)
MAX_MAGNITUDE = 30
CUTOUT_FILL = (125, 123, 114)

_OP = {name: index for index, name in enumerate(OP_NAMES)}
_FIX_ONE = 65536  # Pillow's 16.16 fixed-point affine resampling


@functools.cache
def _constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small constant tensor on ``device``, made once per device and never written to.

    Made on every step, each would be a copy from pageable host memory, which makes the
    host wait for the GPU: the batched path would no longer queue asynchronously. Made
    outside inference mode even when first asked for inside it (an inference tensor could
    not be used where autograd records, as FGSM's gradient does).
    """
    with torch.inference_mode(False):
        return torch.tensor(values, dtype=dtype, device=device)


def op_value(name: str, m: float) -> float:
    """Unsigned value of op ``name`` at magnitude ``m`` (0..30), as the paper computes it."""
    low, high = OP_RANGES[name]
    return (float(m) / MAX_MAGNITUDE) * float(high - low) + low


def _is(op: torch.Tensor, *names: str) -> torch.Tensor:
    mask = op == _OP[names[0]]
    for name in names[1:]:
        mask = mask | (op == _OP[name])
    return mask


def _fix(v: torch.Tensor) -> torch.Tensor:
    return torch.floor(v * _FIX_ONE + 0.5).long()


def _round15(v: torch.Tensor) -> torch.Tensor:
    return torch.round(v, decimals=15)


def _affine_coefficients(op: torch.Tensor, value: torch.Tensor, height: int,
                         width: int) -> torch.Tensor:
    """Per-sample 16.16 fixed-point inverse affine map (B, 6) of Pillow's AFFINE/rotate."""
    one, zero = torch.ones_like(value), torch.zeros_like(value)
    b = torch.where(_is(op, "shear_x"), value, zero)
    d = torch.where(_is(op, "shear_y"), value, zero)
    c = torch.where(_is(op, "translate_x"), value * width, zero)
    f = torch.where(_is(op, "translate_y"), value * height, zero)
    # Image.rotate: inverse rotation about the centre, coefficients rounded to 15 decimals.
    angle = -torch.deg2rad(torch.remainder(value, 360.0))
    cos, sin = _round15(torch.cos(angle)), _round15(torch.sin(angle))
    cx, cy = width / 2, height / 2
    rotate = _is(op, "rotate")
    a, e = torch.where(rotate, cos, one), torch.where(rotate, cos, one)
    b, d = torch.where(rotate, sin, b), torch.where(rotate, _round15(-torch.sin(angle)), d)
    c = torch.where(rotate, a * -cx + b * -cy + 0.0 + cx, c)
    f = torch.where(rotate, d * -cx + e * -cy + 0.0 + cy, f)
    coeffs = torch.stack([_fix(a), _fix(b), _fix(c + a * 0.5 + b * 0.5),
                          _fix(d), _fix(e), _fix(f + d * 0.5 + e * 0.5)], dim=1)
    # Pillow resamples pure translations (b == d == 0) in floating point instead:
    # source = output + floor(offset + 0.5), written here in the same fixed-point form.
    unit, none = torch.full_like(op, _FIX_ONE), torch.zeros_like(op)
    exact = torch.stack([unit, none, torch.floor(c + 0.5).long() * _FIX_ONE,
                         none, unit, torch.floor(f + 0.5).long() * _FIX_ONE], dim=1)
    return torch.where(((b == 0) & (d == 0))[:, None], exact, coeffs)


def _warp(images: torch.Tensor, op: torch.Tensor, value: torch.Tensor, centers: torch.Tensor,
          crop: tuple[torch.Tensor, torch.Tensor, int] | None = None) -> torch.Tensor:
    """Geometric ops (black fill) and cutout, then optionally crop/flip, as one gather.

    ``crop`` is (offsets (B, 2) as (y, x), flip (B,), padding) of a zero-padded crop.
    """
    batch, channels, height, width = images.shape
    device = images.device
    # output pixel -> pixel of the (uncropped) augmented image
    qx = torch.arange(width, device=device).view(1, 1, width)
    qy = torch.arange(height, device=device).view(1, height, 1)
    if crop is not None:
        offsets, flip, padding = crop
        qx = torch.where(flip.view(-1, 1, 1), width - 1 - qx, qx)
        qx = qx + (offsets[:, 1] - padding).view(-1, 1, 1)
        qy = qy + (offsets[:, 0] - padding).view(-1, 1, 1)
    # augmented pixel -> source pixel, exactly as Pillow's fixed-point loop
    k = _affine_coefficients(op, value, height, width).int().view(batch, 6, 1, 1)
    qx, qy = qx.int(), qy.int()
    src_x = ((k[:, 2] + k[:, 0] * qx) + k[:, 1] * qy) >> 16
    src_y = ((k[:, 5] + k[:, 3] * qx) + k[:, 4] * qy) >> 16
    # Source frame padded by 2: out-of-image sources clamp onto the zero ring at distance 1;
    # the outer corner (index 0) holds the cutout grey.
    frame_width = width + 4
    index = (src_y.clamp_(-1, height) + 2) * frame_width + src_x.clamp_(-1, width) + 2
    x0, y0, x1, y1, active = _cutout_boxes(op, value, centers, height, width)
    boxed = ((qx >= x0) & (qx <= x1)) & ((qy >= y0) & (qy <= y1)) & active
    index = torch.where(boxed, 0, index)
    if crop is not None:
        outside = (qx < 0) | (qx >= width) | (qy < 0) | (qy >= height)
        index = torch.where(outside, frame_width + 1, index)
    frame = torch.nn.functional.pad(images, (2, 2, 2, 2))
    frame[:, :, 0, 0] = _constant(CUTOUT_FILL, torch.uint8, device)
    index = index.long().view(batch, 1, height * width).expand(batch, channels, height * width)
    return frame.view(batch, channels, -1).gather(2, index).view(batch, channels, height, width)


def _cutout_boxes(op: torch.Tensor, value: torch.Tensor, centers: torch.Tensor, height: int,
                  width: int):
    """Inclusive cutout boxes (B, 1, 1) of side ``value * W``, as Pillow's rectangle."""
    side = value * width
    x0 = torch.floor(torch.clamp(centers[:, 0] - side / 2, min=0))
    y0 = torch.floor(torch.clamp(centers[:, 1] - side / 2, min=0))
    x1 = torch.floor(torch.clamp(x0 + side, max=width))
    y1 = torch.floor(torch.clamp(y0 + side, max=height))
    active = _is(op, "cutout") & (value > 0)
    return tuple(t.view(-1, 1, 1) for t in (x0, y0, x1, y1, active))


def _crop_flip(images: torch.Tensor, crop: tuple[torch.Tensor, torch.Tensor, int]):
    """Zero-padded crop at ``offsets`` (y, x), then flip, as one gather (``_warp``'s crop)."""
    offsets, flip, padding = crop
    batch, channels, height, width = images.shape
    frame = torch.nn.functional.pad(images, (padding,) * 4)
    frame_width = width + 2 * padding
    qx = torch.arange(width, device=images.device)
    qx = torch.where(flip.view(-1, 1), width - 1 - qx, qx) + offsets[:, 1:]
    rows = (torch.arange(height, device=images.device) + offsets[:, :1]) * frame_width
    index = (rows.view(batch, height, 1) + qx.view(batch, 1, width)).view(batch, 1, -1)
    index = index.expand(batch, channels, height * width)
    return frame.view(batch, channels, -1).gather(2, index).view(images.shape)


# Pixel ops as 256-entry tables: (images (B, C, H, W) uint8, value (B, 1, 1) float64,
# levels (256,) int32) -> table (B, 1 or C, 256) int32.
def _invert_table(images, value, levels):
    return (255 - levels).expand(images.shape[0], 1, 256)


def _posterize_table(images, value, levels):
    """Keep ``max(1, int(value))`` bits, as the original code (never a black image)."""
    return levels & -(1 << (8 - torch.clamp(torch.trunc(value), 1, 8).int()))


def _solarize_table(images, value, levels):
    return torch.where(levels.double() < value, levels, 255 - levels)


def _solarize_add_table(images, value, levels):
    added = torch.trunc(torch.clamp(levels.double() + value, 0, 255)).int()
    return torch.where(added < 128, added, 255 - added)


def _auto_contrast_table(images, value, levels):
    """Stretch each channel's [min, max] to [0, 255] in double, as Pillow."""
    flat = images.flatten(2)
    low = flat.amin(dim=2, keepdim=True).double()
    high = flat.amax(dim=2, keepdim=True)
    # tensor / tensor: a Python scalar numerator would become reciprocal * 255 (1 ulp off)
    scale = torch.full_like(low, 255.0) / (high - low)
    stretched = torch.clamp(torch.trunc(levels.double() * scale - low * scale), 0, 255).int()
    return torch.where(high > low, stretched, levels)


def _equalize_table(images, value, levels):
    """Pillow's histogram-equalisation table, per channel."""
    batch, channels, height, width = images.shape
    codes = images.reshape(batch, channels, height * width).long()
    histogram = torch.zeros(batch, channels, 256, device=images.device, dtype=torch.int32)
    histogram.scatter_add_(2, codes, torch.ones((), dtype=torch.int32,
                                                device=images.device).expand_as(codes))
    high = codes.amax(dim=2, keepdim=True)
    step = (height * width - histogram.gather(2, high)) // 255
    below = torch.cumsum(histogram, dim=2, dtype=torch.int32).sub_(histogram)
    equalized = below.add_(step // 2).div_(torch.clamp(step, min=1), rounding_mode="floor")
    return torch.where(step > 0, equalized.clamp_(max=255), levels)


_TABLES = {"invert": _invert_table, "posterize": _posterize_table,
           "solarize": _solarize_table, "solarize_add": _solarize_add_table,
           "auto_contrast": _auto_contrast_table, "equalize": _equalize_table}


def _apply_table(images: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    batch, channels, height, width = images.shape
    table = table.to(torch.uint8).expand(batch, channels, 256)
    codes = images.reshape(batch, channels, height * width).long()
    return table.gather(2, codes).view(images.shape)


def _pixel_tables(images: torch.Tensor, op: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Apply the pixel ops as per-sample, per-channel 256-entry tables (identity for others)."""
    levels = torch.arange(256, device=images.device, dtype=torch.int32)
    v = value.view(-1, 1, 1)
    table = levels.expand(images.shape[0], 1, 256)
    for name, build in _TABLES.items():
        table = torch.where(_is(op, name).view(-1, 1, 1), build(images, v, levels), table)
    return _apply_table(images, table)


# Enhance ops as Pillow's blend with a degenerate image: x (B, 3, H, W) float32 -> degenerate.
def _gray(x: torch.Tensor) -> torch.Tensor:
    """Pillow's RGB -> L: (19595 R + 38470 G + 7471 B + 2^15) >> 16, exact in float32."""
    gray = x[:, 0:1] * 19595
    gray.add_(x[:, 1:2], alpha=38470).add_(x[:, 2:3], alpha=7471).add_(32768)
    return gray.mul_(1 / 65536).floor_()


def _gray_mean(x: torch.Tensor) -> torch.Tensor:
    gray = _gray(x)
    mean = torch.floor(gray.sum(dim=(1, 2, 3)).double() / gray[0].numel() + 0.5)
    return mean.float().view(-1, 1, 1, 1)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """ImageFilter.SMOOTH: 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13, border pixels kept."""
    rows = x[..., :-2] + x[..., 1:-1]
    rows.add_(x[..., 2:])
    box = rows[..., :-2, :] + rows[..., 1:-1, :]
    box.add_(rows[..., 2:, :]).add_(x[..., 1:-1, 1:-1], alpha=4).mul_(1 / 13).round_()
    smooth = x.clone()
    smooth[..., 1:-1, 1:-1] = box
    return smooth


def _black(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros((), device=x.device)


_DEGENERATE = {"color": _gray, "contrast": _gray_mean, "brightness": _black,
               "sharpness": _smooth}


def _blend(x: torch.Tensor, degenerate: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``degenerate + factor * (x - degenerate)``, clamped, truncated to uint8 (float32)."""
    blended = (x - degenerate).mul_(factor.view(-1, 1, 1, 1)).add_(degenerate)
    return blended.clamp_(0, 255).to(torch.uint8)


def _enhance(images: torch.Tensor, op: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Color/contrast/brightness/sharpness (factor 1 for other ops)."""
    x = images.float()
    gray = _gray(x)
    mean = torch.floor(gray.sum(dim=(1, 2, 3)).double() / gray[0].numel() + 0.5).float()
    constant = torch.where(_is(op, "contrast"), mean, 0.0).view(-1, 1, 1, 1)
    degenerate = torch.where(_is(op, "color").view(-1, 1, 1, 1), gray, constant)
    degenerate = torch.where(_is(op, "sharpness").view(-1, 1, 1, 1), _smooth(x), degenerate)
    factor = torch.where(_is(op, *_DEGENERATE), value.float(), 1.0)
    return _blend(x, degenerate, factor)


def _round_ops(images: torch.Tensor, op: torch.Tensor, value: torch.Tensor,
               centers: torch.Tensor, crop=None) -> torch.Tensor:
    """Apply op ``op[i]`` with signed ``value[i]`` (float64) to image ``i``; then ``crop``."""
    images = _pixel_tables(images, op, value)
    images = _enhance(images, op, value)
    return _warp(images, op, value, centers, crop)


# Groups of the grouped (CPU) path: one per op, except that the warp ops share one gather.
_WARP_OPS = (*GEOMETRIC_OPS, "cutout")
_GROUP_NAMES = (*(name for name in OP_NAMES if name not in _WARP_OPS), "warp")
_OP_GROUP = [_GROUP_NAMES.index("warp" if name in _WARP_OPS else name) for name in OP_NAMES]


def _apply_group(images: torch.Tensor, name: str, op: torch.Tensor, value: torch.Tensor,
                 centers: torch.Tensor) -> torch.Tensor:
    """Op ``name`` on a group of samples; ``warp``: each sample's own geometric op/cutout."""
    if name in _TABLES:
        levels = torch.arange(256, device=images.device, dtype=torch.int32)
        return _apply_table(images, _TABLES[name](images, value.view(-1, 1, 1), levels))
    if name in _DEGENERATE:
        x = images.float()
        return _blend(x, _DEGENERATE[name](x), value.float())
    return _warp(images, op, value, centers)


def _grouped_round(images: torch.Tensor, op: torch.Tensor, value: torch.Tensor,
                   centers: torch.Tensor) -> torch.Tensor:
    """Same result as :func:`_round_ops`, computing each op only on the samples drawing it.

    Reads the op counts on the host, so it is meant for the CPU.
    """
    group = _constant(tuple(_OP_GROUP), torch.int64, op.device)[op]
    order = torch.argsort(group, stable=True)
    counts = torch.bincount(group, minlength=len(_GROUP_NAMES)).tolist()
    parts = []
    for name, members in zip(_GROUP_NAMES, order.split(counts), strict=True):
        part = images.index_select(0, members)
        if len(members) and name != "identity":
            part = _apply_group(part, name, op[members], value[members], centers[members])
        parts.append(part)
    # index_select with the inverse permutation is far cheaper than index_copy_ on CPU
    return torch.cat(parts).index_select(0, torch.argsort(order))


def _check_images(images: torch.Tensor) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 images (B, 3, H, W), got {images.dtype} "
                         f"{tuple(images.shape)}")


def _random_centers(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    batch, _, height, width = images.shape
    unit = torch.rand(batch, 2, generator=generator, device=images.device, dtype=torch.float64)
    return unit * _constant((width, height), torch.float64, images.device)


def _draw_rounds(images: torch.Tensor, n: int, m: float, generator: torch.Generator | None):
    """(op, signed value, cutout centre) of each sample for each of the ``n`` rounds."""
    device, batch = images.device, images.shape[0]
    magnitudes = _constant(tuple(op_value(name, m) for name in OP_NAMES), torch.float64,
                           device)
    signed = _constant(tuple(name in SIGNED_OPS for name in OP_NAMES), torch.bool, device)
    rounds = []
    for _ in range(n):
        op = torch.randint(len(OP_NAMES), (batch,), generator=generator, device=device)
        flip = torch.rand(batch, generator=generator, device=device) > 0.5
        value = torch.where(flip & signed[op], -magnitudes[op], magnitudes[op])
        rounds.append((op, value, _random_centers(images, generator)))
    return rounds


def _draw_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None):
    batch, device = images.shape[0], images.device
    offsets = torch.randint(2 * padding + 1, (batch, 2), generator=generator, device=device)
    flip = torch.rand(batch, generator=generator, device=device) < 0.5
    return offsets, flip, padding


@contextlib.contextmanager
def _one_cpu_thread(images: torch.Tensor):
    """One torch thread for CPU images: these small ops gain little from intra-op threads
    and stall badly on them when the cores are shared."""
    if images.device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _is_grouped(images: torch.Tensor, grouped: bool | None) -> bool:
    return images.device.type == "cpu" if grouped is None else grouped


def _augment(images: torch.Tensor, rounds: list, crop=None,
             grouped: bool | None = None) -> torch.Tensor:
    """Run the drawn RandAugment rounds, then ``crop``; both paths give identical results.

    Grouped (default on CPU): each op runs only on the samples that drew it. Otherwise every
    stage runs on the whole batch without host synchronisation and ``crop`` is fused into
    the last round's gather.
    """
    with _one_cpu_thread(images):
        if _is_grouped(images, grouped):
            for op, value, centers in rounds:
                images = _grouped_round(images, op, value, centers)
            return images if crop is None else _crop_flip(images, crop)
        if not rounds:
            return images if crop is None else _crop_flip(images, crop)
        for index, (op, value, centers) in enumerate(rounds):
            last = index == len(rounds) - 1
            images = _round_ops(images, op, value, centers, crop if last else None)
        return images


def standardize(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] (B, 3, H, W) -> the network input ``(x - MEAN) / STD``."""
    mean = _constant(MEAN, torch.float32, images.device).view(1, 3, 1, 1)
    std = _constant(STD, torch.float32, images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def standardize_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (B, 3, H, W) -> the float32 network input ``(x / 255 - MEAN) / STD``."""
    return standardize(images.float().div_(255))


def mixup(inputs: torch.Tensor, targets: torch.Tensor, alpha: float,
          generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each sample with a random partner, weight lambda_i ~ Beta(alpha, alpha) per sample.

    lambda comes from ``torch.distributions.Beta``, which draws from the device's default
    RNG (it takes no generator; a training saves that RNG's state too, so a resumed run
    draws the same); the partners come from ``generator``.
    """
    batch = inputs.shape[0]
    concentration = torch.full((batch,), float(alpha), device=inputs.device)
    # validate_args=False: checking the concentration would read it on the host (a sync)
    lam = torch.distributions.Beta(concentration, concentration, validate_args=False).sample()
    partner = torch.randperm(batch, generator=generator, device=inputs.device)
    lam_x = lam.to(inputs.dtype).view(-1, *([1] * (inputs.dim() - 1)))
    lam_y = lam.to(targets.dtype).view(-1, 1)
    mixed_inputs = lam_x * inputs + (1 - lam_x) * inputs[partner]
    mixed_targets = lam_y * targets + (1 - lam_y) * targets[partner]
    return mixed_inputs, mixed_targets


class TrainAugment:
    """Input noise of the paper: RandAugment(n, m) -> crop/flip -> standardize, batched.

    Mixup is applied after it, by :func:`mixup`. ``grouped`` picks the code path (None:
    grouped on CPU, host-sync-free batched elsewhere).
    """

    def __init__(self, n: int, m: float, padding: int = 4, grouped: bool | None = None):
        self.n = n
        self.m = m
        self.padding = padding
        self.grouped = grouped

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Noisy, standardized float32 batch from uint8 images (B, 3, H, W)."""
        _check_images(images)
        rounds = _draw_rounds(images, self.n, self.m, generator)
        crop = _draw_crop(images, self.padding, generator)
        with _one_cpu_thread(images):
            return standardize_uint8(_augment(images, rounds, crop, self.grouped))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, m={self.m}, padding={self.padding})"

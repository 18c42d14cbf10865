"""Batched augmentation (noisy.method.augment) and the paper's PIL path
(noisy.method.pil_augment): both against the original code's outputs
(tests/fixtures/randaugment_original.md), and each other.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REAL_CIFAR10
from PIL import Image

import noisy.method.augment as augment
from noisy.method.augment import (
    MEAN,
    OP_NAMES,
    OP_RANGES,
    SIGNED_OPS,
    STD,
    TrainAugment,
    mixup,
    op_value,
    standardize,
    standardize_uint8,
)
from noisy.method.pil_augment import PILRandAugment, apply_pil_op, paper_train_transform

PIXEL_OPS = ["identity", "auto_contrast", "equalize", "invert", "posterize", "solarize",
             "solarize_add", "color", "contrast", "brightness", "sharpness"]
GEOMETRIC_OPS = ["rotate", "shear_x", "shear_y", "translate_x", "translate_y"]
ORIGINAL = Path(__file__).resolve().parent / "fixtures/randaugment_original.npz.xz"
# The original code's op functions, in its augment_list() order, and ours.
ORIGINAL_OPS = {"Identity": "identity", "AutoContrast": "auto_contrast",
                "Equalize": "equalize", "Invert": "invert", "Rotate": "rotate",
                "Posterize": "posterize", "Solarize": "solarize", "SolarizeAdd": "solarize_add",
                "Color": "color", "Contrast": "contrast", "Brightness": "brightness",
                "Sharpness": "sharpness", "ShearX": "shear_x", "ShearY": "shear_y",
                "Cutout": "cutout", "TranslateX": "translate_x", "TranslateY": "translate_y"}


def _cifar_images(per_class: int = 3) -> list[np.ndarray]:
    """The first few test images of each class from the JPEG archive beside the project."""
    found: dict[str, list[np.ndarray]] = {}
    with tarfile.open(REAL_CIFAR10) as archive:
        for member in archive:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "test" or not parts[3].endswith(".jpg"):
                if found and parts[1:2] == ["train"]:
                    break
                continue
            images = found.setdefault(parts[2], [])
            if len(images) < per_class:
                data = archive.extractfile(member).read()
                images.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return [image for images in found.values() for image in images]


def _synthetic_images(count: int, seed: int = 0) -> list[np.ndarray]:
    """Natural-looking stand-ins: smooth colour gradients, a few blobs, mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    images = []
    for _ in range(count):
        start, slope_x, slope_y = rng.uniform(0, 1, (3, 3, 1, 1))
        image = start * 0.5 + slope_x * xx * 0.5 + slope_y * yy * 0.5
        for _ in range(rng.integers(1, 4)):
            cx, cy, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.1, 0.3)
            blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)
            image = image + blob * rng.uniform(-0.6, 0.6, (3, 1, 1))
        image = image * 255 + rng.normal(0, 6, image.shape)
        images.append(np.clip(image, 0, 255).astype(np.uint8).transpose(1, 2, 0))
    return images


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """32 uint8 images (B, 3, 32, 32): real CIFAR-10 when available, plus two edge cases."""
    arrays = _cifar_images() if REAL_CIFAR10.exists() else _synthetic_images(30)
    arrays = arrays[:30]
    arrays.append(np.full((32, 32, 3), 77, dtype=np.uint8))  # one grey level per channel
    two_level = np.zeros((32, 32, 3), dtype=np.uint8)
    two_level[:, 16:] = (200, 30, 255)
    arrays.append(two_level)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


# TrainAugment's own stages, one at a time: a RandAugment round of one chosen op, RandAugment
# alone, crop/flip alone.
def _apply_op(images: torch.Tensor, name: str, values: torch.Tensor,
              generator: torch.Generator | None = None, *, centers: torch.Tensor | None = None,
              grouped: bool | None = None) -> torch.Tensor:
    """Op ``name`` on every image with its own signed value ``values[i]``."""
    op = torch.full((len(images),), OP_NAMES.index(name), dtype=torch.long)
    if centers is None:
        centers = augment._random_centers(images, generator)
    return augment._augment(images, [(op, values.double(), centers.double())], grouped=grouped)


def _rand_augment(images: torch.Tensor, n: int, m: float, generator: torch.Generator, *,
                  grouped: bool | None = None) -> torch.Tensor:
    return augment._augment(images, augment._draw_rounds(images, n, m, generator),
                            grouped=grouped)


def _crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    return augment._augment(images, [], augment._draw_crop(images, padding, generator))


def _pil(image: torch.Tensor) -> Image.Image:
    return Image.fromarray(image.permute(1, 2, 0).numpy())


def _pil_reference(images: torch.Tensor, name: str, values: torch.Tensor,
                   centers: torch.Tensor | None = None) -> torch.Tensor:
    outputs = []
    for i, image in enumerate(images):
        center = None if centers is None else tuple(centers[i].tolist())
        out = apply_pil_op(_pil(image), name, float(values[i]), center=center)
        outputs.append(torch.from_numpy(np.asarray(out).copy()).permute(2, 0, 1))
    return torch.stack(outputs)


def _spread(name: str, count: int, signed: bool = False) -> torch.Tensor:
    """Values covering op ``name``'s whole range (both signs for geometric ops)."""
    low, high = OP_RANGES[name]
    values = torch.linspace(low, high, count, dtype=torch.float64)
    if signed:
        values = values * torch.where(torch.arange(count) % 2 == 0, 1.0, -1.0)
    return values


def _original_inputs() -> np.ndarray:
    """The fixture's inputs (3, 32, 32, 3): two seeded noise images and a colour gradient."""
    low = np.array([[0, 0, 0], [40, 60, 20]]).reshape(2, 1, 1, 3)
    high = np.array([[256, 256, 256], [201, 180, 240]]).reshape(2, 1, 1, 3)
    noise = np.random.default_rng(0).integers(low, high, size=(2, 32, 32, 3), dtype=np.uint8)
    y, x = np.mgrid[0:32, 0:32]
    gradient = np.stack([4 + 7 * x, 8 * y, 3 * (x + y)], axis=-1).astype(np.uint8)
    return np.concatenate([noise, gradient[None]])


@pytest.fixture(scope="module")
def original() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(inputs, outputs by key) of the original code's ops."""
    with np.load(io.BytesIO(lzma.decompress(ORIGINAL.read_bytes()))) as data:
        outputs = {key: data[key] for key in data.files}
    inputs = _original_inputs()
    assert str(outputs.pop("input_sha256")) == hashlib.sha256(inputs.tobytes()).hexdigest()
    return inputs, outputs


def _original_cases():
    for original_name, name in ORIGINAL_OPS.items():
        for m in (3, 9, 27):
            for sign in ("pos", "neg") if name in SIGNED_OPS else ("",):
                key = f"{original_name}_m{m}" + (f"_{sign}" if sign else "")
                yield pytest.param(key, name, m, sign == "neg", id=key)


@pytest.mark.parametrize("path", ["grouped", "batched", "pil"])
@pytest.mark.parametrize(("key", "name", "m", "negative"), list(_original_cases()))
def test_ops_match_the_original_code(original, key: str, name: str, m: int,
                                     negative: bool, path: str) -> None:
    inputs, outputs = original
    value = -op_value(name, m) if negative else op_value(name, m)
    centers = outputs.get(f"Cutout_m{m}_centers", np.zeros((len(inputs), 2)))
    if path == "pil":
        out = np.stack([np.asarray(apply_pil_op(Image.fromarray(image), name, value,
                                                center=tuple(center)))
                        for image, center in zip(inputs, centers, strict=True)])
    else:
        images = torch.from_numpy(inputs).permute(0, 3, 1, 2).contiguous()
        values = torch.full((len(inputs),), value, dtype=torch.float64)
        out = _apply_op(images, name, values, centers=torch.from_numpy(centers),
                       grouped=path == "grouped").permute(0, 2, 3, 1).numpy()
    expected = outputs[key]
    if name == "rotate":
        # exact here; allow stray boundary pixels from another libm's cos/sin
        assert (out != expected).any(axis=-1).mean() <= 0.01
    else:
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "batched"])
def test_posterize_below_one_bit_keeps_the_top_bit(images: torch.Tensor, grouped: bool):
    # The original keeps max(1, int(v)) bits: at M=3 (v=0.4) images must not go black.
    values = torch.tensor([0.0, 0.4, 0.99]).repeat_interleave(len(images) // 3 + 1)
    values = values[:len(images)].double()
    assert torch.equal(_apply_op(images, "posterize", values, grouped=grouped), images & 0x80)
    for image, value in zip(images, values, strict=True):
        out = apply_pil_op(_pil(image), "posterize", float(value))
        assert np.array_equal(np.asarray(out), image.permute(1, 2, 0).numpy() & 0x80)


@pytest.mark.parametrize("name", OP_NAMES)
def test_ops_keep_dtype_and_shape(images: torch.Tensor, name: str) -> None:
    generator = torch.Generator().manual_seed(0)
    out = _apply_op(images, name, _spread(name, len(images), signed=True), generator)
    assert out.dtype == torch.uint8 and out.shape == images.shape


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "batched"])
@pytest.mark.parametrize("name", PIXEL_OPS)
def test_pixel_ops_match_pil_exactly(images: torch.Tensor, name: str, grouped: bool) -> None:
    values = _spread(name, len(images))
    expected = _pil_reference(images, name, values)
    assert torch.equal(_apply_op(images, name, values, grouped=grouped), expected)


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "batched"])
@pytest.mark.parametrize("name", GEOMETRIC_OPS)
def test_geometric_ops_match_pil(images: torch.Tensor, name: str, grouped: bool) -> None:
    values = _spread(name, len(images), signed=True)
    expected = _pil_reference(images, name, values)
    out = _apply_op(images, name, values, grouped=grouped)
    # Pillow's fixed-point resampling is reproduced exactly; allow stray boundary pixels
    # from libm differences in cos/sin.
    same = (out == expected).all(dim=1).float().mean(dim=(1, 2))
    assert same.min() >= 0.99


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "batched"])
def test_cutout_matches_pil(images: torch.Tensor, grouped: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    centers = torch.rand(len(images), 2, generator=generator, dtype=torch.float64) * 32
    centers[:4] = torch.tensor([[0.0, 0.0], [31.9, 31.9], [0.5, 31.0], [16.0, 16.0]])
    values = _spread("cutout", len(images))
    expected = _pil_reference(images, "cutout", values, centers)
    out = _apply_op(images, "cutout", values, centers=centers, grouped=grouped)
    assert torch.equal(out, expected)


def test_rand_augment_is_seeded(images: torch.Tensor) -> None:
    def run(seed: int) -> torch.Tensor:
        return _rand_augment(images, 2, 27, torch.Generator().manual_seed(seed))

    first = run(3)
    assert first.dtype == torch.uint8 and first.shape == images.shape
    assert torch.equal(first, run(3))
    assert not torch.equal(first, run(4))
    assert not torch.equal(first, images)


def test_rand_augment_zero_rounds_is_identity(images: torch.Tensor) -> None:
    assert torch.equal(_rand_augment(images, 0, 27, torch.Generator().manual_seed(0)), images)


def test_crop_flip_is_a_padded_crop(images: torch.Tensor) -> None:
    out = _crop_flip(images, 4, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for image, result in zip(padded, out, strict=True):
        crops = image.unfold(1, 32, 1).unfold(2, 32, 1).permute(1, 2, 0, 3, 4).flatten(0, 1)
        candidates = torch.cat([crops, crops.flip(-1)])
        assert (candidates == result).flatten(1).all(dim=1).any()


def test_standardize_uint8_matches_torchvision(images: torch.Tensor) -> None:
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    expected = (images.float() / 255 - mean) / std
    out = standardize_uint8(images)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    assert torch.equal(out, standardize(images.float() / 255))  # FGSM's input path


def test_mixup_mixes_inputs_and_targets_alike() -> None:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(16, 3, 4, 4, generator=generator)
    targets = torch.eye(16)  # one class per sample reveals lambda and the partner
    mixed_inputs, mixed_targets = mixup(inputs, targets, 0.4, generator)
    torch.testing.assert_close(mixed_targets.sum(dim=1), torch.ones(16))
    assert ((mixed_targets >= 0) & (mixed_targets <= 1)).all()
    rebuilt = (mixed_targets @ inputs.flatten(1)).view_as(inputs)
    torch.testing.assert_close(mixed_inputs, rebuilt)


@pytest.mark.parametrize("alpha", [0.4, 1.0])
def test_mixup_weights_follow_beta_alpha_alpha(alpha) -> None:
    """lambda ~ Beta(alpha, alpha), checked against scipy's Beta (Kolmogorov-Smirnov)."""
    from scipy import stats

    torch.manual_seed(0)
    inputs, targets = torch.zeros(20_000, 1), torch.eye(2)[torch.zeros(20_000, dtype=torch.long)]
    targets[::2] = torch.tensor([0.0, 1.0])  # even samples class 1, odd samples class 0
    _, mixed = mixup(inputs, targets, alpha, torch.Generator().manual_seed(0))
    # With a partner of the other class, a sample's weight on its own class is its lambda.
    own = torch.where(targets[:, 1] == 1, mixed[:, 1], mixed[:, 0])
    lam = own[mixed.min(dim=1).values > 0].double().numpy()
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > 0.01


def test_train_augment_outputs_standardized_floats(images: torch.Tensor) -> None:
    augment = TrainAugment(2, 27)
    first = augment(images, torch.Generator().manual_seed(0))
    assert first.dtype == torch.float32 and first.shape == images.shape
    assert torch.equal(first, augment(images, torch.Generator().manual_seed(0)))


def test_paper_path_runs(images: torch.Tensor) -> None:
    import random

    image = _pil(images[0])
    out = PILRandAugment(2, 27, rng=random.Random(0))(image)
    assert out.size == image.size and out.mode == "RGB"
    tensor = paper_train_transform(2, 27)(image)
    assert tensor.shape == (3, 32, 32) and tensor.dtype == torch.float32


def test_train_augment_equals_its_parts(images: torch.Tensor) -> None:
    fused = TrainAugment(2, 27, padding=4)(images, torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(5)
    parts = standardize_uint8(_crop_flip(_rand_augment(images, 2, 27, generator), 4, generator))
    assert torch.equal(fused, parts)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_grouped_and_batched_paths_agree(images: torch.Tensor, n: int) -> None:
    # The CPU's grouped path must reproduce the device path's images exactly.
    batch = images.repeat(8, 1, 1, 1)  # 256 images: every op drawn in every round
    for seed in range(2):
        outputs = [TrainAugment(n, 27, grouped=grouped)(batch,
                                                        torch.Generator().manual_seed(seed))
                   for grouped in (True, False)]
        assert torch.equal(*outputs)
        outputs = [_rand_augment(batch, n, 13, torch.Generator().manual_seed(seed),
                                grouped=grouped) for grouped in (True, False)]
        assert torch.equal(*outputs)


def test_augment_restores_torch_threads(images: torch.Tensor) -> None:
    threads = torch.get_num_threads()
    TrainAugment(2, 27)(images, torch.Generator().manual_seed(0))
    assert torch.get_num_threads() == threads


def test_the_batched_path_never_waits_for_the_device(images: torch.Tensor) -> None:
    """After a first call (constants copied to the device once), the device path of
    augmentation, mixup and standardisation makes no call that synchronises on a GPU."""
    from noisy.method.device import no_host_sync

    augment = TrainAugment(2, 27, grouped=False)
    targets = torch.eye(10)[torch.arange(len(images)) % 10]
    generator = torch.Generator().manual_seed(0)
    augment(images, generator)  # warm-up
    with no_host_sync(images.device):
        mixup(augment(images, generator), targets, 0.4, generator)


def test_constants_are_made_once_per_device() -> None:
    first = augment._constant(MEAN, torch.float32, torch.device("cpu"))
    assert augment._constant(MEAN, torch.float32, torch.device("cpu")) is first
    assert torch.equal(first, torch.tensor(MEAN))


def test_a_constant_first_made_in_inference_mode_still_serves_a_gradient():
    from noisy.method import augment

    augment._constant.cache_clear()
    images = torch.rand(2, 3, 4, 4)
    with torch.inference_mode():
        augment.standardize(images)
    images.requires_grad_(True)
    augment.standardize(images).sum().backward()
    assert images.grad is not None

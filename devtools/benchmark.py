"""tool benchmark: the paper's input pipeline and training step against ours (images/s).

(a) paper: per-image PIL RandAugment + crop/flip/normalise (``paper_train_transform``) in
    DataLoader workers, batches moved to the device, then the paper's training step
    (eager, fp32, the default NCHW memory layout);
(b) ours: uint8 images resident on the device, batched :class:`TrainAugment`, then our
    training step (:func:`noisy.method.training.sgd_step`: channels_last), exactly as training
    runs it, in fp32 and under bf16 autocast (config ``precision``); with ``--compile``
    also under ``torch.compile``.

Both steps are SGD 0.1/0.9/1e-4 with soft cross-entropy on the same network. A third
path, the paper's input pipeline feeding our step, shows how much of the gain comes
from the input pipeline and how much from the step.

Every measurement runs one untimed epoch of ``--batches`` batches per path (warm-up:
workers, allocator, cuDNN, compilation), then times ``--repeats`` epochs of each path,
interleaved, and keeps each path's best (the CPU may be shared). Each epoch starts a fresh
iterator over persistent workers, so the paper's time includes refilling its pipeline, as
at every epoch.

Augmentation alone is compared per core: the paper's images/s is divided by its worker
count (each worker is one single-threaded process); ours runs with one torch thread on
CPU, or is driven by one host thread on CUDA. The last line reads
``augment_speedup=<x> step_speedup=<y> bf16_step_speedup=<z>`` (the first of
``--networks``, ResNet-20 by default, on the device used; the step ratio is (b) in fp32
over (a), without compilation; the bf16 ratio is (b) in bf16 over (b) in fp32).

With ``--overhead`` it also measures, side by side, what a training job spends around
the steps of one of the paper's teacher epochs (5,000 images = 10 steps of 512): saving
the resumable state and scoring the 10,000 monitor images, as a share of the epoch's
training time, before (both every epoch) and after (state every ``checkpoint_interval_s``,
monitor on ``monitor_epochs`` of the 1,000 epochs).
"""

from __future__ import annotations

import io
import os
import platform
import tarfile
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from noisy.method.augment import TrainAugment
from noisy.method.device import CONV_MEMORY_FORMAT, resolve_device
from noisy.method.models import NETWORK_DEPTHS, Architecture, build_model
from noisy.method.pil_augment import paper_train_transform
from noisy.method.resume import save_state
from noisy.method.training import (
    TrainSettings,
    monitor_scores,
    monitored_epochs,
    sgd_step,
    soft_cross_entropy,
)

BATCH_SIZE = 512
RANDAUGMENT = (2, 27.0)
NUM_CLASSES = 10
CIFAR_TRAIN_SIZE = 50_000


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (else the platform's processor string)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _jpeg_tarball_images(path: str, count: int) -> np.ndarray:
    """Up to ``count`` train images spread over the CIFAR-10 JPEG tarball's classes."""
    stride = max(1, CIFAR_TRAIN_SIZE // count)
    images, seen = [], 0
    with tarfile.open(path) as archive:
        for member in archive:
            parts = member.name.split("/")
            if len(parts) != 4 or parts[1] != "train" or not parts[3].endswith(".jpg"):
                continue
            if seen % stride == 0:
                data = archive.extractfile(member).read()
                images.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                if len(images) == count:
                    break
            seen += 1
    return np.stack(images)


def load_images(path: str | None, count: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """``count`` HWC uint8 images and their description: CIFAR-10 from ``path`` (canonical
    ``.npz`` with ``train_images``, or the JPEG tarball; repeated if short), else synthetic."""
    if path is None:
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        return images, "synthetic uniform-random uint8 images (no --data given)"
    if path.endswith(".npz"):
        with np.load(path) as data:
            images = data["train_images"][:count]
    else:
        images = _jpeg_tarball_images(path, count)
    description = f"{len(images)} real CIFAR-10 train images from {path}"
    return images[np.arange(count) % len(images)], description


class PaperDataset(torch.utils.data.Dataset):
    """The paper's dataset: HWC uint8 array -> PIL image -> ``paper_train_transform``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = images
        self.labels = labels
        self.transform = paper_train_transform(*RANDAUGMENT)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_rates(epochs: dict[str, Callable[[], None]], batches: int, device: torch.device,
               repeats: int) -> dict[str, float]:
    """Best images/s of each epoch runner over ``repeats`` interleaved timed epochs of
    ``batches`` batches, after one untimed warm-up epoch each."""
    for run_epoch in epochs.values():
        run_epoch()
    best = dict.fromkeys(epochs, 0.0)
    for _ in range(repeats):
        for name, run_epoch in epochs.items():
            _sync(device)
            start = time.perf_counter()
            run_epoch()
            _sync(device)
            best[name] = max(best[name], batches * BATCH_SIZE / (time.perf_counter() - start))
    return best


StepFunction = Callable[[torch.Tensor, torch.Tensor], None]


def fresh_model(network: str, device: torch.device, layout: torch.memory_format
                ) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A freshly initialised ``network`` (seed 0) in ``layout`` with its SGD optimizer."""
    torch.manual_seed(0)
    model = build_model(Architecture(network=network, num_classes=NUM_CLASSES))
    model = model.to(device, memory_format=layout).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    return model, optimizer


def paper_step(network: str, device: torch.device) -> tuple[StepFunction, torch.nn.Module]:
    """The paper's SGD step on a fresh ``network`` (eager, fp32, default NCHW layout), and
    the model it trains."""
    model, optimizer = fresh_model(network, device, torch.contiguous_format)

    def step(inputs: torch.Tensor, targets: torch.Tensor) -> None:
        loss = soft_cross_entropy(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, model


def our_step(network: str, device: torch.device, precision: str = "fp32",
             compile_model: bool = False) -> tuple[StepFunction, torch.nn.Module]:
    """Our SGD step on a fresh ``network`` at ``precision``, as training runs it
    (:func:`sgd_step`), and the model it trains."""
    model, optimizer = fresh_model(network, device, CONV_MEMORY_FORMAT)
    step_model = torch.compile(model) if compile_model else model

    def step(inputs: torch.Tensor, targets: torch.Tensor) -> None:
        sgd_step(step_model, optimizer, inputs, targets, device, precision)

    return step, model


class Paths:
    """Both input pipelines over the same images and labels (one epoch: all images)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, device: torch.device,
                 workers: int):
        self.device = device
        self.workers = workers
        self.loader = torch.utils.data.DataLoader(
            PaperDataset(images, labels), batch_size=BATCH_SIZE, shuffle=True, drop_last=True,
            num_workers=workers, persistent_workers=True, pin_memory=device.type == "cuda")
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
        labels = torch.as_tensor(labels, device=device)
        self.targets = F.one_hot(labels, NUM_CLASSES).float()
        self.augment = TrainAugment(*RANDAUGMENT, padding=4)
        self.generator = torch.Generator(device=device).manual_seed(0)

    def paper(self, step: StepFunction | None = None) -> Callable[[], None]:
        """One epoch of the paper's path: workers' batches on the device, then ``step``."""
        def epoch() -> None:
            for inputs, labels in self.loader:
                inputs = inputs.to(self.device, non_blocking=True)
                labels = labels.to(self.device, non_blocking=True)
                if step is not None:
                    step(inputs, F.one_hot(labels, NUM_CLASSES).float())

        return epoch

    def ours(self, step: StepFunction | None = None,
             threads: int | None = None) -> Callable[[], None]:
        """One epoch of ours: device-resident uint8 images, TrainAugment, then ``step``;
        with ``threads`` torch threads during the epoch when given."""
        def epoch() -> None:
            saved = torch.get_num_threads()
            torch.set_num_threads(threads or saved)
            order = torch.randperm(len(self.images), generator=self.generator,
                                   device=self.device)
            for batch in order.split(BATCH_SIZE):
                inputs = self.augment(self.images[batch], self.generator)
                if step is not None:
                    step(inputs, self.targets[batch])
            torch.set_num_threads(saved)

        return epoch


def measure(networks: list[str], batches: int, device: torch.device, workers: int,
            data: str | None, repeats: int, compile_model: bool) -> tuple[float, float, float]:
    """Print the measurements; return the augmentation per-core speedup, the step speedup
    (fp32) and the bf16 step speedup (over fp32) of the first network."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    images, description = load_images(data, batches * BATCH_SIZE)
    labels = np.random.default_rng(0).integers(0, NUM_CLASSES, len(images))
    paths = Paths(images, labels, device, workers)
    accelerator = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(f"machine: {cpu_model()}, {available_cores()} cores; accelerator: {accelerator}; "
          f"torch {torch.__version__}")
    print(f"device: {device}; data: {description}")
    print(f"batch {BATCH_SIZE}; RandAugment N=2 M=27, crop 4, flip, normalise; best of "
          f"{repeats} interleaved timed epochs of {batches} batches after a warm-up epoch")
    print(f"paper: PIL per image in {workers} persistent DataLoader worker processes, step "
          f"eager fp32 NCHW; ours: TrainAugment on {device}, step channels_last in fp32 "
          f"and bf16 autocast; torch threads for training: {torch.get_num_threads()}")

    ours_threads = 1 if device.type == "cpu" else None
    rates = best_rates({"paper": paths.paper(), "ours": paths.ours(threads=ours_threads)},
                       batches, device, repeats)
    paper_per_core = rates["paper"] / workers
    augment_speedup = rates["ours"] / paper_per_core
    ours_cores = "1 torch thread" if device.type == "cpu" else "1 host thread"
    print("\naugmentation alone (network-independent), images/s:")
    print(f"  paper {rates['paper']:9.0f}  ({paper_per_core:.0f} per core, {workers} workers)")
    print(f"  ours  {rates['ours']:9.0f}  ({rates['ours']:.0f} per core, {ours_cores})")
    print(f"  ratio ours/paper per core {augment_speedup:.2f}x "
          f"(raw {rates['ours'] / rates['paper']:.2f}x)")

    print("\nwhole training step (augmentation + forward/backward/SGD), images/s, and "
          "ratio to the paper's path:")
    speedups = []
    for network in networks:
        steps = {"paper": paths.paper(paper_step(network, device)[0]),
                 "paper input + our step": paths.paper(our_step(network, device)[0]),
                 "ours": paths.ours(our_step(network, device)[0]),
                 "ours bf16": paths.ours(our_step(network, device, "bf16")[0])}
        if compile_model:
            steps["ours + compile"] = paths.ours(our_step(network, device, "fp32", True)[0])
        rates = best_rates(steps, batches, device, repeats)
        speedups.append((rates["ours"] / rates["paper"], rates["ours bf16"] / rates["ours"]))
        print(f"  {network}")
        for name, rate in rates.items():
            print(f"    {name:23s} {rate:9.1f}  {rate / rates['paper']:5.2f}x")
    return augment_speedup, *speedups[0]


def _best_seconds(run: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` calls of ``run`` after one untimed warm-up call."""
    run()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def epoch_overhead(network: str, images: np.ndarray, device: torch.device, repeats: int,
                   monitor_images: int, epochs: int = 1000) -> dict[str, float]:
    """Seconds of one training epoch over ``images``, one state save and one monitor pass,
    and the overhead ratios (save + monitor) / epoch before and after (training defaults)."""
    defaults = TrainSettings(budget_images=1)
    device_images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
    labels = torch.as_tensor(np.arange(len(images)) % NUM_CLASSES, device=device)
    targets = F.one_hot(labels, NUM_CLASSES).float()
    augment = TrainAugment(*RANDAUGMENT, padding=4)
    generator = torch.Generator(device=device).manual_seed(0)
    model, optimizer = fresh_model(network, device, CONV_MEMORY_FORMAT)

    def train_epoch() -> None:
        order = torch.randperm(len(images), generator=generator, device=device)
        for batch in order.split(BATCH_SIZE):
            inputs = augment(device_images[batch], generator)
            sgd_step(model, optimizer, inputs, targets[batch], device)

    monitor_x = device_images[torch.arange(monitor_images, device=device) % len(images)]
    monitor_y = labels[torch.arange(monitor_images, device=device) % len(images)]
    history = [dict.fromkeys(("epoch", "lr", "train_loss", "test_acc"), 0.0)] * 50
    train_seconds = _best_seconds(train_epoch, device, repeats)  # also fills the momentum
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "rng": torch.get_rng_state(), "history": history}
    with tempfile.TemporaryDirectory(dir=".") as folder:  # on the disk results/ would use
        save_seconds = _best_seconds(lambda: save_state(f"{folder}/state.pt", state),
                                     device, repeats)
    monitor_seconds = _best_seconds(lambda: monitor_scores(model, monitor_x, monitor_y, device),
                                    device, repeats)
    monitored = len(monitored_epochs(epochs, defaults.monitor_epochs))
    saves_per_epoch = min(1.0, train_seconds / defaults.checkpoint_interval_s)
    return {
        "train_s": train_seconds, "save_s": save_seconds, "monitor_s": monitor_seconds,
        "before": (save_seconds + monitor_seconds) / train_seconds,
        "after": (save_seconds * saves_per_epoch + monitor_seconds * monitored / epochs)
        / train_seconds,
        "monitored": monitored, "epochs": epochs, "interval_s": defaults.checkpoint_interval_s,
    }


def report_overhead(networks: list[str], device: torch.device, data: str | None,
                    repeats: int, epoch_images: int, monitor_images: int) -> None:
    """Print :func:`epoch_overhead` of each network."""
    images, description = load_images(data, epoch_images, seed=1)
    print(f"\nper-epoch overhead around the training steps (state save + monitoring), one "
          f"teacher epoch of {epoch_images} images ({-(-epoch_images // BATCH_SIZE)} steps of "
          f"{BATCH_SIZE}), monitor {monitor_images} images; {description}; best of {repeats}:")
    for network in networks:
        figures = epoch_overhead(network, images, device, repeats, monitor_images)
        print(f"  {network}: epoch {figures['train_s']:.3f} s, state save {figures['save_s']:.3f}"
              f" s, monitor {figures['monitor_s']:.3f} s")
        print(f"    before (save + monitor every epoch)       {figures['before']:7.1%}")
        print(f"    after  (save every {figures['interval_s']:g} s, monitor "
              f"{figures['monitored']}/{figures['epochs']} epochs) {figures['after']:7.1%}")


def add_arguments(parser) -> None:
    parser.add_argument("--data", default=None,
                        help="canonical CIFAR-10 .npz or the JPEG tarball (default: synthetic)")
    parser.add_argument("--networks", nargs="+", default=["resnet20", "resnet38"],
                        choices=list(NETWORK_DEPTHS))
    parser.add_argument("--batches", type=int, default=None,
                        help="batches per timed epoch (default: 2 on CPU, 96 on CUDA)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None,
                        help="paper's DataLoader workers (default: the available cores)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="timed epochs per path; the best counts (default: 2)")
    parser.add_argument("--compile", action="store_true",
                        help="also time our step under torch.compile (config compile: true)")
    parser.add_argument("--overhead", action="store_true",
                        help="also measure the per-epoch state-save and monitoring overhead")
    parser.add_argument("--epoch-images", type=int, default=5000,
                        help="images of the overhead's training epoch (default: 5,000)")
    parser.add_argument("--monitor-images", type=int, default=10_000,
                        help="monitor images of the overhead measurement (default: 10,000)")


def run(args) -> None:
    device = resolve_device(args.device)
    batches = args.batches or (96 if device.type == "cuda" else 2)
    workers = args.workers or available_cores()
    augment_speedup, step_speedup, bf16_speedup = measure(
        args.networks, batches, device, workers, args.data, args.repeats, args.compile)
    if args.overhead:
        report_overhead(args.networks, device, args.data, args.repeats, args.epoch_images,
                        args.monitor_images)
    print(f"augment_speedup={augment_speedup:.2f} step_speedup={step_speedup:.2f} "
          f"bf16_step_speedup={bf16_speedup:.2f}")

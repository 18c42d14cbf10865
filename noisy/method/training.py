"""The one training function used by the teacher, the supervised baselines and the students.

Budgets are counted in images seen: ``epochs = ceil(budget / training-set size)``.
SGD with momentum and weight decay, multi-step learning-rate decay at fixed fractions
of the training steps, RandAugment + crop + flip (optionally mixup) applied batched on the
training device. The model kept is the one after the final epoch.

:func:`train` reads top to bottom: the job's state is resumed or started, the epochs run
(:func:`_train_epochs`, each by :func:`_train_one_epoch`), the monitored epochs are scored
and logged as history rows, the model and history are written. Its complete state is saved
between steps by :class:`noisy.method.resume.TrainingRun`, so a killed job resumes at its
last saved step and ends with the same weights as an uninterrupted run (on CPU); a finished
job's state is kept, and a rerun rewrites the model and history from it without training.

The monitor set is scored on ``monitor_epochs`` evenly spaced epochs, always including
the last; the history has one row per monitored epoch.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from noisy.errors import SettingsError, UserError
from noisy.files import write_text
from noisy.method.augment import TrainAugment, mixup
from noisy.method.device import (
    CONV_MEMORY_FORMAT,
    autocast,
    warn_if_bf16_is_emulated,
)
from noisy.method.inference import images_to_tensor, predict_logits
from noisy.method.models import Architecture, build_model, count_parameters, save_model
from noisy.method.pil_augment import PILBatchAugment
from noisy.method.progress import format_duration
from noisy.method.resume import (
    EpochPosition,
    StopRequest,
    TrainingRun,
    exclusive_lock,
    fingerprint,
    load_state,
    stop_on_sigterm,
)
from noisy.precision import training_definition

log = logging.getLogger(__name__)

CPU = torch.device("cpu")
CROP_PADDING = 4  # the paper's random crop: 32x32 from the image padded by 4 pixels
HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
                   "images_per_s", "wall_s")


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation and input-noise settings of one training job."""

    budget_images: int
    batch_size: int = 512
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_milestones: tuple[float, ...] = (0.5, 0.75)
    lr_gamma: float = 0.1
    randaugment_n: int = 2
    randaugment_m: float = 27.0
    mixup_alpha: float = 0.0
    input_pipeline: str = "batched"  # batched (on the device) | pil (the paper's, per image)
    seed: int = 0
    monitor_epochs: int = 50  # epochs on which the monitor set is scored (last included)
    precision: str = "fp32"  # of the training step: fp32 | bf16 (autocast); resolved, not auto
    compile: bool = False  # torch.compile the training step (changes float rounding)
    # How often the job saves its state: it does not change the result
    # (noisy.precision.RUNTIME_KEYS). Where it runs is train()'s device, as for every job.
    checkpoint_interval_s: float = field(default=60.0, compare=False)

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise SettingsError(f"precision must be fp32 or bf16 (auto is resolved by the plan), "
                             f"got {self.precision!r}")

    def definition(self) -> dict:
        """The settings that define the result (the resume fingerprint; the plan hashes the
        same into the model's folder name)."""
        return training_definition(asdict(self))


def epochs_for_budget(budget_images: int, train_size: int) -> int:
    """Number of epochs needed to see ``budget_images`` images: ceil(budget / size)."""
    if train_size <= 0:
        raise UserError("the training set is empty")
    if budget_images <= 0:
        raise SettingsError(f"budget_images must be positive, got {budget_images}")
    return math.ceil(budget_images / train_size)


def monitored_epochs(epochs: int, count: int) -> set[int]:
    """The (1-based) epochs whose end is monitored: ``count`` evenly spaced, the last included.

    ``ceil(k * epochs / count)`` for k = 1..count; every epoch when ``count >= epochs``.
    """
    if count < 1:
        raise SettingsError(f"monitor_epochs must be at least 1, got {count}")
    count = min(count, epochs)
    return {math.ceil(k * epochs / count) for k in range(1, count + 1)}


def lr_milestone_steps(total_steps: int, fractions: tuple[float, ...]) -> list[int]:
    """Optimizer steps after which the learning rate is multiplied by the decay factor.

    The paper decays at 50% and 75% of its (1,000) epochs; counting in steps gives the
    same schedule to within one epoch there, and a sensible one for short runs of a few
    epochs, where per-epoch milestones would collapse onto the same epoch.
    """
    return [int(fraction * total_steps) for fraction in fractions]


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against target vectors, each renormalised to sum to one.

    Pseudo targets carry the paper's 0.99 scale and soft ones need not sum to one (see
    :mod:`noisy.method.pseudo_labels`); renormalising keeps the loss a proper cross-entropy for
    every target type.
    """
    targets = targets / targets.sum(dim=1, keepdim=True)
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def sgd_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor,
             targets: torch.Tensor, device: torch.device,
             precision: str = "fp32") -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch of standardized inputs and target vectors, the forward
    pass under bf16 autocast when ``precision`` is ``bf16`` (loss and update in fp32).

    Returns (loss, logits), both still on the device (no host synchronisation).
    """
    inputs = inputs.contiguous(memory_format=CONV_MEMORY_FORMAT)
    with autocast(device, precision):
        logits = model(inputs)
    loss = soft_cross_entropy(logits, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, augment,
               images: torch.Tensor, targets: torch.Tensor, batch: torch.Tensor,
               generator: torch.Generator, settings: TrainSettings,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of a training job: the input noise of the images ``batch`` indexes (mixup
    too when asked), then :func:`sgd_step`. Returns the batch's summed loss and its count of
    correct predictions, still on the device: on a GPU the step never waits for it
    (``python -m devtools gpu-check`` runs it under
    :func:`noisy.method.device.no_host_sync`)."""
    inputs = augment(images[batch], generator)
    batch_targets = targets[batch]
    if settings.mixup_alpha > 0:
        inputs, batch_targets = mixup(inputs, batch_targets, settings.mixup_alpha, generator)
    loss, logits = sgd_step(model, optimizer, inputs, batch_targets, device, settings.precision)
    correct = (logits.argmax(1) == batch_targets.argmax(1)).sum()
    return loss.detach() * batch.shape[0], correct


def train(arch: Architecture, settings: TrainSettings, train_images: np.ndarray,
          train_targets: np.ndarray, test_images: np.ndarray, test_labels: np.ndarray,
          model_path: str | os.PathLike, history_path: str | os.PathLike,
          state_path: str | os.PathLike, metadata: dict | None = None,
          device: torch.device = CPU, on_history_row=None) -> dict:
    """Train ``arch`` from scratch on (images, target vectors) on ``device``; write model
    and history.

    ``train_images`` is (N, 32, 32, 3) uint8 (duplicates allowed), ``train_targets`` is
    (N, K) float. ``test_images``/``test_labels`` are only monitored, never used to
    choose the model. ``on_history_row``, if given, is called with each new history row
    (e.g. :class:`noisy.method.tensorboard_events.TensorBoardHistory`). Resumes from
    ``state_path`` when it holds this job's state; raises
    :class:`noisy.method.resume.TrainingInterrupted` after saving the state on SIGTERM.
    Returns a summary (epochs, final accuracies, wall time).
    """
    if train_images.shape[0] != train_targets.shape[0]:
        raise ValueError(f"{train_images.shape[0]} images but {train_targets.shape[0]} targets")
    warn_if_bf16_is_emulated(device, settings.precision)
    size = train_images.shape[0]
    epochs = epochs_for_budget(settings.budget_images, size)
    job_fingerprint = fingerprint({"arch": asdict(arch), "settings": settings.definition()},
                                  train_images, train_targets.astype(np.float32))

    with exclusive_lock(state_path), stop_on_sigterm() as stop:
        torch.manual_seed(settings.seed)
        model = build_model(arch).to(device)
        state = load_state(state_path, job_fingerprint)
        if state is not None and state.get("finished"):
            model.load_state_dict(state["model"])
            history = state["history"]
            log.info("training already finished (state %s, %d/%d epochs): writing the model "
                     "and history from it, no epoch trained", state_path, state["epoch"], epochs)
        else:
            run = _start_or_resume(model, settings, device, epochs,
                                   math.ceil(size / settings.batch_size), state, state_path,
                                   job_fingerprint, stop)
            history = _train_epochs(run, settings, arch, train_images, train_targets,
                                    test_images, test_labels, on_history_row)
        save_model(model, model_path, **(metadata or {}))
        write_text(history_path, _history_csv(history))
    final = history[-1]
    return {"epochs": epochs, "images_seen": epochs * size, "train_size": size,
            "final_test_acc": final["test_acc"], "wall_s": final["wall_s"]}


def _start_or_resume(model, settings: TrainSettings, device: torch.device, epochs: int,
                     steps_per_epoch: int, state: dict | None, state_path,
                     job_fingerprint: str, stop: StopRequest) -> TrainingRun:
    """A fresh run (SGD, its step schedule, the seeded augmentation generator), or the run
    saved in ``state`` (at an epoch's end or mid-epoch)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, lr_milestone_steps(epochs * steps_per_epoch, settings.lr_milestones),
        settings.lr_gamma)
    generator = torch.Generator(device=device)
    generator.manual_seed(settings.seed)
    run = TrainingRun(model, optimizer, scheduler, generator, device, epochs, steps_per_epoch,
                      state_path, job_fingerprint, stop, settings.checkpoint_interval_s)
    if state is None:
        return run
    run.restore(state)
    if run.current is not None:
        log.info("resuming from %s mid-epoch at epoch %d/%d, step %d/%d", state_path,
                 run.epoch + 1, epochs, run.current.step, steps_per_epoch)
    else:
        log.info("resuming from %s at epoch %d/%d", state_path, run.epoch, epochs)
    return run


def _train_epochs(run: TrainingRun, settings: TrainSettings, arch: Architecture,
                  train_images: np.ndarray, train_targets: np.ndarray, test_images: np.ndarray,
                  test_labels: np.ndarray, on_history_row=None) -> list[dict]:
    """Train ``run`` to its last epoch, then save it as finished; return the history rows."""
    device, model = run.device, run.model
    step_model = torch.compile(model) if settings.compile else model
    images = images_to_tensor(train_images, device)
    targets = torch.as_tensor(train_targets, dtype=torch.float32, device=device)
    test_x = images_to_tensor(test_images, device)
    test_y = torch.as_tensor(test_labels, dtype=torch.long, device=device)
    pipeline = {"batched": TrainAugment, "pil": PILBatchAugment}[settings.input_pipeline]
    augment = pipeline(settings.randaugment_n, settings.randaugment_m,
                       padding=CROP_PADDING)
    size, epochs = images.shape[0], run.epochs
    monitored = monitored_epochs(epochs, settings.monitor_epochs)
    log.info("training %s (%d parameters) on %d images for %d epochs (%d images) on %s in %s%s; "
             "monitoring %d epochs, saving the state every %g s", arch.network,
             count_parameters(model), size, epochs, epochs * size, device, settings.precision,
             " (compiled)" if settings.compile else "", len(monitored),
             settings.checkpoint_interval_s)
    run.start_clock()
    first_epoch = run.epoch
    while run.epoch < epochs:
        sums = _train_one_epoch(run, settings, step_model, augment, images, targets)
        if run.epoch in monitored:
            run.history.append(_history_row(run, sums, size, test_x, test_y, first_epoch))
            if on_history_row is not None:
                on_history_row(run.history[-1])
        if run.epoch < epochs:
            run.save_if_due_or_stopped()
    run.save(finished=True)
    return run.history


def _train_one_epoch(run: TrainingRun, settings: TrainSettings, step_model, augment,
                     images: torch.Tensor, targets: torch.Tensor) -> EpochPosition:
    """The rest of the epoch under way (a new one if none is); returns its running sums.

    Saves the state between steps when due or on SIGTERM
    (:meth:`~noisy.method.resume.TrainingRun.save_if_due_or_stopped`).
    """
    device, batch_size = run.device, settings.batch_size
    if run.current is None:
        order = torch.randperm(images.shape[0], generator=run.generator, device=device)
        run.current = EpochPosition.start(order, run.optimizer.param_groups[0]["lr"], device)
    current = run.current
    run.model.train()
    current.clock.start()
    while current.step < run.steps_per_epoch:
        batch = current.order[current.step * batch_size:(current.step + 1) * batch_size]
        loss_sum, correct = train_step(step_model, run.optimizer, augment, images, targets,
                                       batch, run.generator, settings, device)
        run.scheduler.step()
        current.loss_sum += loss_sum
        current.correct += correct
        current.step += 1
        if current.step < run.steps_per_epoch and run.save_due():
            current.clock.stop()  # the save is not training time
            run.save_if_due_or_stopped()
            current.clock.start()
    current.clock.stop()
    run.epoch += 1
    run.current = None
    return current


# ---------------------------------------------------------------- monitoring and history


def monitor_indices(test_size: int, monitor_size: int, seed: int = 0) -> np.ndarray:
    """A fixed, seeded subset of the test set scored on the monitored epochs (monitoring
    only, never used to choose the model)."""
    order = np.random.default_rng(seed).permutation(test_size)
    return np.sort(order[:monitor_size])


def monitor_scores(model, images: torch.Tensor, labels: torch.Tensor,
                   device: torch.device) -> tuple[float, float]:
    """Cross-entropy and top-1 accuracy (%) of ``model`` on the monitor images."""
    logits = predict_logits(model, images, device)
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).float().mean().item() * 100.0
    return loss, accuracy


def _history_row(run: TrainingRun, sums: EpochPosition, size: int, test_x: torch.Tensor,
                 test_y: torch.Tensor, first_epoch: int) -> dict:
    """The history row of a monitored epoch, logged: its training sums and the monitor scores."""
    wall_s = run.wall_s()
    train_loss = sums.loss_sum.item() / size  # waits for the epoch's last step
    train_acc = sums.correct.item() / size * 100.0
    train_seconds = sums.clock.total()
    test_loss, test_acc = monitor_scores(run.model, test_x, test_y, run.device)
    row = {
        "epoch": run.epoch,
        "lr": sums.lr,
        "train_loss": round(train_loss, 6),
        "train_acc": round(train_acc, 4),
        "test_loss": round(test_loss, 6),
        "test_acc": round(test_acc, 4),
        "images_per_s": round(size / max(train_seconds, 1e-9), 1),
        "wall_s": round(wall_s, 2),
    }
    elapsed = time.perf_counter() - run.run_start
    eta = elapsed / (run.epoch - first_epoch) * (run.epochs - run.epoch)
    log.info("epoch %d/%d lr %.4g loss %.4f train_acc %.2f%% test_acc %.2f%% "
             "%.0f images/s ETA %s", run.epoch, run.epochs, row["lr"], row["train_loss"],
             row["train_acc"], row["test_acc"], row["images_per_s"], format_duration(eta))
    return row


def _history_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

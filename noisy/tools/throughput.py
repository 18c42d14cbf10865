"""tool throughput: training and inference images/s per network on a device.

A short probe of our training step as a training job runs it (RandAugment(2, 27), crop
and flip on the device, then the SGD step at the plan's precision) and of inference (fp32)
per network, optionally with several processes sharing the device and timing together (their
sum is what the device sustains). ``python -m noisy estimate`` probes this way unless it
is given rates measured elsewhere (``--rates``, written by this command's ``--out``).
"""

from __future__ import annotations

import json
import multiprocessing
import queue as queue_module
import time

import torch
import torch.nn.functional as F

from noisy.files import write_text
from noisy.method.augment import TrainAugment
from noisy.method.device import CONV_MEMORY_FORMAT, resolve_device, set_threads
from noisy.method.inference import predict_logits
from noisy.method.models import NETWORK_DEPTHS, Architecture, build_model
from noisy.method.training import CROP_PADDING, TrainSettings, train_step
from noisy.precision import PRECISIONS, resolve_precision

NUM_CLASSES = 10


def add_arguments(parser) -> None:
    parser.add_argument("--networks", nargs="+", choices=list(NETWORK_DEPTHS),
                        default=["resnet20", "resnet26", "resnet32", "resnet38"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per job")
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the device")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="of the training step (auto: as config `precision: auto`)")
    parser.add_argument("--out", default=None, help="JSON file to write the rates to")


def run(args) -> None:
    rates = probe(args.networks, args.device, args.batch_size, args.steps, args.jobs,
                  precision=args.precision)
    text = json.dumps(rates, indent=1)
    if args.out:
        write_text(args.out, text + "\n")
    print(text)


def _probe_job(barrier, results, arguments: tuple) -> None:
    """One of several probe processes: time together with the others, report the rates."""
    global _barrier
    _barrier = barrier
    results.put(_probe_networks(*arguments))


_barrier = None  # in each of several probe processes: they time their steps together


def _probe_networks(networks: list[str], device: str, batch_size: int, steps: int,
                    threads: int | None, precision: str) -> dict[str, tuple[float, float]]:
    """Training and inference images/s of each network in this process."""
    set_threads(threads)
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return {network: _probe_network(network, dev, batch_size, steps, precision)
            for network in networks}


def _probe_network(network: str, device: torch.device, batch_size: int,
                   steps: int, precision: str) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build_model(Architecture(network=network, num_classes=NUM_CLASSES))
    model = model.to(device, memory_format=CONV_MEMORY_FORMAT)
    settings = TrainSettings(budget_images=batch_size, batch_size=batch_size,
                             precision=precision)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    augment = TrainAugment(settings.randaugment_n, settings.randaugment_m, CROP_PADDING)
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    images = torch.randint(0, 256, (4 * batch_size, 3, 32, 32), dtype=torch.uint8,
                           device=device)
    targets = F.one_hot(torch.arange(len(images), device=device) % NUM_CLASSES,
                        NUM_CLASSES).float()
    batch = torch.arange(batch_size, device=device)
    infer_calls = max(1, steps // 4)

    def step() -> None:
        model.train()
        train_step(model, optimizer, augment, images, targets, batch, generator, settings,
                   device)

    train_s = _timed(step, steps, device)
    infer_s = _timed(lambda: predict_logits(model, images, device), infer_calls, device)
    return steps * batch_size / train_s, infer_calls * len(images) / infer_s


def _timed(run, count: int, device: torch.device) -> float:
    """Seconds of ``count`` calls of ``run`` after one untimed warm-up call, started
    together with the other probe processes."""
    run()  # warm-up (allocator, cuDNN autotuning)
    _sync(device)
    if _barrier is not None:
        _barrier.wait(timeout=600)  # a job that died breaks the barrier, never hangs it
    start = time.perf_counter()
    for _ in range(count):
        run()
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def probe(networks: list[str], device: str = "auto", batch_size: int = 512, steps: int = 5,
          jobs: int = 1, threads: int | None = None, precision: str = "auto") -> dict:
    """Images/s of training steps (at ``precision``; ``auto`` as the plan resolves it) and
    of inference (fp32) per network on ``device``: with ``jobs`` processes sharing the
    device and timing together, their sum (what the device sustains)."""
    precision = resolve_precision(precision)
    arguments = (networks, device, batch_size, steps, threads, precision)
    if jobs == 1:
        results = [_probe_networks(*arguments)]
    else:
        context = multiprocessing.get_context("spawn")
        barrier, queue = context.Barrier(jobs), context.Queue()
        processes = [context.Process(target=_probe_job, args=(barrier, queue, arguments))
                     for _ in range(jobs)]
        for process in processes:
            process.start()
        results = _collect(queue, processes)
    return {"device": str(resolve_device(device)), "precision": precision, "jobs": jobs,
            "batch_size": batch_size,
            "train": {n: round(sum(r[n][0] for r in results), 1) for n in networks},
            "infer": {n: round(sum(r[n][1] for r in results), 1) for n in networks}}


def _collect(queue, processes: list) -> list:
    """One result per process; a RuntimeError as soon as one of them failed."""
    results = []
    while len(results) < len(processes):
        try:
            results.append(queue.get(timeout=1))
        except queue_module.Empty:
            failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if failed:
                for process in processes:
                    process.terminate()
                raise RuntimeError(f"a throughput probe job failed (exit {failed[0]})") from None
    for process in processes:
        process.join()
    return results

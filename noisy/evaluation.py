"""Evaluation of one trained model: clean accuracy, calibration, FGSM, CIFAR-10-C and -P.

One JSON per model holds the raw numbers (errors per corruption and severity, flip
probabilities per perturbation); scores relative to a baseline model (relative mCE,
mFR) are computed when the tables are built, from two such files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from noisy.atomic import write_json
from noisy.attacks import fgsm_accuracy
from noisy.augment import MEAN, STD
from noisy.data import load
from noisy.device import resolve_device, set_threads
from noisy.inference import predict_probs
from noisy.metrics import (
    confusion_matrix,
    expected_calibration_error,
    flip_probability,
    is_noise_perturbation,
    paper_calibration_error,
    plot_confusion_matrix,
    topk_accuracy,
)
from noisy.models import count_parameters, load_checkpoint
from noisy.progress import ProgressLog
from noisy.robustness import load_corruption, load_perturbation, robustness_subset
from noisy.subsets import per_class_subset

log = logging.getLogger("noisy.evaluation")

TEST_SUBSET_SEED = 0  # every model of a run is scored on the same test images


def normalize_unit(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] (B, 3, H, W) → network input (per-channel standardised)."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def _predictions(model, images: np.ndarray, device) -> np.ndarray:
    flat = images.reshape(-1, *images.shape[-3:])
    return predict_probs(model, flat, device).argmax(1).reshape(images.shape[:-3])


def evaluate(model_path: str, data_path: str, out_path: str, settings: dict,
             corruption_files: list[str] = (), perturbation_files: list[str] = (),
             confusion_path: str | None = None, device: str = "auto",
             threads: int | None = None) -> dict:
    """Score a saved model and write every metric as JSON.

    ``settings``: ``test_per_class``, ``fgsm_per_class``, ``fgsm_epsilons``,
    ``robustness_per_class`` and ``official`` (whether the C/P files are the official
    10,000-image ones or generated here from the robustness subset).
    """
    set_threads(threads)
    dev = resolve_device(device)
    model, metadata = load_checkpoint(model_path, dev)
    dataset = load(data_path)
    chosen = per_class_subset(dataset.test_labels, settings.get("test_per_class"),
                              TEST_SUBSET_SEED)
    labels = dataset.test_labels[chosen]
    probs = predict_probs(model, dataset.test_images[chosen], dev)
    paper_ece, paper_mce = paper_calibration_error(probs, labels)
    result = {
        **metadata,
        "network": model.arch.network,
        "params": count_parameters(model),
        "n_test": int(chosen.shape[0]),
        "top1": topk_accuracy(probs, labels, 1),
        "top5": topk_accuracy(probs, labels, 5),
        "ece": expected_calibration_error(probs, labels),
        "paper_ece": paper_ece,
        "paper_mce": paper_mce,
    }
    log.info("%s: clean top-1 %.2f%% on %d test images, ECE %.4f", model_path,
             result["top1"], result["n_test"], result["ece"])
    matrix = confusion_matrix(probs.argmax(1), labels, len(dataset.classes))
    result["confusion_matrix"] = matrix.tolist()
    if confusion_path:
        plot_confusion_matrix(matrix, [str(c) for c in dataset.classes], confusion_path)

    if settings.get("fgsm_epsilons"):
        fgsm_chosen = per_class_subset(dataset.test_labels, settings.get("fgsm_per_class"),
                                       TEST_SUBSET_SEED)
        epsilons = [float(eps) for eps in settings["fgsm_epsilons"]]
        accuracies = fgsm_accuracy(model, dataset.test_images[fgsm_chosen],
                                   dataset.test_labels[fgsm_chosen], epsilons,
                                   normalize_unit, device=dev)
        result["fgsm"] = {"epsilons": epsilons, **accuracies, "n": int(fgsm_chosen.shape[0])}
        log.info("FGSM accuracy %s (clean prediction right and unchanged: %s) at eps %s",
                 accuracies["accuracy"], accuracies["accuracy_unchanged"], epsilons)

    robust = robustness_subset(dataset.test_labels, settings.get("robustness_per_class"))
    official = bool(settings.get("official"))
    progress = ProgressLog(log, len(corruption_files) + len(perturbation_files),
                           "CIFAR-10-C/-P file")
    if corruption_files:
        robust_labels = dataset.test_labels[robust]
        clean = _predictions(model, dataset.test_images[robust], dev)
        errors = {}
        for path in corruption_files:
            predictions = _predictions(model, load_corruption(path, robust, official), dev)
            name = Path(path).stem
            errors[name] = [float(100.0 * np.mean(row != robust_labels))
                            for row in predictions]
            progress.finished(name, predictions.size,
                              f"mean error {np.mean(errors[name]):.1f}%")
        result["corruption"] = {"clean_error": float(100.0 * np.mean(clean != robust_labels)),
                                "errors": errors, "n": int(robust.shape[0])}
    if perturbation_files:
        flips = {}
        for path in perturbation_files:
            name = Path(path).stem
            predictions = _predictions(model, load_perturbation(path, robust, official), dev)
            flips[name] = flip_probability(predictions, is_noise_perturbation(name))
            progress.finished(name, predictions.size,
                              f"flip probability {flips[name]:.4f}")
        result["perturbation"] = {"flip_probability": flips, "n": int(robust.shape[0])}
    write_json(out_path, result)
    return result


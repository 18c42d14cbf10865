"""Evaluation of one trained model: clean accuracy and calibration; FGSM, CIFAR-10-C and -P.

:func:`evaluate_clean` scores every model; :func:`evaluate_robustness` the models a table
asks robustness of (it repeats the clean metrics). Each returns the raw numbers (errors per
corruption and severity, flip probabilities per perturbation) as one JSON-ready dict;
scores relative to a baseline model (relative mCE, mFR) are computed when the tables are
built, from two such results (:mod:`noisy.reporting.table_csv`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from noisy.method.attacks import fgsm_accuracy
from noisy.method.augment import standardize
from noisy.method.data import Dataset
from noisy.method.inference import predict_probs
from noisy.method.metrics import (
    confusion_matrix,
    expected_calibration_error,
    flip_probability,
    is_noise_perturbation,
    paper_calibration_error,
    topk_accuracy,
)
from noisy.method.models import count_parameters
from noisy.method.progress import ProgressLog
from noisy.method.robustness import load_corruption, load_perturbation, robustness_subset
from noisy.method.subsets import TEST_SUBSET_SEED, per_class_subset

log = logging.getLogger(__name__)


def _predictions(model, images: np.ndarray, device) -> np.ndarray:
    flat = images.reshape(-1, *images.shape[-3:])
    return predict_probs(model, flat, device).argmax(1).reshape(images.shape[:-3])


def evaluate_clean(model, metadata: dict, dataset: Dataset, test_per_class: int | None,
                   device: torch.device, name: str) -> dict:
    """Top-1/5, calibration and the confusion matrix of ``model`` (named ``name`` in the log)
    on the clean test subset of ``test_per_class`` images per class (None: all), with the
    model's ``metadata`` (how it was trained)."""
    chosen = per_class_subset(dataset.test_labels, test_per_class, TEST_SUBSET_SEED)
    labels = dataset.test_labels[chosen]
    probs = predict_probs(model, dataset.test_images[chosen], device)
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
    log.info("%s: clean top-1 %.2f%% on %d test images, ECE %.4f", name,
             result["top1"], result["n_test"], result["ece"])
    matrix = confusion_matrix(probs.argmax(1), labels, len(dataset.classes))
    result["confusion_matrix"] = matrix.tolist()
    return result


def _fgsm(model, dataset: Dataset, per_class: int | None, epsilons: list[float],
          dev: torch.device) -> dict:
    """FGSM accuracies at every epsilon on the FGSM test subset."""
    chosen = per_class_subset(dataset.test_labels, per_class, TEST_SUBSET_SEED)
    epsilons = [float(eps) for eps in epsilons]
    accuracies = fgsm_accuracy(model, dataset.test_images[chosen], dataset.test_labels[chosen],
                               epsilons, standardize, device=dev)
    log.info("FGSM accuracy %s (clean prediction right and unchanged: %s) at eps %s",
             accuracies["accuracy"], accuracies["accuracy_unchanged"], epsilons)
    return {"epsilons": epsilons, **accuracies, "n": int(chosen.shape[0])}


def _corruption(model, dataset: Dataset, robust: np.ndarray, files: list[str], official: bool,
                dev: torch.device, progress: ProgressLog) -> dict:
    """Top-1 error (%) per corruption and severity on the robustness subset."""
    robust_labels = dataset.test_labels[robust]
    clean = _predictions(model, dataset.test_images[robust], dev)
    errors = {}
    for path in files:
        predictions = _predictions(model, load_corruption(path, robust, official), dev)
        name = Path(path).stem
        errors[name] = [float(100.0 * np.mean(row != robust_labels)) for row in predictions]
        progress.finished(name, predictions.size, f"mean error {np.mean(errors[name]):.1f}%")
    return {"clean_error": float(100.0 * np.mean(clean != robust_labels)), "errors": errors,
            "n": int(robust.shape[0])}


def _perturbation(model, robust: np.ndarray, files: list[str], official: bool,
                  dev: torch.device, progress: ProgressLog) -> dict:
    """Flip probability per perturbation on the robustness subset."""
    flips = {}
    for path in files:
        name = Path(path).stem
        predictions = _predictions(model, load_perturbation(path, robust, official), dev)
        flips[name] = flip_probability(predictions, is_noise_perturbation(name))
        progress.finished(name, predictions.size, f"flip probability {flips[name]:.4f}")
    return {"flip_probability": flips, "n": int(robust.shape[0])}


def evaluate_robustness(model, metadata: dict, dataset: Dataset, settings: dict,
                        corruption_files: list[str], perturbation_files: list[str],
                        device: torch.device, name: str) -> dict:
    """The clean metrics, FGSM, CIFAR-10-C and CIFAR-10-P of ``model``.

    ``settings``: ``test_per_class``, ``fgsm_per_class``, ``fgsm_epsilons``,
    ``robustness_per_class`` and ``official`` (whether the C/P files are the official
    10,000-image ones or generated here from the robustness subset).
    """
    result = evaluate_clean(model, metadata, dataset, settings["test_per_class"], device, name)
    result["fgsm"] = _fgsm(model, dataset, settings["fgsm_per_class"],
                           settings["fgsm_epsilons"], device)
    robust = robustness_subset(dataset.test_labels, settings["robustness_per_class"])
    official = bool(settings["official"])
    progress = ProgressLog(log, len(corruption_files) + len(perturbation_files),
                           "CIFAR-10-C/-P file")
    result["corruption"] = _corruption(model, dataset, robust, corruption_files, official,
                                       device, progress)
    result["perturbation"] = _perturbation(model, robust, perturbation_files, official,
                                           device, progress)
    return result

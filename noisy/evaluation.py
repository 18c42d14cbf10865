"""Evaluation of one trained model on the clean test set (one JSON per model)."""

from __future__ import annotations

from noisy.atomic import write_json
from noisy.data import load
from noisy.device import resolve_device, set_threads
from noisy.inference import predict_probs
from noisy.metrics import expected_calibration_error, topk_accuracy
from noisy.models import count_parameters, load_checkpoint
from noisy.subsets import per_class_subset

TEST_SUBSET_SEED = 0  # every model of a run is scored on the same test images


def evaluate(model_path: str, data_path: str, out_path: str, test_per_class: int | None = None,
             device: str = "auto", threads: int | None = None) -> dict:
    """Score a saved model on the clean test set and write the metrics as JSON."""
    set_threads(threads)
    dev = resolve_device(device)
    model, metadata = load_checkpoint(model_path, dev)
    dataset = load(data_path)
    chosen = per_class_subset(dataset.test_labels, test_per_class, TEST_SUBSET_SEED)
    labels = dataset.test_labels[chosen]
    probs = predict_probs(model, dataset.test_images[chosen], dev)
    result = {
        **metadata,
        "network": model.arch.network,
        "params": count_parameters(model),
        "n_test": int(chosen.shape[0]),
        "top1": topk_accuracy(probs, labels, 1),
        "top5": topk_accuracy(probs, labels, 5),
        "ece": expected_calibration_error(probs, labels),
    }
    write_json(out_path, result)
    return result

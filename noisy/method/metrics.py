"""Evaluation metrics: accuracy, confusion matrix, calibration, CIFAR-10-C/-P scores.

All functions are pure numpy (the confusion matrix is drawn by reporting:
:func:`noisy.reporting.figures.plot_confusion_matrix`). Conventions
(docs/robustness_generation.md; Hendrycks & Dietterich, ICLR 2019, for the corruption and
flip scores):

* accuracies and errors are percentages; calibration errors are fractions in [0, 1];
* :func:`expected_calibration_error` is the standard top-label ECE of Guo et al. (2017),
  the primary calibration metric; :func:`paper_calibration_error` is the student
  report's non-standard variant, to be reported only under that name;
* CE, relative CE, mCE, FR and mFR are ratios to a baseline model, reported x100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from noisy.corruption.corruptions import BENCHMARK_CORRUPTIONS, EXTRA_CORRUPTIONS

__all__ = [
    "BENCHMARK_CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "confusion_matrix",
    "corruption_error",
    "expected_calibration_error",
    "flip_probability",
    "is_noise_perturbation",
    "mean_flip_rate",
    "paper_calibration_error",
    "relative_corruption_error",
    "summarise_corruptions",
    "topk_accuracy",
]

# A relative-CE denominator (baseline degradation summed over the severities, in
# percentage points) below this is flagged as unstable (e.g. brightness).
MIN_STABLE_DENOMINATOR = 1.0


# ------------------------------------------------------------------ accuracy


def _check_scores(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (N, K) score array and its (N,) integer labels."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(f"expected scores (N, K) and labels (N,), got {scores.shape} "
                         f"and {labels.shape}")
    if scores.shape[0] == 0:
        raise ValueError("no samples")
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f"labels must lie in [0, {scores.shape[1]})")
    return scores, labels.astype(np.int64)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Percentage of samples whose label is among the ``k`` highest scores (probs or logits).

    Ties are broken towards the lower class index, as ``argmax`` does.
    """
    scores, labels = _check_scores(scores, labels)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must lie in [1, {scores.shape[1]}], got {k}")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(100.0 * np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts; row = true class, column = predicted class."""
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} differ")
    for name, values in (("predictions", predictions), ("labels", labels)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes})")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


# --------------------------------------------------------------- calibration


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE of Guo et al. (2017) as a fraction.

    Confidence = max probability, prediction = argmax; ``n_bins`` equal-width bins
    ((m-1)/M, m/M]; ECE = sum_m (n_m / N) |acc_m - conf_m| (empty bins contribute 0).
    Pass probabilities, not logits.
    """
    probs, labels = _check_scores(probs, labels)
    probs = probs.astype(np.float64)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.arange(n_bins + 1) / n_bins
    bins = np.clip(np.digitize(confidence, edges, right=True) - 1, 0, n_bins - 1)
    # sum_m (n_m/N) |acc_m - conf_m| = (1/N) sum_m |sum_{i in m} (correct_i - conf_i)|
    gaps = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    return float(np.abs(gaps).sum() / probs.shape[0])


def paper_calibration_error(probs: np.ndarray, labels: np.ndarray,
                            n_bins: int = 10) -> tuple[float, float]:
    """The student report's calibration variant: (ECE, MCE) as fractions. Not Guo's ECE.

    Every class probability of every image is binned by floor(p * n_bins), clipped to
    n_bins - 1; per bin, acc = share of entries whose class is the true class and
    conf = mean probability. ECE = unweighted mean of |acc - conf| over the bins,
    MCE = their maximum. Empty bins are skipped: the report's code divides by all bins
    and would give NaN for an empty one, so the result equals the report's wherever
    the report's is defined (with 10 classes x thousands of images every bin is filled).
    """
    probs, labels = _check_scores(probs, labels)
    probs = probs.astype(np.float64)
    is_true = (np.arange(probs.shape[1])[None, :] == labels[:, None]).ravel()
    flat = probs.ravel()
    bins = np.clip(np.floor(flat * n_bins).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    accuracy = np.bincount(bins, weights=is_true, minlength=n_bins)[filled] / counts[filled]
    confidence = np.bincount(bins, weights=flat, minlength=n_bins)[filled] / counts[filled]
    gaps = np.abs(accuracy - confidence)
    return float(gaps.mean()), float(gaps.max())


# ---------------------------------------------------------------- CIFAR-10-C


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN where the denominator is 0."""
    return numerator / denominator if denominator != 0 else math.nan


def corruption_error(errors_model: np.ndarray, errors_base: np.ndarray) -> float:
    """CE_c = sum_s E_s(model) / sum_s E_s(base) as a ratio (1.0 = as good as the baseline)."""
    errors_model = np.asarray(errors_model, dtype=np.float64)
    errors_base = np.asarray(errors_base, dtype=np.float64)
    if errors_model.shape != errors_base.shape:
        raise ValueError(f"severity counts differ: {errors_model.shape} vs {errors_base.shape}")
    return _ratio(float(errors_model.sum()), float(errors_base.sum()))


def _degradation(errors: np.ndarray, clean_error: float) -> float:
    """sum_s (E_s - E_clean): the numerator/denominator of the relative CE."""
    return float(np.sum(np.asarray(errors, dtype=np.float64) - clean_error))


def relative_corruption_error(errors_model: np.ndarray, clean_model: float,
                              errors_base: np.ndarray, clean_base: float) -> float:
    """Relative CE_c = sum_s (E_s - E_clean)(model) / sum_s (E_s - E_clean)(base), a ratio.

    NaN where the baseline does not degrade at all; unstable where it barely does.
    """
    if np.shape(errors_model) != np.shape(errors_base):
        raise ValueError("model and baseline must have the same severities")
    return _ratio(_degradation(errors_model, clean_model), _degradation(errors_base, clean_base))


def summarise_corruptions(model: Mapping[str, np.ndarray], clean_error_model: float,
                          base: Mapping[str, np.ndarray], clean_error_base: float,
                          names: Sequence[str] | None = None) -> dict:
    """CE, relative CE, mCE, relative mCE and mean corruption error vs a baseline, in %.

    ``model`` and ``base`` map a corruption name to its top-1 errors (%) at severities
    1..5; clean errors are in %. ``names`` defaults to the 15 benchmark corruptions
    (pass ``BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS`` for the report's 19). Returns::

        {"names": [...],
         "corruptions": {name: {"mean_error", "ce", "relative_ce",
                                "relative_numerator", "relative_denominator"}},
         "mean_error", "mean_accuracy", "mce", "relative_mce", "unstable": [...],
         "undefined": [...]}

    ``ce``, ``relative_ce``, ``mce`` and ``relative_mce`` are x100; ``mean_error`` is the
    plain mean error over the corruptions x severities (needs no baseline) and
    ``mean_accuracy`` 100 minus it (RobustBench's CIFAR-10-C accuracy); the
    relative numerator/denominator are summed percentage points; ``unstable`` lists the
    corruptions whose relative-CE denominator is below ``MIN_STABLE_DENOMINATOR``.
    ``undefined`` lists those where the baseline does not degrade at all (denominator 0,
    common on small test subsets): their relative CE is NaN and ``relative_mce`` is the
    mean over the others (NaN only if none is left).
    """
    names = list(BENCHMARK_CORRUPTIONS if names is None else names)
    missing = sorted({name for name in names if name not in model or name not in base})
    if missing:
        raise KeyError(f"corruption errors missing for {missing}")
    per_corruption = {}
    for name in names:
        numerator = _degradation(model[name], clean_error_model)
        denominator = _degradation(base[name], clean_error_base)
        per_corruption[name] = {
            "mean_error": float(np.mean(model[name])),
            "ce": 100.0 * corruption_error(model[name], base[name]),
            "relative_ce": 100.0 * _ratio(numerator, denominator),
            "relative_numerator": numerator,
            "relative_denominator": denominator,
        }
    mean_error = float(np.mean([np.mean(model[name]) for name in names]))
    return {
        "names": names,
        "corruptions": per_corruption,
        "mean_error": mean_error,
        "mean_accuracy": 100.0 - mean_error,
        "mce": float(np.mean([row["ce"] for row in per_corruption.values()])),
        "relative_mce": _mean_where_defined([row["relative_ce"]
                                             for row in per_corruption.values()]),
        "unstable": [name for name, row in per_corruption.items()
                     if row["relative_denominator"] < MIN_STABLE_DENOMINATOR],
        "undefined": [name for name, row in per_corruption.items()
                      if math.isnan(row["relative_ce"])],
    }


def _mean_where_defined(values: Sequence[float]) -> float:
    """Mean of the non-NaN values; NaN when there are none."""
    defined = [value for value in values if not math.isnan(value)]
    return float(np.mean(defined)) if defined else math.nan


# ---------------------------------------------------------------- CIFAR-10-P


def is_noise_perturbation(name: str) -> bool:
    """Hendrycks' rule: noise perturbations (name contains "noise") compare with frame 1."""
    return "noise" in name


def flip_probability(predictions: np.ndarray, compare_to_first: bool) -> float:
    """Flip probability (fraction) of top-1 predictions (n_sequences, n_frames).

    Share of frames 2..n whose prediction differs from the first frame's
    (``compare_to_first``, noise perturbations) or from the previous frame's
    (all other perturbations), averaged over the sequences.
    """
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[0] == 0 or predictions.shape[1] < 2:
        raise ValueError(f"expected (n_sequences >= 1, n_frames >= 2), got {predictions.shape}")
    reference = predictions[:, :1] if compare_to_first else predictions[:, :-1]
    return float(np.mean(predictions[:, 1:] != reference))


def mean_flip_rate(fp_model: Mapping[str, float], fp_base: Mapping[str, float]) -> dict:
    """Flip rates FR_p = FP_p(model) / FP_p(base) and mFR = mean FR, both x100.

    Evaluated over the perturbations of ``fp_model``; returns ``{"flip_rates": {name:
    FR}, "mfr": ..., "mean_flip_probability": mean FP(model), "undefined": [...]}``.
    ``undefined`` lists the perturbations where the baseline never flips (FP 0, common
    on small test subsets): their FR is NaN and ``mfr`` is the mean over the others
    (NaN only if none is left), as for the relative mCE.
    """
    missing = sorted(set(fp_model) - set(fp_base))
    if missing:
        raise KeyError(f"baseline flip probabilities missing for {missing}")
    if not fp_model:
        raise ValueError("no perturbations")
    rates = {name: 100.0 * _ratio(float(fp), float(fp_base[name]))
             for name, fp in fp_model.items()}
    return {
        "flip_rates": rates,
        "mfr": _mean_where_defined(list(rates.values())),
        "mean_flip_probability": float(np.mean([float(fp) for fp in fp_model.values()])),
        "undefined": [name for name, rate in rates.items() if math.isnan(rate)],
    }

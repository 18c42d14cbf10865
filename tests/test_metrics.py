"""Tests of the evaluation metrics (accuracy, calibration, CIFAR-10-C/-P) and of FGSM."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from noisy.errors import UserError
from noisy.method.attacks import fgsm_accuracy
from noisy.method.metrics import (
    BENCHMARK_CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    confusion_matrix,
    corruption_error,
    expected_calibration_error,
    flip_probability,
    is_noise_perturbation,
    mean_flip_rate,
    paper_calibration_error,
    relative_corruption_error,
    summarise_corruptions,
    topk_accuracy,
)
from noisy.reporting.figures import plot_confusion_matrix

NUM_CLASSES = 10


def _calibration_toy(groups):
    """Probabilities and labels from (confidence, n_samples, n_correct) groups.

    Each row puts ``confidence`` on class 0 and spreads the rest evenly; the first
    ``n_correct`` rows of a group are labelled 0 (correct), the others 1 (wrong).
    """
    probs, labels = [], []
    for confidence, count, n_correct in groups:
        row = np.full(NUM_CLASSES, (1.0 - confidence) / (NUM_CLASSES - 1))
        row[0] = confidence
        probs += [row] * count
        labels += [0] * n_correct + [1] * (count - n_correct)
    return np.array(probs), np.array(labels)


def test_topk_accuracy_hand_case():
    scores = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    labels = np.array([1, 2, 0, 1])
    assert topk_accuracy(scores, labels, 1) == 25.0  # last row: tie goes to class 0
    assert topk_accuracy(scores, labels, 2) == 75.0
    assert topk_accuracy(scores, labels, 3) == 100.0
    assert topk_accuracy(np.log(scores), labels, 2) == 75.0  # logits work the same


def test_confusion_matrix_and_plot(tmp_path):
    predictions = np.array([0, 1, 1, 2, 2, 2, 0])
    labels = np.array([0, 1, 2, 2, 2, 0, 0])
    expected = np.array([[2, 0, 1], [0, 1, 0], [0, 1, 2]])
    matrix = confusion_matrix(predictions, labels, 3)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, expected)
    path = tmp_path / "confusion.png"
    plot_confusion_matrix(matrix, ["cat", "dog", "ship"], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.png"]


def test_ece_perfectly_calibrated_is_zero():
    probs, labels = _calibration_toy([(0.25, 20, 5), (0.55, 20, 11), (0.8, 20, 16),
                                      (1.0, 10, 10)])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)


def test_ece_overconfident_hand_value():
    # bin (0.8, 0.9]: conf 0.9, acc 0.6; bin (0.7, 0.8]: conf 0.75, acc 0.5; equal counts
    probs, labels = _calibration_toy([(0.9, 10, 6), (0.75, 10, 5)])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.3 + 0.5 * 0.25)


def test_ece_torchmetrics_docstring_example():
    probs = np.array([[0.25, 0.20, 0.55], [0.55, 0.05, 0.40], [0.10, 0.30, 0.60],
                      [0.90, 0.05, 0.05]])
    labels = np.array([0, 1, 2, 0])
    assert expected_calibration_error(probs, labels, n_bins=3) == pytest.approx(0.2)


def test_ece_matches_direct_computation_on_random_data():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(2000, NUM_CLASSES))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, NUM_CLASSES, size=2000)
    confidence, predictions = probs.max(axis=1), probs.argmax(axis=1)
    expected = 0.0
    for m in range(10):
        members = [i for i in range(2000) if m / 10 < confidence[i] <= (m + 1) / 10]
        if members:
            accuracy = np.mean([predictions[i] == labels[i] for i in members])
            mean_confidence = np.mean([confidence[i] for i in members])
            expected += len(members) / 2000 * abs(accuracy - mean_confidence)
    assert expected_calibration_error(probs, labels) == pytest.approx(expected, abs=1e-12)


def test_paper_calibration_error_hand_case():
    probs = np.array([[0.72, 0.28], [0.78, 0.22], [0.35, 0.65], [1.0, 0.0]])
    labels = np.array([0, 1, 0, 0])
    # bins 7: {.72 T, .78 F} -> |.5-.75|; 2: {.28 F, .22 T} -> |.5-.25|; 3: {.35 T} -> .65;
    # 6: {.65 F} -> .65; 9: {1.0 T} -> 0; 0: {0.0 F} -> 0; the 4 empty bins are skipped.
    ece, mce = paper_calibration_error(probs, labels)
    assert ece == pytest.approx((0.25 + 0.25 + 0.65 + 0.65) / 6)
    assert mce == pytest.approx(0.65)


def test_corruption_names():
    assert len(BENCHMARK_CORRUPTIONS) == 15 and len(EXTRA_CORRUPTIONS) == 4
    assert "brightness" in BENCHMARK_CORRUPTIONS and "saturate" in EXTRA_CORRUPTIONS


def test_corruption_errors_hand_values():
    base = np.array([20.0, 30.0, 40.0, 50.0, 60.0])
    assert corruption_error(base / 2, base) == pytest.approx(0.5)
    # model: clean 5, degradations 1..5 -> 15; base: clean 10, degradations 10..50 -> 150
    model = np.array([6.0, 7.0, 8.0, 9.0, 10.0])
    assert relative_corruption_error(model, 5.0, base, 10.0) == pytest.approx(0.1)


def test_baseline_against_itself_scores_100():
    rng = np.random.default_rng(1)
    names = BENCHMARK_CORRUPTIONS + EXTRA_CORRUPTIONS
    errors = {name: np.sort(rng.uniform(10, 60, size=5)) for name in names}
    summary = summarise_corruptions(errors, 8.0, errors, 8.0)
    assert summary["names"] == list(BENCHMARK_CORRUPTIONS)
    assert summary["mce"] == pytest.approx(100.0)
    assert summary["relative_mce"] == pytest.approx(100.0)
    assert summary["mean_error"] == pytest.approx(
        np.mean([errors[name] for name in BENCHMARK_CORRUPTIONS]))
    row = summary["corruptions"]["fog"]
    assert row["ce"] == pytest.approx(100.0) and row["relative_ce"] == pytest.approx(100.0)
    assert row["relative_numerator"] == pytest.approx(np.sum(errors["fog"] - 8.0))
    assert summary["unstable"] == []
    fp = {"gaussian_noise": 0.05, "rotate": 0.02}
    result = mean_flip_rate(fp, fp)
    assert result["mfr"] == pytest.approx(100.0)
    assert result["flip_rates"] == pytest.approx({"gaussian_noise": 100.0, "rotate": 100.0})
    assert result["mean_flip_probability"] == pytest.approx(0.035)


def test_summary_flags_unstable_denominator():
    errors = {"brightness": np.full(5, 10.1), "fog": np.full(5, 30.0)}
    summary = summarise_corruptions(errors, 10.0, errors, 10.0, names=["brightness", "fog"])
    assert summary["unstable"] == ["brightness"]
    assert summary["undefined"] == []
    with pytest.raises(KeyError):
        summarise_corruptions(errors, 10.0, errors, 10.0)


def test_relative_mce_skips_corruptions_where_the_baseline_does_not_degrade():
    base = {"brightness": np.full(5, 10.0), "fog": np.full(5, 30.0), "snow": np.full(5, 50.0)}
    model = {"brightness": np.full(5, 12.0), "fog": np.full(5, 25.0), "snow": np.full(5, 30.0)}
    summary = summarise_corruptions(model, 10.0, base, 10.0, names=list(base))
    # fog: 15 / 20, snow: 20 / 40; brightness has no baseline degradation at all
    assert summary["undefined"] == ["brightness"]
    assert math.isnan(summary["corruptions"]["brightness"]["relative_ce"])
    assert summary["relative_mce"] == pytest.approx(100.0 * (0.75 + 0.5) / 2)
    flat = {"brightness": np.full(5, 10.0)}
    assert math.isnan(summarise_corruptions(flat, 10.0, flat, 10.0,
                                            names=["brightness"])["relative_mce"])


def test_flip_probability():
    constant = np.full((4, 31), 3)
    assert flip_probability(constant, compare_to_first=True) == 0.0
    assert flip_probability(constant, compare_to_first=False) == 0.0
    one = np.array([[0, 0, 1, 0]])
    assert flip_probability(one, compare_to_first=False) == pytest.approx(2 / 3)
    assert flip_probability(one, compare_to_first=True) == pytest.approx(1 / 3)
    two = np.array([[0, 0, 1, 0], [0, 1, 1, 1]])
    assert flip_probability(two, compare_to_first=False) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert flip_probability(two, compare_to_first=True) == pytest.approx((1 / 3 + 1) / 2)
    assert is_noise_perturbation("speckle_noise_2") and not is_noise_perturbation("zoom_blur")


def _tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, NUM_CLASSES))


def _standardize(images):
    return (images - 0.5) / 0.25


def test_fgsm_eps_zero_is_clean_accuracy_and_attack_hurts():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    with torch.no_grad():
        model.eval()
        inputs = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
        clean_predictions = model(_standardize(inputs)).argmax(dim=1).numpy()
    labels = clean_predictions.copy()
    labels[::2] = rng.integers(0, NUM_CLASSES, size=32)  # half right, half random
    clean_accuracy = 100.0 * np.mean(clean_predictions == labels)
    model.train()
    epsilons = [0.0, 0.02, 0.05, 0.1]
    result = fgsm_accuracy(model, images, labels, epsilons, _standardize, batch_size=24)
    assert model.training  # mode restored
    accuracies, unchanged = result["accuracy"], result["accuracy_unchanged"]
    assert accuracies[0] == unchanged[0] == clean_accuracy
    assert max(accuracies[1:]) <= accuracies[0] + 5.0
    assert accuracies[-1] < accuracies[0]
    assert all(u <= a for u, a in zip(unchanged, accuracies, strict=True))
    same = fgsm_accuracy(model, torch.from_numpy(images), torch.from_numpy(labels), epsilons,
                         _standardize, batch_size=64)
    assert same == result


def test_figure1_csv_reports_both_fgsm_accountings(tmp_path):
    """figure1.csv holds the standard FGSM accuracy and the report's (clean prediction
    correct and unchanged); the figure draws the standard one."""
    import pandas as pd

    from noisy.reporting.figures import fgsm_figure

    path = tmp_path / "robustness.json"
    path.write_text(json.dumps({"fgsm": {"epsilons": [0.0, 0.1], "accuracy": [80.0, 30.0],
                                         "accuracy_unchanged": [80.0, 25.0], "n": 20}}))
    entries = [{"label": "hard", "network": "resnet38", "seed": 0, "path": str(path)}]
    frame = fgsm_figure(entries, str(tmp_path / "figure1.png"), str(tmp_path / "figure1.csv"))
    written = pd.read_csv(tmp_path / "figure1.csv")
    assert list(written.columns) == ["label", "network", "seed", "epsilon", "accuracy",
                                     "accuracy_unchanged"]
    assert written["accuracy"].tolist() == [80.0, 30.0]
    assert written["accuracy_unchanged"].tolist() == [80.0, 25.0]
    assert frame.equals(written)
    path.write_text(json.dumps({"fgsm": {"epsilons": [0.0], "accuracy": [80.0], "n": 20}}))
    with pytest.raises(UserError, match="evaluate the model again"):
        fgsm_figure(entries, str(tmp_path / "f.png"), str(tmp_path / "f.csv"))


def test_mfr_leaves_out_perturbations_where_the_baseline_never_flips():
    model = {"translate": 0.02, "rotate": 0.03, "brightness": 0.01}
    base = {"translate": 0.04, "rotate": 0.0, "brightness": 0.02}
    result = mean_flip_rate(model, base)
    assert result["undefined"] == ["rotate"]
    assert math.isnan(result["flip_rates"]["rotate"])
    assert result["mfr"] == pytest.approx(100.0 * (0.5 + 0.5) / 2)
    assert result["mean_flip_probability"] == pytest.approx(0.02)
    never = mean_flip_rate({"rotate": 0.0}, {"rotate": 0.0})
    assert never["undefined"] == ["rotate"] and math.isnan(never["mfr"])


# ------------------------------------------- independent oracles (tests/fixtures/oracle_*)
#
# Expected values computed once by the reference code (hendrycks/robustness, the report's
# lego0901/embedded-noisystudent, torchmetrics), run outside the project on seeded arrays;
# tests/fixtures/oracle_generate.py says how, each fixture's "source" where they came from.

FIXTURES = Path(__file__).parent / "fixtures"


def _oracle(name: str):
    """The fixture's expected values and the seeded input generators it was made from."""
    spec = importlib.util.spec_from_file_location("oracle_generate",
                                                  FIXTURES / "oracle_generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    return json.loads((FIXTURES / f"{name}.json").read_text()), generate


def test_ece_and_the_paper_variant_match_the_references():
    fixture, generate = _oracle("oracle_calibration")
    logits, labels = generate.calibration_inputs()
    assert generate.sha(logits) == fixture["inputs"]["sha256_logits"]
    assert generate.sha(labels) == fixture["inputs"]["sha256_labels"]
    probs = generate.softmax(logits)
    expected = fixture["expected"]
    # torchmetrics computes in float32
    assert expected_calibration_error(probs, labels) == pytest.approx(expected["ece"], abs=1e-6)
    paper_ece, paper_mce = paper_calibration_error(probs, labels)
    assert paper_ece == pytest.approx(expected["paper_ece"], abs=1e-12)
    assert paper_mce == pytest.approx(expected["paper_mce"], abs=1e-12)


def test_flip_probability_and_mfr_match_hendrycks():
    fixture, generate = _oracle("oracle_cifar10_p")
    model = generate.flip_inputs(seed=1, flip_rate=0.05)
    base = generate.flip_inputs(seed=2, flip_rate=0.12)
    assert {p: generate.sha(v) for p, v in model.items()} == fixture["inputs"]["sha256_model"]
    assert {p: generate.sha(v) for p, v in base.items()} == fixture["inputs"]["sha256_baseline"]
    expected = fixture["expected"]
    assert list(model) == expected["perturbations"]
    ours_model = {p: flip_probability(v, is_noise_perturbation(p)) for p, v in model.items()}
    ours_base = {p: flip_probability(v, is_noise_perturbation(p)) for p, v in base.items()}
    assert ours_model == pytest.approx(expected["flip_probability_model"], abs=1e-12)
    assert ours_base == pytest.approx(expected["flip_probability_baseline"], abs=1e-12)
    for rule, key in ((True, "flip_probability_first_frame"),
                      (False, "flip_probability_consecutive")):
        assert {p: flip_probability(v, rule) for p, v in model.items()} == pytest.approx(
            expected[key], abs=1e-12)
    rates = mean_flip_rate(ours_model, ours_base)
    assert rates["mfr"] == pytest.approx(expected["mfr"], abs=1e-9)
    assert rates["mean_flip_probability"] == pytest.approx(
        expected["mean_flip_probability_model"], abs=1e-12)


def test_corruption_errors_and_relative_mce_match_hendrycks():
    fixture, generate = _oracle("oracle_cifar10_c")
    model = generate.corruption_inputs(seed=11, clean_error=0.08, growth=0.05)
    base = generate.corruption_inputs(seed=12, clean_error=0.12, growth=0.09)
    assert generate.corruption_sha(*model[1:]) == fixture["inputs"]["sha256_model"]
    assert generate.corruption_sha(*base[1:]) == fixture["inputs"]["sha256_baseline"]
    expected = fixture["expected"]

    def errors(labels, clean, corrupted):  # top-1 errors (%) as evaluation.py computes them
        return ({name: [100.0 * np.mean(row != labels) for row in rows]
                 for name, rows in corrupted.items()}, 100.0 * np.mean(clean != labels))

    (errors_m, clean_m), (errors_b, clean_b) = errors(*model), errors(*base)
    # the reference's errors are float32, so agreement is to ~1e-5 percentage points
    assert clean_m == pytest.approx(100 * expected["clean_error_model"], abs=1e-4)
    for name in expected["corruptions"]:
        assert errors_m[name] == pytest.approx(
            [100 * e for e in expected["errors_model"][name]], abs=1e-4)
        assert errors_b[name] == pytest.approx(
            [100 * e for e in expected["errors_baseline"][name]], abs=1e-4)
    summary = summarise_corruptions(errors_m, clean_m, errors_b, clean_b,
                                    names=expected["corruptions"])
    assert summary["mean_error"] == pytest.approx(
        100 * expected["mean_corruption_error_model"], abs=1e-4)
    # RobustBench's CIFAR-10-C accuracy: the mean of the reference's accuracies
    assert summary["mean_accuracy"] == pytest.approx(
        100 * (1 - expected["mean_corruption_error_model"]), abs=1e-4)
    assert summary["relative_mce"] == pytest.approx(expected["relative_mce"], abs=1e-3)
    assert summary["mce"] == pytest.approx(expected["mce"], abs=1e-3)
    for name in expected["corruptions"]:
        row = summary["corruptions"][name]
        assert row["relative_ce"] == pytest.approx(100 * expected["relative_ce"][name],
                                                   abs=1e-3)
        assert row["ce"] == pytest.approx(100 * expected["ce"][name], abs=1e-3)


def test_fgsm_report_accounting_matches_the_original_code():
    fixture, generate = _oracle("oracle_fgsm")
    images, labels, weight = generate.fgsm_inputs()
    for key, array in (("images", images), ("labels", labels), ("weight", weight)):
        assert generate.sha(array) == fixture["inputs"][f"sha256_{key}"], key
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, NUM_CLASSES))
    with torch.no_grad():
        model[1].weight.copy_(torch.from_numpy(weight))
        model[1].bias.zero_()
    expected = fixture["expected"]
    result = fgsm_accuracy(model, images, labels, expected["epsilons"],
                           generate.fgsm_normalize)
    assert result["accuracy_unchanged"] == pytest.approx(expected["accuracy_unchanged"],
                                                         abs=1e-9)
    # the standard accounting can only count more images as right
    assert all(a >= u for a, u in zip(result["accuracy"], result["accuracy_unchanged"],
                                      strict=True))

"""Tests of pseudo-label targets, confidence selection and the TargetSet container."""

import numpy as np
import pytest

from noisy.errors import SettingsError
from noisy.method.pseudo_labels import (
    LABEL_TYPES,
    TargetSet,
    labeled_targets,
    pseudo_targets,
    select,
)

K = 10
SMALL = 0.1 / 9


def _probs(*rows):
    """Probability rows: each given as {class: prob}, the rest spread evenly."""
    out = np.zeros((len(rows), K), dtype=np.float32)
    for i, row in enumerate(rows):
        rest = (1.0 - sum(row.values())) / (K - len(row))
        out[i] = rest
        for cls, prob in row.items():
            out[i, cls] = prob
    return out


def test_hard_targets_are_099_one_hot():
    targets = pseudo_targets(_probs({3: 0.85}, {7: 1.0}), "hard")
    assert targets.dtype == np.float32
    np.testing.assert_allclose(targets.max(axis=1), [0.99, 0.99])
    np.testing.assert_allclose(targets.sum(axis=1), [0.99, 0.99], rtol=1e-6)
    np.testing.assert_array_equal(targets.argmax(axis=1), [3, 7])
    assert np.count_nonzero(targets) == 2


def test_soft_targets_are_clipped_not_renormalised():
    probs = _probs({2: 0.995, 5: 0.005}, {4: 0.9})
    targets = pseudo_targets(probs, "soft")
    np.testing.assert_allclose(targets[0, 2], 0.99)
    np.testing.assert_allclose(targets[0, 5], 0.005)
    np.testing.assert_allclose(targets[0].sum(), 0.995, rtol=1e-6)  # not renormalised
    np.testing.assert_array_equal(targets[1], probs[1])  # below the clip: unchanged
    np.testing.assert_array_equal(targets.argmax(axis=1), [2, 4])


def test_smooth_targets_scale_only_the_top_entry():
    targets = pseudo_targets(_probs({6: 0.95}), "smooth", eps=0.1)
    assert targets.argmax() == 6
    np.testing.assert_allclose(targets[0, 6], 0.9 * 0.99, rtol=1e-6)
    np.testing.assert_allclose(np.delete(targets[0], 6), SMALL, rtol=1e-6)
    np.testing.assert_allclose(targets.sum(), 0.891 + 0.1, rtol=1e-6)


def test_labeled_targets():
    labels = np.array([0, 9])
    for label_type in ("hard", "soft"):
        np.testing.assert_array_equal(
            labeled_targets(labels, K, label_type), np.eye(K, dtype=np.float32)[labels]
        )
    smooth = labeled_targets(labels, K, "smooth", eps=0.1)
    np.testing.assert_allclose(smooth[:, [0, 9]].diagonal(), [0.9, 0.9], rtol=1e-6)
    np.testing.assert_allclose(smooth.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(np.sort(smooth[0])[:-1], SMALL, rtol=1e-6)


@pytest.mark.parametrize("label_type", LABEL_TYPES)
def test_labeled_rank_above_every_pseudo_label(label_type):
    probs = _probs({1: 1.0}, {1: 0.999}, {2: 0.81})
    pseudo = pseudo_targets(probs, label_type).max(axis=1)
    labeled = labeled_targets(np.array([1, 2]), K, label_type).max(axis=1)
    assert labeled.min() > pseudo.max()


def test_unknown_label_type_is_rejected():
    with pytest.raises(SettingsError, match="label_type"):
        pseudo_targets(_probs({0: 0.9}), "mixup")


@pytest.mark.parametrize("threshold", [0.8, np.float64(0.8), np.float32(0.8)])
def test_probability_equal_to_threshold_is_rejected(threshold):
    just_above = np.nextafter(np.float32(0.8), np.float32(1.0))
    probs = _probs({0: 0.8}, {1: 0.9}, {2: 0.5}, {0: just_above})
    assert probs[0, 0] == np.float32(0.8)
    chosen = select(probs, np.array([10, 11, 12, 13]), np.array([], dtype=np.int64),
                    np.array([], dtype=np.int64), threshold, "hard")
    np.testing.assert_array_equal(chosen.indices, [11, 13])


def test_select_puts_labeled_first_with_their_labels():
    probs = _probs({4: 0.95}, {5: 0.6}, {6: 0.85})
    chosen = select(probs, np.array([30, 31, 32]), np.array([7, 3]), np.array([1, 4]),
                    0.8, "smooth")
    np.testing.assert_array_equal(chosen.indices, [7, 3, 30, 32])
    np.testing.assert_array_equal(chosen.is_labeled, [True, True, False, False])
    np.testing.assert_array_equal(chosen.classes, [1, 4, 4, 6])
    np.testing.assert_allclose(chosen.targets.max(axis=1), [0.9, 0.9, 0.891, 0.891], rtol=1e-6)
    np.testing.assert_allclose(chosen.teacher_confidence, [1.0, 1.0, 0.95, 0.85], rtol=1e-6)
    np.testing.assert_array_equal(chosen.class_counts(K), [0, 1, 0, 0, 2, 0, 1, 0, 0, 0])


def test_a_target_set_round_trips(tmp_path):
    original = TargetSet(np.array([5, 2, 5]), np.eye(3)[[0, 2, 1]] * 0.99, [True, False, False],
                           [1.0, 0.93, 0.88])
    path = tmp_path / "set.npz"
    original.save(path)
    loaded = TargetSet.load(path)
    assert loaded.indices.dtype == np.int64 and loaded.targets.dtype == np.float32
    np.testing.assert_array_equal(loaded.indices, original.indices)
    np.testing.assert_array_equal(loaded.targets, original.targets)
    np.testing.assert_array_equal(loaded.is_labeled, original.is_labeled)
    np.testing.assert_array_equal(loaded.teacher_confidence, original.teacher_confidence)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set.npz"]


def test_a_target_set_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="length mismatch"):
        TargetSet(np.array([1, 2]), np.eye(3), np.array([True, False, True]), [1.0] * 3)

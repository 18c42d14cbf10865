"""Tests of class balancing, including the check against the report's Tables 2-4."""

import csv
from pathlib import Path

import numpy as np
import pytest

import noisy
from noisy.errors import UserError
from noisy.method.balancing import balance, balance_summary
from noisy.method.pseudo_labels import TargetSet

TABLES = Path(noisy.__file__).parent / "paper_tables"
CHAIN = ("resnet20", "resnet26", "resnet32", "resnet38")


def _read(name):
    with open(TABLES / f"{name}.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _handed_on_counts():
    """Table 4: (label type, teacher network) -> per-class counts the teacher hands on."""
    counts = {}
    for row in _read("table4"):
        key = (row.pop("label_type"), row.pop("network"))
        counts[key] = [int(value) for value in row.values()]
    return counts


def _student_rows():
    """(table, label type, network, labeled, pseudo) of every student row of Tables 2, 3."""
    rows = [("table3", row["label_type"], row["network"], row["labeled"], row["pseudo"])
            for row in _read("table3") if row["label_type"] != "teacher"]
    rows += [("table2", "hard", row["network"], row["labeled"], row["pseudo"])
             for row in _read("table2") if row["network"] != CHAIN[0]]
    return rows


def _teacher_key(label_type, network):
    teacher = CHAIN[CHAIN.index(network) - 1]
    return ("teacher", teacher) if teacher == CHAIN[0] else (label_type, teacher)


def test_every_table4_row_feeds_a_student_row():
    used = {_teacher_key(label_type, network) for _, label_type, network, _, _ in _student_rows()}
    assert len(_student_rows()) == 18 + 3
    assert used == set(_handed_on_counts())


def _set_of_counts(counts):
    """Pseudo-labeled set with ``counts[c]`` entries of class c (hard targets)."""
    classes = np.repeat(np.arange(len(counts)), counts)
    targets = np.eye(len(counts), dtype=np.float32)[classes] * 0.99
    confidence = np.random.default_rng(0).uniform(0.9, 1.0, len(classes))
    return TargetSet(np.arange(len(classes)), targets, np.zeros(len(classes), bool),
                       confidence)


def _balanced_counts(counts, min_per_class, max_gap):
    balanced = balance(_set_of_counts(counts), len(counts), min_per_class, max_gap)
    return balanced.class_counts(len(counts)).tolist()


@pytest.mark.parametrize("table,label_type,network,labeled,pseudo", _student_rows())
def test_balancing_reproduces_paper_pseudo_counts(table, label_type, network, labeled,
                                                  pseudo):
    counts = _handed_on_counts()[_teacher_key(label_type, network)]
    assert sum(_balanced_counts(counts, 4000, 1000)) - int(labeled) == int(pseudo)


def test_balanced_counts_rule():
    assert _balanced_counts([4500, 3000, 6000], 4000, 1000) == [4500, 4000, 5000]
    assert _balanced_counts([1, 7, 20], min_per_class=5, max_gap=3) == [5, 7, 8]


def _tiny_set(confidences_by_class, hard=False):
    """Set where class c has one entry (index 100 c + j) per teacher confidence.

    1.0 means labeled. Targets carry the confidence, or with ``hard`` the 0.99 of every
    hard pseudo label (so only the teacher confidence can rank them).
    """
    indices, targets, is_labeled = [], [], []
    num_classes = len(confidences_by_class)
    for cls, confidences in enumerate(confidences_by_class):
        for j, confidence in enumerate(confidences):
            indices.append(100 * cls + j)
            scale = 0.99 if hard and confidence < 1.0 else confidence
            targets.append(np.eye(num_classes)[cls] * scale)
            is_labeled.append(confidence == 1.0)
    confidence = np.concatenate([np.asarray(c, dtype=float) for c in confidences_by_class])
    return TargetSet(np.array(indices), np.array(targets), np.array(is_labeled), confidence)


@pytest.mark.parametrize("sizes,min_per_class,max_gap", [
    ((5, 1, 3, 9), 6, 2),
    ((2, 13, 7), 4, 1),
    ((12, 11, 30), 5, 10),
    ((3, 3), 3, 0),
])
def test_balanced_counts_follow_the_rule(sizes, min_per_class, max_gap):
    rng = np.random.default_rng(sum(sizes))
    candidates = _tiny_set([rng.uniform(0.8, 0.99, size) for size in sizes])
    balanced = balance(candidates, len(sizes), min_per_class, max_gap)
    topped = [max(size, min_per_class) for size in sizes]  # top up, then cut to min + gap
    expected = [min(size, min(topped) + max_gap) for size in topped]
    np.testing.assert_array_equal(balanced.class_counts(len(sizes)), expected)
    assert set(balanced.indices) <= set(candidates.indices)


def test_duplication_takes_labeled_then_most_confident_and_repeats():
    candidates = TargetSet(
        indices=np.array([2, 7, 5, 9]),
        targets=np.array([[0.9, 0], [1.0, 0], [0.95, 0], [0, 1.0]]),
        is_labeled=np.array([False, True, False, True]),
        teacher_confidence=np.array([0.9, 1.0, 0.95, 1.0]),
    )
    # class 0 = {2: 0.9, 7: labeled, 5: 0.95}; min 8: each twice, then one more of 7 and 5.
    balanced = balance(candidates, 2, min_per_class=8, max_gap=100)
    class0 = balanced.indices[balanced.classes == 0]
    assert list(class0[:3]) == [2, 7, 5]
    assert list(class0[3:]) == [2, 7, 5, 7, 5]
    assert list(balanced.indices[balanced.classes == 1]) == [9] * 8


def test_hard_label_ties_are_ranked_by_the_teachers_probability():
    # All three hard targets are 0.99; the teacher was most sure of index 1, then 2.
    candidates = _tiny_set([[0.85, 0.97, 0.9], [1.0] * 4], hard=True)
    balanced = balance(candidates, 2, min_per_class=5, max_gap=100)
    assert list(balanced.indices[balanced.classes == 0]) == [0, 1, 2, 1, 2]
    cut = balance(_tiny_set([[0.85, 0.97, 0.9, 0.81], [1.0]], hard=True), 2,
                  min_per_class=1, max_gap=1)
    assert list(cut.indices[cut.classes == 0]) == [1, 2]


def test_copies_are_spread_evenly_over_many_rounds():
    # 300 images filled to 800: the report's rounds (+300, then +200 of the grown class)
    # would give the 100 best images 4 copies and the rest 2; evenly spread it is 3 or 2.
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.8, 1.0, 300).astype(np.float32)
    candidates = _tiny_set([confidence, [1.0] * 800], hard=True)
    balanced = balance(candidates, 2, min_per_class=800, max_gap=1000)
    copies = np.bincount(balanced.indices[balanced.classes == 0], minlength=300)
    assert copies.sum() == 800 and copies.min() == 2 and copies.max() == 3
    assert set(np.flatnonzero(copies == 3)) == set(np.argsort(-confidence)[:200])


def test_duplication_ties_are_broken_by_index():
    candidates = _tiny_set([[0.99] * 3, [0.99] * 4])
    balanced = balance(candidates, 2, min_per_class=4, max_gap=100)
    assert list(balanced.indices[balanced.classes == 0]) == [0, 1, 2, 0]


def test_cutting_drops_the_least_confident():
    candidates = _tiny_set([[0.85, 1.0, 0.99, 0.9, 0.81, 0.95], [0.9, 0.9]])
    balanced = balance(candidates, 2, min_per_class=2, max_gap=2)
    # smallest class 2 + gap 2 = 4: keep the labeled one, 0.99, 0.95, 0.9 (in original order)
    assert list(balanced.indices[balanced.classes == 0]) == [1, 2, 3, 5]
    assert list(balanced.indices[balanced.classes == 1]) == [100, 101]


def test_class_without_candidates_raises_clear_error():
    candidates = _tiny_set([[0.9, 0.95], [0.99]])
    with pytest.raises(UserError, match=r"class 2 has no images.*cannot be topped up"):
        balance(candidates, 3, min_per_class=4, max_gap=10)


def test_the_summary_counts_each_labeled_image_once_and_every_copy_as_a_pseudo_label():
    # class 0: one labeled image and two pseudo labels; class 1: two labeled images, no
    # pseudo label. Topped up to 5 each, the copies of labeled images count as P.
    candidates = _tiny_set([[1.0, 0.9, 0.95], [1.0, 1.0]])
    balanced = balance(candidates, 2, min_per_class=5, max_gap=10)
    assert balance_summary(candidates, balanced, 2) == {
        "before": [3, 2], "after": [5, 5], "total_before": 5, "total_after": 10,
        "labeled_per_class": [1, 2], "pseudo_per_class": [4, 3], "labeled": 3, "pseudo": 7}

"""The labeled/unlabeled split: deterministic, disjoint, complete, with the right counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from noisy import cli
from noisy.errors import SettingsError, UserError
from noisy.method.split import load_split, make_split, save_split

# 10 classes of unequal size (100..145 images), shuffled like the official batches.
LABELS = np.random.default_rng(0).permutation(np.repeat(np.arange(10), np.arange(100, 150, 5)))


@pytest.mark.parametrize("mode", ["random", "stratified"])
def test_same_arguments_give_the_same_split(mode):
    first = make_split(LABELS, 0.1, 3, mode)
    second = make_split(LABELS.copy(), 0.1, 3, mode)
    np.testing.assert_array_equal(first.labeled, second.labeled)
    np.testing.assert_array_equal(first.unlabeled, second.unlabeled)
    assert not np.array_equal(first.labeled, make_split(LABELS, 0.1, 4, mode).labeled)


def test_random_split_is_pinned():
    """Guards the algorithm (PCG64 permutation) against silent changes."""
    split = make_split(np.arange(20) % 2, 0.25, 0, "random")
    np.testing.assert_array_equal(split.labeled, [2, 4, 6, 13, 19])


@pytest.mark.parametrize("mode", ["random", "stratified"])
@pytest.mark.parametrize("ratio", [0.05, 0.1, 0.2])
def test_disjoint_sorted_and_covering(mode, ratio):
    split = make_split(LABELS, ratio, 0, mode)
    assert np.intersect1d(split.labeled, split.unlabeled).size == 0
    np.testing.assert_array_equal(np.union1d(split.labeled, split.unlabeled),
                                  np.arange(LABELS.size))
    assert np.all(np.diff(split.labeled) > 0) and np.all(np.diff(split.unlabeled) > 0)
    assert split.labeled.dtype == np.int64 and split.unlabeled.dtype == np.int64
    np.testing.assert_array_equal(split.labeled_per_class,
                                  np.bincount(LABELS[split.labeled], minlength=10))


def test_random_split_labels_a_rounded_fraction():
    assert make_split(LABELS, 0.1, 0, "random").labeled.size == round(0.1 * LABELS.size)


def test_stratified_split_has_equal_counts_per_class():
    split = make_split(LABELS, 0.1, 0, "stratified")
    per_class = round(0.1 * LABELS.size / 10)
    np.testing.assert_array_equal(split.labeled_per_class, [per_class] * 10)


def test_stratified_split_rejects_a_class_that_is_too_small():
    labels = np.array([0] * 10 + [1] * 2)
    with pytest.raises(UserError, match="class 1 has 2 images"):
        make_split(labels, 0.5, 0, "stratified")


@pytest.mark.parametrize("mode", ["random", "stratified"])
def test_ratio_one_labels_everything(mode):
    split = make_split(LABELS, 1.0, 0, mode)
    np.testing.assert_array_equal(split.labeled, np.arange(LABELS.size))
    assert split.unlabeled.size == 0
    np.testing.assert_array_equal(split.labeled_per_class, np.bincount(LABELS))


def test_pool_restricts_the_split():
    pool = np.arange(0, LABELS.size, 3)
    split = make_split(LABELS, 0.2, 0, "random", pool=pool)
    np.testing.assert_array_equal(np.union1d(split.labeled, split.unlabeled), pool)
    assert split.labeled.size == round(0.2 * pool.size)


@pytest.mark.parametrize("kwargs", [
    {"labeled_ratio": 0.0}, {"labeled_ratio": 1.5}, {"labeled_ratio": 1e-4},
    {"mode": "balanced"}, {"seed": None}, {"seed": -1},
])
def test_bad_settings_are_rejected_as_settings_errors(kwargs):
    arguments = {"train_labels": LABELS, "labeled_ratio": 0.1, "seed": 0, "mode": "random"}
    with pytest.raises(SettingsError):
        make_split(**{**arguments, **kwargs})


def test_save_and_load_round_trip(tmp_path):
    split = make_split(LABELS, 0.1, 7, "stratified")
    path = tmp_path / "splits" / "seed7.npz"
    save_split(split, path)
    loaded = load_split(path)
    np.testing.assert_array_equal(loaded.labeled, split.labeled)
    np.testing.assert_array_equal(loaded.unlabeled, split.unlabeled)
    np.testing.assert_array_equal(loaded.labeled_per_class, split.labeled_per_class)
    assert (loaded.labeled_ratio, loaded.seed, loaded.mode) == (0.1, 7, "stratified")


def test_the_split_job_writes_its_summary_where_it_is_told(tiny_data, tmp_path):
    settings = {"labeled_ratio": 0.25, "seed": 7, "mode": "stratified", "train_per_class": None}
    out, summary_file = tmp_path / "split.npz", tmp_path / "counts.json"
    assert cli.main(["split", "--data", str(tiny_data), "--settings", json.dumps(settings),
                     "--out", str(out), "--summary", str(summary_file)]) == 0
    summary = json.loads(summary_file.read_text())
    assert summary == load_split(out).summary()
    assert summary["labeled"] + summary["unlabeled"] == 24
    assert summary["labeled_per_class"] == [2, 2, 2]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counts.json", "data",
                                                                "split.npz"]

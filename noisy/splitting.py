"""The split stage: a seeded train pool (small scales) and its labeled/unlabeled split."""

from __future__ import annotations

from noisy.data import load
from noisy.split import make_split, save_split
from noisy.subsets import per_class_subset


def split_stage(data_path: str, settings: dict, out_path: str) -> None:
    """Split the (optionally reduced) train set into labeled and unlabeled indices."""
    labels = load(data_path).train_labels
    pool = per_class_subset(labels, settings["train_per_class"], settings["seed"])
    split = make_split(labels, settings["labeled_ratio"], settings["seed"], settings["mode"],
                       pool=pool)
    save_split(split, out_path)

"""rule split: a seeded train pool split into labeled and unlabeled images."""

from __future__ import annotations

from noisy.files import write_json
from noisy.jobs import add_data, add_out, add_settings
from noisy.method.data import load
from noisy.method.split import make_split, save_split
from noisy.method.subsets import per_class_subset


def add_arguments(parser) -> None:
    add_data(parser)
    add_settings(parser, "labeled_ratio, seed, mode, train_per_class (the pool; null: all)")
    add_out(parser, "the split (.npz)", summary="labeled per class")


def run(args) -> None:
    settings = args.settings
    labels = load(args.data).train_labels
    pool = per_class_subset(labels, settings["train_per_class"], settings["seed"])
    split = make_split(labels, settings["labeled_ratio"], settings["seed"], settings["mode"],
                       pool=pool)
    save_split(split, args.out)
    write_json(args.summary, split.summary())

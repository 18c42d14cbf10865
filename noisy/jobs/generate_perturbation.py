"""rule generate_perturbation: one CIFAR-10-P perturbation of the robustness test subset."""

from __future__ import annotations

from noisy.jobs import add_data, add_settings
from noisy.method.data import load
from noisy.method.perturbations import write_perturbation
from noisy.method.robustness import robustness_subset


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--name", required=True, help="the perturbation, e.g. translate")
    add_settings(parser, "per_class (test images per class; null: all), seed")
    parser.add_argument("--out", required=True, help="the CIFAR-10-P .npy file to write")


def run(args) -> None:
    dataset = load(args.data)
    chosen = robustness_subset(dataset.test_labels, args.settings["per_class"])
    write_perturbation(dataset.test_images[chosen], args.name, args.settings["seed"], args.out)

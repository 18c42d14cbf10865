"""rule generate_corruption: one CIFAR-10-C corruption of the robustness test subset."""

from __future__ import annotations

from noisy.corruption.corruptions import write_corruption
from noisy.jobs import add_generated_set
from noisy.method.data import load
from noisy.method.robustness import robustness_images


def add_arguments(parser) -> None:
    add_generated_set(parser, "CIFAR-10-C", "gaussian_noise")


def run(args) -> None:
    images = robustness_images(load(args.data), args.settings["per_class"])
    write_corruption(images, args.name, args.settings["seed"], args.out)

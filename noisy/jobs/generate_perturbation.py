"""rule generate_perturbation: one CIFAR-10-P perturbation of the robustness test subset."""

from __future__ import annotations

from noisy.corruption.perturbations import write_perturbation
from noisy.jobs import add_generated_set
from noisy.method.data import load
from noisy.method.robustness import robustness_images


def add_arguments(parser) -> None:
    add_generated_set(parser, "CIFAR-10-P", "translate")


def run(args) -> None:
    images = robustness_images(load(args.data), args.settings["per_class"])
    write_perturbation(images, args.name, args.settings["seed"], args.out)

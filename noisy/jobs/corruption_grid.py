"""rule corruption_grid: a few test images under every corruption and severity (a PNG)."""

from __future__ import annotations

from noisy.corruption.corruptions import corruption_grid
from noisy.jobs import add_data, add_out, add_settings
from noisy.method.data import load
from noisy.method.robustness import robustness_images

IMAGES = 2  # test images shown, the first of the robustness subset at one per class


def add_arguments(parser) -> None:
    add_data(parser)
    add_settings(parser, "seed (of the corruptions' random numbers)")
    add_out(parser, "the PNG")


def run(args) -> None:
    images = robustness_images(load(args.data), 1)[:IMAGES]
    corruption_grid(images, args.out, args.settings["seed"])

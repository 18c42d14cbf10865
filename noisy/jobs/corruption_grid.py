"""rule corruption_grid: a few test images under every corruption and severity (a PNG)."""

from __future__ import annotations

from noisy.jobs import add_data, add_settings
from noisy.method.corruptions import corruption_grid
from noisy.method.data import load
from noisy.method.robustness import robustness_subset

IMAGES = 2  # test images shown, the first of the robustness subset at one per class


def add_arguments(parser) -> None:
    add_data(parser)
    add_settings(parser, "seed (of the corruptions' random numbers)")
    parser.add_argument("--out", required=True, help="the PNG to write")


def run(args) -> None:
    dataset = load(args.data)
    chosen = robustness_subset(dataset.test_labels, 1)[:IMAGES]
    corruption_grid(dataset.test_images[chosen], args.out, args.settings["seed"])

"""rule generate_corruption: one CIFAR-10-C corruption of the robustness test subset."""

from __future__ import annotations

from noisy.jobs import add_data
from noisy.method.corruptions import write_corruption
from noisy.method.data import load
from noisy.method.robustness import robustness_subset


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--name", required=True, help="the corruption, e.g. gaussian_noise")
    parser.add_argument("--per-class", type=int, default=0, help="0 = the whole test set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="the CIFAR-10-C .npy file to write")


def run(args) -> None:
    dataset = load(args.data)
    chosen = robustness_subset(dataset.test_labels, args.per_class or None)
    write_corruption(dataset.test_images[chosen], args.name, args.seed, args.out)

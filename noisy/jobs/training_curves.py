"""rule training_curves: monitor accuracy and loss per epoch of every network of the chains."""

from __future__ import annotations

from noisy.jobs import add_listing, add_out
from noisy.reporting.figures import training_curves_figure


def add_arguments(parser) -> None:
    add_listing(parser, "--entries", "{label, network, seed, path} of history.csv files")
    add_out(parser, "the PNG")


def run(args) -> None:
    training_curves_figure(args.entries, args.out)

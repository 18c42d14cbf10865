"""rule training_curves: monitor accuracy and loss per epoch of every network of the chains."""

from __future__ import annotations

import json

from noisy.reporting.figures import training_curves_figure


def add_arguments(parser) -> None:
    parser.add_argument("--entries", type=json.loads, required=True,
                        help="JSON list of {label, network, seed, path}: history.csv files")
    parser.add_argument("--out", required=True, help="the PNG to write")


def run(args) -> None:
    training_curves_figure(args.entries, args.out)

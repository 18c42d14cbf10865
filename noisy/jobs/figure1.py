"""rule figure1: Figure 1, FGSM accuracy against epsilon, as a PNG and its CSV."""

from __future__ import annotations

import json

from noisy.reporting.figures import fgsm_figure


def add_arguments(parser) -> None:
    parser.add_argument("--entries", type=json.loads, required=True,
                        help="JSON list of {label, network, seed, path}: robustness.json files")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--csv", required=True, help="the figure's numbers (.csv) to write")


def run(args) -> None:
    fgsm_figure(args.entries, args.out, args.csv)

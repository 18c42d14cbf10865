"""rule figure1: Figure 1, FGSM accuracy against epsilon, as a PNG and its CSV."""

from __future__ import annotations

from noisy.jobs import add_listing, add_out
from noisy.reporting.figures import fgsm_figure


def add_arguments(parser) -> None:
    add_listing(parser, "--entries", "{label, network, seed, path} of robustness.json files")
    add_out(parser, "the PNG")
    parser.add_argument("--csv", required=True, help="the figure's numbers (.csv) to write")


def run(args) -> None:
    fgsm_figure(args.entries, args.out, args.csv)

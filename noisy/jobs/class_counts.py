"""rule class_counts: the per-class counts each teacher hands on (Tables 4, 8, 9), drawn."""

from __future__ import annotations

from noisy.jobs import add_out
from noisy.reporting.figures import class_counts_figure


def add_arguments(parser) -> None:
    parser.add_argument("--tables", nargs="+", required=True, help="table4/8/9 CSV files")
    add_out(parser, "the PNG")


def run(args) -> None:
    class_counts_figure(args.tables, args.out)

"""rule class_counts: the per-class counts each teacher hands on (Tables 4, 8, 9), drawn."""

from __future__ import annotations

from noisy.reporting.figures import class_counts_figure


def add_arguments(parser) -> None:
    parser.add_argument("--tables", nargs="+", required=True, help="table4/8/9 CSV files")
    parser.add_argument("--out", required=True, help="the PNG to write")


def run(args) -> None:
    class_counts_figure(args.tables, args.out)

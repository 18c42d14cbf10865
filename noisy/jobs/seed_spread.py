"""rule seed_spread: a table's spread over seeds against the paper's single run."""

from __future__ import annotations

from pathlib import Path

from noisy.reporting.figures import seed_spread_figure
from noisy.reporting.report import paper_table


def add_arguments(parser) -> None:
    parser.add_argument("--table", required=True, help="a reproduced results/tableN.csv")
    parser.add_argument("--paper", help="the paper's CSV (default: noisy/paper_tables/)")
    parser.add_argument("--labeled-ratios", nargs="*", type=float,
                        help="Table 1's labeled ratios (config table1.labeled_ratios)")
    parser.add_argument("--out", required=True, help="the PNG to write")


def run(args) -> None:
    paper = args.paper or str(paper_table(Path(args.table).stem))
    seed_spread_figure(args.table, paper, args.out, args.labeled_ratios)

"""rule seed_spread: a table's spread over seeds against the paper's single run."""

from __future__ import annotations

from noisy.jobs import add_out, add_settings
from noisy.reporting.figures import seed_spread_figure


def add_arguments(parser) -> None:
    parser.add_argument("--table", required=True, help="a reproduced results/tableN.csv")
    parser.add_argument("--paper", required=True,
                        help="the paper's numbers of that table (noisy/paper_tables/tableN.csv)")
    add_settings(parser, "labeled_ratios (Table 1's, config table1.labeled_ratios)")
    add_out(parser, "the PNG")


def run(args) -> None:
    seed_spread_figure(args.table, args.paper, args.out, args.settings["labeled_ratios"])

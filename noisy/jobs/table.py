"""rule table: one of the paper's tables gathered from the result files its rows read."""

from __future__ import annotations

from noisy.jobs import add_listing, add_out
from noisy.reporting.table_csv import build


def add_arguments(parser) -> None:
    parser.add_argument("--name", required=True, help="table1 ... table10")
    add_listing(parser, "--rows", "each row's keys and files (noisy.workflow.tables.rows)")
    add_out(parser, "the table (.csv)")


def run(args) -> None:
    build(args.name, args.rows, args.out)

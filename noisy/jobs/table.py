"""rule table: one of the paper's tables gathered from the result files its rows read."""

from __future__ import annotations

import json

from noisy.reporting.table_csv import build


def add_arguments(parser) -> None:
    parser.add_argument("--name", required=True, help="table1 ... table10")
    parser.add_argument("--rows", type=json.loads, required=True,
                        help="JSON from noisy.workflow.tables.rows: each row's keys and files")
    parser.add_argument("--out", required=True, help="the table (.csv) to write")


def run(args) -> None:
    build(args.name, args.rows, args.out)

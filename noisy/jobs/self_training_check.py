"""rule self_training_check: the teacher, its students and their yardsticks side by side."""

from __future__ import annotations

import json

from noisy.reporting.self_training import build


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=json.loads, required=True,
                        help="JSON from noisy.workflow.outputs.self_training_rows")
    parser.add_argument("--out", required=True, help="the table (.csv) to write")


def run(args) -> None:
    build(args.rows, args.out)

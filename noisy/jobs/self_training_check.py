"""rule self_training_check: the teacher, its students and their yardsticks side by side."""

from __future__ import annotations

from noisy.jobs import add_listing, add_out
from noisy.reporting.self_training import build


def add_arguments(parser) -> None:
    add_listing(parser, "--rows", "rows of noisy.workflow.outputs.self_training_rows")
    add_out(parser, "the table (.csv)")


def run(args) -> None:
    build(args.rows, args.out)

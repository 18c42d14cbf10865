"""rule teacher_check: the chain's first teacher beside the paper's (Tables 1, 4 and 5)."""

from __future__ import annotations

from noisy.jobs import add_listing, add_out
from noisy.reporting.teacher_check import build


def add_arguments(parser) -> None:
    add_listing(parser, "--rows", "rows of noisy.workflow.outputs.teacher_check_rows")
    add_out(parser, "the comparison (.csv)")


def run(args) -> None:
    build(args.rows, args.out)

"""rule report: the Markdown and HTML report of the results, compared with the paper."""

from __future__ import annotations

import json

from noisy.jobs import add_out
from noisy.reporting.report import write_report


def add_arguments(parser) -> None:
    add_out(parser, "the Markdown report")
    parser.add_argument("--html", required=True, help="the self-contained HTML report to write")
    parser.add_argument("--settings", type=json.loads, default="{}",
                        help="JSON: scale, preset, seeds, data_source, device, precision, "
                             "robustness_source, labeled_ratios")
    parser.add_argument("--tables", nargs="*", default=[], help="reproduced table CSVs")
    parser.add_argument("--figures", nargs="*", default=[], help="figure PNGs")
    parser.add_argument("--confusions", type=json.loads, default="[]",
                        help="JSON list of {path, model, trained_on}: confusion-matrix PNGs of "
                             "the final models")
    parser.add_argument("--benchmarks", type=json.loads, default="[]",
                        help="JSON list of {path, role}: Snakemake benchmark files of the "
                             "trainings behind the tables")
    parser.add_argument("--data-summary", default=None, help="the data set's summary JSON")


def run(args) -> None:
    write_report(args.out, args.html, args.settings, args.tables, args.figures,
                 args.confusions, args.benchmarks, args.data_summary)

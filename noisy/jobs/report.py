"""rule report: the Markdown and HTML report of the results, compared with the paper.

It reads JSON and CSV files and the figures' PNGs, and never imports torch: what the
trainings ran on comes from their stage.json files, not from the machine the report runs on.
"""

from __future__ import annotations

import json

from noisy.jobs import add_listing, add_out
from noisy.reporting.report import write_report


def add_arguments(parser) -> None:
    add_out(parser, "the Markdown report")
    parser.add_argument("--html", required=True, help="the self-contained HTML report to write")
    parser.add_argument("--settings", type=json.loads, default="{}",
                        help="JSON: scale, preset, seeds, data_source, precision, "
                             "robustness_source, labeled_ratios")
    add_listing(parser, "--tables", "{table, path, paper}: each reproduced table's CSV and "
                                    "the paper's")
    add_listing(parser, "--figures", "{path, caption}: figure PNGs")
    add_listing(parser, "--confusions", "{path, caption}: confusion-matrix PNGs of the final "
                                        "models")
    add_listing(parser, "--trainings", "{role, benchmark, definition}: the Snakemake benchmark "
                                       "file and stage.json of every training behind the tables")
    parser.add_argument("--data-summary", default=None, help="the data set's summary JSON")


def run(args) -> None:
    write_report(args.out, args.html, args.settings, args.tables, args.figures,
                 args.confusions, args.trainings, args.data_summary)

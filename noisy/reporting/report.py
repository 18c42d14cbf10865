"""The finished report: every reproduced table beside the paper's, the figures, the setup.

``python -m noisy report --out results/report.md --html results/report.html --settings
'<json>' --tables '<json>' --figures '<json>' --confusions '<json>' --trainings '<json>'
--data-summary results/data/cifar10.json`` (:mod:`noisy.cli`) writes a Markdown report
(images by relative path) and a self-contained HTML one (images embedded), both from one
list of sections (:mod:`noisy.reporting.document`). Each table is set beside the paper's by
:mod:`noisy.reporting.comparison`; the trainings' hours and devices come from
:mod:`noisy.reporting.compute`. It reads the files it is given and nothing else, and never
imports torch: the workflow's plan decides which files, and gives every figure its caption
(:mod:`noisy.workflow.outputs`).
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from noisy.errors import UserError
from noisy.files import read_json, write_text
from noisy.reporting.comparison import TALLY, TOLERANCE_TEXT, comparison, tally_row
from noisy.reporting.compute import compute_lines, device_line
from noisy.reporting.document import (
    Bullets,
    Figure,
    Gallery,
    Paragraph,
    Section,
    Table,
    to_html,
    to_markdown,
)
from noisy.workflow.tables import TABLES

DEFECTS = [
    "Every number of the paper is a single run: no seeds, no spread.",
    "The paper's code keeps the epoch with the best *test* accuracy; this reproduction reports "
    "the model after the final epoch, so small shortfalls in accuracy are expected.",
    "The paper's ECE bins every class probability and averages the bins without weights. Its "
    "ECE is compared here with the same variant (`paper_ece`); the standard top-label, "
    "count-weighted ECE is shown beside it as *ECE (standard)*.",
    "The paper's FGSM applies nll_loss to raw logits; this reproduction uses cross-entropy.",
    "The paper's CIFAR-10-P flip probability compares every frame with the first; this "
    "reproduction follows Hendrycks (consecutive frames except for the noise perturbations).",
    "Table 7 prints identical rows for hard labels at thresholds 0.7 and 0.8, and they differ "
    "from the 0.8 rows of Tables 3 and 5: a transcription error. Those paper rows are marked "
    "*paper row suspect*; Table 5's hard rows are the paper's values for threshold 0.8.",
]


def _versions() -> dict[str, str]:
    """Python's and the installed packages' versions, read without importing them."""
    versions = {"python": platform.python_version()}
    for package in ("torch", "torchvision", "snakemake", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _data_source(data_summary: str | None, config: dict) -> str:
    text = f"`{config.get('data_source', 'unknown')}`"
    if data_summary:
        source = read_json(data_summary).get("source", {})
        details = ", ".join(f"{k} {v}" for k, v in source.items() if k != "sha256")
        if source.get("sha256"):
            details += f", sha256 {source['sha256'][:16]}…"
        text += f" ({details})" if details else ""
    return text


def _header(config: dict, trainings: list[dict], data_summary: str | None) -> list[str]:
    """The setup of the run: scale, seeds, data, versions, arithmetic, devices, compute."""
    preset = config.get("preset") or {}
    budgets = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                        for k, v in preset.items())
    scale = config.get("scale", "unknown")
    lines = [f"**Scale**: `{scale}`" + (f" ({budgets})" if budgets else "")]
    if scale != "paper":
        lines[0] += (" — budgets and data are scaled down: the paper's numbers are not "
                     "expected to be met; the comparison shows how far off each value is.")
    return lines + [
        f"**Seeds**: {', '.join(str(s) for s in config.get('seeds', [])) or 'unknown'}",
        f"**Data**: {_data_source(data_summary, config)}; CIFAR-10-C/-P: "
        f"{config.get('robustness_source', 'unknown')}",
        "**Versions**: " + ", ".join(f"{k} {v}" for k, v in _versions().items()),
        f"**Training arithmetic**: {config.get('precision', 'unknown')} (predictions and "
        "evaluations in fp32)",
        f"**Trainings ran on**: {device_line(trainings)}",
        "**Compute**: " + " ".join(compute_lines(trainings)),
    ]


def _table_sections(tables: list[dict], ratios: list[float] | None
                    ) -> tuple[list[Section], list[list]]:
    """One section per built table, in the paper's order, and the summary's rows."""
    sections, summary = [], []
    for entry in sorted(tables, key=lambda entry: list(TABLES).index(entry["table"])):
        table, spec = entry["table"], TABLES[entry["table"]]
        headers, rows, tally = comparison(table, pd.read_csv(entry["path"]),
                                          pd.read_csv(entry["paper"]), ratios)
        summary.append(tally_row(table, tally))
        note = [Paragraph(spec.notes)] if spec.notes else []
        sections.append(Section(f"{table.replace('table', 'Table ')}: {spec.title}",
                                note + [Table(headers, rows)]))
    return sections, summary


def _summary_section(tables: list[dict], summary: list[list]) -> Section:
    built = {entry["table"] for entry in tables}
    missing = [t for t in TABLES if t not in built]
    return Section("Summary", [
        Paragraph(TOLERANCE_TEXT),
        Table(["table", "what", *TALLY.values()], summary) if summary
        else Paragraph("No table was built."),
        Paragraph("Not in this report: " + (", ".join(missing) if missing else "none") + "."),
    ])


def _gallery_section(heading: str, figures: list[dict], css: str) -> list[Section]:
    """A section of the figures (``path``, ``caption``) that exist, the others named as not
    built; none when there are no figures."""
    if not figures:
        return []
    present = [Figure(Path(entry["path"]), entry["caption"]) for entry in figures
               if Path(entry["path"]).exists()]
    absent = [entry["path"] for entry in figures if not Path(entry["path"]).exists()]
    return [Section(heading, [Gallery(present, absent, css)])]


def report_sections(settings: dict, tables: list[dict], figures: list[dict],
                    confusions: list[dict] | None = None, trainings: list[dict] | None = None,
                    data_summary: str | None = None) -> list[Section]:
    """The report's sections: setup, summary, defects, tables, figures, confusions."""
    unknown = sorted({entry["table"] for entry in tables} - set(TABLES))
    if unknown:
        raise UserError(f"not a table of the paper: {', '.join(unknown)} (from --tables)")
    table_sections, summary = _table_sections(tables, settings.get("labeled_ratios"))
    return ([Section("Noisy Student on CIFAR-10: reproduction report",
                     [Paragraph(f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."),
                      Bullets(_header(settings, trainings or [], data_summary))], level=1),
             _summary_section(tables, summary),
             Section("Known defects of the paper", [Bullets(DEFECTS)])]
            + table_sections
            + _gallery_section("Figures", figures, "")
            + _gallery_section("Confusion matrices of the final models", confusions or [],
                               "small"))


def write_report(out_md: str, out_html: str, settings: dict, tables: list[dict],
                 figures: list[dict], confusions: list[dict] | None = None,
                 trainings: list[dict] | None = None, data_summary: str | None = None) -> None:
    """Write the Markdown and the self-contained HTML report.

    Only the given files are read: ``tables`` name each reproduced table (``table``), its
    CSV (``path``) and the paper's (``paper``); ``figures`` and ``confusions`` are images
    (``path``) with their ``caption``; ``trainings`` the trainings behind the tables
    (:mod:`noisy.reporting.compute`) and ``data_summary`` the data set's summary. Anything
    else in the results folder (a table or a model left by an earlier run with another
    configuration, say) never enters the report.
    """
    sections = report_sections(settings, tables, figures, confusions, trainings, data_summary)
    write_text(out_md, to_markdown(sections, Path(out_md).parent))
    write_text(out_html, to_html(sections, "Noisy Student reproduction report"))

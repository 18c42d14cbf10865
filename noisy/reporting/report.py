"""The finished report: every reproduced table beside the paper's, the figures, the setup.

``python -m noisy report --out results/report.md --html results/report.html --settings
'<json>' --tables ... --figures ... --confusions '<json>' --benchmarks '<json>'
--data-summary results/data/cifar10.json`` (:mod:`noisy.cli`) writes a Markdown report
(images by relative path) and a self-contained HTML one (images embedded), both from one
list of sections (:mod:`noisy.reporting.document`). It reads the files it is given and nothing else;
the workflow's plan decides which (:mod:`noisy.workflow.outputs`).
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from noisy.errors import UserError
from noisy.files import read_json, write_text
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

PAPER_TRAIN_SIZE = 50000
# (kind, value): "abs" = absolute difference, "rel" = fraction of the paper's value.
TOLERANCES = {
    "top1": ("abs", 1.0),
    "top5": ("abs", 1.0),
    "ece": ("abs", 0.02),
    "rel_mce": ("abs", 5.0),
    "mfr": ("abs", 5.0),
    "labeled": ("abs", 0),
    "params": ("abs", 0),
    "pseudo": ("rel", 0.05),
}
COUNT_TOLERANCE = ("rel", 0.05)
SPREAD_SIGMAS = 2
COUNT_COLUMNS = {"labeled", "pseudo", "params"}
DECIMALS = {"ece": 4, "paper_ece": 4}
HEADERS = {"ece": "ECE (paper's variant)", "extra:ece": "ECE (standard)",
           "extra:mean_corruption_error": "mean corruption error (%)"}
TOLERANCE_TEXT = (
    "A reproduced value **agrees** when it is within the tolerance of the paper's: top-1 and "
    "top-5 within 1 point; ECE within 0.02; relative mCE and mFR within 5 points (ratios of "
    "error sums against a baseline, noisy by nature); pseudo-label and per-class counts within "
    "5%; parameter and labeled counts exactly. With several seeds a value outside the "
    f"tolerance but within {SPREAD_SIGMAS} standard deviations of the seeds' mean is "
    "**within spread**. Δ = reproduced − paper. Accuracies are in %."
)
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
FIGURE_CAPTIONS = {
    "figure1.png": "Figure 1: top-1 accuracy under FGSM against epsilon, per pseudo-label type "
                   "(final ResNet-38 of each chain), the teacher and the network without "
                   "self-training (orange). Data: figure1.csv.",
    "class_counts.png": "Per-class counts each teacher hands on (Tables 4, 8, 9), before class "
                        "balancing.",
    "training_curves.png": "Test accuracy (solid) and train loss (dashed) of every network of "
                           "each chain against the fraction of its training.",
    "corruption_grid.png": "A few test images under each CIFAR-10-C corruption (rows) at "
                           "severities 1 to 5 (columns).",
}


def paper_table(table: str) -> Path:
    """The paper's CSV of ``table`` shipped with the package."""
    return TABLES[table].paper_csv


def match_keys(table: str) -> list[str]:
    """Columns that identify a row in both the paper and the reproduction: the key columns
    that are not counts, led by the labeled fraction where the table matches on it."""
    spec = TABLES[table]
    ratio = ["labeled_ratio"] if spec.labeled_as_ratio else []
    return ratio + [key for key in spec.key_columns if key not in COUNT_COLUMNS]


def _labeled_ratio(labeled: pd.Series, ratios: list[float] | None) -> pd.Series:
    """Map labeled counts onto labeled fractions: the largest count ↔ the largest ratio."""
    if not ratios:
        return labeled / PAPER_TRAIN_SIZE
    counts = sorted(labeled.unique(), reverse=True)
    mapping = dict(zip(counts, sorted(ratios, reverse=True), strict=False))
    return labeled.map(mapping)


def _comparable_keys(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` with its key columns in one form on both sides of a join: numbers rounded to
    four decimals, everything else as text."""
    frame = frame.copy()
    for key in keys:
        if pd.api.types.is_numeric_dtype(frame[key]):
            frame[key] = frame[key].astype(float).round(4)
        else:
            frame[key] = frame[key].astype(str)
    return frame


def align(table: str, repro: pd.DataFrame, paper: pd.DataFrame,
          labeled_ratios: list[float] | None = None) -> pd.DataFrame:
    """Reproduced rows joined to the paper's on :func:`match_keys`, in the paper's order.

    The paper's compared columns get the suffix ``__paper``; ``_merge`` says ``both``,
    ``paper_only`` (not reproduced) or ``repro_only`` (not in the paper).
    """
    keys = match_keys(table)
    repro, paper = repro.copy(), paper.copy()
    if TABLES[table].labeled_as_ratio:
        repro["labeled_ratio"] = _labeled_ratio(repro["labeled"], labeled_ratios)
        paper["labeled_ratio"] = paper["labeled"] / PAPER_TRAIN_SIZE
    repro, paper = _comparable_keys(repro, keys), _comparable_keys(paper, keys)
    paper = paper.rename(columns={c: f"{c}__paper" for c in paper.columns if c not in keys})
    merged = paper.merge(repro, on=keys, how="left", indicator=True)
    merged["_merge"] = merged["_merge"].map({"both": "both", "left_only": "paper_only"})
    extra = repro.merge(paper[keys], on=keys, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].assign(_merge="repro_only")
    return pd.concat([merged, extra], ignore_index=True).astype({"_merge": str})


def compared_metrics(table: str, merged: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(metric, reproduced column, paper column) of every column the paper reports.

    The paper's ECE is its own variant, so it is compared with ``paper_ece``.
    """
    result = []
    for column in merged.columns:
        if not column.endswith("__paper"):
            continue
        paper = column.removesuffix("__paper")
        repro = "paper_ece" if paper == "ece" and "paper_ece" in merged else paper
        if repro in merged:
            result.append((paper, repro, paper))
    return result


def extra_columns(merged: pd.DataFrame, metrics: list[tuple[str, str, str]],
                  keys: list[str]) -> list[str]:
    """Reproduced metrics the paper does not report (e.g. the standard ECE)."""
    used = set(keys) | {repro for _, repro, _ in metrics} | {"labeled_ratio", "seeds", "_merge"}
    return [c for c in merged.columns if c not in used and not c.endswith(("__paper", "_std"))]


def row_label(table: str, row: pd.Series) -> str:
    """A short name of a row from its match keys."""
    return " ".join(str(row[key]) for key in match_keys(table))


def judge(metric: str, repro: float, paper: float, std: float | None,
          tolerance: tuple[str, float] | None = None) -> str | None:
    """``agrees``, ``within spread`` or ``differs``; None when a value is missing."""
    if pd.isna(repro) or pd.isna(paper):
        return None
    kind, value = tolerance or TOLERANCES.get(metric, COUNT_TOLERANCE)
    limit = value * abs(paper) if kind == "rel" else value
    difference = abs(repro - paper)
    if difference <= limit + 1e-9:
        return "agrees"
    if std is not None and not pd.isna(std) and difference <= SPREAD_SIGMAS * std:
        return "within spread"
    return "differs"


def _decimals(metric: str, counts: bool) -> int:
    if counts or metric in COUNT_COLUMNS:
        return 0
    return DECIMALS.get(metric, 2)


def _number(value, decimals: int, signed: bool = False) -> str:
    if value is None or pd.isna(value):
        return "—"
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return text.replace("-", "−")


MARKS = {"agrees": "✓", "within spread": "≈", "differs": "✗"}


def _suspect(table: str, row: pd.Series) -> bool:
    """Is ``row`` one the paper printed wrongly (the registry's ``suspect_rows``)?"""
    return any(all(row.get(key) == value for key, value in suspect.items())
               for suspect in TABLES[table].suspect_rows)


def _row_status(table: str, row: pd.Series, verdicts: dict[str, str | None]) -> tuple[str, str]:
    if row["_merge"] == "paper_only":
        status = ("not reproduced", "missing")
    elif row["_merge"] == "repro_only":
        status = ("not in the paper", "missing")
    else:
        differ = [m for m, v in verdicts.items() if v == "differs"]
        spread = [m for m, v in verdicts.items() if v == "within spread"]
        if differ:
            status = ("differs: " + ", ".join(differ), "differs")
        elif spread:
            status = ("within spread: " + ", ".join(spread), "spread")
        else:
            status = ("agrees", "agrees")
    if _suspect(table, row):
        return status[0] + "; paper row suspect", "suspect"
    return status


def comparison(table: str, repro: pd.DataFrame, paper: pd.DataFrame,
               labeled_ratios: list[float] | None = None) -> tuple[list[str], list[list], dict]:
    """Headers, rows of (text, css class) cells, and verdict counts of one table."""
    merged = align(table, repro, paper, labeled_ratios)
    keys = match_keys(table)
    metrics = compared_metrics(table, merged)
    counts = TABLES[table].counts
    extras = [] if counts else extra_columns(merged, metrics, keys)
    headers = list(keys)
    if counts:
        headers += [m for m, _, _ in metrics] + ["total", "total paper", "total Δ"]
    else:
        for metric, _, _ in metrics:
            name = HEADERS.get(metric, metric)
            headers += [name, f"{name} paper", f"{name} Δ"]
        headers += [HEADERS.get(f"extra:{c}", c) for c in extras]
    headers.append("status")
    rows, tally = [], {}
    for _, row in merged.iterrows():
        cells = [(str(row[key]), "key") for key in keys]
        verdicts = {}
        for metric, repro_col, paper_col in metrics:
            value, reference = row.get(repro_col), row[f"{paper_col}__paper"]
            std = row.get(f"{repro_col}_std")
            verdict = judge(metric, value, reference, std)
            verdicts[metric] = verdict
            decimals = _decimals(metric, counts)
            shown = _number(value, decimals)
            if std is not None and not pd.isna(std):
                shown += f" ± {_number(std, decimals)}"
            mark = f" {MARKS[verdict]}" if verdict else ""
            css = (verdict or "missing").replace("within ", "")
            if counts:
                cells.append((f"{shown} / {_number(reference, decimals)}", css))
                continue
            delta = _number(value - reference, decimals, signed=True) if verdict else "—"
            cells += [(shown, "value"), (_number(reference, decimals), "paper"),
                      (delta + mark, css)]
        if counts:
            classes = [repro_col for _, repro_col, _ in metrics]
            total = row[classes].sum(min_count=len(classes))
            total_paper = row[[f"{c}__paper" for c in classes]].sum(min_count=len(classes))
            change = (100 * (total - total_paper) / total_paper
                      if not pd.isna(total) and not pd.isna(total_paper) else None)
            cells += [(_number(total, 0), "value"), (_number(total_paper, 0), "paper"),
                      ((_number(change, 1, signed=True) + "%") if change is not None else "—",
                       "value")]
        cells += [(_number(row.get(c), _decimals(c, False)), "value") for c in extras]
        status, css = _row_status(table, row, verdicts)
        tally[css] = tally.get(css, 0) + 1
        cells.append((status, css))
        rows.append(cells)
    return headers, rows, tally


COMPUTE_GROUPS = {"supervised": "supervised", "student": "students"}


def compute_summary(benchmarks: list[dict]) -> dict:
    """Jobs, CPU hours (cpu_time) and wall hours (s) of the given trainings' Snakemake
    benchmark files (``path``), for supervised models and for students (``role``)."""
    groups: dict[str, dict] = {}
    for entry in sorted(benchmarks, key=lambda entry: list(COMPUTE_GROUPS).index(entry["role"])):
        frame = pd.read_csv(entry["path"], sep="\t")
        group = COMPUTE_GROUPS[entry["role"]]
        totals = groups.setdefault(group, {"jobs": 0, "cpu_hours": 0.0, "wall_hours": 0.0})
        totals["jobs"] += 1
        totals["cpu_hours"] += pd.to_numeric(frame["cpu_time"], errors="coerce").sum() / 3600
        totals["wall_hours"] += pd.to_numeric(frame["s"], errors="coerce").sum() / 3600
    return groups


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("torch", "torchvision", "snakemake", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _visible_gpu() -> str | None:
    """The name of the CUDA device this process sees, or None."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def _data_source(data_summary: str | None, config: dict) -> str:
    text = f"`{config.get('data_source', 'unknown')}`"
    if data_summary:
        source = read_json(data_summary).get("source", {})
        details = ", ".join(f"{k} {v}" for k, v in source.items() if k != "sha256")
        if source.get("sha256"):
            details += f", sha256 {source['sha256'][:16]}…"
        text += f" ({details})" if details else ""
    return text


def _compute_lines(benchmarks: list[dict], config: dict, gpu: str | None) -> list[str]:
    groups = compute_summary(benchmarks)
    if not groups:
        return ["No training job is behind the reported tables."]
    cpu = sum(g["cpu_hours"] for g in groups.values())
    wall = sum(g["wall_hours"] for g in groups.values())
    jobs = sum(g["jobs"] for g in groups.values())
    lines = [f"{jobs} benchmarked training job{'s' if jobs != 1 else ''}: "
             f"**{cpu:.2f} CPU hours**, "
             f"**{wall:.2f} wall hours** ("
             + "; ".join(f"{name}: {g['jobs']} jobs, {g['cpu_hours']:.2f} CPU h, "
                         f"{g['wall_hours']:.2f} wall h" for name, g in groups.items()) + ")."]
    if gpu:
        lines.append(f"GPU hours ≈ wall hours of the benchmarked jobs, each of which held one "
                     f"GPU: **{wall:.2f} GPU hours**.")
    else:
        lines.append("No GPU was visible to the report job, and benchmark files do not record "
                     "the device: the figures above are CPU and wall hours only.")
    return lines


def _header(config: dict, benchmarks: list[dict], data_summary: str | None) -> list[str]:
    """The setup of the run: scale, seeds, data, versions, device and compute."""
    gpu = _visible_gpu()
    preset = config.get("preset") or {}
    budgets = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                        for k, v in preset.items())
    scale = config.get("scale", "unknown")
    lines = [f"**Scale**: `{scale}`" + (f" ({budgets})" if budgets else "")]
    if scale != "paper":
        lines[0] += (" — budgets and data are scaled down: the paper's numbers are not "
                     "expected to be met; the comparison shows how far off each value is.")
    lines += [
        f"**Seeds**: {', '.join(str(s) for s in config.get('seeds', [])) or 'unknown'}",
        f"**Data**: {_data_source(data_summary, config)}; CIFAR-10-C/-P: "
        f"{config.get('robustness_source', 'unknown')}",
        "**Versions**: " + ", ".join(f"{k} {v}" for k, v in _versions().items()),
        f"**Training arithmetic**: {config.get('precision', 'unknown')} (predictions and "
        "evaluations in fp32); the report job sees "
        + (f"GPU {gpu}" if gpu else "no GPU") + f" ({platform.machine()}, {os.cpu_count()} CPUs)",
        "**Compute**: " + " ".join(_compute_lines(benchmarks, config, gpu)),
    ]
    return lines


def _figure_caption(path: Path) -> str:
    if path.name.startswith("seed_spread_"):
        table = path.stem.removeprefix("seed_spread_")
        return (f"{table}: each row's mean ± std over seeds (blue) and the paper's single "
                "run (red cross).")
    return FIGURE_CAPTIONS.get(path.name, path.stem.replace("_", " "))


def _confusion_caption(entry: dict) -> str:
    """``entry``: the image (``path``, in ``<model>/eval-<test images>/``), its ``model``
    folder and the folder the model learned from (``trained_on``)."""
    return (f"Confusion matrix: {Path(entry['model']).name}, trained on "
            f"{Path(entry['trained_on']).name} ({Path(entry['path']).parent.name})")


CSS = """body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}
td.key{text-align:left;font-weight:600}td.paper{color:#555}
td.agrees{background:#d8f0d8}td.differs{background:#f7d4d4}td.spread{background:#fbeec2}
td.suspect{background:#e4e4e4}td.missing{color:#888}
figure{display:inline-block;margin:0.5em;vertical-align:top}
figure img{max-width:100%}figure.small img{width:260px}figcaption{font-size:12px}"""


def _table_sections(table_paths: dict[str, Path], ratios: list[float] | None
                    ) -> tuple[list[Section], list[list]]:
    """One section per built table, in the paper's order, and the summary's rows."""
    sections, summary = [], []
    for table in (t for t in TABLES if t in table_paths):
        spec = TABLES[table]
        headers, rows, tally = comparison(table, pd.read_csv(table_paths[table]),
                                          pd.read_csv(paper_table(table)), ratios)
        summary.append([(table, "key"), (spec.title, "value")]
                       + [(str(tally.get(k, 0)), k if tally.get(k) else "value")
                          for k in ("agrees", "spread", "differs", "suspect", "missing")])
        note = [Paragraph(spec.notes)] if spec.notes else []
        sections.append(Section(f"{table.replace('table', 'Table ')}: {spec.title}",
                                note + [Table(headers, rows)]))
    return sections, summary


def _summary_section(table_paths: dict[str, Path], summary: list[list]) -> Section:
    headers = ["table", "what", "agree", "within spread", "differ", "paper row suspect",
               "missing rows"]
    missing = [t for t in TABLES if t not in table_paths]
    return Section("Summary", [
        Paragraph(TOLERANCE_TEXT),
        Table(headers, summary) if summary else Paragraph("No table was built."),
        Paragraph("Not in this report: " + (", ".join(missing) if missing else "none") + "."),
    ])


def _gallery_section(heading: str, captions: dict[str, str], css: str) -> list[Section]:
    """A section of the figures (path → caption) that exist, the others named as not
    built; none when ``captions`` is empty."""
    if not captions:
        return []
    present = [Figure(Path(path), caption) for path, caption in captions.items()
               if Path(path).exists()]
    absent = [path for path in captions if not Path(path).exists()]
    return [Section(heading, [Gallery(present, absent, css)])]


def report_sections(settings: dict, tables: list[str], figures: list[str],
                    confusions: list[dict] | None = None, benchmarks: list[dict] | None = None,
                    data_summary: str | None = None) -> list[Section]:
    """The report's sections: setup, summary, defects, tables, figures, confusions."""
    table_paths = {Path(path).stem: Path(path) for path in tables}
    unknown = sorted(set(table_paths) - set(TABLES))
    if unknown:
        raise UserError(f"not a table of the paper: {', '.join(unknown)} (from --tables)")
    table_sections, summary = _table_sections(table_paths, settings.get("labeled_ratios"))
    return ([Section("Noisy Student on CIFAR-10: reproduction report",
                     [Paragraph(f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."),
                      Bullets(_header(settings, benchmarks or [], data_summary))], level=1),
             _summary_section(table_paths, summary),
             Section("Known defects of the paper", [Bullets(DEFECTS)])]
            + table_sections
            + _gallery_section("Figures", {path: _figure_caption(Path(path))
                                           for path in figures}, "")
            + _gallery_section("Confusion matrices of the final models",
                               {entry["path"]: _confusion_caption(entry)
                                for entry in confusions or []}, "small"))


def write_report(out_md: str, out_html: str, settings: dict, tables: list[str],
                 figures: list[str], confusions: list[dict] | None = None,
                 benchmarks: list[dict] | None = None, data_summary: str | None = None) -> None:
    """Write the Markdown and the self-contained HTML report.

    Only the given files are read: ``tables`` are reproduced table CSVs (named
    ``tableN.csv``), ``figures`` figure PNGs, ``confusions`` the confusion matrices of the
    final models (:func:`_confusion_caption`), ``benchmarks`` the Snakemake benchmark files
    of the trainings behind the tables (:func:`compute_summary`) and ``data_summary`` the
    data set's summary. Anything else in the results folder (a table or a model left by an
    earlier run with another configuration, say) never enters the report.
    """
    sections = report_sections(settings, tables, figures, confusions, benchmarks, data_summary)
    write_text(out_md, to_markdown(sections, Path(out_md).parent))
    write_text(out_html, to_html(sections, "Noisy Student reproduction report", CSS))

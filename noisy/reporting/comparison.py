"""A reproduced table set beside the paper's: rows matched, values judged, cells and tally.

:func:`comparison` joins a reproduced table to the paper's on the columns that name a row
in both (:func:`match_keys`), judges each value the paper reports against its tolerance
(:func:`judge`), and returns the headers, the rows of (text, css class) cells for
:mod:`noisy.reporting.document`, and how many rows of each status the table holds. What
is particular to a table (Table 1 matched on the labeled fraction, Table 7's rows the
paper printed wrongly) is read from its registry entry (:mod:`noisy.workflow.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

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
           "extra:c_clean_accuracy": "clean top-1 on the CIFAR-10-C images (%)",
           "extra:mean_c_accuracy": "mean CIFAR-10-C top-1 (%)"}
MARKS = {"agrees": "✓", "within spread": "≈", "differs": "✗"}
TOLERANCE_TEXT = (
    "A reproduced value **agrees** when it is within the tolerance of the paper's: top-1 and "
    "top-5 within 1 point; ECE within 0.02; relative mCE and mFR within 5 points (ratios of "
    "error sums against a baseline, noisy by nature); pseudo-label and per-class counts within "
    "5%; parameter and labeled counts exactly. With several seeds a value outside the "
    f"tolerance but within {SPREAD_SIGMAS} standard deviations of the seeds' mean is "
    "**within spread**. Δ = reproduced − paper. Accuracies are in %."
)
# A row's status (its css class) → the tally's column header, in the summary's order.
TALLY = {"agrees": "agree", "spread": "within spread", "differs": "differ",
         "suspect": "paper row suspect", "missing": "missing rows"}


# --- matching rows ---------------------------------------------------------------------
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


# --- judging values ----------------------------------------------------------------------
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


@dataclass(frozen=True)
class Compared:
    """One value of a row set beside the paper's: ``std`` over seeds (or None) and the
    ``verdict`` of :func:`judge`, shown with ``decimals``."""

    value: float | None
    paper: float | None
    std: float | None
    verdict: str | None
    decimals: int

    @property
    def css(self) -> str:
        return (self.verdict or "missing").replace("within ", "")

    def shown(self) -> str:
        """The reproduced value, ± its spread over seeds when there is one."""
        text = _number(self.value, self.decimals)
        if self.std is not None and not pd.isna(self.std):
            text += f" ± {_number(self.std, self.decimals)}"
        return text

    def delta(self) -> str:
        """Reproduced − paper with the verdict's mark; a dash when a value is missing."""
        if not self.verdict:
            return "—"
        return (_number(self.value - self.paper, self.decimals, signed=True)
                + f" {MARKS[self.verdict]}")


def _decimals(metric: str, counts: bool) -> int:
    if counts or metric in COUNT_COLUMNS:
        return 0
    return DECIMALS.get(metric, 2)


def _number(value, decimals: int, signed: bool = False) -> str:
    if value is None or pd.isna(value):
        return "—"
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return text.replace("-", "−")


def _compare(row: pd.Series, metric: str, repro_col: str, paper_col: str,
             counts: bool) -> Compared:
    value, paper = row.get(repro_col), row[f"{paper_col}__paper"]
    std = row.get(f"{repro_col}_std")
    return Compared(value, paper, std, judge(metric, value, paper, std),
                    _decimals(metric, counts))


# --- one table ---------------------------------------------------------------------------
def _headers(keys: list[str], metrics: list[tuple[str, str, str]], extras: list[str],
             counts: bool) -> list[str]:
    if counts:
        return keys + [m for m, _, _ in metrics] + ["total", "total paper", "total Δ", "status"]
    names = [HEADERS.get(metric, metric) for metric, _, _ in metrics]
    return (keys + [f"{name}{suffix}" for name in names for suffix in ("", " paper", " Δ")]
            + [HEADERS.get(f"extra:{c}", c) for c in extras] + ["status"])


def _value_cells(compared: list[Compared], counts: bool) -> list[tuple[str, str]]:
    """A counts table's cells read "reproduced / paper"; the others' reproduced, paper, Δ."""
    if counts:
        return [(f"{c.shown()} / {_number(c.paper, c.decimals)}", c.css) for c in compared]
    return [cell for c in compared
            for cell in ((c.shown(), "value"), (_number(c.paper, c.decimals), "paper"),
                         (c.delta(), c.css))]


def _total_cells(row: pd.Series, classes: list[str]) -> list[tuple[str, str]]:
    """A counts row's total, the paper's, and their difference in %."""
    total = row[classes].sum(min_count=len(classes))
    total_paper = row[[f"{c}__paper" for c in classes]].sum(min_count=len(classes))
    change = "—"
    if not pd.isna(total) and not pd.isna(total_paper):
        change = _number(100 * (total - total_paper) / total_paper, 1, signed=True) + "%"
    return [(_number(total, 0), "value"), (_number(total_paper, 0), "paper"), (change, "value")]


def _suspect(table: str, row: pd.Series) -> bool:
    """Is ``row`` one the paper printed wrongly (the registry's ``suspect_rows``)?"""
    return any(all(row.get(key) == value for key, value in suspect.items())
               for suspect in TABLES[table].suspect_rows)


def _row_status(table: str, row: pd.Series, verdicts: dict[str, str | None]) -> tuple[str, str]:
    """The row's status text and css class (a key of :data:`TALLY`)."""
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
    """Headers, rows of (text, css class) cells, and the tally (status → rows) of one table."""
    merged = align(table, repro, paper, labeled_ratios)
    keys, metrics = match_keys(table), compared_metrics(table, merged)
    counts = TABLES[table].counts
    extras = [] if counts else extra_columns(merged, metrics, keys)
    rows, tally = [], {}
    for _, row in merged.iterrows():
        compared = [_compare(row, metric, repro_col, paper_col, counts)
                    for metric, repro_col, paper_col in metrics]
        cells = [(str(row[key]), "key") for key in keys] + _value_cells(compared, counts)
        if counts:
            cells += _total_cells(row, [repro_col for _, repro_col, _ in metrics])
        cells += [(_number(row.get(c), _decimals(c, False)), "value") for c in extras]
        status, css = _row_status(table, row, {metric: c.verdict for (metric, _, _), c
                                               in zip(metrics, compared, strict=True)})
        tally[css] = tally.get(css, 0) + 1
        rows.append(cells + [(status, css)])
    return _headers(keys, metrics, extras, counts), rows, tally


def tally_row(table: str, tally: dict) -> list[tuple[str, str]]:
    """The summary's row of one table: its name, title and rows per status (:data:`TALLY`)."""
    return ([(table, "key"), (TABLES[table].title, "value")]
            + [(str(tally.get(k, 0)), k if tally.get(k) else "value") for k in TALLY])

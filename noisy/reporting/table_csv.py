"""Report tables: per-model result files gathered into the paper's table layouts.

:func:`noisy.workflow.tables.rows` lists a table's rows (the row keys and the result
files each reads); :func:`build` reads those files and writes the CSV. Column names and
row keys follow the paper's tables (``noisy/paper_tables/``), so a reproduced table and
the paper's join row by row. With several seeds a cell holds the mean, with
``<metric>_std`` and ``seeds`` beside it.
"""

from __future__ import annotations

import logging

import pandas as pd

from noisy.files import atomic_path, read_json
from noisy.method.metrics import BENCHMARK_CORRUPTIONS, mean_flip_rate, summarise_corruptions
from noisy.workflow.tables import TABLES

log = logging.getLogger(__name__)
# What a robustness table reads of a robustness.json.
ROBUSTNESS_KEYS = ("top1", "ece", "paper_ece", "corruption", "perturbation")


def robustness_metrics(result: dict, baseline: dict) -> dict:
    """top-1, ECE, relative mCE and mFR of one model against the baseline model, and the
    plain accuracies users compare with: the mean CIFAR-10-C accuracy over the 15 benchmark
    corruptions x 5 severities (RobustBench's convention) and the clean accuracy on the
    same test images (``top1`` is on the whole evaluation set)."""
    corruption, base_corruption = result["corruption"], baseline["corruption"]
    names = list(corruption["errors"])
    summary = summarise_corruptions(corruption["errors"], corruption["clean_error"],
                                    base_corruption["errors"], base_corruption["clean_error"],
                                    names=names)
    if summary["undefined"]:
        log.warning("relative mCE leaves out %s: the baseline's error does not grow with "
                    "severity there (too few test images?)", ", ".join(summary["undefined"]))
    # The plain mean accuracy is quoted over the 15 benchmark corruptions.
    benchmark_names = [name for name in BENCHMARK_CORRUPTIONS if name in corruption["errors"]]
    benchmark = summarise_corruptions(corruption["errors"], corruption["clean_error"],
                                      base_corruption["errors"], base_corruption["clean_error"],
                                      names=benchmark_names) if benchmark_names else {}
    flips = mean_flip_rate(result["perturbation"]["flip_probability"],
                           baseline["perturbation"]["flip_probability"])
    if flips["undefined"]:
        log.warning("mFR leaves out %s: the baseline's prediction never flips there (too "
                    "few test images?)", ", ".join(flips["undefined"]))
    return {"top1": result["top1"], "ece": result["ece"], "rel_mce": summary["relative_mce"],
            "mfr": flips["mfr"], "paper_ece": result["paper_ece"],
            "c_clean_accuracy": 100.0 - corruption["clean_error"],
            "mean_c_accuracy": benchmark.get("mean_accuracy", float("nan"))}


def _row_values(table: str, row: dict) -> dict:
    files = row["files"]
    if TABLES[table].counts:
        counts = read_json(files["counts"], ("classes", "counts"))
        return dict(zip(counts["classes"], counts["counts"], strict=True))
    if TABLES[table].kind == "robustness":
        return robustness_metrics(read_json(files["robustness"], ROBUSTNESS_KEYS),
                                  read_json(files["baseline"], ROBUSTNESS_KEYS))
    result = read_json(files["eval"], ("params", "top1", "top5"))
    return {**training_counts(files), "params": result["params"], "top1": result["top1"],
            "top5": result["top5"]}


def training_counts(files: dict) -> dict:
    """Labeled and pseudo-labeled images a model learned from, as its training set's
    summary counts them: a student's balanced set (``trainset``: trainset.json) or a
    supervised model's split (``split``: split.json, no pseudo label)."""
    if "trainset" in files:
        trainset = read_json(files["trainset"], ("labeled", "pseudo"))
        return {"labeled": trainset["labeled"], "pseudo": trainset["pseudo"]}
    return {"labeled": read_json(files["split"], ("labeled",))["labeled"], "pseudo": 0}


def aggregate_seeds(frame: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean over seeds per row key; adds ``<metric>_std`` and ``seeds`` when seeds > 1."""
    grouped = frame.groupby(keys, sort=False, dropna=False)
    table = grouped[metrics].mean().reset_index()
    seeds = grouped.size().to_numpy()
    if seeds.max() > 1:
        stds = grouped[metrics].std(ddof=1).reset_index(drop=True)
        for metric in metrics:
            table[f"{metric}_std"] = stds[metric].to_numpy()
        table["seeds"] = seeds
    return table


def build(table: str, rows: list[dict], out_path: str) -> pd.DataFrame:
    """Read every row's files, average over seeds and write the table as CSV."""
    spec = TABLES[table]
    frame = pd.DataFrame([{**row["keys"], **_row_values(table, row)} for row in rows])
    keys = list(spec.key_columns)
    metrics = list(spec.metrics or [column for column in frame.columns if column not in keys])
    result = aggregate_seeds(frame[keys + metrics], keys, metrics)
    if spec.counts and "seeds" not in result:
        result[metrics] = result[metrics].astype(int)
    else:
        result[metrics] = result[metrics].astype(float).round(4)
    if spec.sort:
        columns, ascending = zip(*spec.sort, strict=True)
        result = result.sort_values(list(columns), ascending=list(ascending), kind="stable")
    with atomic_path(out_path) as tmp:
        result.to_csv(tmp, index=False)
    return result


"""Report tables: per-model result files gathered into the paper's table layouts.

A table is built in two steps. :func:`manifest` (pure, from the configuration) lists
its rows: the row keys and the result files each row reads. :func:`build` reads those
files and writes the CSV. Column names and row keys follow the paper's tables
(``noisy/paper_tables/``), so a reproduced table and the paper's join row by row.
With several seeds a cell holds the mean, with ``<metric>_std`` and ``seeds`` beside it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from noisy.atomic import atomic_path
from noisy.metrics import BENCHMARK_CORRUPTIONS, mean_flip_rate, summarise_corruptions
from noisy.plan import chain_stages, experiment_settings, supervised_dir

log = logging.getLogger("noisy.tables")

CLASS_COUNT_TABLES = ("table4", "table8", "table9")
ROBUSTNESS_TABLES = ("table5", "table6", "table7", "table10")
KEY_COLUMNS = {
    "table1": ["labeled", "network", "params"],
    "table2": ["network", "labeled", "pseudo", "params"],
    "table3": ["label_type", "network", "labeled", "pseudo", "params"],
    "table4": ["label_type", "network"],
    "table5": ["label_type", "network"],
    "table6": ["noise", "network"],
    "table7": ["label_type", "threshold", "network"],
    "table8": ["threshold", "network"],
    "table9": ["threshold", "network"],
    "table10": ["label_type", "labeled_ratio", "network"],
}
METRICS = {
    "table1": ["top1", "top5"],
    "table2": ["top1"],
    "table3": ["top1"],
    "table5": ["top1", "ece", "rel_mce", "mfr", "paper_ece", "mean_corruption_error"],
}
for _name in ("table6", "table7", "table10"):
    METRICS[_name] = METRICS["table5"]


def label_type_name(settings: dict) -> str:
    """The paper's label-type name: hard / soft / smooth, prefixed mixup_ with mixup."""
    prefix = "mixup_" if settings["mixup_alpha"] > 0 else ""
    return prefix + settings["label_type"]


def _experiments(config: dict, table: str) -> list[tuple[str, str]]:
    """(row label, experiment) pairs of a table, in config order."""
    rows = config["tables"][table]
    if isinstance(rows, dict):
        return list(rows.items())
    return [(label_type_name(experiment_settings(config, name)), name) for name in rows]


def _supervised_row(config: dict, experiment: str, seed: int, network: str, file: str) -> str:
    ratio = experiment_settings(config, experiment)["labeled_ratio"]
    return f"{supervised_dir(ratio, seed, network)}/{file}"


def _baseline_file(config: dict, seed: int) -> str:
    """The robustness baseline's robustness.json: the same network and labeled ratio
    for every row, whatever the row's own ratio (``robustness.baseline_labeled_ratio``)."""
    robustness = config["robustness"]
    directory = supervised_dir(robustness["baseline_labeled_ratio"], seed,
                               robustness["baseline_network"])
    return f"{directory}/robustness.json"


def manifest(config: dict, table: str) -> list[dict]:
    """Rows of ``table``: ``keys`` (row-key columns) and ``files`` (role → path)."""
    if table == "table1":
        return [
            {"keys": {"network": network}, "files": {"eval": f"{supervised_dir(r, s, network)}"
                                                             "/eval.json"}}
            for r in config["table1"]["labeled_ratios"]
            for network in config["table1"]["networks"]
            for s in config["seeds"]
        ]
    rows = []
    for seed in config["seeds"]:
        for label, experiment in _experiments(config, table):
            rows.extend(_experiment_rows(config, table, label, experiment, seed))
    return rows


def _handed_on(stages: list, teacher_network: str) -> list[tuple[str, dict]]:
    """(teacher network, counts file) per stage: the candidates each teacher hands on,
    before balancing."""
    teachers = [teacher_network] + [stage.network for stage in stages[:-1]]
    return [(teacher, {"counts": f"{stage.selection_dir}/candidates.json"})
            for teacher, stage in zip(teachers, stages, strict=True)]


def _experiment_rows(config: dict, table: str, label: str, experiment: str,
                     seed: int) -> list[dict]:
    settings = experiment_settings(config, experiment)
    stages = chain_stages(config, experiment, seed)
    teacher_network = settings["chain"][0]
    baseline = _baseline_file(config, seed)
    extra = {
        "table6": {"noise": label},
        "table7": {"label_type": label, "threshold": settings["threshold"]},
        "table8": {"threshold": settings["threshold"]},
        "table9": {"threshold": settings["threshold"]},
        "table10": {"label_type": label, "labeled_ratio": settings["labeled_ratio"]},
    }.get(table, {"label_type": label})
    if table in CLASS_COUNT_TABLES:
        rows = [{"keys": {**extra, "network": network}, "files": files}
                for network, files in _handed_on(stages, teacher_network)]
        # Table 4 shows the shared teacher's counts once, as its own "teacher" row.
        return rows[1:] if table == "table4" else rows
    if table in ROBUSTNESS_TABLES:
        models = [(stage.network, f"{stage.student_dir}/robustness.json") for stage in stages]
        if table == "table10":
            models = models[-1:]
        return [{"keys": {**extra, "network": network},
                 "files": {"eval": path, "baseline": baseline}} for network, path in models]
    return [{"keys": {**extra, "network": stage.network},
             "files": {"eval": f"{stage.student_dir}/eval.json",
                       "trainset": f"{stage.selection_dir}/trainset.json"}}
            for stage in stages]


def special_rows(config: dict, table: str) -> list[dict]:
    """The paper's extra rows: the shared teacher (Tables 2, 3, 4, 5) and Table 5's
    "without self-training" baseline."""
    rows = []
    if table not in ("table2", "table3", "table4", "table5"):
        return rows
    experiment = _experiments(config, table)[0][1]
    teacher = experiment_settings(config, experiment)["chain"][0]
    if table == "table4":
        return [{"keys": {"label_type": "teacher", "network": network}, "files": files}
                for seed in config["seeds"]
                for network, files in _handed_on(chain_stages(config, experiment, seed),
                                                 teacher)[:1]]
    baseline_network = config["robustness"]["baseline_network"]
    file = "robustness.json" if table == "table5" else "eval.json"
    for seed in config["seeds"]:
        keys = {} if table == "table2" else {"label_type": "teacher"}
        teacher_files = {"eval": _supervised_row(config, experiment, seed, teacher, file)}
        if table == "table5":
            baseline = _baseline_file(config, seed)
            teacher_files["baseline"] = baseline
            rows.append({"keys": {"label_type": "without_st", "network": baseline_network},
                         "files": {"eval": baseline, "baseline": baseline}, "last": True})
        rows.insert(0, {"keys": {**keys, "network": teacher}, "files": teacher_files})
    return rows


def all_rows(config: dict, table: str) -> list[dict]:
    """Every row of a table, special rows included, in the paper's order."""
    special = special_rows(config, table)
    first = [row for row in special if not row.get("last")]
    last = [row for row in special if row.get("last")]
    return first + manifest(config, table) + last


def input_files(rows: list[dict]) -> list[str]:
    """Every file a table reads (for the Snakemake rule's input), without repeats."""
    return list(dict.fromkeys(path for row in rows for path in row["files"].values()))


def _read(path: str) -> dict:
    return json.loads(Path(path).read_text())


def robustness_metrics(result: dict, baseline: dict) -> dict:
    """top-1, ECE, relative mCE and mFR of one model against the baseline model."""
    corruption, base_corruption = result["corruption"], baseline["corruption"]
    names = list(corruption["errors"])
    summary = summarise_corruptions(corruption["errors"], corruption["clean_error"],
                                    base_corruption["errors"], base_corruption["clean_error"],
                                    names=names)
    if summary["undefined"]:
        log.warning("relative mCE leaves out %s: the baseline's error does not grow with "
                    "severity there (too few test images?)", ", ".join(summary["undefined"]))
    # The plain mean corruption error is quoted over the 15 benchmark corruptions.
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
            "mean_corruption_error": benchmark.get("mean_error", float("nan"))}


def _row_values(table: str, row: dict) -> dict:
    files = row["files"]
    if table in CLASS_COUNT_TABLES:
        counts = _read(files["counts"])
        return dict(zip(counts["classes"], counts["counts"], strict=True))
    result = _read(files["eval"])
    if table in ROBUSTNESS_TABLES:
        return robustness_metrics(result, _read(files["baseline"]))
    values = {"labeled": result["labeled"], "params": result["params"], "top1": result["top1"],
              "top5": result["top5"], "pseudo": 0}
    if "trainset" in files:
        trainset = _read(files["trainset"])
        values.update(labeled=trainset["labeled"], pseudo=trainset["pseudo"])
    return values


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
    frame = pd.DataFrame([{**row["keys"], **_row_values(table, row)} for row in rows])
    keys = KEY_COLUMNS[table]
    metrics = METRICS.get(table) or [column for column in frame.columns if column not in keys]
    result = aggregate_seeds(frame[keys + metrics], keys, metrics)
    if table in CLASS_COUNT_TABLES and "seeds" not in result:
        result[metrics] = result[metrics].astype(int)
    else:
        result[metrics] = result[metrics].astype(float).round(4)
    if table == "table1":
        result = result.sort_values(["labeled", "network"], ascending=[False, True],
                                    kind="stable")
    with atomic_path(out_path) as tmp:
        result.to_csv(tmp, index=False)
    return result


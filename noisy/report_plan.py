"""Which files the figures and the report read, as a pure function of the configuration.

``report_tables`` in the config names the tables the report covers (default: all ten);
the figures it shows follow from those tables.
"""

from __future__ import annotations

import os
import re

from noisy import plan, tables
from noisy.config import preset

ALL_TABLES = [f"table{number}" for number in range(1, 11)]


def report_tables(config: dict) -> list[str]:
    """The tables the report covers."""
    return config.get("report_tables") or ALL_TABLES


def _chain_tables(config: dict) -> list[str]:
    return [t for t in report_tables(config)
            if t != "table1" and t not in tables.CLASS_COUNT_TABLES]


def _seed_of(path: str) -> int:
    return int(re.search(r"/seed(\d+)/", path).group(1))


def fgsm_entries(config: dict) -> list[dict]:
    """Figure 1's lines: per Table 5 label type and seed, its final robustness file."""
    final = {}
    for row in tables.all_rows(config, "table5"):
        path = row["files"]["eval"]
        if os.path.basename(path) == "robustness.json":
            label, seed = row["keys"]["label_type"], _seed_of(path)
            final[(label, seed)] = {"label": label, "network": row["keys"]["network"],
                                    "seed": seed, "path": path}
    return list(final.values())


def chain_experiments(config: dict) -> list[str]:
    """Experiments of the reported chain tables, in order, without repeats."""
    names = []
    for table in _chain_tables(config):
        rows = config["tables"].get(table, [])
        names += list(rows.values()) if isinstance(rows, dict) else list(rows)
    return list(dict.fromkeys(names))


def training_curve_entries(config: dict) -> list[dict]:
    """Every network of each reported chain: the teacher's history, then each student's."""
    entries = []
    for seed in config["seeds"]:
        for experiment in chain_experiments(config):
            settings = plan.experiment_settings(config, experiment)
            teacher = plan.supervised_dir(settings["labeled_ratio"], seed, settings["chain"][0])
            models = [(settings["chain"][0], teacher)] + [
                (stage.network, stage.student_dir)
                for stage in plan.chain_stages(config, experiment, seed)
            ]
            entries += [{"label": experiment, "network": network, "seed": seed,
                         "path": f"{folder}/history.csv"} for network, folder in models]
    return entries


def class_count_tables(config: dict) -> list[str]:
    """CSV files of the reported per-class count tables (4, 8, 9)."""
    return [f"results/{t}.csv" for t in report_tables(config)
            if t in tables.CLASS_COUNT_TABLES]


def report_figures(config: dict) -> list[str]:
    """The figures the reported tables call for."""
    chosen = report_tables(config)
    figures = []
    if "table5" in chosen:
        figures.append("results/figure1.png")
    if class_count_tables(config):
        figures.append("results/figures/class_counts.png")
    if chain_experiments(config):
        figures.append("results/figures/training_curves.png")
    if any(t in tables.ROBUSTNESS_TABLES for t in chosen):
        figures.append("results/figures/corruption_grid.png")
    if len(config["seeds"]) > 1:
        figures += [f"results/figures/seed_spread_{t}.png" for t in chosen
                    if t in tables.METRICS]
    return figures


def report_confusions(config: dict) -> list[str]:
    """Confusion matrices of the final network of every reported chain (first seed)."""
    final = {plan.experiment_settings(config, e)["chain"][-1] for e in config["experiments"]}
    final.add(config["table1"]["networks"][-1])
    first_seed = f"/seed{config['seeds'][0]}/"
    folders = [os.path.dirname(row["files"]["eval"])
               for table in report_tables(config) if table not in tables.CLASS_COUNT_TABLES
               for row in tables.all_rows(config, table)]
    return list(dict.fromkeys(f"{folder}/confusion.png" for folder in folders
                              if os.path.basename(folder) in final
                              and first_seed in f"{folder}/"))


def report_settings(config: dict) -> dict:
    """What the report's header states about the run."""
    return {
        "scale": config["scale"],
        "preset": preset(config),
        "seeds": config["seeds"],
        "data_source": config["data_source"],
        "device": config["device"],
        "robustness_source": config["robustness"]["source"],
        "labeled_ratios": config["table1"]["labeled_ratios"],
    }

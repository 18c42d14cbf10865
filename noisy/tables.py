"""Report tables: per-model evaluation JSONs gathered into the paper's table layouts.

Column names and row keys follow the paper's tables (noisy/paper_tables/), so a
reproduced table and the paper's can be joined row by row. With several seeds a
cell holds the mean, with ``<metric>_std`` and ``seeds`` columns beside it.
"""

from __future__ import annotations

import json

import pandas as pd

from noisy.atomic import atomic_path


def read_evaluations(paths: list[str]) -> pd.DataFrame:
    """One row per evaluation JSON."""
    return pd.DataFrame([json.loads(open(path).read()) for path in paths])


def aggregate_seeds(frame: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean over seeds per row key; adds ``<metric>_std`` and ``seeds`` when seeds > 1."""
    grouped = frame.groupby(keys, sort=False)
    table = grouped[metrics].mean().round(2).reset_index()
    seeds = grouped.size().to_numpy()
    if seeds.max() > 1:
        stds = grouped[metrics].std(ddof=1).round(2).reset_index(drop=True)
        for metric in metrics:
            table[f"{metric}_std"] = stds[metric].to_numpy()
        table["seeds"] = seeds
    return table


def write_table(table: pd.DataFrame, out_path: str) -> None:
    """Write a table as CSV atomically."""
    with atomic_path(out_path) as tmp:
        table.to_csv(tmp, index=False)


def table1(eval_paths: list[str], out_path: str) -> pd.DataFrame:
    """Table 1: supervised networks on all labels and on the labeled fraction."""
    frame = read_evaluations(eval_paths)
    table = aggregate_seeds(frame, ["labeled", "network", "params"], ["top1", "top5"])
    table = table.sort_values(["labeled", "network"], ascending=[False, True], kind="stable")
    write_table(table, out_path)
    return table

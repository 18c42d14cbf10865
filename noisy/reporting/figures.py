"""The paper's figures and the workflow's diagnostic plots, drawn from result files.

``python -m noisy figure1|training-curves|class-counts|seed-spread ...`` (:mod:`noisy.cli`)
draws one figure; each function here reads the files it is given and writes its outputs
atomically. The evaluation job draws a model's confusion matrix
(:func:`plot_confusion_matrix`) from the matrix it has just computed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from noisy.errors import UserError  # noqa: E402
from noisy.files import atomic_path, read_json  # noqa: E402
from noisy.reporting.comparison import HEADERS, align, compared_metrics, row_label  # noqa: E402
from noisy.workflow.tables import TABLES  # noqa: E402

# Figure 1 of the paper draws the network without self-training in orange.
FIXED_STYLES = {
    "without_st": {"color": "tab:orange", "linestyle": "--"},
    "teacher": {"color": "tab:gray", "linestyle": ":"},
}
OTHER_COLORS = ["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan"]
DISPLAY_NAMES = {"without_st": "without self-training"}


def _save(fig, png_path: str) -> None:
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _styles(labels: list[str]) -> dict[str, dict]:
    """A fixed colour per label: the paper's colours for the baseline and the teacher."""
    others = iter(OTHER_COLORS * (len(labels) // len(OTHER_COLORS) + 1))
    return {label: FIXED_STYLES.get(label, {"color": next(others), "linestyle": "-"})
            for label in labels}


FGSM_COLUMNS = ["label", "network", "seed", "epsilon", "accuracy", "accuracy_unchanged"]


def fgsm_frame(entries: list[dict]) -> pd.DataFrame:
    """FGSM accuracies in long form, one row per (label, network, seed, epsilon).

    ``accuracy``: adversarial prediction == label (the standard one, drawn in the
    figure); ``accuracy_unchanged``: the report's accounting, clean prediction correct
    and unchanged by the attack (:func:`noisy.method.attacks.fgsm_accuracy`).
    """
    records = []
    for entry in entries:
        fgsm = read_json(entry["path"], ("fgsm",))["fgsm"]
        if "accuracy_unchanged" not in fgsm:
            raise UserError(f"{entry['path']} predates the report's FGSM accounting; "
                             "evaluate the model again")
        for epsilon, accuracy, unchanged in zip(fgsm["epsilons"], fgsm["accuracy"],
                                                fgsm["accuracy_unchanged"], strict=True):
            records.append({"label": entry["label"], "network": entry.get("network", ""),
                            "seed": int(entry["seed"]), "epsilon": float(epsilon),
                            "accuracy": float(accuracy), "accuracy_unchanged": float(unchanged)})
    return pd.DataFrame(records, columns=FGSM_COLUMNS)


def fgsm_figure(entries: list[dict], png_path: str, csv_path: str) -> pd.DataFrame:
    """Figure 1: FGSM accuracy vs epsilon, one line per label type (mean over seeds).

    ``entries``: ``{label, seed, path}`` (``path`` a robustness.json, optional
    ``network``). With several seeds the band spans the seeds' min to max. The CSV
    holds both accuracies of :func:`fgsm_frame`; the figure draws the standard one.
    """
    frame = fgsm_frame(entries)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    labels = list(dict.fromkeys(frame["label"]))
    styles = _styles(labels)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for label in labels:
        rows = frame[frame["label"] == label]
        stats = rows.groupby("epsilon")["accuracy"].agg(["mean", "min", "max"])
        networks = ", ".join(dict.fromkeys(n for n in rows["network"] if n))
        seeds = rows["seed"].nunique()
        name = DISPLAY_NAMES.get(label, label) + (f" ({networks})" if networks else "")
        if seeds > 1:
            name += f", {seeds} seeds"
        ax.plot(stats.index, stats["mean"], marker="o", markersize=3, label=name,
                **styles[label])
        if seeds > 1:
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2,
                            color=styles[label]["color"])
    ax.set_xlabel("FGSM epsilon (pixels in [0, 1])")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Figure 1: robustness to FGSM per pseudo-label type")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, png_path)
    return frame


def _grid(count: int, columns: int, width: float, height: float):
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes.flat


def training_curves_figure(entries: list[dict], png_path: str) -> None:
    """Test accuracy (solid) and train loss (dashed) of every network of each chain.

    ``entries``: ``{label, network, seed, path}`` (``path`` a history.csv); one panel
    per label (experiment). The x axis is the fraction of each network's epochs, so a
    teacher and its students (different epoch counts) share it.
    """
    labels = list(dict.fromkeys(entry["label"] for entry in entries))
    networks = list(dict.fromkeys(entry["network"] for entry in entries))
    colors = dict(zip(networks, plt.cm.viridis(np.linspace(0, 0.9, len(networks))),
                      strict=True))
    fig, axes = _grid(len(labels), 4, 4.0, 3.0)
    for ax, label in zip(axes, labels, strict=False):
        loss_ax = ax.twinx()
        shown = set()
        for entry in (e for e in entries if e["label"] == label):
            history = pd.read_csv(entry["path"])
            progress = history["epoch"] / history["epoch"].max()
            network = entry["network"]
            name = None if network in shown else network
            shown.add(network)
            ax.plot(progress, history["test_acc"], color=colors[network], label=name)
            loss_ax.plot(progress, history["train_loss"], color=colors[network],
                         linestyle="--", alpha=0.5, linewidth=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_ylim(0, 100)
        ax.set_xlabel("fraction of training", fontsize=8)
        ax.set_ylabel("test accuracy (%)", fontsize=8)
        loss_ax.set_ylabel("train loss (dashed)", fontsize=8)
        ax.tick_params(labelsize=7)
        loss_ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save(fig, png_path)


def _table_name(path: str) -> str:
    return Path(path).stem


def class_counts_figure(table_csv_paths: list[str], png_path: str) -> None:
    """Per-class counts each teacher hands on (Tables 4, 8, 9) as grouped bars.

    One panel per table and label type (or threshold); within a panel one bar per
    teacher network (stage) for each class, with ± std when the table has seeds.
    """
    panels = []
    for path in table_csv_paths:
        table, frame = _table_name(path), pd.read_csv(path)
        group, stage = TABLES[table].key_columns
        classes = [c for c in frame.columns if c not in (group, stage, "seeds")
                   and not c.endswith("_std")]
        panels += [(f"{table}: {group} {value}", frame[frame[group] == value], stage, classes)
                   for value in dict.fromkeys(frame[group])]
    networks = list(dict.fromkeys(n for _, rows, stage, _ in panels for n in rows[stage]))
    colors = dict(zip(networks, plt.cm.viridis(np.linspace(0, 0.9, len(networks))),
                      strict=True))
    fig, axes = _grid(len(panels), 4, 4.2, 3.2)
    for ax, (title, rows, stage, classes) in zip(axes, panels, strict=False):
        width = 0.8 / len(rows)
        positions = np.arange(len(classes))
        for index, (_, row) in enumerate(rows.iterrows()):
            errors = [row.get(f"{c}_std", 0.0) for c in classes]
            ax.bar(positions + index * width - 0.4 + width / 2, row[classes].astype(float),
                   width, yerr=errors if any(errors) else None, label=row[stage],
                   color=colors[row[stage]])
        ax.set_xticks(positions, classes, rotation=60, fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("images handed on", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=6, title="teacher", title_fontsize=6, loc="lower right")
    fig.tight_layout()
    _save(fig, png_path)


def seed_spread_figure(table_csv: str, paper_csv: str, png_path: str,
                       labeled_ratios: list[float] | None = None) -> None:
    """Each row's mean ± std over seeds, with the paper's single number as a red cross.

    One panel per metric the paper reports; ``labeled_ratios`` (Table 1 only) maps
    the reproduced labeled counts onto the paper's rows.
    """
    table = _table_name(table_csv)
    merged = align(table, pd.read_csv(table_csv), pd.read_csv(paper_csv), labeled_ratios)
    metrics = compared_metrics(table, merged)
    fig, axes = _grid(len(metrics), 4, 4.5, 0.35 * len(merged) + 1.2)
    names = [row_label(table, row) for _, row in merged.iterrows()]
    y = np.arange(len(merged))[::-1]
    for ax, (metric, repro, paper) in zip(axes, metrics, strict=False):
        std = merged.get(f"{repro}_std", pd.Series(0.0, index=merged.index)).fillna(0.0)
        ax.errorbar(merged[repro], y, xerr=std, fmt="o", color="tab:blue", capsize=3,
                    label="reproduced (mean ± std)")
        ax.plot(merged[f"{paper}__paper"], y, "x", color="tab:red", markersize=7,
                label="paper")
        ax.set_yticks(y, names, fontsize=7)
        ax.set_title(HEADERS.get(metric, metric), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        ax.legend(fontsize=7)
    seeds = int(merged["seeds"].max()) if "seeds" in merged else 1
    fig.suptitle(f"{table}: spread over {seeds} seed(s) against the paper's single run",
                 fontsize=10)
    fig.tight_layout()
    _save(fig, png_path)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str],
                          path: str | os.PathLike, title: str | None = None) -> None:
    """Write the confusion matrix as an annotated heat map (PNG) to ``path`` atomically."""
    matrix = np.asarray(matrix)
    size = len(class_names)
    if matrix.shape != (size, size):
        raise ValueError(f"matrix {matrix.shape} does not match {size} class names")
    figure = Figure(figsize=(1.0 + 0.6 * size, 0.8 + 0.6 * size), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, shrink=0.8)
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(size):
        for column in range(size):
            value = matrix[row, column]
            axes.text(column, row, f"{value:g}", ha="center", va="center", fontsize=7,
                      color="white" if value > threshold else "black")
    axes.set_xticks(range(size), class_names, rotation=45, ha="right")
    axes.set_yticks(range(size), class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if title:
        axes.set_title(title)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)

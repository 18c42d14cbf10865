"""The paper's first number: the chain's first teacher set beside the paper's teacher.

``results/teacher_check.csv`` has one row per seed and quantity for the teacher of config
``student_defaults`` (its labeled ratio, its chain's first network):

* ``top1``, ``top5``: the final model on the run's test images (Table 1);
* ``best_monitored_top1``: the best top-1 the training's monitoring saw (the paper's code
  kept its best test epoch; this workflow keeps the last, see the README);
* ``ece``, ``paper_ece``: calibration, standard and in the paper's variant (Table 5's
  teacher row prints the latter);
* ``candidates_<class>``, ``candidates_total``: what the teacher hands on at the
  threshold, labeled images included (Table 4's teacher row).

The paper's column is filled where the run's teacher is the paper's (5,000 labels,
ResNet-20, threshold 0.8); ``difference`` is measured minus paper and ``relative`` that
difference over the paper's value.
"""

from __future__ import annotations

import pandas as pd

from noisy.files import atomic_path, read_json

COLUMNS = ["seed", "quantity", "measured", "paper", "difference", "relative", "note"]
PAPER_TEACHER = {"labeled": 5000, "network": "resnet20", "threshold": 0.8}


def _paper_values(row: dict, labeled: int, classes: list[str]) -> dict:
    """The paper's numbers for this teacher, or none when it is not the paper's teacher."""
    if (labeled, row["network"], row["threshold"]) != tuple(PAPER_TEACHER.values()):
        return {}
    files = row["files"]
    accuracy = pd.read_csv(files["paper_accuracy"])
    supervised = accuracy[(accuracy["labeled"] == labeled)
                          & (accuracy["network"] == row["network"])]
    counts = pd.read_csv(files["paper_candidates"]).set_index("label_type").loc["teacher"]
    calibration = pd.read_csv(files["paper_calibration"]).set_index("label_type").loc["teacher"]
    values = {"top1": supervised["top1"].item(), "top5": supervised["top5"].item(),
              "paper_ece": float(calibration["ece"])}
    values.update({f"candidates_{name}": int(counts[name]) for name in classes})
    values["candidates_total"] = int(sum(counts[name] for name in classes))
    return values


def _measured(row: dict) -> tuple[dict, dict, int, list[str]]:
    """The teacher's numbers, notes on how they were measured, its labels and classes."""
    files = row["files"]
    result = read_json(files["eval"], ("top1", "top5", "ece", "paper_ece", "n_test"))
    labeled = read_json(files["split"], ("labeled",))["labeled"]
    counts = read_json(files["counts"], ("classes", "counts"))
    history = pd.read_csv(files["history"])
    best = history.loc[history["test_acc"].idxmax()]
    last_epoch = int(history["epoch"].iloc[-1])
    values = {"top1": result["top1"], "top5": result["top5"],
              "best_monitored_top1": float(best["test_acc"]),
              "ece": result["ece"], "paper_ece": result["paper_ece"]}
    values.update({f"candidates_{name}": int(count)
                   for name, count in zip(counts["classes"], counts["counts"], strict=True)})
    values["candidates_total"] = int(sum(counts["counts"]))
    test = f"final model, {result['n_test']:,} test images"
    notes = {"top1": test, "top5": test,
             "best_monitored_top1": f"epoch {int(best['epoch'])} of {last_epoch}, best of "
                                    f"{len(history)} monitored epochs on "
                                    f"{row['monitor_images']:,} test images",
             "ece": test, "paper_ece": test,
             "candidates_total": f"labeled images plus pseudo labels above {row['threshold']}"}
    return values, notes, int(labeled), list(counts["classes"])


def build(rows: list[dict], out_path: str) -> pd.DataFrame:
    """Read each seed's files and write the comparison CSV (see the module docstring)."""
    records = []
    for row in rows:
        measured, notes, labeled, classes = _measured(row)
        paper = _paper_values(row, labeled, classes)
        for quantity, value in measured.items():
            reference = paper.get(quantity)
            difference = None if reference is None else value - reference
            records.append({
                "seed": row["seed"], "quantity": quantity, "measured": round(value, 4),
                "paper": reference,
                "difference": None if difference is None else round(difference, 4),
                "relative": None if not reference else round(difference / reference, 4),
                "note": notes.get(quantity, "")})
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    with atomic_path(out_path) as tmp:
        frame.to_csv(tmp, index=False)
    return frame

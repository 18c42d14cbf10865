"""Does self-training help at this scale? The teacher, students and yardsticks side by side.

``results/self_training.csv`` lists, per seed, the teacher (the first network of the
chain, trained on the labels alone), each requested student of each experiment in
config ``self_training_check``, and for each student network its *yardstick*: the same
network trained on the labels alone with the student's budget. A student that beats
both its teacher and its yardstick has learned from the pseudo labels, not merely from
a bigger network or a longer training. The rows and the files they read come from
:func:`noisy.workflow.outputs.self_training_rows`.
"""

from __future__ import annotations

import pandas as pd

from noisy.files import atomic_path, read_json

COLUMNS = ["seed", "role", "experiment", "network", "train_images", "labeled", "pseudo",
           "top1", "top5", "vs_teacher", "vs_yardstick"]


def build(rows: list[dict], out_path: str) -> pd.DataFrame:
    """Read the rows' result files and write the CSV (accuracies in %, differences in points).

    ``vs_teacher`` is a row's top-1 minus its seed's teacher's; ``vs_yardstick`` a
    student's top-1 minus its network's yardstick's.
    """
    records = []
    for row in rows:
        result = read_json(row["files"]["eval"], ("top1", "top5"))
        record = {key: row[key] for key in ("seed", "role", "experiment", "network",
                                             "train_images")}
        record.update(top1=result["top1"], top5=result["top5"])
        if "trainset" in row["files"]:
            trainset = read_json(row["files"]["trainset"], ("labeled", "pseudo"))
            record.update(labeled=trainset["labeled"], pseudo=trainset["pseudo"])
        records.append(record)
    frame = pd.DataFrame.from_records(records).reindex(columns=COLUMNS)
    teacher = frame[frame["role"] == "teacher"].set_index("seed")["top1"]
    yardstick = frame[frame["role"] == "yardstick"].set_index(["seed", "network"])["top1"]
    frame["vs_teacher"] = (frame["top1"] - frame["seed"].map(teacher)).round(2)
    students = frame["role"] == "student"
    keys = list(zip(frame.loc[students, "seed"], frame.loc[students, "network"], strict=True))
    frame.loc[students, "vs_yardstick"] = (frame.loc[students, "top1"].to_numpy()
                                           - yardstick.loc[keys].to_numpy()).round(2)
    frame.loc[frame["role"] == "teacher", "vs_teacher"] = None
    with atomic_path(out_path) as tmp:
        frame.to_csv(tmp, index=False)
    return frame

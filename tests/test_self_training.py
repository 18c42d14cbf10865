"""results/self_training.csv: which models it compares, and the comparison itself."""

import json
from pathlib import Path

import pandas as pd
from test_config import ROOT, jobs_in, run_snakemake

from noisy.reporting.self_training import build
from noisy.workflow.config import load
from noisy.workflow.outputs import self_training_rows
from noisy.workflow.stages import Plan


def _write(path: Path, content: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return str(path)


def test_small_scale_plan_is_teacher_two_students_and_one_yardstick():
    result = run_snakemake("--forceall", "-p", "--config", "scale=small", "--",
                           "results/self_training.csv")
    assert result.returncode == 0, result.stderr
    stats = jobs_in(result.stdout)
    # The teacher, the ResNet-26 yardstick and two students; hard and no_model_noise share
    # one training set, and only the teacher predicts.
    assert stats["train"] == 2 + 2
    assert stats["predict"] == 1 and stats["balance_classes"] == 1
    budgets = {}
    for line in result.stdout.splitlines():
        if "noisy train " in line and " --split " in line:
            settings = json.loads(line.split("--settings ")[1].split("' ")[0].strip("'"))
            budgets[line.split("--out ")[1].split()[0]] = settings["train"]["budget_images"]
    plan = Plan(load(ROOT / "config.yaml", ["scale=small"]))
    assert budgets == {plan.supervised(0.1, 0, "resnet20").files.model: 150000,
                       plan.yardstick(0.1, 0, "resnet26").files.model: 300000}


def test_rows_pair_each_student_with_its_yardstick(tmp_path: Path):
    config = load(ROOT / "config.yaml", [
        "labeled_budget=10", "student_budget=30", "student_defaults={chain: [resnet20, resnet26]}",
        "experiments={plain: {dropout: 0.0, final_survival: 1.0}}",
        "self_training_check={experiments: [hard, plain], networks: [resnet26]}"])
    rows = self_training_rows(Plan(config))
    assert [(r["role"], r["experiment"], r["train_images"]) for r in rows] == [
        ("teacher", "", 10), ("student", "hard", 30), ("student", "plain", 30),
        ("yardstick", "", 30)]
    top1 = {"teacher": 59.0, "hard": 63.5, "plain": 61.0, "yardstick": 62.25}
    for row in rows:
        row["files"] = {key: str(tmp_path / path) for key, path in row["files"].items()}
        name = row["experiment"] or row["role"]
        _write(Path(row["files"]["eval"]), {"top1": top1[name], "top5": 95.0})
        if "trainset" in row["files"]:
            _write(Path(row["files"]["trainset"]), {"labeled": 5000, "pseudo": 35000})
    build(rows, str(tmp_path / "self_training.csv"))
    frame = pd.read_csv(tmp_path / "self_training.csv", keep_default_na=False,
                        na_values=[""])
    frame.index = [experiment if isinstance(experiment, str) else role
                   for role, experiment in zip(frame["role"], frame["experiment"], strict=True)]
    assert frame.loc["hard", "vs_teacher"] == 4.5
    assert frame.loc["hard", "vs_yardstick"] == 1.25
    assert frame.loc["plain", "vs_yardstick"] == -1.25
    assert frame.loc["yardstick", "vs_teacher"] == 3.25
    assert pd.isna(frame.loc["teacher", "vs_teacher"])
    assert frame.loc["hard", "pseudo"] == 35000

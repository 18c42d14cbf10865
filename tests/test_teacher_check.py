"""results/teacher_check.csv: the chain's first teacher beside the paper's teacher."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from noisy.files import write_json
from noisy.reporting.teacher_check import build
from noisy.workflow.config import load
from noisy.workflow.outputs import teacher_check_rows
from noisy.workflow.stages import Plan

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
# The paper's teacher: Table 1 (5,000 labels, ResNet-20), Table 4's and Table 5's teacher rows.
PAPER_COUNTS = [4236, 4673, 4301, 4248, 4430, 3621, 4313, 4226, 4691, 4508]


def test_the_check_reads_the_default_chains_teacher_and_its_candidates():
    plan = Plan(load(ROOT / "config.yaml", ["scale=paper", "seeds=[0, 1]"]))
    rows = teacher_check_rows(plan)
    assert [row["seed"] for row in rows] == [0, 1]
    for row in rows:
        chain = plan.chain("hard", row["seed"])
        assert row["files"]["eval"] == f"{chain.teacher.dir}/eval-all/eval.json"
        assert row["files"]["history"] == f"{chain.teacher.dir}/history.csv"
        assert row["files"]["counts"] == f"{chain.links[0].selection.dir}/candidates.json"
        assert row["files"]["split"] == f"{chain.teacher.split.dir}/split.json"
        assert (row["network"], row["labeled_ratio"], row["threshold"]) == ("resnet20", 0.1, 0.8)
        assert (row["train_images"], row["monitor_images"]) == (5_000_000, 10_000)


def write_results(folder: Path, labeled: int, top1: float) -> dict:
    """The result files of one teacher and its split's summary, as the jobs write them."""
    files = {"eval": folder / "eval.json", "history": folder / "history.csv",
             "counts": folder / "candidates.json", "split": folder / "split.json"}
    write_json(files["eval"], {"top1": top1, "top5": 98.0, "ece": 0.05, "paper_ece": 0.12,
                               "n_test": 10_000})
    write_json(files["split"], {"labeled": labeled, "unlabeled": 45_000})
    files["history"].write_text("epoch,test_acc\n20,40.0\n40,78.5\n60,78.0\n")
    write_json(files["counts"], {"classes": CLASSES, "counts": list(range(4000, 4010))})
    paper = ROOT / "noisy" / "paper_tables"
    files.update({"paper_accuracy": paper / "table1.csv", "paper_candidates": paper / "table4.csv",
                  "paper_calibration": paper / "table5.csv"})
    return {name: str(path) for name, path in files.items()}


def check(tmp_path: Path, labeled: int, network: str = "resnet20") -> pd.DataFrame:
    row = {"seed": 0, "network": network, "labeled_ratio": 0.1, "threshold": 0.8,
           "train_images": 5_000_000, "monitor_images": 10_000,
           "files": write_results(tmp_path, labeled, top1=78.0)}
    build([row], tmp_path / "teacher_check.csv")
    return pd.read_csv(tmp_path / "teacher_check.csv").set_index("quantity")


def test_the_paper_teacher_is_set_beside_tables_1_4_and_5(tmp_path):
    frame = check(tmp_path, labeled=5000)
    assert frame.loc["top1", "paper"] == 82.27 and frame.loc["top5", "paper"] == 98.94
    assert frame.loc["top1", "difference"] == pytest.approx(78.0 - 82.27)
    assert frame.loc["paper_ece", "paper"] == 0.1142
    counts = frame.loc[[f"candidates_{name}" for name in CLASSES]]
    assert counts["paper"].tolist() == PAPER_COUNTS
    assert counts["difference"].tolist() == [4000 + i - PAPER_COUNTS[i] for i in range(10)]
    assert frame.loc["candidates_total", "measured"] == sum(range(4000, 4010))
    assert frame.loc["candidates_total", "paper"] == sum(PAPER_COUNTS)
    best = frame.loc["best_monitored_top1"]
    assert best["measured"] == 78.5 and pd.isna(best["paper"])
    assert best["note"] == "epoch 40 of 60, best of 3 monitored epochs on 10,000 test images"


@pytest.mark.parametrize("labeled,network", [(1000, "resnet20"), (5000, "resnet26")])
def test_another_teacher_is_not_compared_with_the_papers(tmp_path, labeled, network):
    frame = check(tmp_path, labeled, network)
    assert frame["paper"].isna().all() and frame["difference"].isna().all()
    assert frame.loc["top1", "measured"] == 78.0


def test_make_paper_teacher_plans_the_teacher_its_scores_and_its_candidates_only():
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--nolock",
                          "--cores", "1", "--config", "scale=paper", "--",
                          "results/teacher_check.csv"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    stats = run.stdout.split("Job stats:")[1].split("total")[0]
    jobs = dict(line.split() for line in stats.splitlines()[3:] if line.strip())
    assert jobs == {"prepare_data": "1", "split": "1", "train": "1", "evaluate": "1",
                    "predict": "1", "select_pseudo_labels": "1", "teacher_check": "1"}

"""The workflow end to end at the `ci` scale on synthetic images, including a crash."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import make_archive, make_image_folder

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
# Small enough for CI: two networks in Table 1, a three-network chain, a few
# corruptions and perturbations, the ResNet-26 as the robustness baseline.
CI_CONFIG = ["scale=ci", "split_mode=stratified",
             "table1={networks: [resnet20, resnet26], labeled_ratios: [1.0, 0.1]}",
             "student_defaults={chain: [resnet20, resnet26, resnet32]}",
             "robustness={corruptions: [gaussian_noise, contrast], "
             "perturbations: [gaussian_noise, translate], baseline_network: resnet26}"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    make_image_folder(root / "tree", n_train_per_class=12, n_test_per_class=4, classes=CLASSES)
    make_archive(root / "tree", root / "cifar.tar.gz")
    return root


def snakemake(workdir: Path, *args: str, config=(), **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
               "--configfile", str(ROOT / "config.yaml"), "-d", str(workdir / "run"),
               "--cores", "2", *args, "--config", *CI_CONFIG,
               f"data_source={workdir / 'cifar.tar.gz'}", *config]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output[-3000:]
    return output


def test_table1_at_ci_scale(workdir):
    finish(snakemake(workdir, "results/table1.csv"))
    table = pd.read_csv(workdir / "run/results/table1.csv")
    assert list(table.columns) == ["labeled", "network", "params", "top1", "top5"]
    assert table["labeled"].tolist() == [120, 120, 10, 10]
    assert table["params"].tolist() == [269818, 367034, 269818, 367034]


def test_interrupted_chain_resumes_without_redoing_finished_jobs(workdir):
    run = workdir / "run"
    teacher = run / "results/supervised/ratio0.1/seed0/resnet20/model.pt"
    # Long enough to be killed mid-training; the state is saved after every step.
    slow_student = ["student_budget=2400", "checkpoint_interval_s=0"]
    process = snakemake(workdir, "results/table2.csv", config=slow_student,
                        start_new_session=True)
    state = run / "results/.state/runs/hard/seed0/resnet26.pt"
    deadline = time.time() + 600
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), "the student never saved a training state"
    teacher_mtime = teacher.stat().st_mtime_ns
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and its running job
    process.communicate()
    assert not (run / "results/runs/hard/seed0/resnet26/model.pt").exists()

    finish(snakemake(workdir, "--unlock"))
    output = finish(snakemake(workdir, "--rerun-incomplete", "results/table2.csv",
                              config=slow_student))
    assert "rule train_supervised" not in output  # the finished teacher is not redone
    assert teacher.stat().st_mtime_ns == teacher_mtime
    log = (run / "results/logs/students/hard/seed0/resnet26.log").read_text()
    assert "resuming from" in log
    table = pd.read_csv(run / "results/table2.csv")
    assert table["network"].tolist() == ["resnet20", "resnet26", "resnet32"]
    assert table["pseudo"].iloc[0] == 0 and (table["pseudo"].iloc[1:] > 0).all()
    assert torch.load(state, weights_only=False)["finished"]  # kept: a retry trains nothing


def test_robustness_table_and_counts(workdir):
    finish(snakemake(workdir, "results/table4.csv", "results/table5.csv",
                     config=["student_budget=2400", "tables={table4: [hard], table5: [hard]}"]))
    counts = pd.read_csv(workdir / "run/results/table4.csv")
    assert list(counts.columns) == ["label_type", "network", *CLASSES]
    assert counts["label_type"].tolist() == ["teacher", "hard"]
    assert counts["network"].tolist() == ["resnet20", "resnet26"]
    table5 = pd.read_csv(workdir / "run/results/table5.csv")
    assert table5["label_type"].tolist() == ["teacher", "hard", "hard", "without_st"]
    assert table5["network"].tolist() == ["resnet20", "resnet26", "resnet32", "resnet26"]
    assert {"top1", "ece", "rel_mce", "mfr"} <= set(table5.columns)


def test_a_threshold_change_reruns_selection_but_not_the_teachers_predictions(workdir):
    process = snakemake(workdir, "-n", "results/table2.csv",
                        config=["student_budget=2400", "experiments={hard: {threshold: 0.5}}"])
    output = finish(process)
    assert "rule select_pseudo_labels" in output and "rule train_student" in output
    assert "rule predict_supervised" not in output
    assert "rule train_supervised" not in output

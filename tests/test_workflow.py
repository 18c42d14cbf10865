"""The workflow end to end at the `ci` scale on synthetic images, including a crash, and
on the real CIFAR-10 where it is present."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import REAL_CIFAR10, make_archive, make_image_folder

from noisy.precision import cpu_has_native_bf16
from noisy.workflow import outputs
from noisy.workflow.config import load
from noisy.workflow.stages import Plan

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
# Small enough for CI: two networks in Table 1, a three-network chain, a few
# corruptions and perturbations, the ResNet-26 as the robustness baseline.
CI_CONFIG = ["scale=ci",
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


def snakemake(workdir: Path, *args: str, config=(), configfile: Path = ROOT / "config.yaml",
              data: Path | None = None, **popen) -> subprocess.Popen:
    """Snakemake in ``workdir/run`` with :data:`CI_CONFIG` on ``data`` (default: the
    synthetic archive in ``workdir``)."""
    data = data or workdir / "cifar.tar.gz"
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
               "--configfile", str(configfile), "-d", str(workdir / "run"),
               "--cores", "2", *args, "--config", *CI_CONFIG, f"data_source={data}", *config]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **popen)


def plan(workdir: Path, config=(), configfile: Path = ROOT / "config.yaml") -> Plan:
    """The stages Snakemake plans for the same configuration (folders relative to run/)."""
    return Plan(load(configfile, [*CI_CONFIG, f"data_source={workdir / 'cifar.tar.gz'}",
                                  *config]))


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
    # Long enough to be killed mid-training; the state is saved after every step.
    slow_student = ["student_budget=2400", "checkpoint_interval_s=0"]
    chain = plan(workdir, slow_student).chain("hard", 0)
    teacher = run / chain.teacher.files.model
    student = chain.links[0].student
    process = snakemake(workdir, "results/table2.csv", config=slow_student,
                        start_new_session=True)
    state = run / student.files.state
    deadline = time.time() + 600
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), "the student never saved a training state"
    teacher_mtime = teacher.stat().st_mtime_ns
    os.killpg(process.pid, signal.SIGKILL)  # Snakemake and its running job
    process.communicate()
    assert not (run / student.files.model).exists()

    finish(snakemake(workdir, "--unlock"))
    output = finish(snakemake(workdir, "--rerun-incomplete", "results/table2.csv",
                              config=slow_student))
    assert f"output: {chain.teacher.files.model}" not in output  # teacher not redone
    assert teacher.stat().st_mtime_ns == teacher_mtime
    log = (run / student.files.log).read_text()
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
    assert {"top1", "ece", "rel_mce", "mfr", "c_clean_accuracy", "mean_c_accuracy"} <= set(
        table5.columns)
    assert table5["mean_c_accuracy"].between(0, 100).all()


def test_a_threshold_change_reruns_selection_but_not_the_teachers_predictions(workdir):
    changed = ["student_budget=2400", "experiments={hard: {threshold: 0.5}}"]
    output = finish(snakemake(workdir, "-n", "results/table2.csv", config=changed))
    teacher = plan(workdir, changed).chain("hard", 0).teacher
    assert "rule select_pseudo_labels" in output and "rule train:" in output
    assert f"output: {teacher.files.predictions}" not in output
    assert f"output: {teacher.files.model}" not in output


# The configuration the tests above finished their targets with, and a report of them.
DONE_CONFIG = ["student_budget=2400", "tables={table4: [hard], table5: [hard]}",
               "report_tables=[table1, table2, table4, table5]"]
DONE_TARGETS = ["results/table1.csv", "results/table2.csv", "results/table4.csv",
                "results/table5.csv", "results/report.md"]


def test_a_finished_run_would_rerun_nothing(workdir):
    """Every file a job reads is a declared input, every setting a param: after a
    finished run no job's params, inputs or code differ from those it ran with."""
    finish(snakemake(workdir, *DONE_TARGETS, config=DONE_CONFIG))
    for change in ("input", "code"):
        listed = finish(snakemake(workdir, "--quiet", "all", "--list-changes", change,
                                  *DONE_TARGETS, config=DONE_CONFIG))
        assert listed == "", f"--list-changes {change}:\n{listed}"
    # Snakemake 9.27's --list-changes params names every job's output, changed or not
    # (ParamsChange keeps the file of an empty change), so params are checked the way
    # Snakemake decides a rerun: a dry run with that trigger alone.
    for trigger in ("params", "input", "code"):
        assert "Nothing to be done" in finish(snakemake(
            workdir, "-n", *DONE_TARGETS, "--rerun-triggers", trigger, config=DONE_CONFIG))
    assert "Nothing to be done" in finish(snakemake(workdir, "-n", *DONE_TARGETS,
                                                    config=DONE_CONFIG))
    # Where a job runs is no part of what it computes: the run above (device auto) planned
    # for the CPU, by name and through the CPU profile (its config file sets device: cpu),
    # has nothing to do either.
    assert "Nothing to be done" in finish(snakemake(workdir, "-n", *DONE_TARGETS,
                                                    config=[*DONE_CONFIG, "device=cpu"]))
    profile = ROOT / "profiles" / "cpu"
    # (the targets before --configfile, which takes every name after it)
    assert "Nothing to be done" in finish(snakemake(
        workdir, "-n", "--profile", str(profile), *DONE_TARGETS, "--configfile",
        str(ROOT / "config.yaml"), str(profile / "workflow-config.yaml"), config=DONE_CONFIG))
    # Watching trainings with TensorBoard is no part of what they compute either.
    assert "Nothing to be done" in finish(snakemake(workdir, "-n", *DONE_TARGETS,
                                                    config=[*DONE_CONFIG, "tensorboard=true"]))
    # The report's compute counts the trainings behind its tables, each once.
    trainings = outputs.report_models(plan(workdir, DONE_CONFIG))
    report = (workdir / "run/results/report.md").read_text()
    assert f"{len(trainings)} benchmarked training jobs:" in report


def test_a_named_run_has_its_own_final_outputs_and_shares_the_stages(workdir):
    """`run=NAME` writes tables, figures and report to results/NAME/: the finished stages
    are reused (no training, no evaluation) and the unnamed run's outputs stay untouched."""
    results = workdir / "run/results"
    named = [target.replace("results/", "results/second/") for target in DONE_TARGETS]
    config = [*DONE_CONFIG, "run=second"]
    planned = jobs_by_rule(finish(snakemake(workdir, "-n", *named, config=config)))
    assert "train" not in planned and "evaluate" not in planned, planned
    assert planned["table"] == 4 and planned["report"] == 1, planned
    before = {path: path.stat().st_mtime_ns for path in results.glob("*.*")}
    finish(snakemake(workdir, *named, config=config))
    assert {path: path.stat().st_mtime_ns for path in results.glob("*.*")} == before
    for table in ("table1", "table2", "table4", "table5"):
        assert (results / f"second/{table}.csv").read_bytes() == (
            results / f"{table}.csv").read_bytes()
    report = (results / "second/report.md").read_text()
    assert "](../models/" in report  # its images are linked from where it lies
    assert (results / "second/figures/training_curves.png").exists()
    refused = snakemake(workdir, "-n", "results/models/x.csv", config=["run=models"])
    output, _ = refused.communicate(timeout=300)
    assert refused.returncode != 0 and "config key 'run': 'models'" in output


def jobs_by_rule(dry_run: str) -> dict[str, int]:
    return {rule: dry_run.count(f"rule {rule}:") for rule in set(
        line[5:-1] for line in dry_run.splitlines()
        if line.startswith("rule ") and line.endswith(":"))}


def test_inserting_an_experiment_leaves_every_finished_target_done(workdir, tmp_path):
    """Folders are named by definitions, not by experiments or their order: a new
    experiment first, in the middle or last in config.yaml moves nothing and plans only
    its own jobs."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    for position in (0, 7, len(config["experiments"])):
        items = list(config["experiments"].items())
        items.insert(position, ("hard_t0.5", {"threshold": 0.5}))
        configfile = tmp_path / "config.yaml"
        configfile.write_text(yaml.safe_dump({**config, "experiments": dict(items)},
                                             sort_keys=False))
        changed = plan(workdir, DONE_CONFIG, configfile)
        final = changed.chain("hard_t0.5", 0).links[-1].student
        target = f"{changed.evaluation(final).dir}/eval.json"
        output = finish(snakemake(workdir, "-n", *DONE_TARGETS, target, config=DONE_CONFIG,
                                  configfile=configfile))
        # Only its own two links (the teacher and its predictions are shared), the first
        # student's predictions for the second, and the final evaluation: every finished
        # target stays done.
        assert jobs_by_rule(output) == {"select_pseudo_labels": 2, "balance_classes": 2,
                                        "train": 2, "predict": 1, "evaluate": 1}, position


@pytest.mark.skipif(not REAL_CIFAR10.exists(), reason="the real CIFAR-10 JPEG tarball is absent")
def test_the_ci_preset_runs_tables_1_to_5_on_the_real_cifar10(tmp_path):
    """On the real data the ci preset's stratified split labels two images of every class
    (ratio 0.1), and labeled images are candidates too, so no class reaches balancing
    empty. Same restrictions as above (Table 1's two networks, three-network chains, two
    corruptions and perturbations), and two label types in Tables 3-5, for time."""
    tables = [f"results/table{number}.csv" for number in range(1, 6)]
    # The pipeline on real images, not its accuracy: the faster step where it is native.
    fast = "bf16" if cpu_has_native_bf16() else "fp32"
    finish(snakemake(tmp_path, *tables, data=REAL_CIFAR10, config=[
        "tables={table3: [hard, smooth], table4: [hard, smooth], table5: [hard, smooth]}",
        f"precision={fast}"]))
    results = tmp_path / "run/results"
    assert pd.read_csv(results / "table1.csv")["labeled"].tolist() == [200, 200, 20, 20]
    table2 = pd.read_csv(results / "table2.csv")
    assert table2["network"].tolist() == ["resnet20", "resnet26", "resnet32"]
    assert table2["labeled"].tolist() == [20, 20, 20]
    assert pd.read_csv(results / "table3.csv")["label_type"].tolist() == [
        "teacher", "hard", "hard", "smooth", "smooth"]
    counts = pd.read_csv(results / "table4.csv")
    assert counts["label_type"].tolist() == ["teacher", "hard", "smooth"]
    assert (counts[CLASSES] >= 2).all().all()
    table5 = pd.read_csv(results / "table5.csv")
    assert table5["label_type"].tolist() == ["teacher", "hard", "hard", "smooth", "smooth",
                                             "without_st"]

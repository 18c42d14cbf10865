"""The CI-scale workflow through the SLURM profiles on a real one-node cluster.

`make test-slurm` starts the cluster (tests/slurm/start.sh) and runs this module. The
node has no GPUs, so the runs use profiles/slurm-cpu; the GPU profile is only shown to
fail there. Each fault test trains a ResNet-20 on all labels in its own run folder and
disturbs it through SLURM; where the training is the undisturbed run's, the final
weights must equal its weights. The time-limited training is sized from the images/s
of the undisturbed one, so that it outlasts its limit however busy the machine is.
The tests find each stage's folder with the plan Snakemake makes of the same config.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from conftest import make_archive, make_image_folder

from noisy.filenames import TRAINING
from noisy.workflow.config import load
from noisy.workflow.stages import Model, Plan

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
CI_CONFIG = ["scale=ci", "split_mode=stratified",
             "student_defaults={chain: [resnet20, resnet26]}"]
# First status check 5 s after a submission instead of the plugin's 40 s (it then backs
# off by 10 s per check that finds nothing finished).
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "5"]
TRAIN_SIZE = 120  # images per epoch at ratio 1.0: 12 per class (below the ci preset's 20)
# The training every fault test disturbs: 50 epochs (15 s on an idle 2-core machine, a
# few minutes on a busy one), saving its state every 5 s so that a fault finds one.
FAULT_CONFIG = ["full_budget=6000", "checkpoint_interval_s=5"]
# Of the training that test_time_limit gives one minute per attempt: long enough for
# SLURM to stop it (it checks time limits every 30 s) even on a machine that got faster.
TIME_LIMITED_SECONDS = 130
JOB_BLOCK = re.compile(r"^rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)
SUBMITTED = re.compile(r"^Job (\d+) has been submitted with SLURM jobid", re.M)
TRAINED_EPOCH = re.compile(r"epoch \d+/\d+ lr ")
RESUMED = re.compile(r"resuming from|training already finished")
# What Snakemake deletes of a training that SLURM recorded as TIMEOUT: the rule's outputs.
TRAINING_OUTPUTS = tuple(TRAINING.outputs)  # by role: model, history, definition


def plan(profile: str = "slurm-cpu", config=()) -> Plan:
    """The stages of a run with ``profile`` and ``config``, as Snakemake plans them: the
    profile's workflow-config.yaml on top of config.yaml, then the command line's."""
    settings = yaml.safe_load((ROOT / "profiles" / profile / "workflow-config.yaml").read_text())
    from_profile = [f"{key}={json.dumps(value)}" for key, value in settings.items()]
    return Plan(load(ROOT / "config.yaml", [*from_profile, *CI_CONFIG, *config]))


def fault_training(config=FAULT_CONFIG) -> Model:
    """The training the fault tests disturb: a ResNet-20 on all labels (its folder
    depends on the budget in ``config``)."""
    return plan(config=config).supervised(1.0, 0, "resnet20")


def student() -> Model:
    """The student of the chain fixture: the hard chain's ResNet-26 (seed 0)."""
    return plan().chain("hard", 0).links[0].student


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """A SLURM controller that answers, with an idle node and no jobs queued."""
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                                timeout=30)
    except FileNotFoundError:
        pytest.skip("no SLURM client (sinfo); `make test-slurm` starts a one-node cluster")
    if states.returncode != 0 or "idle" not in states.stdout.split():
        pytest.skip(f"no idle SLURM node: {states.stdout.strip()} {states.stderr.strip()}")
    assert squeue() == [], "jobs are already queued on the test cluster"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("source")
    make_image_folder(root / "tree", n_train_per_class=12, n_test_per_class=4, classes=CLASSES)
    return make_archive(root / "tree", root / "cifar.tar.gz")


def new_run(tmp_path_factory, name: str) -> Path:
    """A run folder with the repository's config.yaml, as in a clone."""
    run = tmp_path_factory.mktemp(name)
    (run / "config.yaml").symlink_to(ROOT / "config.yaml")
    return run


def snakemake(run: Path, source: Path, *targets: str, args=(), config=(),
              profile: str = "slurm-cpu") -> subprocess.Popen:
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
               "--profile", str(ROOT / "profiles" / profile), "-d", str(run), *FAST_POLLING,
               *args, "--config", *CI_CONFIG, f"data_source={source}", *config, "--",
               *targets]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.Popen(command, cwd=run, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def finish(process: subprocess.Popen, expect_success: bool = True) -> str:
    output, _ = process.communicate(timeout=1800)
    assert (process.returncode == 0) == expect_success, output[-4000:]
    return output


def squeue(*args: str) -> list[str]:
    """Job ids in the queue (with squeue's own filters, e.g. -t RUNNING)."""
    listed = subprocess.run(["squeue", "-h", "-o", "%i", *args], capture_output=True,
                            text=True, check=True)
    return listed.stdout.split()


def running_training(run: Path, process: subprocess.Popen, training: Model) -> str:
    """SLURM id of the job of ``training``, once it has saved a training state."""
    deadline = time.time() + 900
    while time.time() < deadline and process.poll() is None:
        running = squeue("-t", "RUNNING")
        if (run / training.files.state).exists() and running:
            return running[0]
        time.sleep(1)
    output = process.communicate()[0] if process.poll() is not None else ""
    pytest.fail(f"the training never ran with a saved state\n{output[-3000:]}")


def submissions(output: str, rule: str) -> int:
    """How many times Snakemake submitted a job of ``rule`` with sbatch."""
    rules = {jobid: name for name, jobid in JOB_BLOCK.findall(output)}
    return [rules[jobid] for jobid in SUBMITTED.findall(output)].count(rule)


def weights(model: Path) -> dict:
    return torch.load(model, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(model: Path, reference: dict) -> None:
    found = weights(model)
    assert found.keys() == reference.keys()
    differing = [name for name in found if not torch.equal(found[name], reference[name])]
    assert not differing, f"weights differ from the undisturbed run: {differing[:5]}"


def copy_inputs(origin: Path, run: Path) -> None:
    """The data and splits of another run (with their times, so they stay up to date)."""
    for folder in ("results/data", "results/splits"):
        shutil.copytree(origin / folder, run / folder)


@pytest.fixture(scope="module")
def training() -> Model:
    """The folder of the fault tests' training (50 epochs, FAULT_CONFIG)."""
    return fault_training()


@pytest.fixture(scope="module")
def chain(tmp_path_factory, source):
    """A teacher and one student, with every job through sbatch: (run folder, output)."""
    run = new_run(tmp_path_factory, "chain")
    output = finish(snakemake(run, source, student().files.model))
    return run, output


@pytest.fixture(scope="module")
def undisturbed(chain, source, training):
    """The training of every fault test, run once without faults: its run folder and weights."""
    run, _ = chain
    finish(snakemake(run, source, training.files.model, config=FAULT_CONFIG))
    return run, weights(run / training.files.model)


@pytest.fixture
def fresh_run(tmp_path_factory, chain, request) -> Path:
    run = new_run(tmp_path_factory, request.node.name)
    copy_inputs(chain[0], run)
    return run


def test_teacher_and_student_complete_through_sbatch(chain):
    run, output = chain
    assert (run / student().files.model).exists()
    # One training rule for the teacher and the student, one prediction (the teacher's).
    expected = {"prepare_data": 1, "split": 1, "train": 2, "predict": 1,
                "select_pseudo_labels": 1, "balance_classes": 1}
    assert {rule: submissions(output, rule) for rule in expected} == expected


def test_scancel_is_retried_and_resumes_to_the_same_weights(fresh_run, source, undisturbed,
                                                            training):
    process = snakemake(fresh_run, source, training.files.model, config=FAULT_CONFIG)
    subprocess.run(["scancel", running_training(fresh_run, process, training)], check=True)
    output = finish(process)
    assert submissions(output, "train") == 2
    assert "resuming from" in (fresh_run / training.files.log).read_text()
    assert_same_weights(fresh_run / training.files.model, undisturbed[1])


def test_time_limit_is_retried_resumed_and_completed(fresh_run, source, undisturbed, training):
    # One minute per attempt for a longer training (sized from the undisturbed run's
    # speed): each attempt is stopped with TIMEOUT and resumes from the state the
    # previous one saved, until one finishes.
    history = undisturbed[0] / training.files.history
    speed = pd.read_csv(history)["images_per_s"].median()
    epochs = max(10, round(speed * TIME_LIMITED_SECONDS / TRAIN_SIZE))
    config = [f"full_budget={epochs * TRAIN_SIZE}", "checkpoint_interval_s=5"]
    limited = fault_training(config)
    limit = ["--set-resources", "train:runtime=1", "--retries", "8"]
    output = finish(snakemake(fresh_run, source, limited.files.model, args=limit,
                              config=config))
    assert "SLURM status is: 'TIMEOUT'" in output
    assert submissions(output, "train") >= 2
    # The last attempt resumed, or found the training finished by one that SLURM still
    # recorded as TIMEOUT (Snakemake then deletes the outputs it wrote).
    assert RESUMED.search((fresh_run / limited.files.log).read_text())
    assert (fresh_run / limited.files.history).exists()


def test_requeue_resumes_to_the_same_weights(fresh_run, source, undisturbed, training):
    process = snakemake(fresh_run, source, training.files.model, config=FAULT_CONFIG)
    job = running_training(fresh_run, process, training)
    subprocess.run(["scontrol", "requeue", job], check=True)  # as a preemption does
    # A requeued job waits ~2 min (BeginTime) before it may start again; start it now.
    deadline = time.time() + 60
    while job not in squeue("-t", "PENDING") and time.time() < deadline:
        time.sleep(1)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
    output = finish(process)
    assert submissions(output, "train") == 1  # SLURM reran it, same job id
    assert "resuming from" in (fresh_run / training.files.log).read_text()
    assert_same_weights(fresh_run / training.files.model, undisturbed[1])


def test_outputs_deleted_after_the_training_finished_are_rewritten_without_training(
        source, undisturbed, training):
    # What Snakemake does to a job that finished just after its time limit (SLURM says
    # TIMEOUT though every step exited 0): delete its outputs, then submit it again.
    run, reference = undisturbed
    paths = {role: run / getattr(training.files, role) for role in TRAINING_OUTPUTS}
    written = {role: path.read_bytes() for role, path in paths.items()}
    for path in paths.values():
        path.unlink()
    output = finish(snakemake(run, source, training.files.model, config=FAULT_CONFIG))
    assert submissions(output, "train") == 1
    log = (run / training.files.log).read_text()
    assert not TRAINED_EPOCH.search(log), f"epochs were trained again:\n{log[-2000:]}"
    for role in ("history", "definition"):
        assert paths[role].read_bytes() == written[role], role
    assert_same_weights(run / training.files.model, reference)


def clean_evaluation(profile: str) -> str:
    """eval.json of the chain's teacher as ``profile`` plans it (the device is part of a
    model's definition, so the GPU profile's teacher has a folder of its own)."""
    stages = plan(profile)
    return f"{stages.evaluation(stages.chain('hard', 0).teacher).dir}/eval.json"


def test_cpu_partition_with_the_cpu_profile_has_no_gres_error(chain, source):
    run, _ = chain
    # The GPU profile asks for --gpus=1 (first for its own teacher's training), which a
    # partition without GPUs refuses.
    refused = finish(snakemake(run, source, clean_evaluation("slurm"), args=["--retries", "0"],
                               profile="slurm"),
                     expect_success=False)
    assert "Invalid generic resource (gres) specification" in refused
    target = clean_evaluation("slurm-cpu")
    output = finish(snakemake(run, source, target))
    assert "gres" not in output
    assert submissions(output, "evaluate") == 1
    assert (run / target).exists()

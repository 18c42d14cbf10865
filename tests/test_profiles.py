"""The Snakemake profiles under profiles/: each one plans results/table1.csv (dry run)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# What each profile must put into the plan of a supervised training (rule train, at the
# default `demo` scale, whose cluster_resources ask 4000 MB and 60 minutes for it).
EXPECTED = {
    "cpu": ["device=cpu", "gpu=0"],
    "gpu": ["device=cuda", "gpu=1"],
    "slurm": ["device=cuda", "gpu=1", "mem_mb=4000", "runtime=60"],
    "slurm-cpu": ["device=cpu", "gpu=0", "mem_mb=4000", "runtime=60"],
}
SLURM_PROFILES = ["slurm", "slurm-cpu"]
# In a dry-run block: the input of a student's training (a balanced training set) and of
# a supervised one (a split).
STUDENT = "results/trainsets/"
SUPERVISED = "results/splits/"


def dry_run(profile: str, *args: str, target: str = "results/table1.csv") -> str:
    """Output of a forced dry run of ``target`` with the profile, from the repo root."""
    command = [sys.executable, "-m", "snakemake", target, "--profile",
               f"profiles/{profile}", "--dry-run", "--forceall", "--nolock", "--cores", "1",
               *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def job_blocks(output: str, rule: str) -> list[str]:
    """The dry-run blocks of every job of ``rule``."""
    return [part.split("\n\n", 1)[0] for part in output.split(f"rule {rule}:\n")[1:]]


def job_block(output: str, rule: str = "train", reading: str = SUPERVISED) -> str:
    """The dry-run block of the first job of ``rule`` whose input names ``reading`` (of a
    supervised training by default)."""
    blocks = [block for block in job_blocks(output, rule)
              if reading in block.split("\n    output:", 1)[0]]
    assert blocks, f"no {rule} job reading {reading}"
    return blocks[0]


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_plans_table1(profile):
    job = job_block(dry_run(profile))
    for expected in EXPECTED[profile]:
        assert expected in job, job


def test_profile_device_survives_command_line_config():
    assert "device=cpu" in job_block(dry_run("cpu", "--config", "scale=ci"))


def test_no_default_profile():
    # Snakemake loads profiles/default beside any --profile given.
    assert not (ROOT / "profiles" / "default").exists()


@pytest.mark.parametrize("profile", SLURM_PROFILES)
def test_slurm_profiles_query_job_states_with_squeue(profile):
    # sacct, the plugin's default, waits forever without accounting and on "CANCELLED by 0".
    settings = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
    assert settings["slurm-status-command"] == "squeue"


@pytest.mark.parametrize("profile", SLURM_PROFILES)
def test_cluster_resources_follow_the_scale(profile):
    output = dry_run(profile, "--config", "scale=ci", target="results/table5.csv")
    robustness = job_block(output, "evaluate_robustness", reading="results/models/")
    assert "mem_mb=2000" in robustness and "runtime=10" in robustness, robustness
    assert "mem_mb=2000" in job_block(output, "train", reading=STUDENT)


def test_students_and_supervised_trainings_ask_for_their_own_resources():
    # One rule trains both; at the `small` scale a student may run 180 minutes, a
    # supervised model 120 (cluster_resources: train: {supervised, student}).
    output = dry_run("slurm-cpu", "--config", "scale=small", target="results/table5.csv")
    assert "runtime=180" in job_block(output, "train", reading=STUDENT)
    assert "runtime=120" in job_block(output, "train", reading=SUPERVISED)


def test_the_cpu_slurm_profile_asks_for_no_gpu():
    output = dry_run("slurm-cpu", target="results/table5.csv")
    job_block(output, "train", reading=STUDENT)  # students and supervised models alike
    job_block(output, "train", reading=SUPERVISED)
    for rule in ("train", "predict", "evaluate_robustness"):
        blocks = job_blocks(output, rule)
        assert blocks and all("gpu=0" in block for block in blocks), rule

"""The Snakemake profiles under profiles/: each one plans results/table1.csv (dry run)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# What each profile must put into the plan of a train_supervised job (at the default
# `demo` scale, whose cluster_resources ask 4000 MB and 60 minutes for it).
EXPECTED = {
    "cpu": ['"device": "cpu"', "gpu=0"],
    "gpu": ['"device": "cuda"', "gpu=1"],
    "slurm": ['"device": "cuda"', "gpu=1", "mem_mb=4000", "runtime=60"],
    "slurm-cpu": ['"device": "cpu"', "gpu=0", "mem_mb=4000", "runtime=60"],
}
SLURM_PROFILES = ["slurm", "slurm-cpu"]


def dry_run(profile: str, *args: str, target: str = "results/table1.csv") -> str:
    """Output of a forced dry run of ``target`` with the profile, from the repo root."""
    command = [sys.executable, "-m", "snakemake", target, "--profile",
               f"profiles/{profile}", "--dry-run", "--forceall", "--nolock", "--cores", "1",
               *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def job_block(output: str, rule: str = "train_supervised") -> str:
    """The dry-run block of the first job of ``rule``."""
    return output.split(f"rule {rule}:", 1)[1].split("\n\n", 1)[0]


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_plans_table1(profile):
    job = job_block(dry_run(profile))
    for expected in EXPECTED[profile]:
        assert expected in job, job


def test_profile_device_survives_command_line_config():
    assert '"device": "cpu"' in job_block(dry_run("cpu", "--config", "scale=ci"))


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
    robustness = job_block(output, "evaluate_robustness")
    assert "mem_mb=2000" in robustness and "runtime=10" in robustness, robustness
    assert "mem_mb=2000" in job_block(output, "train_student")


def test_the_cpu_slurm_profile_asks_for_no_gpu():
    output = dry_run("slurm-cpu", target="results/table5.csv")
    for rule in ("train_supervised", "train_student", "predict_supervised", "predict_student",
                 "evaluate_robustness"):
        assert "gpu=0" in job_block(output, rule), rule

"""The Snakemake profiles under profiles/: each one plans results/table1.csv (dry run)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each profile must put into the plan of a train_supervised job.
EXPECTED = {
    "cpu": ['"device": "cpu"', "gpu=0"],
    "gpu": ['"device": "cuda"', "gpu=1"],
    "slurm": ['"device": "cuda"', "gpu=1", "mem_mb=16000", "runtime=150"],
}


def dry_run(profile: str, *args: str) -> str:
    """Output of a forced dry run of results/table1.csv with the profile, from the repo root."""
    command = [sys.executable, "-m", "snakemake", "results/table1.csv", "--profile",
               f"profiles/{profile}", "--dry-run", "--forceall", "--nolock", "--cores", "1",
               *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + done.stderr


def train_job(output: str) -> str:
    """The dry-run block of the first train_supervised job."""
    return output.split("rule train_supervised:", 1)[1].split("\n\n", 1)[0]


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_plans_table1(profile):
    job = train_job(dry_run(profile))
    for expected in EXPECTED[profile]:
        assert expected in job, job


def test_profile_device_survives_command_line_config():
    assert '"device": "cpu"' in train_job(dry_run("cpu", "--config", "scale=ci"))


def test_no_default_profile():
    # Snakemake loads profiles/default beside any --profile given.
    assert not (ROOT / "profiles" / "default").exists()

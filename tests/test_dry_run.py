"""Snakemake's job list from its dry run (noisy.tools.dry_run): the printed format of the
pinned Snakemake, the order jobs can run in, and a real dry run of this workflow."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from noisy.errors import UserError
from noisy.tools import dry_run

ROOT = Path(__file__).resolve().parents[1]
# Printed by snakemake 9.27.1 (`-n -p`), trimmed: the split is printed after the training
# that reads it, as Snakemake may print them (it says so: not in the order of execution).
PRINTED = """\
Building DAG of jobs...
Job stats:
job      count
-----  -------
split        1
train        1
total        2


[Fri Dec  4 06:01:44 2026]
rule train:
    input: results/data/cifar10.npz, results/splits/s/split.npz
    output: results/models/m/model.pt, results/models/m/history.csv
    log: results/models/m/train.log
    jobid: 3
    benchmark: results/models/m/benchmark.tsv
    reason: Forced execution
    wildcards: model=results/models/m
    resources: tmpdir=/tmp, gpu=1, device=cuda
Shell command: python -m noisy train --data results/data/cifar10.npz --split results/splits/s/split.npz --settings '{"train": {"batch_size": 512}}' --out results/models/m/model.pt > results/models/m/train.log 2>&1

[Fri Dec  4 06:01:44 2026]
localrule split:
    input: results/data/cifar10.npz
    output: results/splits/s/split.npz, results/splits/s/split.json
    log: results/splits/s/split.log
    jobid: 4
    reason: Forced execution
    wildcards: split=results/splits/s
    resources: tmpdir=/tmp
Shell command: python -m noisy split --data results/data/cifar10.npz --out results/splits/s/split.npz > results/splits/s/split.log 2>&1
Job stats:
This was a dry-run (flag -n). The order of jobs does not reflect the order of execution.
"""  # noqa: E501 (Snakemake's lines)
# CI scale with explicit sizes (as tests/test_estimate.py).
CONFIG = ["scale=ci", "train_per_class=12", "test_per_class=4", "labeled_budget=96",
          "full_budget=240", "table1={networks: [resnet20, resnet26], labeled_ratios: [1.0, 0.1]}"]


def test_each_printed_job_is_read_with_its_files_wildcards_and_command():
    train, split = dry_run.parse(PRINTED)
    assert (train.rule, split.rule) == ("train", "split")
    assert train.inputs == ("results/data/cifar10.npz", "results/splits/s/split.npz")
    assert train.outputs == ("results/models/m/model.pt", "results/models/m/history.csv")
    assert train.log == ("results/models/m/train.log",)
    assert train.benchmark == "results/models/m/benchmark.tsv" and split.benchmark is None
    assert train.wildcards == {"model": "results/models/m"}
    assert train.command.startswith("python -m noisy train --data")
    assert json.loads(train.option("--settings")) == {"train": {"batch_size": 512}}
    assert split.option("--settings") is None


def test_every_job_comes_after_the_jobs_making_its_inputs():
    assert [job.rule for job in dry_run.in_order(dry_run.parse(PRINTED))] == ["split", "train"]


def test_the_installed_snakemake_is_in_the_range_whose_format_is_read():
    pins = [Requirement(text) for text in
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    snakemake = next(pin for pin in pins if pin.name == "snakemake")
    assert str(snakemake.specifier) in ("<10,>=9.27", ">=9.27,<10")
    assert snakemake.specifier.contains(metadata.version("snakemake"))


def test_a_dry_run_of_this_workflow_lists_every_job_with_its_command(tmp_path):
    jobs = dry_run.dry_run(["results/table1.csv"], CONFIG, tmp_path, forceall=True)
    assert [job.rule for job in jobs][:1] == ["prepare_data"] and jobs[-1].rule == "table"
    made = set()
    for job in jobs:
        assert re.match(rf"python -m noisy {job.rule.replace('_', '-')} ", job.command)
        assert set(job.inputs) & {path for other in jobs for path in other.outputs} <= made
        made |= set(job.outputs)
    trainings = [job for job in jobs if job.rule == "train"]
    assert len(trainings) == 4
    for job in trainings:
        assert job.benchmark == f"{job.wildcards['model']}/benchmark.tsv"
        assert json.loads(job.option("--settings"))["train"]["batch_size"] == 32


def test_nothing_to_do_is_an_empty_list_and_a_bad_config_one_clear_error(tmp_path):
    assert dry_run.parse("Building DAG of jobs...\nNothing to be done (all requested files "
                         "are present and up to date).\n") == []
    with pytest.raises(UserError, match="treshold"):
        dry_run.dry_run(["results/table1.csv"], [*CONFIG, "treshold=0.5"], tmp_path)

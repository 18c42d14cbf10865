"""`python -m noisy estimate`: Snakemake's own job list, images per job and hours."""

from __future__ import annotations

import json
import re

import pytest

from noisy import cli
from noisy.tools import estimate
from noisy.workflow.stages import Model, Plan

# CI scale with explicit sizes, so the expected counts below follow from this list alone.
CONFIG = ["scale=ci", "train_per_class=12", "test_per_class=4", "labeled_budget=96",
          "full_budget=240", "monitor_test_size=50", "monitor_epochs=50",
          "table1={networks: [resnet20, resnet26], labeled_ratios: [1.0, 0.1]}"]
RATES = {"device": "test", "jobs": 1, "batch_size": 32,
         "train": {"resnet20": 100.0, "resnet26": 50.0},
         "infer": {"resnet20": 1000.0, "resnet26": 500.0}}


@pytest.fixture
def rates_file(tmp_path):
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(RATES))
    return path


def test_the_jobs_are_snakemakes_with_their_params(tmp_path):
    jobs, config = estimate.snakemake_jobs(["results/table1.csv"], CONFIG, tmp_path)
    rules = sorted(job.rule for job in jobs)
    assert rules == ["evaluate"] * 4 + ["prepare_data", "split", "split", "table"] + \
        ["train"] * 4
    assert config["scale"] == "ci"
    plan = Plan(config)
    training = [(plan.stage(job.wildcards["model"], Model), json.loads(job.option("--settings")))
                for job in jobs if job.rule == "train"]
    budgets = {(model.split.settings["labeled_ratio"], s["arch"]["network"]):
               s["train"]["budget_images"] for model, s in training}
    assert budgets == {(1.0, "resnet20"): 240, (1.0, "resnet26"): 240,
                       (0.1, "resnet20"): 96, (0.1, "resnet26"): 96}


def test_images_and_hours_per_rule(tmp_path, rates_file):
    table, rates = estimate.estimate(["results/table1.csv"], CONFIG, rates_path=rates_file,
                                     workdir=tmp_path)
    rows = {row["rule"]: row for row in table}
    # 100% labels: 120 images, ceil(240 / 120) = 2 epochs, both monitored (50 images each);
    # 10%: 12 images, ceil(96 / 12) = 8 epochs, all 8 monitored.
    train = rows["train (supervised)"]
    assert train["jobs"] == 4
    assert train["train_images"] == 2 * (2 * 120 + 8 * 12)
    assert train["scored_images"] == 2 * (2 * 50 + 8 * 50)
    assert rows["evaluate"]["scored_images"] == 4 * 40
    # each network: 336 images trained; 500 monitor + 2 x 40 test images scored;
    # resnet20 at 100 / 1000 images/s (train / infer), resnet26 at 50 / 500:
    seconds = (336 / 100 + 580 / 1000) + (336 / 50 + 580 / 500)
    assert rows["total"]["hours"] == pytest.approx(seconds / 3600)
    assert rows["total"]["jobs"] == 12
    text = estimate.format_plan(table, rates, ["results/table1.csv"])
    assert re.search(r"train \(supervised\)\s+4\s+672\s+1,000\s+0\s+0\.00", text)
    assert "4 jobs that train or score no network" in text


def test_students_count_their_budget_and_robustness_every_image(tmp_path):
    config = [*CONFIG, "student_budget=1000", "fgsm_per_class=2", "robustness_per_class=1",
              "student_defaults={chain: [resnet20, resnet26]}",
              "robustness={corruptions: [gaussian_noise, contrast], "
              "perturbations: [gaussian_noise, translate], fgsm_epsilons: [0.0, 0.1]}"]
    loads = estimate.job_loads(["results/table5.csv"], config, tmp_path)
    students = [load for load in loads if load.rule == "train (student)"]
    assert students and all(load.train_images == 1000 for load in students)
    assert all(load.scored_images == 50 * 50 for load in students)
    predictions = [load for load in loads if load.rule == "predict"]
    assert [load.scored_images for load in predictions] == [120 - 12]
    robustness = [load for load in loads if load.rule == "evaluate_robustness"]
    assert robustness
    for load in robustness:
        assert load.attacked_images == 2 * 20
        # clean 40 + attacked 40 + C: 2 corruptions x 5 severities x 10 + P: (31 + 16) x 10
        assert load.scored_images == 40 + 40 + 100 + 470


def test_the_command_probes_this_machine_and_prints_the_plan(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["estimate", "results/table1.csv", "--device", "cpu", "--steps", "1",
                     "--config", *CONFIG, "batch_size=4"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"resnet20: train \d+, infer \d+", out)
    assert re.search(r"^total\s+12\s+672\s+1,160\s+0\s+\d+\.\d\d$", out, re.MULTILINE)


def test_throughput_with_two_jobs_sharing_the_device(tmp_path, capsys):
    out = tmp_path / "rates.json"
    assert cli.main(["throughput", "--networks", "resnet20", "--device", "cpu",
                     "--batch-size", "4", "--steps", "1", "--jobs", "2", "--out", str(out)]) == 0
    rates = json.loads(out.read_text())
    assert rates["jobs"] == 2 and rates["train"]["resnet20"] > 0 and rates["infer"]["resnet20"] > 0

"""The plan: stage folders named by their definition, shared by construction, stable under
config edits that do not change a stage's definition."""

import copy
import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from noisy.tools import estimate
from noisy.workflow import outputs, stages, tables
from noisy.workflow.config import ConfigError, coerce_cli_values
from noisy.workflow.stages import (
    BalancedSet,
    Evaluation,
    Model,
    Plan,
    Robustness,
    Selection,
    Split,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config():
    return coerce_cli_values(yaml.safe_load((ROOT / "config.yaml").read_text()))


def with_experiment(config: dict, name: str, settings: dict, position: int) -> dict:
    """``config`` with one more experiment inserted at ``position`` of ``experiments``."""
    changed = copy.deepcopy(config)
    items = list(changed["experiments"].items())
    items.insert(position, (name, settings))
    changed["experiments"] = dict(items)
    return changed


def stage_settings(plan: Plan) -> dict[str, str]:
    """Every stage folder of a plan with its settings."""
    return {stage.dir: json.dumps(stage.settings, sort_keys=True)
            for kind in (Model, Selection, BalancedSet) for stage in plan.stages(kind)}


def test_experiments_sharing_a_prefix_share_folders(config):
    plan = Plan(config)
    hard, no_dropout, soft = (plan.chain(name, 0) for name in ("hard", "no_dropout", "soft"))
    # Same teacher and pseudo labels for the first link; only the students differ.
    assert no_dropout.links[0].balanced is hard.links[0].balanced
    assert no_dropout.links[0].student.dir != hard.links[0].student.dir
    assert soft.teacher is hard.teacher
    assert soft.links[0].selection.dir != hard.links[0].selection.dir
    # Later links descend from different teachers, so nothing more is shared.
    assert no_dropout.links[1].selection.dir != hard.links[1].selection.dir


def test_folder_names_say_what_defines_them(config):
    chain = Plan(config).chain("smooth", 0)
    link = chain.links[0]
    assert chain.teacher.split.dir == "results/splits/ratio0.1-seed0-random-1000pc"
    assert Path(chain.teacher.dir).name.startswith("resnet20-ra2m27-")
    assert Path(link.selection.dir).name.startswith("smooth-t0.8-eps0.1-")
    assert Path(link.balanced.dir).name.startswith("balance-min800-gap200-")
    assert Path(link.student.dir).name.startswith("resnet26-ra2m27-sd0.8-do0.5-")
    # Short enough for a cluster's log folder, which is named after a job's wildcards.
    assert max(len(folder) for folder in stage_settings(Plan(config))) < 120


def test_the_folders_the_plans_docstring_shows_read_like_its_own(config):
    """Each example folder of noisy.workflow.stages's docstring, its hash aside, is a folder
    of the paper's plan: the examples keep up with the names the code makes."""
    config["scale"] = "paper"
    plan = Plan(config)
    folders = [stage.dir for kind in (Split, Model, Selection, BalancedSet, Evaluation,
                                      Robustness) for stage in plan.stages(kind)]
    examples = re.findall(r"^ +(results/\S+)/", stages.__doc__, re.MULTILINE)
    assert len(examples) == 7
    for example in examples:
        pattern = re.sub("[0-9a-f]{8}", "[0-9a-f]{8}", re.escape(example))
        assert any(re.fullmatch(pattern, folder) for folder in folders), example


def test_an_experiment_identical_to_another_reuses_all_its_folders(config):
    config["experiments"]["hard_again"] = {"threshold": 0.8}
    plan = Plan(config)
    assert plan.chain("hard_again", 0).links[-1].student is plan.chain("hard", 0).links[-1].student


@pytest.mark.parametrize("scale", ["ci", "paper"])
@pytest.mark.parametrize("position", [0, 12, None], ids=["first", "middle", "last"])
def test_inserting_an_experiment_moves_nothing(config, scale, position):
    config["scale"] = scale
    before = Plan(config)
    position = len(config["experiments"]) if position is None else position
    changed = with_experiment(config, "hard_t0.85", {"threshold": 0.85}, position)
    after = Plan(changed)
    old, new = stage_settings(before), stage_settings(after)
    assert all(new.get(folder) == settings for folder, settings in old.items())
    # What is new is exactly the new experiment's own stages: its teacher is shared.
    own = {row["folder"] for row in after.where("hard_t0.85") if not row["shared_with"]}
    assert set(new) - set(old) == own
    assert len(own) == 3 * 3  # pseudo labels, balanced set and student for 3 links
    for table in tables.TABLES:
        assert tables.rows(after, table) == tables.rows(before, table)
    assert outputs.report_confusions(after) == outputs.report_confusions(before)
    assert outputs.report_trainings(after) == outputs.report_trainings(before)


def test_each_stage_gets_only_its_own_settings(config):
    link = Plan(config).chain("hard", 0).links[0]
    assert link.selection.settings == {"label_type": "hard", "threshold": 0.8}
    assert link.balanced.settings == {"min_per_class": 800, "max_gap": 200}


def test_a_balancing_change_keeps_the_pseudo_labels_and_moves_the_students(config):
    before = Plan(config).chain("hard", 0)
    after = Plan({**config, "min_per_class": 900}).chain("hard", 0)
    assert after.links[0].selection.dir == before.links[0].selection.dir
    assert after.links[0].balanced.dir != before.links[0].balanced.dir
    assert after.links[0].student.dir != before.links[0].student.dir
    assert after.teacher.dir == before.teacher.dir


def test_a_student_budget_change_keeps_every_teacher(config):
    before, after = Plan(config), Plan({**config, "student_budget": 12345})
    supervised = {model.dir for model in before.stages(Model) if model.balanced is None}
    assert supervised - {model.dir for model in after.stages(Model)} == {
        before.yardstick(0.1, 0, "resnet26").dir}  # yardsticks train with a student's budget


def test_a_stage_rests_on_its_model_and_every_teacher_before_it(config):
    plan = Plan(config)
    chain = plan.chain("hard", 0)
    last = chain.links[-1]
    assert plan.trained_models(plan.evaluation(last.student).dir) == chain.models[::-1]
    assert plan.trained_models(last.balanced.dir) == chain.models[-2::-1]
    assert plan.trained_models(chain.teacher.dir) == [chain.teacher]


def test_an_unknown_folder_is_named_as_a_configuration_error(config):
    with pytest.raises(ConfigError, match="results/models/resnet20-x.*python -m noisy where"):
        Plan(config).stage("results/models/resnet20-x", Model)


def test_where_prints_an_experiments_folders():
    result = subprocess.run([sys.executable, "-m", "noisy", "where", "mixup_hard",
                             "--config", "scale=ci"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("teacher resnet20" in line and "results/models/resnet20-" in line
               for line in lines)
    assert sum("student resnet" in line for line in lines) == 3
    assert "hard" in result.stdout  # the teacher and first pseudo labels are shared


def test_inserting_an_experiment_first_changes_no_job_of_the_paper(config, tmp_path):
    """Snakemake's own plan of the whole paper (dry run, paper scale): every job, its
    wildcards, files and command stay as they were."""
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    changed = with_experiment(config, "hard_t0.85", {"threshold": 0.85}, 0)
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(changed, sort_keys=False))
    plans = [estimate.snakemake_jobs(["results/report.md"], ["scale=paper"], tmp_path / "run",
                                     forceall=True, configfile=file)[0]
             for file in (ROOT / "config.yaml", configfile)]
    before, after = ({json.dumps(asdict(job), sort_keys=True) for job in jobs}
                     for jobs in plans)
    assert len(before) == 482 and after == before


def test_every_file_a_table_row_reads_is_named_for_what_it_holds(config):
    holds = {"eval": "eval.json", "trainset": "trainset.json", "split": "split.json",
             "counts": "candidates.json", "robustness": "robustness.json",
             "baseline": "robustness.json"}
    plan = Plan(config)
    for table in tables.TABLES:
        for row in tables.rows(plan, table):
            assert {role: Path(path).name for role, path in row["files"].items()} == {
                role: holds[role] for role in row["files"]}, table

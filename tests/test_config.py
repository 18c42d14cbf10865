import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from noisy.method.split import make_split
from noisy.method.subsets import per_class_subset
from noisy.workflow import config as noisy_config
from noisy.workflow import outputs
from noisy.workflow.stages import Plan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_shipped_config_is_valid(config):
    noisy_config.check_schema(config, SCHEMA)
    noisy_config.check(config, ROOT)


@pytest.mark.parametrize("change,named", [
    ({"bogus_key": 1}, "'bogus_key'"),
    ({"seeds": "zero"}, "config key 'seeds'"),
    ({"split_mode": "clustered"}, "config key 'split_mode'"),
    ({"student_budget": -5}, "config key 'student_budget'"),
    ({"run": "../elsewhere"}, "config key 'run'"),
    ({"tensorboard": "sometimes"}, "config key 'tensorboard'"),
    ({"table1": {"networks": ["resnet18"], "labeled_ratios": [0.1]}},
     "config key 'table1.networks.0'"),
])
def test_schema_rejects_bad_values_naming_the_key(config, change, named):
    config.update(change)
    with pytest.raises(noisy_config.ConfigError, match=named.replace(".", r"\.")):
        noisy_config.check_schema(config, SCHEMA)


def test_a_named_run_has_its_own_final_folder_but_not_a_shared_ones_name(config):
    assert outputs.final_folder(config) == "results"
    assert outputs.table_file({**config, "run": "small"}, "table7") == "results/small/table7.csv"
    for taken in ("models", "data", "figures"):
        with pytest.raises(noisy_config.ConfigError, match=f"config key 'run': '{taken}'"):
            outputs.final_folder({**config, "run": taken})


def test_typo_in_an_experiment_is_named(config):
    config["experiments"]["hard"] = {"treshold": 0.9}
    with pytest.raises(noisy_config.ConfigError, match="treshold"):
        noisy_config.check_schema(config, SCHEMA)


def test_unknown_scale_and_missing_data_path_are_named(config, tmp_path):
    with pytest.raises(noisy_config.ConfigError, match="'scale'"):
        noisy_config.check({**config, "scale": "huge"}, tmp_path)
    with pytest.raises(noisy_config.ConfigError, match="'data_source'"):
        noisy_config.check({**config, "data_source": "missing.tar.gz"}, tmp_path)


def test_a_scale_without_cluster_resources_is_named(config, tmp_path):
    config["scales"]["huge"] = config["scales"]["paper"]
    with pytest.raises(noisy_config.ConfigError, match="'cluster_resources'.*'huge'"):
        noisy_config.check({**config, "scale": "huge", "data_source": "torchvision"}, tmp_path)


def test_cluster_resources_follow_the_scale(config):
    sizes = {scale: noisy_config.cluster_resources({**config, "scale": scale},
                                                   "evaluate_robustness")
             for scale in ("paper", "ci")}
    assert sizes == {"paper": {"mem_mb": 32000, "runtime": 120},
                     "ci": {"mem_mb": 2000, "runtime": 10}}


def test_the_ci_scale_trains_on_a_few_images_even_with_all_labels(config):
    # On the real CIFAR-10 (5,000 training images per class) a ci training at ratio 1.0
    # is a 200-image epoch, not a 50,000-image one.
    config["scale"] = "ci"
    labels = np.repeat(np.arange(10), 5000)
    settings = Plan(config).split(1.0, 0).settings
    split = make_split(labels, 1.0, 0, settings["mode"],
                       pool=per_class_subset(labels, settings["train_per_class"], 0))
    assert split.labeled.size == 200


def test_every_preset_key_is_in_the_schema_and_a_top_level_override(config):
    schema = yaml.safe_load(SCHEMA.read_text())
    preset = schema["definitions"]["scale_preset"]
    assert set(preset["required"]) == set(preset["properties"]) == set(noisy_config.PRESET_KEYS)
    assert set(noisy_config.PRESET_KEYS) <= set(schema["properties"])
    assert all(set(values) == set(noisy_config.PRESET_KEYS)
               for values in config["scales"].values())


def test_the_ci_scale_labels_every_class_and_the_papers_scales_draw_at_random(config):
    # 20 random labels of the ci pool's 200 real images left a class without any label;
    # stratified, each class gets ratio x 20 of them, at least one at the paper's ratios.
    modes = {scale: Plan({**config, "scale": scale}).split(0.1, 0).settings["mode"]
             for scale in config["scales"]}
    assert modes == {"paper": "random", "small": "random", "demo": "random",
                     "ci": "stratified"}
    labels = np.repeat(np.arange(10), 5000)
    for ratio in (0.05, 0.1, 0.2):
        settings = Plan({**config, "scale": "ci"}).split(ratio, 0).settings
        split = make_split(labels, ratio, 0, settings["mode"],
                           pool=per_class_subset(labels, settings["train_per_class"], 0))
        assert split.labeled_per_class.tolist() == [round(20 * ratio)] * 10
    override = Plan({**config, "scale": "ci", "split_mode": "random"}).split(0.1, 0)
    assert override.dir == "results/splits/ratio0.1-seed0-random-20pc"


def test_command_line_lists_get_their_types_back():
    parsed = {"seeds": ["0", "1"], "x": {"y": ["0.5", "a"], "z": "0.3", "w": "true"},
              "data_source": "123", "train_per_class": "null", "compile": "true",
              "tensorboard": "false", "run": "2024"}
    assert noisy_config.coerce_cli_values(parsed) == {
        "seeds": [0, 1], "x": {"y": [0.5, "a"], "z": 0.3, "w": True}, "data_source": "123",
        "train_per_class": None, "compile": True, "tensorboard": False, "run": "2024"}


def test_top_level_keys_override_the_preset(config):
    assert noisy_config.preset(config)["student_budget"] == 40000
    config["student_budget"] = 123
    assert noisy_config.preset(config)["student_budget"] == 123


def test_per_class_sizes_take_all_and_a_null_override_keeps_the_preset(config):
    # The demo preset trains on 1,000 images per class; `all` asks for the whole set.
    assert Plan(config).split(0.1, 0).settings["train_per_class"] == 1000
    assert Plan({**config, "train_per_class": "all"}).split(0.1, 0).settings[
        "train_per_class"] is None
    assert Plan({**config, "train_per_class": None}).split(0.1, 0).settings[
        "train_per_class"] == 1000
    noisy_config.check_schema({**config, "train_per_class": "all"}, SCHEMA)
    with pytest.raises(noisy_config.ConfigError, match="config key 'train_per_class'"):
        noisy_config.check_schema({**config, "train_per_class": "everything"}, SCHEMA)


def run_snakemake(*args):
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--nolock", "--cores", "1",
                           *args],
                          cwd=ROOT, capture_output=True, text=True)


def test_snakemake_stops_on_a_bad_key_before_any_job():
    result = run_snakemake("--config", "bogus_key=1")
    assert result.returncode != 0
    assert "unknown config key(s): 'bogus_key'" in result.stdout + result.stderr


def test_snakemake_dry_run_lists_table1():
    result = run_snakemake("--forceall", "results/table1.csv")
    assert result.returncode == 0, result.stderr
    assert "rule train:" in result.stdout


def test_a_null_override_on_the_command_line_keeps_the_preset():
    result = run_snakemake("--forceall", "--config", "train_per_class=null", "--",
                           "results/table1.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ratio0.1-seed0-random-1000pc" in result.stdout
    result = run_snakemake("--forceall", "--config", "train_per_class=all", "--",
                           "results/table1.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ratio0.1-seed0-random-all" in result.stdout


def jobs_in(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' block of a dry run as {rule: count}."""
    lines = dry_run_output.split("Job stats:")[1].splitlines()[3:]
    stats = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        stats[parts[0]] = int(parts[1])
    return stats


def test_paper_scale_table3_trains_the_shared_teacher_once():
    result = run_snakemake("--forceall", "--config", "scale=paper", "--", "results/table3.csv")
    assert result.returncode == 0, result.stderr
    stats = jobs_in(result.stdout)
    # The 10% ResNet-20 teacher of all six chains once, then 18 students; the teacher
    # and the 12 students that teach predict once each.
    assert stats["train"] == 1 + 18
    assert stats["predict"] == 1 + 12


@pytest.mark.parametrize("target", [f"results/table{n}.csv" for n in range(1, 11)]
                         + ["results/report.md"])
def test_every_table_and_the_report_plan_at_paper_scale(target):
    result = run_snakemake("--forceall", "--config", "scale=paper", "--", target)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_whole_paper_has_100_training_jobs():
    result = run_snakemake("--forceall", "--config", "scale=paper", "--", "results/report.md")
    stats = jobs_in(result.stdout)
    assert stats["train"] == 10 + 90  # supervised models and students

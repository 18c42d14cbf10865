# Config validation and input functions shared by every rule.
import json
import os
import sys

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)
import noisy.config as noisy_config  # noqa: E402
import noisy.plan as plan  # noqa: E402
import noisy.report_plan as report_plan  # noqa: E402
import noisy.self_training as self_training  # noqa: E402
import noisy.tables as tables  # noqa: E402

# Jobs run `python -m noisy ...` with this checkout's package. Without conda they use
# the interpreter Snakemake runs in (e.g. .venv), activated or not.
_prefix = f"export PYTHONPATH={workflow.basedir}:$PYTHONPATH; "
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _prefix += f"export PATH={os.path.dirname(sys.executable)}:$PATH; "
shell.prefix(_prefix)

config.update(noisy_config.coerce_cli_values(config))
noisy_config.check_schema(config, os.path.join(workflow.basedir, "schemas/config.schema.yaml"))
validate(config, "../schemas/config.schema.yaml")
noisy_config.check(config)
PRESET = noisy_config.preset(config)
# Training, prediction and evaluation jobs hold one unit of the `gpu` resource unless
# the workflow runs on the CPU; profiles say how many units a machine has.
GPU_PER_JOB = 0 if config["device"] == "cpu" else 1


wildcard_constraints:
    ratio=r"[0-9.]+",
    seed=r"\d+",
    network=r"resnet\d+",
    table=r"table([1-9]|10)",
    kind=r"supervised|yardstick",


def as_json(settings):
    """Settings handed to a job on its command line (and compared by Snakemake)."""
    return json.dumps(settings, sort_keys=True)


def supervised_settings(wildcards):
    return as_json(
        noisy_config.supervised_job(
            config,
            float(wildcards.ratio),
            wildcards.network,
            int(wildcards.seed),
            yardstick=wildcards.kind == "yardstick",
        )
    )


def split_settings(wildcards):
    return as_json(
        noisy_config.split_settings(config, float(wildcards.ratio), int(wildcards.seed))
    )


def table_rows(wildcards):
    return as_json(tables.all_rows(config, wildcards.table))


def table_inputs(wildcards):
    return tables.input_files(tables.all_rows(config, wildcards.table))


wildcard_constraints:
    experiment=r"[A-Za-z0-9_.\-]+",


def experiment_split(wildcards):
    ratio = plan.experiment_settings(config, wildcards.experiment)["labeled_ratio"]
    return f"results/splits/ratio{noisy_config.ratio_tag(ratio)}/seed{wildcards.seed}.npz"


def current_stage(wildcards):
    return plan.find_stage(config, wildcards.experiment, int(wildcards.seed), wildcards.network)


def teacher_predictions(wildcards):
    return f"{current_stage(wildcards).teacher_dir}/predictions.npz"


def student_trainset(wildcards):
    return f"{current_stage(wildcards).selection_dir}/trainset.npz"


def selection_settings(wildcards):
    return as_json(plan.selection_settings(config, wildcards.experiment))


def student_settings(wildcards):
    return as_json(
        plan.student_job(config, wildcards.experiment, wildcards.network, int(wildcards.seed))
    )


wildcard_constraints:
    model_dir=r"((supervised|yardstick)/ratio[0-9.]+|runs/[A-Za-z0-9_.\-]+)/seed\d+/resnet\d+",
    corruption=r"[a-z_]+",
    perturbation=r"[a-z_]+",


ROBUSTNESS = config["robustness"]


def corruption_files(wildcards=None):
    if ROBUSTNESS["source"] == "official":
        folder = ROBUSTNESS["official_c_dir"]
    else:
        folder = "results/robustness/cifar10_c"
    return [f"{folder}/{name}.npy" for name in ROBUSTNESS["corruptions"]]


def perturbation_files(wildcards=None):
    if ROBUSTNESS["source"] == "official":
        folder = ROBUSTNESS["official_p_dir"]
    else:
        folder = "results/robustness/cifar10_p"
    return [f"{folder}/{name}.npy" for name in ROBUSTNESS["perturbations"]]


def robustness_settings(wildcards):
    return as_json(
        {
            "test_per_class": PRESET["test_per_class"],
            "fgsm_per_class": PRESET["fgsm_per_class"],
            "fgsm_epsilons": ROBUSTNESS["fgsm_epsilons"],
            "robustness_per_class": PRESET["robustness_per_class"],
            "official": ROBUSTNESS["source"] == "official",
        }
    )


# Inputs of the figures and the report (noisy.report_plan decides which files).
def fgsm_inputs(wildcards):
    return [entry["path"] for entry in report_plan.fgsm_entries(config)]


def fgsm_settings(wildcards):
    return as_json(report_plan.fgsm_entries(config))


def training_curve_inputs(wildcards):
    entries = report_plan.training_curve_entries(config)
    return list(dict.fromkeys(entry["path"] for entry in entries))


def training_curve_settings(wildcards):
    return as_json(report_plan.training_curve_entries(config))


def class_count_tables(wildcards):
    return report_plan.class_count_tables(config)


def report_table_files(wildcards):
    return [f"results/{table}.csv" for table in report_plan.report_tables(config)]


def report_figures(wildcards):
    return report_plan.report_figures(config)


def report_confusions(wildcards):
    return report_plan.report_confusions(config)


def report_settings(wildcards):
    return as_json(report_plan.report_settings(config))


# Inputs of results/self_training.csv (noisy.self_training decides which files).
def self_training_rows(wildcards):
    return as_json(self_training.check_rows(config))


def self_training_inputs(wildcards):
    return self_training.input_files(self_training.check_rows(config))

# Config validation and input functions shared by every rule.
import json
import os
import sys

from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)
import noisy.config as noisy_config  # noqa: E402
import noisy.plan as plan  # noqa: E402
import noisy.tables as tables  # noqa: E402

# Jobs run `python -m noisy ...`: use the interpreter Snakemake itself runs in.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])
)

config.update(noisy_config.coerce_cli_values(config))
noisy_config.check_schema(config, os.path.join(workflow.basedir, "schemas/config.schema.yaml"))
validate(config, "../schemas/config.schema.yaml")
noisy_config.check(config)
PRESET = noisy_config.preset(config)


wildcard_constraints:
    ratio=r"[0-9.]+",
    seed=r"\d+",
    network=r"resnet\d+",
    table=r"table([1-9]|10)",


def as_json(settings):
    """Settings handed to a job on its command line (and compared by Snakemake)."""
    return json.dumps(settings, sort_keys=True)


def supervised_settings(wildcards):
    return as_json(
        noisy_config.supervised_job(
            config, float(wildcards.ratio), wildcards.network, int(wildcards.seed)
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
    model_dir=r"(supervised/ratio[0-9.]+|runs/[A-Za-z0-9_.\-]+)/seed\d+/resnet\d+",
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

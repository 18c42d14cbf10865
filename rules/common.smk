# Config validation and input functions shared by every rule. What each job reads and
# receives comes from the plan (noisy.workflow): a rule's output folder names its stage,
# and the names of the files it writes there are declared in noisy.filenames.
import importlib.util
import json
import os
import sys

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod

sys.path.insert(0, workflow.basedir)
import noisy.workflow.config as noisy_config  # noqa: E402
from noisy.filenames import PREPARED_DATA, in_folder  # noqa: E402
from noisy.method import tensorboard_events  # noqa: E402  (no torch at import)
from noisy.workflow import outputs, tables  # noqa: E402
from noisy.workflow.stages import (  # noqa: E402
    BalancedSet,
    Evaluation,
    Model,
    Plan,
    Robustness,
    RobustnessSet,
    Selection,
    Split,
    PREPARED_DATA_FOLDER,
)

# Jobs run `python -m noisy ...` with this checkout's package. Without conda they use
# the interpreter Snakemake runs in (e.g. .venv), activated or not.
_prefix = f"export PYTHONPATH={workflow.basedir}:$PYTHONPATH; "
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _prefix += f"export PATH={os.path.dirname(sys.executable)}:$PATH; "

config.update(noisy_config.coerce_cli_values(config))
noisy_config.check_schema(config, os.path.join(workflow.basedir, "schemas/config.schema.yaml"))
noisy_config.check(config)
# Config `tensorboard`: trainings also write event files. Passed outside the rules' commands,
# since watching a training changes nothing it computes (turning it on redoes no job).
if config["tensorboard"]:
    tensorboard_events.require_tensorboard()
    _prefix += f"export {tensorboard_events.ENVIRONMENT_VARIABLE}=1; "
shell.prefix(_prefix)
PLAN = Plan(config)
# The run's tables, figures, checks and report: results/, or results/<run>/ for `run`.
FINAL = outputs.final_folder(config)
DATA_FOLDER = in_folder(PREPARED_DATA_FOLDER, PREPARED_DATA)
DATA = DATA_FOLDER.data
DATA_SUMMARY = DATA_FOLDER.summary
# Training, prediction and evaluation jobs hold one unit of the `gpu` resource unless
# the workflow runs on the CPU; profiles say how many units a machine has.
GPU_PER_JOB = 0 if config["device"] == "cpu" else 1
# Where a job runs and how often a training saves its state are resources, not params:
# changing them redoes nothing. What a training computes (its precision, not the device's
# name) is in its settings and so in its folder's name (noisy.precision).
RUNTIME = {"device": config["device"], "checkpoint_interval_s": str(config["checkpoint_interval_s"])}


wildcard_constraints:
    split=r"results/splits/[^/]+",
    model=r"results/models/[^/]+",
    selection=r"results/pseudo_labels/[^/]+",
    balanced=r"results/trainsets/[^/]+",
    evaluation=r"results/models/[^/]+/eval-[^/]+",
    robustness=r"results/models/[^/]+/robustness-[^/]+",
    corruptions=r"results/robustness/cifar10_c-[^/]+",
    perturbations=r"results/robustness/cifar10_p-[^/]+",
    name=r"[a-z_]+",
    table=r"table([1-9]|10)",


def folder_patterns(wildcard, kind):
    """The files of a stage of ``kind`` in the folder held by ``wildcard``, by role, as
    patterns: ``folder_patterns("model", Model).history`` is ``{model}/history.csv``."""
    return in_folder(f"{{{wildcard}}}", *kind.written_by)


SPLIT_FOLDER = folder_patterns("split", Split)
MODEL_FOLDER = folder_patterns("model", Model)
SELECTION_FOLDER = folder_patterns("selection", Selection)
BALANCED_FOLDER = folder_patterns("balanced", BalancedSet)
EVALUATION_FOLDER = folder_patterns("evaluation", Evaluation)
ROBUSTNESS_FOLDER = folder_patterns("robustness", Robustness)


def as_json(settings):
    """Settings handed to a job on its command line (and compared by Snakemake)."""
    return json.dumps(settings, sort_keys=True)


def settings_of(wildcard, kind):
    """The settings of the stage in the folder held by ``wildcard``, as JSON."""
    return lambda wildcards: as_json(PLAN.stage(wildcards[wildcard], kind).settings)


def resources_of(rule_name):
    """Cluster memory and time limit of a rule at the configured scale."""
    return PLAN.resources(rule_name)


def training_resource(key):
    """A training's cluster resource: supervised and student trainings differ."""
    return lambda wildcards: PLAN.training_resources(PLAN.stage(wildcards.model, Model))[key]


def data_source(wildcards):
    """The data source as an input file or folder; none for the torchvision download."""
    source = config["data_source"]
    return [] if source == "torchvision" else source


def training_inputs(wildcards):
    """A supervised model learns from its split, a student from its balanced set's
    training set."""
    model = PLAN.stage(wildcards.model, Model)
    if model.balanced is None:
        return {"data": DATA, "source": model.split.files.split}
    return {"data": DATA, "source": model.balanced.files.trainset}


def training_source(wildcards):
    """The flag of a training's source: --split, or --trainset for a student."""
    return "split" if PLAN.stage(wildcards.model, Model).balanced is None else "trainset"


def prediction_inputs(wildcards):
    model = PLAN.stage(wildcards.model, Model)
    return {"data": DATA, "split": model.split.files.split, "model": model.files.model}


def selection_inputs(wildcards):
    teacher = PLAN.stage(wildcards.selection, Selection).teacher
    return {"data": DATA, "split": teacher.split.files.split,
            "predictions": teacher.files.predictions}


def balance_input(wildcards):
    return PLAN.stage(wildcards.balanced, BalancedSet).selection.files.candidates


def evaluation_inputs(wildcards):
    return {"data": DATA,
            "model": PLAN.stage(wildcards.evaluation, Evaluation).model.files.model}


def robustness_inputs(wildcards):
    stage = PLAN.stage(wildcards.robustness, Robustness)
    return {"data": DATA, "model": stage.model.files.model,
            "corruptions": stage.corruptions, "perturbations": stage.perturbations}


def frost_photographs(wildcards):
    """No input file; a clear error before any job when CIFAR-10-C frost cannot be made
    (its photographs come with the PyPI package imagecorruptions; conda envs have it)."""
    in_conda = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    if wildcards.name == "frost" and not in_conda and not importlib.util.find_spec(
        "imagecorruptions"
    ):
        raise WorkflowError(
            "CIFAR-10-C frost needs the photographs of the PyPI package imagecorruptions: "
            "pip install --no-deps imagecorruptions==1.1.2 (make setup does this)"
        )
    return []


def table_rows(wildcards):
    return tables.rows(PLAN, wildcards.table)


# Inputs of the figures and the report (noisy.workflow.outputs decides which files).
def fgsm_entries(wildcards):
    return outputs.fgsm_entries(PLAN)


def training_curve_entries(wildcards):
    return outputs.training_curve_entries(PLAN)


def report_confusions(wildcards):
    return outputs.report_confusions(PLAN)


def report_trainings(wildcards):
    return outputs.report_trainings(PLAN)

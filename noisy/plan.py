"""The self-training plan: which files each experiment's chain needs, shared where possible.

Every stage of a chain is identified by what defines its result, not by the name of
the experiment that asked for it:

* the teacher of stage 1 is the supervised network of the labeled split;
* a training set (select + balance) is defined by its teacher and the pseudo-label
  settings (threshold, label type, smoothing);
* a student is defined by its training set, its network and its noise settings.

Files live under ``results/runs/{experiment}/seed{seed}/{network}/`` where
``experiment`` is the first experiment in ``config.yaml`` order whose stage has the
same definition, so two experiments that share a prefix of the chain share its files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from noisy.config import architecture, preset, ratio_tag, train_settings

SELECTION_KEYS = ("label_type", "threshold", "smoothing")
NOISE_KEYS = ("randaugment_n", "randaugment_m", "final_survival", "stochastic_depth_mode",
              "dropout", "mixup_alpha")


@dataclass(frozen=True)
class Stage:
    """One student of a chain and the files it reads and writes."""

    experiment: str  # the experiment that asked for it
    seed: int
    network: str
    teacher_dir: str  # folder of the teacher's model.pt / predictions.npz
    selection_dir: str  # folder holding candidates.npz and trainset.npz
    student_dir: str  # folder of this student's model.pt, history.csv, eval.json


def experiment_settings(config: dict, experiment: str) -> dict:
    """The defaults with the experiment's overrides applied."""
    if experiment not in config["experiments"]:
        raise KeyError(f"unknown experiment {experiment!r}; config 'experiments' has "
                       f"{', '.join(config['experiments'])}")
    return {**config["student_defaults"], **(config["experiments"][experiment] or {})}


def supervised_dir(ratio: float, seed: int, network: str) -> str:
    """Folder of a supervised model (teacher, Table 1 row, baseline)."""
    return f"results/supervised/ratio{ratio_tag(ratio)}/seed{seed}/{network}"


def yardstick_dir(ratio: float, seed: int, network: str) -> str:
    """Folder of a supervised model trained with a student's budget (a yardstick)."""
    return f"results/yardstick/ratio{ratio_tag(ratio)}/seed{seed}/{network}"


def _definitions(config_json: str) -> dict[str, list[tuple[str, str]]]:
    """Per experiment, per student stage: (selection definition, student definition)."""
    config = json.loads(config_json)
    result = {}
    for name in config["experiments"]:
        settings = experiment_settings(config, name)
        chain = settings["chain"]
        teacher = json.dumps(["supervised", ratio_tag(settings["labeled_ratio"]), chain[0]])
        stages = []
        for network in chain[1:]:
            selection = json.dumps([teacher, [settings[k] for k in SELECTION_KEYS]])
            student = json.dumps([selection, network, [settings[k] for k in NOISE_KEYS]])
            stages.append((selection, student))
            teacher = student
        result[name] = stages
    return result


@lru_cache(maxsize=8)
def _canonical(config_json: str) -> dict[str, list[tuple[str, str]]]:
    """Per experiment and stage: the experiment names owning its selection and student."""
    definitions = _definitions(config_json)
    owner: dict[str, str] = {}
    for name, stages in definitions.items():
        for selection, student in stages:
            owner.setdefault(selection, name)
            owner.setdefault(student, name)
    return {name: [(owner[sel], owner[stu]) for sel, stu in stages]
            for name, stages in definitions.items()}


def _owners(config: dict) -> dict[str, list[tuple[str, str]]]:
    # Not sort_keys: the order of the experiments decides which one owns shared files.
    keys = ("experiments", "student_defaults")
    return _canonical(json.dumps({k: config[k] for k in keys}))


def chain_stages(config: dict, experiment: str, seed: int) -> list[Stage]:
    """The student stages of one experiment's chain, with their shared folders."""
    settings = experiment_settings(config, experiment)
    chain = settings["chain"]
    teacher_dir = supervised_dir(settings["labeled_ratio"], seed, chain[0])
    stages = []
    for network, (selection_owner, student_owner) in zip(
            chain[1:], _owners(config)[experiment], strict=True):
        student_dir = f"results/runs/{student_owner}/seed{seed}/{network}"
        stages.append(Stage(experiment, seed, network, teacher_dir,
                            f"results/runs/{selection_owner}/seed{seed}/{network}",
                            student_dir))
        teacher_dir = student_dir
    return stages


def find_stage(config: dict, experiment: str, seed: int, network: str) -> Stage:
    """The stage of ``experiment``'s chain that trains ``network``."""
    for stage in chain_stages(config, experiment, seed):
        if stage.network == network:
            return stage
    raise KeyError(f"experiment {experiment!r} has no student {network!r} in its chain")


def selection_settings(config: dict, experiment: str) -> dict:
    """Pseudo-label and balancing settings of an experiment's training sets."""
    settings = experiment_settings(config, experiment)
    values = preset(config)
    return {
        **{key: settings[key] for key in SELECTION_KEYS},
        "min_per_class": values["min_per_class"],
        "max_gap": values["max_gap"],
    }


def student_job(config: dict, experiment: str, network: str, seed: int) -> dict:
    """Settings of one student: architecture with model noise, training with input noise."""
    settings = experiment_settings(config, experiment)
    values = preset(config)
    return {
        "arch": architecture(network, settings),
        "train": train_settings(config, values["student_budget"], seed, settings,
                                mixup_alpha=settings["mixup_alpha"]),
        "monitor_test_size": values["monitor_test_size"],
    }

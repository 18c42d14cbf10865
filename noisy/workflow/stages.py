"""Every stage a configuration asks for, each in a folder named by what defines it.

A folder's name is its stage's definition: readable where it fits, and otherwise eight
hex digits hashing the whole definition, parents included (the teacher a selection
reads, the training set a student learns from), listed in the folder's ``stage.json``::

    results/splits/ratio0.1-seed0-random-all/                 labeled ratio, seed, mode, pool
    results/models/resnet20-ra2m27-fp32-1a2b3c4d/             a supervised model (a teacher)
    results/models/resnet20-ra2m27-fp32-1a2b3c4d/eval-all/    its clean evaluation
    results/models/resnet20-ra2m27-fp32-1a2b3c4d/robustness-5e6f7a8b/   FGSM, CIFAR-10-C/-P
    results/pseudo_labels/hard-t0.8-0b1c2d3e/                 label type, threshold, teacher
    results/trainsets/balance-min4000-gap1000-4f5a6b7c/       balancing sizes, pseudo labels
    results/models/resnet26-ra2m27-sd0.8-do0.5-fp32-9c8d7e6f/ a student: network, noise, set

Two experiments that share a prefix of their chains therefore share its folders, whatever
their names and their order in ``config.yaml``, and an edit that does not change a stage's
definition never moves it. Experiment names are labels only: :meth:`Plan.where` (``python
-m noisy where NAME``) maps a name to its folders. Each stage holds the settings its job
receives and nothing else, so a setting reaches exactly the jobs it defines. The folders
are flat, not nested along the chain, so a path stays short (a cluster's log folder is
named after it).

A model's folder names its network, its noise (RandAugment, then stochastic depth, dropout
and mixup where used) and its arithmetic (the precision, ``-compiled`` under compile)
before the hash. Each folder holds the files its rules write there, named in
:mod:`noisy.filenames` (a stage's ``files``, by role).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

from noisy.filenames import (
    BALANCING,
    EVALUATION,
    PREDICTION,
    ROBUSTNESS,
    SELECTION,
    SPLIT,
    TRAINING,
    Files,
    in_folder,
)
from noisy.precision import resolve_precision, training_definition
from noisy.workflow.config import (
    ConfigError,
    cluster_resources,
    experiment_settings,
    per_class,
    preset,
    ratio_tag,
)

RESULTS = "results"
SPLITS = f"{RESULTS}/splits"
MODELS = f"{RESULTS}/models"
PSEUDO_LABELS = f"{RESULTS}/pseudo_labels"
BALANCED_SETS = f"{RESULTS}/trainsets"
ROBUSTNESS_SETS = f"{RESULTS}/robustness"
PREPARED_DATA_FOLDER = f"{RESULTS}/data"
# The folders under results/ that every run shares.
SHARED_FOLDERS = (PREPARED_DATA_FOLDER, SPLITS, MODELS, PSEUDO_LABELS, BALANCED_SETS,
                  ROBUSTNESS_SETS)


def definition_hash(definition: dict) -> str:
    """Eight hex digits naming a definition (sha1 of its canonical JSON)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _size_tag(value: int | None) -> str:
    return "all" if value is None else f"{value}pc"


class _Folder:
    """A stage's folder (``dir``) and the files the rules of ``written_by`` write there."""

    dir: str
    written_by: tuple[Files, ...] = ()

    @property
    def files(self) -> SimpleNamespace:
        """The path of each of its files, by role: ``model.files.history``."""
        return in_folder(self.dir, *self.written_by)


@dataclass(eq=False)
class Split(_Folder):
    """The labeled/unlabeled split of the train set (a pure function of its settings)."""

    dir: str
    settings: dict
    written_by = (SPLIT,)


@dataclass(eq=False)
class Model(_Folder):
    """A trained network: on the labeled part of ``split`` (supervised) or, a student, on the
    training set of ``balanced``; its folder also holds its predictions (as a teacher)."""

    dir: str
    network: str
    settings: dict  # arch, train, monitor_test_size
    split: Split
    balanced: BalancedSet | None = None
    written_by = (TRAINING, PREDICTION)

    @property
    def role(self) -> str:
        return "supervised" if self.balanced is None else "student"


@dataclass(eq=False)
class Selection(_Folder):
    """The labeled images plus the teacher's confident pseudo labels (before balancing)."""

    dir: str
    teacher: Model
    settings: dict  # label_type, threshold (and smoothing for smooth labels)
    written_by = (SELECTION,)


@dataclass(eq=False)
class BalancedSet(_Folder):
    """A selection's classes balanced: the training set of a student."""

    dir: str
    selection: Selection
    settings: dict  # min_per_class, max_gap
    written_by = (BALANCING,)


@dataclass(eq=False)
class Evaluation(_Folder):
    """Clean top-1/top-5, calibration and confusion matrix of a model on the test set."""

    dir: str
    model: Model
    settings: dict  # test_per_class
    written_by = (EVALUATION,)


@dataclass(eq=False)
class Robustness(_Folder):
    """FGSM, CIFAR-10-C and CIFAR-10-P evaluation of a model."""

    dir: str
    model: Model
    settings: dict
    corruptions: list[str]
    perturbations: list[str]
    written_by = (ROBUSTNESS,)


@dataclass(eq=False)
class RobustnessSet:
    """Generated CIFAR-10-C or -P files: one per corruption or perturbation."""

    dir: str
    kind: str  # "c" or "p"
    settings: dict  # per_class, seed


@dataclass(eq=False)
class Link:
    """One student of a chain with the pseudo labels and the balanced set it learned from."""

    selection: Selection
    balanced: BalancedSet
    student: Model


@dataclass(eq=False)
class Chain:
    """An experiment's chain for one seed: its teacher and one link per student."""

    experiment: str
    seed: int
    teacher: Model
    links: list[Link] = field(default_factory=list)

    @property
    def models(self) -> list[Model]:
        return [self.teacher] + [link.student for link in self.links]


class Plan:
    """Every stage of a (validated) configuration, indexed by folder.

    Snakemake's rules look their stage up by the folder in their output path
    (:meth:`stage`); tables and figures ask for chains and models by meaning.
    """

    def __init__(self, config: dict):
        self.config = config
        self.preset = preset(config)
        self.precision = resolve_precision(config["precision"])
        self._stages: dict[str, object] = {}
        self._robustness_sets = self._generated_sets()
        self.chains = {(name, seed): self._chain(name, seed)
                       for name in config["experiments"] for seed in config["seeds"]}
        for seed in config["seeds"]:
            for ratio in config["table1"]["labeled_ratios"]:
                for network in config["table1"]["networks"]:
                    self.supervised(ratio, seed, network)
            self.baseline(seed)
            self.default_teacher(seed)
            for name in config["self_training_check"]["experiments"]:
                ratio = experiment_settings(config, name)["labeled_ratio"]
                for network in config["self_training_check"]["networks"]:
                    self.yardstick(ratio, seed, network)
        for model in self.stages(Model):
            self.evaluation(model)
            self.robustness(model)

    # -- lookup -------------------------------------------------------------------------
    def stage(self, folder: str, kind: type):
        """The stage of ``kind`` living in ``folder``; a clear error if there is none."""
        stage = self._stages.get(folder)
        if not isinstance(stage, kind):
            raise ConfigError(f"{folder} is not a {kind.__name__.lower()} folder of the current "
                           "configuration (python -m noisy where EXPERIMENT lists the folders)")
        return stage

    def chain(self, experiment: str, seed: int) -> Chain:
        """The chain of one experiment and seed."""
        experiment_settings(self.config, experiment)  # a clear error for an unknown name
        return self.chains[(experiment, seed)]

    def stages(self, kind: type) -> list:
        """Every stage of ``kind``, in the order they were planned."""
        return [stage for stage in self._stages.values() if isinstance(stage, kind)]

    def trained_models(self, folder: str) -> list[Model]:
        """The models the stage in ``folder`` rests on: its model (the teacher of pseudo
        labels or of a balanced set), then every teacher before it, back to the first; none
        for a split."""
        stage = self._stages.get(folder)
        if isinstance(stage, Split):
            return []
        if isinstance(stage, BalancedSet):
            stage = stage.selection
        if isinstance(stage, Selection):
            stage = stage.teacher
        if isinstance(stage, Evaluation | Robustness):
            stage = stage.model
        if not isinstance(stage, Model):
            raise ConfigError(f"{folder} is not a folder that rests on a model of the current "
                           "configuration")
        models = [stage]
        while models[-1].balanced is not None:
            models.append(models[-1].balanced.selection.teacher)
        return models

    def _register(self, stage):
        known = self._stages.setdefault(stage.dir, stage)
        if known.settings != stage.settings:  # the folder name must define its content
            raise AssertionError(f"two definitions for {stage.dir}")
        return known

    # -- stages -------------------------------------------------------------------------
    def split(self, ratio: float, seed: int) -> Split:
        """The split of ``ratio`` of the train set labeled, drawn with ``seed``."""
        settings = {"labeled_ratio": float(ratio), "seed": int(seed),
                    "mode": self.preset["split_mode"],
                    "train_per_class": per_class(self.preset["train_per_class"])}
        name = (f"ratio{ratio_tag(ratio)}-seed{seed}-{settings['mode']}-"
                f"{_size_tag(settings['train_per_class'])}")
        return self._register(Split(f"{SPLITS}/{name}", settings))

    def supervised(self, ratio: float, seed: int, network: str,
                   budget: int | None = None) -> Model:
        """A network trained on the labeled part of a split: a teacher, a Table 1 row or
        a baseline, or with another ``budget`` (a student's) a yardstick."""
        if budget is None:
            budget = (self.preset["full_budget"] if float(ratio) >= 1.0
                      else self.preset["labeled_budget"])
        split = self.split(ratio, seed)
        return self._model(network, self.config["supervised"], budget, seed, split)

    def yardstick(self, ratio: float, seed: int, network: str) -> Model:
        """``network`` trained on the labels alone with a student's budget: the fair
        comparison for a student (see :mod:`noisy.workflow.outputs`)."""
        return self.supervised(ratio, seed, network, budget=self.preset["student_budget"])

    def baseline(self, seed: int) -> Model:
        """The robustness baseline: config ``robustness.baseline_network`` trained on the
        labeled part at ``robustness.baseline_labeled_ratio`` (the paper's "without
        self-training" row, the reference of relative mCE and mFR)."""
        robustness = self.config["robustness"]
        return self.supervised(robustness["baseline_labeled_ratio"], seed,
                               robustness["baseline_network"])

    def _model(self, network: str, noise: dict, budget: int, seed: int, split: Split,
               balanced: BalancedSet | None = None) -> Model:
        train = self._train_settings(budget, seed, noise)
        settings = {
            "arch": {"network": network, "final_survival": noise["final_survival"],
                     "stochastic_depth_mode": noise["stochastic_depth_mode"],
                     "dropout": noise["dropout"]},
            "train": training_definition(train),
            "monitor_test_size": self.preset["monitor_test_size"],
        }
        # "trainset" names a student's source in the hash of every student folder: kept.
        source = {"split": split.dir} if balanced is None else {"trainset": balanced.dir}
        digest = definition_hash({**settings, **source})
        name = f"{network}-{_noise_tag(noise)}-{_arithmetic_tag(train)}-{digest}"
        return self._register(Model(f"{MODELS}/{name}", network, settings, split, balanced))

    def _train_settings(self, budget: int, seed: int, noise: dict) -> dict:
        optimizer = self.config["optimizer"]
        return {
            "budget_images": int(budget),
            "batch_size": self.preset["batch_size"],
            "lr": optimizer["lr"],
            "momentum": optimizer["momentum"],
            "weight_decay": optimizer["weight_decay"],
            "lr_milestones": list(optimizer["lr_milestones"]),
            "lr_gamma": optimizer["lr_gamma"],
            "randaugment_n": noise["randaugment_n"],
            "randaugment_m": noise["randaugment_m"],
            "mixup_alpha": noise.get("mixup_alpha", 0.0),
            "input_pipeline": self.config["input_pipeline"],
            "seed": int(seed),
            "monitor_epochs": self.config["monitor_epochs"],
            "precision": self.precision,
            "compile": self.config["compile"],
        }

    def _chain(self, experiment: str, seed: int) -> Chain:
        settings = experiment_settings(self.config, experiment)
        networks = settings["chain"]
        teacher = self.supervised(settings["labeled_ratio"], seed, networks[0])
        chain = Chain(experiment, seed, teacher)
        for network in networks[1:]:
            selection = self.selection(teacher, settings)
            balanced = self._balanced_set(selection)
            student = self._model(network, settings, self.preset["student_budget"], seed,
                                  teacher.split, balanced)
            chain.links.append(Link(selection, balanced, student))
            teacher = student
        return chain

    def default_teacher(self, seed: int) -> tuple[Model, Selection]:
        """The first teacher of the paper's chain (config ``student_defaults``: its labeled
        ratio and first network) and the candidates it hands on at the default label type
        and threshold: what ``results/teacher_check.csv`` compares with the paper."""
        defaults = self.config["student_defaults"]
        teacher = self.supervised(defaults["labeled_ratio"], seed, defaults["chain"][0])
        return teacher, self.selection(teacher, defaults)

    def selection(self, teacher: Model, settings: dict) -> Selection:
        """The labeled images plus ``teacher``'s confident pseudo labels, for an
        experiment's ``settings`` (label type, threshold, smoothing)."""
        label_type = settings["label_type"]
        selected = {"label_type": label_type, "threshold": settings["threshold"]}
        name = f"{label_type}-t{settings['threshold']:g}"
        if label_type == "smooth":
            selected["smoothing"] = settings["smoothing"]
            name += f"-eps{settings['smoothing']:g}"
        digest = definition_hash({**selected, "teacher": teacher.dir})
        return self._register(Selection(f"{PSEUDO_LABELS}/{name}-{digest}", teacher, selected))

    def _balanced_set(self, selection: Selection) -> BalancedSet:
        sizes = {"min_per_class": self.preset["min_per_class"],
                 "max_gap": self.preset["max_gap"]}
        digest = definition_hash({**sizes, "candidates": selection.dir})
        name = f"balance-min{sizes['min_per_class']}-gap{sizes['max_gap']}-{digest}"
        return self._register(BalancedSet(f"{BALANCED_SETS}/{name}", selection, sizes))

    def evaluation(self, model: Model) -> Evaluation:
        """The clean evaluation of ``model``."""
        test = per_class(self.preset["test_per_class"])
        return self._register(Evaluation(f"{model.dir}/eval-{_size_tag(test)}", model,
                                         {"test_per_class": test}))

    def robustness(self, model: Model) -> Robustness:
        """The robustness evaluation of ``model`` (on the generated or official sets)."""
        robustness = self.config["robustness"]
        settings = {
            "test_per_class": per_class(self.preset["test_per_class"]),
            "fgsm_per_class": per_class(self.preset["fgsm_per_class"]),
            "fgsm_epsilons": list(robustness["fgsm_epsilons"]),
            "robustness_per_class": per_class(self.preset["robustness_per_class"]),
            "official": robustness["source"] == "official",
        }
        corruptions = self.robustness_files("c")
        perturbations = self.robustness_files("p")
        name = f"robustness-{definition_hash({**settings, 'files': corruptions + perturbations})}"
        return self._register(Robustness(f"{model.dir}/{name}", model, settings,
                                         corruptions, perturbations))

    def _generated_sets(self) -> dict[str, RobustnessSet]:
        robustness = self.config["robustness"]
        settings = {"per_class": per_class(self.preset["robustness_per_class"]),
                    "seed": robustness["seed"]}
        tag = f"{_size_tag(settings['per_class'])}-seed{settings['seed']}"
        return {kind: self._register(RobustnessSet(f"{ROBUSTNESS_SETS}/cifar10_{kind}-{tag}",
                                                   kind, settings))
                for kind in ("c", "p")}

    def robustness_files(self, kind: str) -> list[str]:
        """The CIFAR-10-C (``c``) or -P (``p``) files a robustness evaluation reads."""
        robustness = self.config["robustness"]
        names = robustness["corruptions" if kind == "c" else "perturbations"]
        if robustness["source"] == "official":
            folder = robustness[f"official_{kind}_dir"]
        else:
            folder = self._robustness_sets[kind].dir
        return [f"{folder}/{name}.npy" for name in names]

    def resources(self, rule: str) -> dict:
        """Cluster memory and time limit of ``rule`` at the configured scale."""
        return cluster_resources(self.config, rule)

    def training_resources(self, model: Model) -> dict:
        """Cluster memory and time limit of the training of ``model``: one rule, ``train``,
        with a supervised model's and a student's entry (config ``cluster_resources``)."""
        return self.resources("train")[model.role]

    # -- names → folders ----------------------------------------------------------------
    def where(self, experiment: str) -> list[dict]:
        """The folders of an experiment's chain, per seed: teacher, then each link, each
        with the other experiments whose chains share it."""
        rows = []
        for seed in self.config["seeds"]:
            chain = self.chain(experiment, seed)
            stages = [("split", chain.teacher.split), (f"teacher {chain.teacher.network}",
                                                       chain.teacher)]
            for link in chain.links:
                stages += [("pseudo labels", link.selection), ("balanced set", link.balanced),
                           (f"student {link.student.network}", link.student)]
            for name, stage in stages:
                rows.append({"seed": seed, "stage": name, "folder": stage.dir,
                             "shared_with": self._users(stage.dir, seed) - {experiment}})
        return rows

    def _users(self, folder: str, seed: int) -> set[str]:
        """The experiments whose chain (for ``seed``) has a stage in ``folder``."""
        users = set()
        for (name, chain_seed), chain in self.chains.items():
            folders = {chain.teacher.split.dir, chain.teacher.dir} | {
                stage.dir for link in chain.links
                for stage in (link.selection, link.balanced, link.student)}
            if chain_seed == seed and folder in folders:
                users.add(name)
        return users


def _arithmetic_tag(train: dict) -> str:
    """Readable arithmetic of a training: its precision, and ``compiled`` under compile."""
    return train["precision"] + ("-compiled" if train["compile"] else "")


def _noise_tag(noise: dict) -> str:
    """Short readable noise of a model: RandAugment, stochastic depth, dropout, mixup."""
    parts = [f"ra{noise['randaugment_n']}m{noise['randaugment_m']}"
             if noise["randaugment_n"] else "ra0"]
    if noise["final_survival"] < 1.0:
        mode = "" if noise["stochastic_depth_mode"] == "batch" else noise["stochastic_depth_mode"]
        parts.append(f"sd{noise['final_survival']:g}{mode}")
    if noise["dropout"] > 0:
        parts.append(f"do{noise['dropout']:g}")
    if noise.get("mixup_alpha", 0.0) > 0:
        parts.append(f"mixup{noise['mixup_alpha']:g}")
    return "-".join(parts)

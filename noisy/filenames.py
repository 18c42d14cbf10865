"""The name of every file a rule writes into its stage's folder, declared once.

One declaration per rule: the files it writes, each by role, and how each of its outputs
comes back once deleted. The rules (rules/*.smk) build their output patterns from these,
the plan (:mod:`noisy.workflow.stages`) the paths of each stage's files, and
:mod:`noisy.files` the remedy it names for a damaged file; no other module spells a file's
name. It imports nothing of the package, so that every part of it may read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

# The settings and inputs of a stage whose folder's name hashes them (several rules).
DEFINITION = "stage.json"


@dataclass(frozen=True, eq=False)
class Files:
    """What rule ``rule`` writes into its stage's folder, role → file name: ``outputs``,
    its declared outputs, and ``others``, its log and what else it leaves there. An output
    comes back, deleted and Snakemake rerun, as ``remedies`` says (role → how, ``{rule}``
    and the roles standing for their names), by default as the rule writes it again."""

    rule: str
    outputs: dict[str, str]
    others: dict[str, str]
    remedies: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        """Every file, by role."""
        return {**self.outputs, **self.others}

    def remedy(self, role: str) -> str:
        """How the output of ``role`` comes back once deleted and Snakemake rerun."""
        how = self.remedies.get(role, "rule {rule} writes it again")
        return how.format(rule=self.rule, **self.names)


PREPARED_DATA = Files("prepare_data", {"data": "cifar10.npz", "summary": "cifar10.json"},
                      {"log": "prepare_data.log"},
                      {"data": "rule {rule} makes it again from the data source"})
SPLIT = Files("split", {"split": "split.npz", "summary": "split.json"}, {"log": "split.log"})
TRAINING = Files("train",
                 {"model": "model.pt", "history": "history.csv", "definition": DEFINITION},
                 {"log": "train.log", "benchmark": "benchmark.tsv", "state": "state.pt",
                  "tensorboard": "events"},  # a folder, written with config tensorboard
                 {"model": "the training's kept final state ({state} beside it) rewrites the "
                           "model without training"})
PREDICTION = Files("predict", {"predictions": "predictions.npz"},
                   {"prediction_log": "predict.log"})  # in the model's folder too
SELECTION = Files("select_pseudo_labels", {"candidates": "candidates.npz",
                                           "summary": "candidates.json",
                                           "definition": DEFINITION}, {"log": "select.log"})
BALANCING = Files("balance_classes", {"trainset": "trainset.npz", "summary": "trainset.json",
                                      "definition": DEFINITION}, {"log": "balance.log"})
EVALUATION = Files("evaluate", {"metrics": "eval.json", "confusion": "confusion.png"},
                   {"log": "evaluate.log"})
ROBUSTNESS = Files("evaluate_robustness",
                   {"metrics": "robustness.json", "definition": DEFINITION},
                   {"log": "evaluate.log"})
RULES = (PREPARED_DATA, SPLIT, TRAINING, PREDICTION, SELECTION, BALANCING, EVALUATION,
         ROBUSTNESS)


def in_folder(folder: str, *written: Files) -> SimpleNamespace:
    """The path in ``folder`` of each file the rules of ``written`` write there, by role:
    ``in_folder(folder, TRAINING).history``. Roles are unique within a folder."""
    paths = {role: f"{folder}/{name}" for files in written for role, name in files.names.items()}
    if len(paths) != sum(len(files.names) for files in written):
        raise ValueError(f"two files of the same role in {folder}")
    return SimpleNamespace(**paths)

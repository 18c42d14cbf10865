"""rule train: a network trained on a split's labeled images or on a student's training set.

With ``--split`` it is a supervised model (a teacher, a Table 1 row, the robustness baseline,
a yardstick) trained on the labeled images with their one-hot labels; with ``--trainset`` a
student trained from scratch on its balanced set of labeled and pseudo-labeled targets. The
training saves its state to ``--state`` and resumes from it after any interruption
(:mod:`noisy.method.training`). The model's metadata holds its role and seed; how many
labeled and pseudo-labeled images it learned from is its training set's summary
(``split.json`` or ``trainset.json``), counted where that set is made.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from noisy.filenames import TRAINING, in_folder
from noisy.jobs import add_data, add_device, add_out, add_settings, write_definition
from noisy.method.data import Dataset, load
from noisy.method.device import describe, use_device
from noisy.method.models import Architecture
from noisy.method.pseudo_labels import TargetSet, labeled_targets
from noisy.method.split import load_split
from noisy.method.tensorboard_events import ENVIRONMENT_VARIABLE, TensorBoardHistory
from noisy.method.training import TrainSettings, monitor_indices, train


def add_arguments(parser) -> None:
    add_data(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--split", help="a split (.npz): train on its labeled images")
    source.add_argument("--trainset", help="a student's training set (trainset.npz)")
    add_settings(parser, "arch, train (TrainSettings fields), monitor_test_size",
                 definition=True)
    parser.add_argument("--state", required=True,
                        help="the resumable state (a side file Snakemake never deletes)")
    add_out(parser, "the trained model (.pt)")
    parser.add_argument("--history", required=True, help="the per-epoch history (.csv) to write")
    add_device(parser)
    parser.add_argument("--checkpoint-interval-s", type=float, default=60.0,
                        help="save the resumable state every this many seconds (0: every step)")


def _labeled_part(dataset: Dataset, split_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and one-hot targets of the split's labeled images."""
    labeled = load_split(split_path).labeled
    targets = labeled_targets(dataset.train_labels[labeled], len(dataset.classes), "hard")
    return dataset.train_images[labeled], targets


def _student_part(dataset: Dataset, trainset_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images and targets of a student's (balanced) training set."""
    trainset = TargetSet.load(trainset_path)
    return dataset.train_images[trainset.indices], trainset.targets


def _history_watcher(model_path: str):
    """TensorBoard event files beside the model when the environment asks
    (:data:`noisy.method.tensorboard_events.ENVIRONMENT_VARIABLE`)."""
    if os.environ.get(ENVIRONMENT_VARIABLE) != "1":
        return contextlib.nullcontext()
    return TensorBoardHistory(in_folder(str(Path(model_path).parent), TRAINING).tensorboard)


def run(args) -> None:
    watcher = _history_watcher(args.out)
    device = use_device(args.device, args.threads)
    write_definition(args, ran_on=describe(device), data=args.data, split=args.split,
                     trainset=args.trainset)
    dataset = load(args.data)
    if args.split is not None:
        images, targets = _labeled_part(dataset, args.split)
    else:
        images, targets = _student_part(dataset, args.trainset)
    monitor = monitor_indices(dataset.test_labels.shape[0], args.settings["monitor_test_size"])
    arch = Architecture(num_classes=len(dataset.classes), **args.settings["arch"])
    settings = TrainSettings(**args.settings["train"],
                             checkpoint_interval_s=args.checkpoint_interval_s)
    with watcher as on_history_row:
        train(arch, settings, images, targets, dataset.test_images[monitor],
              dataset.test_labels[monitor], args.out, args.history, args.state,
              {"role": "supervised" if args.split else "student", "seed": settings.seed}, device,
              on_history_row)

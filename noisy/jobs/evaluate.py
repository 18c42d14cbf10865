"""rule evaluate: a model's clean top-1/top-5, calibration and confusion matrix."""

from __future__ import annotations

import numpy as np

from noisy.files import write_json
from noisy.jobs import add_data, add_device, add_out, add_settings
from noisy.method.data import load
from noisy.method.device import use_device
from noisy.method.evaluation import evaluate_clean
from noisy.method.models import load_checkpoint
from noisy.reporting.figures import plot_confusion_matrix


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--model", required=True, help="the model (model.pt)")
    add_settings(parser, "test_per_class (null: the whole test set)")
    parser.add_argument("--confusion", default=None,
                        help="the confusion-matrix PNG to write")
    add_device(parser)
    add_out(parser, "the metrics (eval.json)")


def run(args) -> None:
    device = use_device(args.device, args.threads)
    model, metadata = load_checkpoint(args.model, device)
    dataset = load(args.data)
    result = evaluate_clean(model, metadata, dataset, args.settings["test_per_class"], device,
                            args.model)
    if args.confusion:
        plot_confusion_matrix(np.asarray(result["confusion_matrix"]),
                              [str(name) for name in dataset.classes], args.confusion)
    write_json(args.out, result)

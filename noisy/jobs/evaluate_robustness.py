"""rule evaluate_robustness: a model's clean metrics, FGSM, CIFAR-10-C and CIFAR-10-P."""

from __future__ import annotations

from noisy.files import write_json
from noisy.jobs import add_data, add_device, add_out, add_settings, write_definition
from noisy.method.data import load
from noisy.method.device import use_device
from noisy.method.evaluation import evaluate_robustness
from noisy.method.models import load_checkpoint


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--model", required=True, help="the model (model.pt)")
    add_settings(parser, "test_per_class, fgsm_per_class, fgsm_epsilons, "
                         "robustness_per_class (null: all), official", definition=True)
    parser.add_argument("--corruptions", nargs="+", required=True,
                        help="the CIFAR-10-C files (.npy)")
    parser.add_argument("--perturbations", nargs="+", required=True,
                        help="the CIFAR-10-P files (.npy)")
    add_device(parser)
    add_out(parser, "the metrics (robustness.json)")


def run(args) -> None:
    write_definition(args, data=args.data, model=args.model, corruptions=args.corruptions,
                     perturbations=args.perturbations)
    device = use_device(args.device, args.threads)
    model, metadata = load_checkpoint(args.model, device)
    result = evaluate_robustness(model, metadata, load(args.data), args.settings,
                                 args.corruptions, args.perturbations, device, args.model)
    write_json(args.out, result)

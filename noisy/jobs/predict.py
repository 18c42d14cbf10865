"""rule predict: a teacher's class probabilities on every unlabeled image of its split."""

from __future__ import annotations

from noisy.files import save_npz
from noisy.jobs import add_data, add_device, add_out
from noisy.method.data import load
from noisy.method.device import use_device
from noisy.method.inference import predict_probs
from noisy.method.models import load_model
from noisy.method.split import load_split


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--split", required=True, help="the teacher's split (.npz)")
    parser.add_argument("--model", required=True, help="the teacher (model.pt)")
    add_out(parser, "the predictions (.npz: indices into the train set, probs (N, K))")
    add_device(parser)


def run(args) -> None:
    """Softmax of the teacher (eval mode, clean images, fp32) on the unlabeled images."""
    device = use_device(args.device, args.threads)
    unlabeled = load_split(args.split).unlabeled
    images = load(args.data).train_images[unlabeled]
    probs = predict_probs(load_model(args.model, device), images, device)
    save_npz(args.out, indices=unlabeled, probs=probs)

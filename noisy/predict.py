"""The predict stage: a teacher's class probabilities on every unlabeled image."""

from __future__ import annotations

from noisy.files import save_npz
from noisy.method.data import load
from noisy.method.device import resolve_device, set_threads
from noisy.method.inference import predict_probs
from noisy.method.models import load_model
from noisy.method.split import load_split


def predict_unlabeled(model_path: str, data_path: str, split_path: str, out_path: str,
                      device: str = "auto", threads: int | None = None) -> None:
    """Softmax of the teacher (eval mode, clean images) on the split's unlabeled images.

    Writes ``indices`` (into the train set) and ``probs`` (N, K) float32.
    """
    set_threads(threads)
    dev = resolve_device(device)
    unlabeled = load_split(split_path).unlabeled
    images = load(data_path).train_images[unlabeled]
    probs = predict_probs(load_model(model_path, dev), images, dev)
    save_npz(out_path, indices=unlabeled, probs=probs)

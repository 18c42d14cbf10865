"""rule select_pseudo_labels: the labeled images plus the teacher's confident pseudo labels.

Writes the candidates (``--out``) and their per-class counts before balancing, what the
teacher hands on (Tables 4, 8, 9), to ``--summary``.
"""

from __future__ import annotations

from noisy.files import read_npz, write_json
from noisy.jobs import add_data, add_out, add_settings, write_definition
from noisy.method.data import load
from noisy.method.pseudo_labels import PREDICTION_ARRAYS, select
from noisy.method.split import load_split


def add_arguments(parser) -> None:
    add_data(parser)
    parser.add_argument("--split", required=True, help="the teacher's split (.npz)")
    parser.add_argument("--predictions", required=True,
                        help="the teacher's predictions (.npz, rule predict)")
    add_settings(parser, "label_type, threshold (and smoothing for smooth labels)",
                 definition=True)
    add_out(parser, "the candidates (.npz)", summary="candidates per class (Tables 4, 8, 9)")


def run(args) -> None:
    write_definition(args, data=args.data, split=args.split, predictions=args.predictions)
    settings = args.settings
    dataset = load(args.data)
    labeled = load_split(args.split).labeled
    predictions = read_npz(args.predictions, PREDICTION_ARRAYS)
    candidates = select(predictions["probs"], predictions["indices"], labeled,
                        dataset.train_labels[labeled], settings["threshold"],
                        settings["label_type"], settings.get("smoothing", 0.0))
    candidates.save(args.out)
    counts = candidates.class_counts(len(dataset.classes))
    write_json(args.summary, {
        "classes": [str(name) for name in dataset.classes],
        "counts": [int(count) for count in counts],
        "labeled": int(len(labeled)),
        "pseudo": int(len(candidates) - len(labeled)),
        "unlabeled_pool": int(len(predictions["indices"])),
        "settings": settings,
    })

"""rule balance_classes: the candidates' classes balanced, a student's training set.

``pseudo`` in the summary counts every training image that is not one of the unique
labeled images (duplicated labeled images count as pseudo, as P in the paper's tables).
"""

from __future__ import annotations

from noisy.files import write_json
from noisy.jobs import add_out, add_settings, write_definition
from noisy.method.balancing import balance, balance_report
from noisy.method.pseudo_labels import TargetSet


def add_arguments(parser) -> None:
    parser.add_argument("--candidates", required=True,
                        help="the candidates (.npz, rule select_pseudo_labels)")
    add_settings(parser, "min_per_class, max_gap", definition=True)
    add_out(parser, "the training set (trainset.npz)", summary="counts per class before and after")


def run(args) -> None:
    write_definition(args, candidates=args.candidates)
    candidates = TargetSet.load(args.candidates)
    num_classes = candidates.targets.shape[1]
    balanced = balance(candidates, num_classes, args.settings["min_per_class"],
                       args.settings["max_gap"])
    balanced.save(args.out)
    labeled = int(candidates.is_labeled.sum())
    report = balance_report(candidates.class_counts(num_classes),
                            balanced.class_counts(num_classes))
    write_json(args.summary, {**report, "labeled": labeled,
                              "pseudo": report["total_after"] - labeled})

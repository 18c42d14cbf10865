"""rule balance_classes: the candidates' classes balanced, a student's training set.

Its summary (``trainset.json``) is where the student's labeled and pseudo-label counts are
counted, per class and in all (:func:`noisy.method.balancing.balance_summary`); the tables
and the self-training check read them from there.
"""

from __future__ import annotations

from noisy.files import write_json
from noisy.jobs import add_out, add_settings, write_definition
from noisy.method.balancing import balance, balance_summary
from noisy.method.pseudo_labels import TargetSet


def add_arguments(parser) -> None:
    parser.add_argument("--candidates", required=True,
                        help="the candidates (.npz, rule select_pseudo_labels)")
    add_settings(parser, "min_per_class, max_gap", definition=True)
    add_out(parser, "the training set (trainset.npz)",
            summary="counts per class before and after, labeled and pseudo labels")


def run(args) -> None:
    write_definition(args, candidates=args.candidates)
    candidates = TargetSet.load(args.candidates)
    num_classes = candidates.targets.shape[1]
    balanced = balance(candidates, num_classes, args.settings["min_per_class"],
                       args.settings["max_gap"])
    balanced.save(args.out)
    write_json(args.summary, balance_summary(candidates, balanced, num_classes))

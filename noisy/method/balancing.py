"""Class balancing of a student's training set (the paper, section 2.2).

Images are grouped by the argmax of their target. Then (the paper, section 2.2:
"duplicate the most confident first, cut the least confident first"):

1. every class with ``n < min_per_class`` images is topped up to exactly
   ``min_per_class`` by spreading the copies evenly: each image appears
   ``min_per_class // n`` times, and the ``min_per_class % n`` best-ranked images
   once more. No image gets two copies more than another of its class;
2. every class above ``smallest class size + max_gap`` is cut to that size,
   keeping its best-ranked images.

Rank (best first): labeled images, then higher teacher confidence (the teacher's
max probability, carried by every candidate), then lower train-set index, then
earlier position. Target values would not do as the key: every hard pseudo target
is 0.99 and every smooth one 0.891, so ranking by them falls back to index order,
and the report's round-by-round top-up (``k = min(n, short)`` copies of the best of
the grown class) then gives the same low-index images copy after copy. The final
per-class counts are the same either way (the paper's P column is reproduced).

A class with no image at all cannot be topped up (the report's code loops forever
there); :func:`balance` raises a :class:`noisy.errors.UserError` naming the class instead.
"""

from __future__ import annotations

import numpy as np

from noisy.errors import SettingsError, UserError
from noisy.method.pseudo_labels import TargetSet


def _check_settings(min_per_class: int, max_gap: int) -> None:
    if min_per_class < 0 or max_gap < 0:
        raise SettingsError(
            f"min_per_class and max_gap must be >= 0, got {min_per_class} and {max_gap}"
        )


def _empty_class_error(class_index: int, min_per_class: int) -> UserError:
    return UserError(
        f"class {class_index} has no images (no labeled image and no pseudo label above "
        f"the threshold), so it cannot be topped up to {min_per_class} by duplication"
    )


def _rank_order(candidates: TargetSet, members: np.ndarray) -> np.ndarray:
    """Slots of ``members`` (positions in the set, repeats allowed), best first."""
    return np.lexsort((
        np.arange(len(members)),
        candidates.indices[members],
        -candidates.teacher_confidence[members],
        ~candidates.is_labeled[members],
    ))


def _top_up(candidates: TargetSet, members: np.ndarray, size: int) -> np.ndarray:
    """``members`` followed by evenly spread copies, ``size`` in all (best-ranked first)."""
    repeats, extra = divmod(size, len(members))
    best = members[_rank_order(candidates, members)[:extra]]
    return np.concatenate([members] * repeats + [best])


def balance(
    candidates: TargetSet,
    num_classes: int,
    min_per_class: int = 4000,
    max_gap: int = 1000,
) -> TargetSet:
    """Balanced copy of ``candidates``: top up small classes, then cut large ones.

    The result is grouped by class (0 first); within a class, entries keep their
    order, with duplicates after the originals. Raises a user error naming the
    class if a class has zero images but must be topped up (``min_per_class > 0``).
    """
    _check_settings(min_per_class, max_gap)
    classes = candidates.classes
    if len(classes) and classes.max() >= num_classes:
        raise ValueError(
            f"a target's argmax is class {classes.max()}, beyond num_classes={num_classes}"
        )
    members_by_class = []
    for class_index in range(num_classes):
        members = np.flatnonzero(classes == class_index)
        if len(members) == 0 and min_per_class > 0:
            raise _empty_class_error(class_index, min_per_class)
        if len(members) < min_per_class:
            members = _top_up(candidates, members, min_per_class)
        members_by_class.append(members)

    cap = min(len(members) for members in members_by_class) + max_gap
    kept = []
    for members in members_by_class:
        if len(members) > cap:
            members = members[np.sort(_rank_order(candidates, members)[:cap])]
        kept.append(members)
    return candidates.subset(np.concatenate(kept))


def balance_summary(candidates: TargetSet, balanced: TargetSet, num_classes: int) -> dict:
    """What balancing did and what the student learns from, as a JSON-ready dict: the
    per-class counts ``before`` (the candidates) and ``after`` (the balanced set) with their
    totals, and the balanced set's labeled and pseudo-labeled images per class and in all.

    This is the one place the tables' L and P are counted (the paper's tables: P is the
    balanced set minus the labeled images): ``labeled`` counts distinct labeled images,
    ``pseudo`` every other entry, copies of labeled images included.
    """
    before = candidates.class_counts(num_classes)
    after = balanced.class_counts(num_classes)
    classes = balanced.classes
    labeled = np.array([np.unique(balanced.indices[balanced.is_labeled & (classes == k)]).size
                        for k in range(num_classes)], dtype=np.int64)
    pseudo = after - labeled
    return {
        "before": [int(count) for count in before],
        "after": [int(count) for count in after],
        "total_before": int(before.sum()),
        "total_after": int(after.sum()),
        "labeled_per_class": [int(count) for count in labeled],
        "pseudo_per_class": [int(count) for count in pseudo],
        "labeled": int(labeled.sum()),
        "pseudo": int(pseudo.sum()),
    }

"""The paper's tables: one registry entry each, and the result files each row reads.

:data:`TABLES` holds everything about a table (its kind, row keys, metrics, title, notes,
sorting, its teacher row, how its rows meet the paper's, the rows the paper misprinted,
the figure drawn from it, which paper file it is compared with), the way torchvision's
``presets.py`` holds everything about one variant: no other module decides anything by a
table's name. The planning below and in :mod:`noisy.workflow.outputs`,
:mod:`noisy.reporting.table_csv` (building the CSV), :mod:`noisy.reporting.comparison`
(setting it beside the paper's) and :mod:`noisy.reporting.figures` read it. :func:`rows`
lists a table's rows for a configuration: the row keys and the files each row reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from noisy.workflow.config import experiment_settings
from noisy.workflow.stages import Chain, Model, Plan

PAPER_DIR = Path(__file__).resolve().parent.parent / "paper_tables"
ROBUSTNESS_METRICS = ("top1", "ece", "rel_mce", "mfr", "paper_ece", "c_clean_accuracy",
                      "mean_c_accuracy")


@dataclass(frozen=True)
class TableSpec:
    """One of the paper's tables.

    ``kind``: ``supervised`` (Table 1: networks on the labels alone), ``chain`` (the
    students of each experiment's chain), ``counts`` (what each teacher hands on, per
    class) or ``robustness`` (students against the robustness baseline).
    ``row_keys``: the key columns taken from each experiment (``label`` is the row label
    of config ``tables``, the other keys are the experiment's settings). ``metrics``:
    the value columns (None: the ten class names of a counts table).

    The rest says how the table meets the paper's: ``labeled_as_ratio``, rows are matched
    on the labeled fraction, not the labeled count (Table 1, whose networks a scaled-down
    run trains on fewer images); ``suspect_rows``, the paper's rows it printed wrongly
    (each a dict of key column → value), marked as such in the report; ``figure``, the
    paper's figure drawn from this table's rows (Table 5: Figure 1); ``teacher_numbers``,
    what the table prints of the paper's first teacher, set beside the run's by
    ``results/teacher_check.csv`` (``accuracy``: Table 1, ``candidates``: Table 4's teacher
    row, ``calibration``: Table 5's).
    """

    name: str
    title: str
    kind: str
    key_columns: tuple[str, ...]
    metrics: tuple[str, ...] | None = None
    row_keys: dict[str, str] | None = None  # key column → "label" or a setting name
    teacher_row: bool = False  # the shared teacher first (Tables 2-5)
    # the teacher row's key columns besides its network (Table 2 has no label column)
    teacher_keys: dict[str, str] = field(default_factory=lambda: {"label_type": "teacher"})
    baseline_row: bool = False  # the "without self-training" network last (Table 5)
    final_only: bool = False  # only the last network of each chain (Table 10)
    sort: tuple[tuple[str, bool], ...] = ()  # (column, ascending), applied in order
    notes: str = ""
    labeled_as_ratio: bool = False
    suspect_rows: tuple[dict, ...] = ()
    figure: str | None = None
    teacher_numbers: str | None = None

    @property
    def paper_csv(self) -> Path:
        """The paper's numbers for this table (shipped with the package)."""
        return PAPER_DIR / f"{self.name}.csv"

    @property
    def counts(self) -> bool:
        return self.kind == "counts"


_COUNTS_NOTE = "Counts before class balancing. Cells: reproduced / paper."
TABLES = {spec.name: spec for spec in [
    TableSpec("table1", "Supervised networks on all and on 10% of the labels", "supervised",
              ("labeled", "network", "params"), ("top1", "top5"),
              sort=(("labeled", False), ("network", True)), labeled_as_ratio=True,
              teacher_numbers="accuracy",
              notes="Rows are matched on the labeled fraction (config "
                    "`table1.labeled_ratios`), so a scaled-down run still lines up with the "
                    "paper's 50,000 / 5,000 rows."),
    TableSpec("table2", "The hard-label chain ResNet-20 → 26 → 32 → 38", "chain",
              ("network", "labeled", "pseudo", "params"), ("top1",), row_keys={},
              teacher_row=True, teacher_keys={},
              notes="The pseudo-label count P is the balanced training set minus the "
                    "labeled images."),
    TableSpec("table3", "Pseudo-label types", "chain",
              ("label_type", "network", "labeled", "pseudo", "params"), ("top1",),
              row_keys={"label_type": "label"}, teacher_row=True),
    TableSpec("table4", "Per-class counts each teacher hands on, per label type", "counts",
              ("label_type", "network"), row_keys={"label_type": "label"}, teacher_row=True,
              teacher_numbers="candidates", notes=_COUNTS_NOTE),
    TableSpec("table5", "Accuracy, calibration and robustness per label type", "robustness",
              ("label_type", "network"), ROBUSTNESS_METRICS, row_keys={"label_type": "label"},
              teacher_row=True, baseline_row=True, figure="figure1",
              teacher_numbers="calibration"),
    TableSpec("table6", "Noise ablations", "robustness", ("noise", "network"),
              ROBUSTNESS_METRICS, row_keys={"noise": "label"}),
    TableSpec("table7", "Confidence thresholds", "robustness",
              ("label_type", "threshold", "network"), ROBUSTNESS_METRICS,
              row_keys={"label_type": "label", "threshold": "threshold"},
              suspect_rows=({"label_type": "hard", "threshold": 0.7},
                            {"label_type": "hard", "threshold": 0.8}),
              notes="Paper rows for hard labels at 0.7 and 0.8 are a transcription error "
                    "(see above)."),
    TableSpec("table8", "Per-class counts handed on by threshold, smooth labels", "counts",
              ("threshold", "network"), row_keys={"threshold": "threshold"},
              notes=_COUNTS_NOTE),
    TableSpec("table9", "Per-class counts handed on by threshold, mixup with hard labels",
              "counts", ("threshold", "network"), row_keys={"threshold": "threshold"},
              notes=_COUNTS_NOTE),
    TableSpec("table10", "Labeled ratios (final ResNet-38)", "robustness",
              ("label_type", "labeled_ratio", "network"), ROBUSTNESS_METRICS,
              row_keys={"label_type": "label", "labeled_ratio": "labeled_ratio"},
              final_only=True),
]}


def drawn_from(figure: str) -> str:
    """The table whose rows ``figure`` draws (its registry entry names the figure)."""
    return next(name for name, spec in TABLES.items() if spec.figure == figure)


def label_type_name(settings: dict) -> str:
    """The paper's label-type name: hard / soft / smooth, prefixed mixup_ with mixup."""
    prefix = "mixup_" if settings["mixup_alpha"] > 0 else ""
    return prefix + settings["label_type"]


def experiments(config: dict, table: str) -> list[tuple[str, str]]:
    """(row label, experiment) pairs of a chain table (config ``tables``), in order."""
    listed = config["tables"][table]
    if isinstance(listed, dict):
        return list(listed.items())
    return [(label_type_name(experiment_settings(config, name)), name) for name in listed]


def eval_file(plan: Plan, model: Model) -> str:
    """The clean evaluation (eval.json) of a model."""
    return plan.evaluation(model).files.metrics


def robustness_file(plan: Plan, model: Model) -> str:
    """The robustness evaluation (robustness.json) of a model."""
    return plan.robustness(model).files.metrics


def training_set_file(model: Model) -> dict[str, str]:
    """The summary of the set ``model`` learned from, which counts its labeled and
    pseudo-labeled images: ``trainset`` (a student's balanced set, trainset.json) or
    ``split`` (a supervised model's split, split.json: its labeled images, no pseudo label)."""
    if model.balanced is None:
        return {"split": model.split.files.summary}
    return {"trainset": model.balanced.files.summary}


def rows(plan: Plan, table: str) -> list[dict]:
    """Every row of ``table`` in the paper's order: ``keys`` (row-key columns), ``files``
    (role → path of a result file it reads), its ``seed`` and the ``model`` folder whose
    results it shows (for counts: the teacher that hands the pseudo labels on).

    The roles of ``files`` are named for the file: ``eval`` (eval.json), ``trainset`` or
    ``split`` (the training set's summary, :func:`training_set_file`), ``robustness`` and
    ``baseline`` (robustness.json of the model and of the robustness baseline), ``counts``
    (candidates.json)."""
    spec, config = TABLES[table], plan.config
    if spec.kind == "supervised":
        return [_row({"network": network}, seed, model, eval=eval_file(plan, model),
                     **training_set_file(model))
                for ratio in config["table1"]["labeled_ratios"]
                for network in config["table1"]["networks"] for seed in config["seeds"]
                for model in [plan.supervised(ratio, seed, network)]]
    listed = experiments(config, table)
    first, middle, last = [], [], []
    for seed in config["seeds"]:
        if spec.teacher_row:
            first += _teacher_rows(plan, spec, plan.chain(listed[0][1], seed))
        if spec.baseline_row:
            model = plan.baseline(seed)
            baseline = robustness_file(plan, model)
            last.append(_row({"label_type": "without_st", "network": model.network}, seed,
                             model, robustness=baseline, baseline=baseline))
        for label, experiment in listed:
            middle += _chain_rows(plan, spec, label, plan.chain(experiment, seed))
    return first + middle + last


def _row(keys: dict, seed: int, model: Model, **files: str) -> dict:
    return {"keys": keys, "files": files, "seed": seed, "model": model.dir}


def _row_keys(spec: TableSpec, label: str, settings: dict) -> dict:
    return {column: label if source == "label" else settings[source]
            for column, source in spec.row_keys.items()}


def _teacher_rows(plan: Plan, spec: TableSpec, chain: Chain) -> list[dict]:
    keys = {**spec.teacher_keys, "network": chain.teacher.network}
    teacher, seed = chain.teacher, chain.seed
    if spec.counts:  # what the shared teacher hands on, once
        return [_row(keys, seed, teacher, counts=_counts_file(chain, 0))]
    if spec.kind == "robustness":
        return [_row(keys, seed, teacher, robustness=robustness_file(plan, teacher),
                     baseline=robustness_file(plan, plan.baseline(seed)))]
    return [_row(keys, seed, teacher, eval=eval_file(plan, teacher),
                 **training_set_file(teacher))]


def _counts_file(chain: Chain, link: int) -> str:
    return chain.links[link].selection.files.summary


def _chain_rows(plan: Plan, spec: TableSpec, label: str, chain: Chain) -> list[dict]:
    keys = _row_keys(spec, label, experiment_settings(plan.config, chain.experiment))
    if spec.counts:
        # Row n: the per-class counts the n-th network of the chain hands on; the
        # teacher's own row is a teacher row (Table 4) or the first row (Tables 8, 9).
        teachers = chain.models[:-1]
        numbered = list(enumerate(teachers))[1:] if spec.teacher_row else enumerate(teachers)
        return [_row({**keys, "network": model.network}, chain.seed, model,
                     counts=_counts_file(chain, index)) for index, model in numbered]
    links = chain.links[-1:] if spec.final_only else chain.links
    if spec.kind == "robustness":
        baseline = robustness_file(plan, plan.baseline(chain.seed))
        return [_row({**keys, "network": link.student.network}, chain.seed, link.student,
                     robustness=robustness_file(plan, link.student), baseline=baseline)
                for link in links]
    return [_row({**keys, "network": link.student.network}, chain.seed, link.student,
                 eval=eval_file(plan, link.student), **training_set_file(link.student))
            for link in links]


def input_files(table_rows: list[dict]) -> list[str]:
    """Every file a table reads (for the Snakemake rule's input), without repeats."""
    return list(dict.fromkeys(path for row in table_rows for path in row["files"].values()))

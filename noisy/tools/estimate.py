"""tool estimate: before a long run, the images each job of a plan trains and scores, and
the hours it takes.

The jobs are Snakemake's own, read from its dry run for the targets and configuration
(:mod:`noisy.tools.dry_run`; only the jobs that need to run, or all with ``forceall``),
each with its rule and wildcards; the wildcards name the stage folders whose settings the
plan (:mod:`noisy.workflow`) holds. Image counts follow from those settings and CIFAR-10's
sizes (50,000 train, 10,000 test images, 10 classes):

* training: the job's budget rounded up to whole epochs where the training-set size is
  known before the run (supervised models); a student's set is only known after its
  teacher, so its budget is counted (the run sees up to one epoch more); plus the
  monitor images scored on the monitored epochs;
* prediction: the unlabeled images of the split; clean evaluation: the test images;
  robustness: the clean test images, the FGSM images (each attacked image costs about one
  training image: a forward and a backward pass, then it is scored), every CIFAR-10-C
  image (5 severities) and every CIFAR-10-P frame.

Hours come from images/s per network, measured by a short probe of our training step
and inference on the device (:func:`noisy.tools.throughput.probe`), or read from a file of
such figures (e.g. written by ``python -m noisy throughput`` on the GPU machine). Jobs that
train or score no network (data, splits, selection, tables, figures, corruption
generation) are counted but not timed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from noisy.corruption.perturbations import FRAMES
from noisy.errors import UserError
from noisy.files import read_json
from noisy.method.training import epochs_for_budget, monitored_epochs
from noisy.tools.dry_run import WORKFLOW_ROOT, PlannedJob, dry_run
from noisy.tools.throughput import probe
from noisy.workflow.config import load as load_config
from noisy.workflow.config import per_class
from noisy.workflow.stages import Evaluation, Model, Plan, Robustness

CIFAR_TRAIN, CIFAR_TEST, NUM_CLASSES = 50_000, 10_000, 10
CORRUPTION_SEVERITIES = 5
RATES_KEYS = ("device", "jobs", "batch_size", "train", "infer")


@dataclass(frozen=True)
class JobLoad:
    """What one job computes: the network and its images trained, scored and attacked."""

    rule: str
    network: str | None
    train_images: int = 0
    scored_images: int = 0
    attacked_images: int = 0

    def hours(self, rates: dict) -> float:
        """Device hours of this job at ``rates`` (images/s per network, train and infer)."""
        if self.network is None:
            return 0.0
        train_rate = rates["train"][self.network]
        infer_rate = rates["infer"][self.network]
        seconds = ((self.train_images + self.attacked_images) / train_rate
                   + self.scored_images / infer_rate)
        return seconds / 3600


def snakemake_jobs(targets: list[str], config_args: list[str], workdir: str | Path = ".",
                   forceall: bool = False, configfile: str | Path | None = None
                   ) -> tuple[list[PlannedJob], dict]:
    """The jobs of Snakemake's dry run for ``targets`` (this checkout's Snakefile and
    config.yaml, or ``configfile``, run in ``workdir``, with ``config_args`` as Snakemake's
    ``--config key=value ...``), and the configuration the plan reads from the same file
    and values."""
    jobs = dry_run(targets, config_args, workdir, forceall=forceall, configfile=configfile)
    return jobs, load_config(configfile or WORKFLOW_ROOT / "config.yaml", config_args)


def job_loads(targets: list[str], config_args: list[str], workdir: str | Path = ".",
              forceall: bool = False) -> list[JobLoad]:
    """What each job of the plan for ``targets`` computes (:func:`job_load`)."""
    jobs, config = snakemake_jobs(targets, config_args, workdir, forceall)
    plan = Plan(config)
    return [job_load(job.rule, job.wildcards, plan) for job in jobs]


def _per_class(count: int | None, total: int) -> int:
    """Images of a per-class size (None: all ``total`` images)."""
    return total if count is None else count * NUM_CLASSES


def job_load(rule: str, wildcards: dict, plan: Plan) -> JobLoad:
    """The images one job trains, scores and attacks (see the module docstring).

    Trainings are reported as ``train (supervised)`` and ``train (student)``: one rule,
    whose cluster resources differ by role too."""
    pool = _per_class(per_class(plan.preset["train_per_class"]), CIFAR_TRAIN)
    if rule == "train":
        model = plan.stage(wildcards["model"], Model)
        train = model.settings["train"]
        budget = train["budget_images"]
        if model.balanced is None:
            size = round(model.split.settings["labeled_ratio"] * pool)
            epochs = epochs_for_budget(budget, size)
            images, monitored = epochs * size, len(monitored_epochs(epochs,
                                                                   train["monitor_epochs"]))
        else:
            images, monitored = budget, train["monitor_epochs"]
        return JobLoad(f"train ({model.role})", model.network, train_images=images,
                       scored_images=monitored * model.settings["monitor_test_size"])
    if rule == "predict":
        model = plan.stage(wildcards["model"], Model)
        ratio = model.split.settings["labeled_ratio"]
        return JobLoad(rule, model.network, scored_images=pool - round(ratio * pool))
    if rule in ("evaluate", "evaluate_robustness"):
        stage = (plan.stage(wildcards["evaluation"], Evaluation) if rule == "evaluate"
                 else plan.stage(wildcards["robustness"], Robustness))
        settings = stage.settings
        scored = _per_class(settings["test_per_class"], CIFAR_TEST)
        attacked = 0
        if rule == "evaluate_robustness":
            attacked = (len(settings["fgsm_epsilons"])
                        * _per_class(settings["fgsm_per_class"], CIFAR_TEST))
            robust = _per_class(settings["robustness_per_class"], CIFAR_TEST)
            robustness = plan.config["robustness"]
            frames = sum(FRAMES[name] for name in robustness["perturbations"])
            scored += attacked + robust * (
                CORRUPTION_SEVERITIES * len(robustness["corruptions"]) + frames)
        return JobLoad(rule, stage.model.network, scored_images=scored, attacked_images=attacked)
    return JobLoad(rule, None)


def summarise(loads: list[JobLoad], rates: dict) -> list[dict]:
    """One row per rule (jobs, images trained/scored/attacked, hours), then the total."""
    rows: dict[str, dict] = defaultdict(lambda: dict.fromkeys(
        ("jobs", "train_images", "scored_images", "attacked_images", "hours"), 0))
    for load in loads:
        row = rows[load.rule]
        row["jobs"] += 1
        row["train_images"] += load.train_images
        row["scored_images"] += load.scored_images
        row["attacked_images"] += load.attacked_images
        row["hours"] += load.hours(rates)
    table = [{"rule": rule, **row} for rule, row in sorted(rows.items())]
    total = {key: sum(row[key] for row in table) for key in table[0] if key != "rule"}
    return table + [{"rule": "total", **total}]


def format_plan(table: list[dict], rates: dict, targets: list[str]) -> str:
    """The plan as a fixed-width text table (rules that train or score no network folded
    into one line)."""
    lines = [f"plan for {' '.join(targets)}; rates on {rates['device']} "
             f"({rates['jobs']} job(s) at once, batch {rates['batch_size']}, training in "
             f"{rates.get('precision', 'fp32')}), images/s:"]
    for network in sorted(rates["train"]):
        lines.append(f"  {network}: train {rates['train'][network]:.0f}, "
                     f"infer {rates['infer'][network]:.0f}")
    header = (f"{'rule':20s} {'jobs':>5s} {'trained':>14s} {'scored':>14s} "
              f"{'attacked':>11s} {'hours':>9s}")
    lines += ["", header, "-" * len(header)]
    untimed = [row for row in table[:-1] if not (row["train_images"] or row["scored_images"])]
    for row in table:
        if row in untimed:
            continue
        if row["rule"] == "total":
            lines.append("-" * len(header))
        lines.append(f"{row['rule']:20s} {row['jobs']:5d} {row['train_images']:14,d} "
                     f"{row['scored_images']:14,d} {row['attacked_images']:11,d} "
                     f"{row['hours']:9.2f}")
    lines.append(f"the total includes {sum(row['jobs'] for row in untimed)} jobs that train "
                 f"or score no network, not timed ({', '.join(row['rule'] for row in untimed)})")
    lines.append("students count their budget; each run sees up to one epoch more")
    return "\n".join(lines)


def estimate(targets: list[str], config_args: list[str], rates_path: str | None = None,
             device: str | None = None, forceall: bool = False, workdir: str | Path = ".",
             steps: int = 5) -> tuple[list[dict], dict]:
    """The per-rule plan of ``targets`` and the rates it used (probed unless given)."""
    loads = job_loads(targets, config_args, workdir, forceall)
    if not loads:
        raise UserError(f"nothing to do for {' '.join(targets)} (all outputs are up to date; "
                         "use --all to count every job)")
    if rates_path:
        rates = read_json(rates_path, RATES_KEYS,
                          "write it again with python -m noisy throughput --out FILE")
    else:
        plan = Plan(load_config(WORKFLOW_ROOT / "config.yaml", config_args))
        networks = sorted({load.network for load in loads if load.network})
        rates = probe(networks, device or plan.config["device"], plan.preset["batch_size"],
                      steps=steps, precision=plan.precision)
    missing = {load.network for load in loads if load.network} - set(rates["train"])
    if missing:
        raise UserError(f"no rates for {', '.join(sorted(missing))} in {rates_path}")
    return summarise(loads, rates), rates


def add_arguments(parser) -> None:
    parser.add_argument("targets", nargs="+", help="Snakemake targets, e.g. results/report.md")
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                        help="as Snakemake's --config, e.g. scale=paper")
    parser.add_argument("--rates", default=None,
                        help="JSON from `python -m noisy throughput` (default: probe here)")
    parser.add_argument("--device", default=None, help="device to probe (default: config's)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per network")
    parser.add_argument("--all", action="store_true",
                        help="count every job, not only those that need to run")


def run(args) -> None:
    table, rates = estimate(args.targets, args.config, rates_path=args.rates,
                            device=args.device, forceall=args.all, steps=args.steps)
    print(format_plan(table, rates, args.targets))

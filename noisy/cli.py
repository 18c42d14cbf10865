"""Command line of the workflow's stages: ``python -m noisy <stage> ...``.

Each sub-command parses its arguments and calls one function of the package; the
Snakemake rules call these and nothing else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path


def _prepare_data(args) -> None:
    from noisy.method.data import prepare

    prepare(args.source, args.out, args.summary, download_root=args.download_root)


def _split(args) -> None:
    from noisy.method.split import split_stage

    split_stage(args.data, json.loads(args.settings), args.out, args.summary)


def _train(args) -> None:
    from noisy.train_stage import train_stage

    train_stage(args.data, json.loads(args.settings), args.state, args.out, args.history,
                split_path=args.split, trainset_path=args.trainset, device=args.device,
                threads=args.threads, checkpoint_interval_s=args.checkpoint_interval_s)


def _evaluate(args) -> None:
    from noisy.method.evaluation import evaluate_clean

    evaluate_clean(args.model, args.data, args.out, json.loads(args.settings),
                   confusion_path=args.confusion, device=args.device, threads=args.threads)


def _evaluate_robustness(args) -> None:
    from noisy.method.evaluation import evaluate_robustness

    evaluate_robustness(args.model, args.data, args.out, json.loads(args.settings),
                        args.corruptions, args.perturbations, device=args.device,
                        threads=args.threads)


def _generate_corruption(args) -> None:
    from noisy.method.robustness import generate_corruption

    generate_corruption(args.data, args.name, args.per_class or None, args.seed, args.out)


def _generate_perturbation(args) -> None:
    from noisy.method.robustness import generate_perturbation

    generate_perturbation(args.data, args.name, args.per_class or None, args.seed, args.out)


def _corruption_grid(args) -> None:
    from noisy.method.robustness import corruption_grid_figure

    corruption_grid_figure(args.data, args.out, args.seed)


def _predict(args) -> None:
    from noisy.predict import predict_unlabeled

    predict_unlabeled(args.model, args.data, args.split, args.out, device=args.device,
                      threads=args.threads)


def _select(args) -> None:
    from noisy.method.pseudo_labels import select_stage

    select_stage(args.data, args.split, args.predictions, json.loads(args.settings), args.out,
                 args.summary)


def _balance(args) -> None:
    from noisy.method.balancing import balance_stage

    balance_stage(args.candidates, json.loads(args.settings), args.out, args.summary)


def _table(args) -> None:
    from noisy.reporting.table_csv import build

    build(args.name, json.loads(args.rows), args.out)


def _self_training_check(args) -> None:
    from noisy.reporting.self_training import build

    build(json.loads(args.rows), args.out)


def _figure1(args) -> None:
    from noisy.reporting.figures import fgsm_figure

    fgsm_figure(json.loads(args.entries), args.out, args.csv)


def _training_curves(args) -> None:
    from noisy.reporting.figures import training_curves_figure

    training_curves_figure(json.loads(args.entries), args.out)


def _class_counts(args) -> None:
    from noisy.reporting.figures import class_counts_figure

    class_counts_figure(args.tables, args.out)


def _seed_spread(args) -> None:
    from noisy.reporting.figures import seed_spread_figure
    from noisy.reporting.report import paper_table

    paper = args.paper or str(paper_table(Path(args.table).stem))
    seed_spread_figure(args.table, paper, args.out, args.labeled_ratios)


def _report(args) -> None:
    from noisy.reporting.report import write_report

    write_report(args.out, args.html, json.loads(args.settings), args.tables, args.figures,
                 json.loads(args.confusions), json.loads(args.benchmarks), args.data_summary)


def _estimate(args) -> None:
    from noisy.tools.estimate import estimate, format_plan

    table, rates = estimate(args.targets, args.config, rates_path=args.rates,
                            device=args.device, forceall=args.all, steps=args.steps)
    print(format_plan(table, rates, args.targets))


def _throughput(args) -> None:
    from noisy.files import write_text
    from noisy.tools.estimate import probe

    rates = probe(args.networks, args.device, args.batch_size, args.steps, args.jobs,
                  precision=args.precision)
    text = json.dumps(rates, indent=1)
    if args.out:
        write_text(args.out, text + "\n")
    print(text)


def _where(args) -> None:
    from noisy.workflow.config import load
    from noisy.workflow.stages import Plan

    plan = Plan(load(args.configfile, args.config))
    for row in plan.where(args.experiment):
        others = sorted(row["shared_with"])
        shared = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if others[3:] else "")
        print(f"seed {row['seed']}  {row['stage']:17s} {row['folder']}  "
              f"(shared with: {shared or '-'})")


# The inputs a stage's stage.json records beside its settings (--definition).
DEFINITION_INPUTS = {"train": ("data", "split", "trainset"),
                     "select": ("data", "split", "predictions"),
                     "balance": ("candidates",),
                     "evaluate-robustness": ("data", "model", "corruptions", "perturbations")}


def _write_definition(args) -> None:
    """The stage.json of a stage whose folder name hashes its definition: its settings and
    the files it reads."""
    from noisy.files import write_json

    inputs = {name: getattr(args, name) for name in DEFINITION_INPUTS[args.command]
              if getattr(args, name) is not None}
    write_json(args.definition, {"stage": args.command, "settings": json.loads(args.settings),
                                 "inputs": inputs})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per workflow stage."""
    parser = argparse.ArgumentParser(prog="python -m noisy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("prepare-data", _prepare_data, "turn a data source into the canonical .npz")
    sub.add_argument("--source", required=True)
    sub.add_argument("--out", required=True)
    sub.add_argument("--summary", required=True,
                     help="JSON to write: sha256, counts per class, where the data came from")
    sub.add_argument("--download-root", default="data")

    sub = command("split", _split, "write the labeled/unlabeled split")
    sub.add_argument("--data", required=True)
    sub.add_argument("--settings", required=True, help="JSON: the split's Split.settings")
    sub.add_argument("--out", required=True)
    sub.add_argument("--summary", required=True, help="JSON to write: labeled per class")

    sub = command("train", _train, "train a network on a split's labeled images (--split) "
                  "or on a student's balanced set (--trainset)")
    sub.add_argument("--data", required=True)
    trainset = sub.add_mutually_exclusive_group(required=True)
    trainset.add_argument("--split", help="split .npz: train on its labeled images")
    trainset.add_argument("--trainset", help="balanced training set .npz of a student")
    sub.add_argument("--settings", required=True,
                     help="JSON: arch, train (TrainSettings fields), monitor_test_size")
    sub.add_argument("--state", required=True, help="resumable state side file")
    sub.add_argument("--out", required=True, help="the trained model (.pt)")
    sub.add_argument("--history", required=True, help="per-epoch history (.csv)")
    sub.add_argument("--device", default="auto")
    sub.add_argument("--threads", type=int, default=None)
    sub.add_argument("--checkpoint-interval-s", type=float, default=60.0,
                     help="save the resumable state every this many seconds (0 = every step)")

    sub = command("evaluate", _evaluate, "score a model on the clean test set")
    sub.add_argument("--data", required=True)
    sub.add_argument("--model", required=True)
    sub.add_argument("--settings", required=True, help='JSON: {"test_per_class": N or null}')
    sub.add_argument("--confusion", default=None, help="confusion-matrix PNG to write")
    sub.add_argument("--device", default="auto")
    sub.add_argument("--threads", type=int, default=None)
    sub.add_argument("--out", required=True)

    sub = command("evaluate-robustness", _evaluate_robustness,
                  "clean metrics, FGSM, CIFAR-10-C and CIFAR-10-P of a model")
    sub.add_argument("--data", required=True)
    sub.add_argument("--model", required=True)
    sub.add_argument("--settings", required=True,
                     help="JSON: test_per_class, fgsm_per_class, fgsm_epsilons, "
                          "robustness_per_class, official")
    sub.add_argument("--corruptions", nargs="+", required=True, help="CIFAR-10-C .npy files")
    sub.add_argument("--perturbations", nargs="+", required=True,
                     help="CIFAR-10-P .npy files")
    sub.add_argument("--device", default="auto")
    sub.add_argument("--threads", type=int, default=None)
    sub.add_argument("--out", required=True)

    for name, handler, what in (("generate-corruption", _generate_corruption, "CIFAR-10-C"),
                                ("generate-perturbation", _generate_perturbation, "CIFAR-10-P")):
        sub = command(name, handler, f"write one {what} file for the robustness subset")
        sub.add_argument("--data", required=True)
        sub.add_argument("--name", required=True)
        sub.add_argument("--per-class", type=int, default=0, help="0 = the whole test set")
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--out", required=True, help=f"the {what} .npy file to write")

    sub = command("corruption-grid", _corruption_grid, "picture of every corruption")
    sub.add_argument("--data", required=True)
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--out", required=True)

    sub = command("predict", _predict, "teacher probabilities on the unlabeled images")
    sub.add_argument("--data", required=True)
    sub.add_argument("--split", required=True)
    sub.add_argument("--model", required=True)
    sub.add_argument("--out", required=True)
    sub.add_argument("--device", default="auto")
    sub.add_argument("--threads", type=int, default=None)

    sub = command("select", _select, "threshold the teacher's predictions into candidates")
    sub.add_argument("--data", required=True)
    sub.add_argument("--split", required=True)
    sub.add_argument("--predictions", required=True)
    sub.add_argument("--settings", required=True,
                     help="JSON: label_type, threshold (and smoothing for smooth labels)")
    sub.add_argument("--out", required=True)
    sub.add_argument("--summary", required=True,
                     help="JSON to write: candidates per class (Tables 4, 8, 9)")

    sub = command("balance", _balance, "balance the candidates' classes")
    sub.add_argument("--candidates", required=True)
    sub.add_argument("--settings", required=True, help="JSON: min_per_class, max_gap")
    sub.add_argument("--out", required=True)
    sub.add_argument("--summary", required=True,
                     help="JSON to write: counts per class before and after")

    sub = command("table", _table, "gather one of the paper's tables")
    sub.add_argument("--name", required=True, help="table1 ... table10")
    sub.add_argument("--rows", required=True, help="JSON from noisy.workflow.tables.rows")
    sub.add_argument("--out", required=True)

    sub = command("self-training-check", _self_training_check,
                  "teacher, students and their yardsticks side by side")
    sub.add_argument("--rows", required=True,
                     help="JSON from noisy.workflow.outputs.self_training_rows")
    sub.add_argument("--out", required=True)

    sub = command("figure1", _figure1, "Figure 1: FGSM accuracy vs epsilon")
    sub.add_argument("--entries", required=True, help="JSON list of {label, network, seed, path}")
    sub.add_argument("--out", required=True, help="the PNG to write")
    sub.add_argument("--csv", required=True)

    sub = command("training-curves", _training_curves, "test accuracy and loss per chain")
    sub.add_argument("--entries", required=True, help="JSON list of {label, network, seed, path}")
    sub.add_argument("--out", required=True, help="the PNG to write")

    sub = command("class-counts", _class_counts, "per-class counts handed on per stage")
    sub.add_argument("--tables", nargs="+", required=True, help="table4/8/9 CSV files")
    sub.add_argument("--out", required=True, help="the PNG to write")

    sub = command("seed-spread", _seed_spread, "a table's spread over seeds vs the paper")
    sub.add_argument("--table", required=True, help="a reproduced results/tableN.csv")
    sub.add_argument("--paper", help="the paper's CSV (default: noisy/paper_tables/)")
    sub.add_argument("--labeled-ratios", nargs="*", type=float,
                     help="Table 1's labeled ratios (config table1.labeled_ratios)")
    sub.add_argument("--out", required=True, help="the PNG to write")

    sub = command("report", _report, "the Markdown and HTML report of the results")
    sub.add_argument("--out", required=True, help="the Markdown report")
    sub.add_argument("--html", required=True, help="the self-contained HTML report")
    sub.add_argument("--settings", default="{}",
                     help="JSON: scale, preset, seeds, data_source, device, robustness_source, "
                          "labeled_ratios")
    sub.add_argument("--tables", nargs="*", default=[], help="reproduced table CSVs")
    sub.add_argument("--figures", nargs="*", default=[], help="figure PNGs")
    sub.add_argument("--confusions", default="[]",
                     help="JSON list of {path, model, trained_on}: confusion-matrix PNGs of "
                          "the final models")
    sub.add_argument("--benchmarks", default="[]",
                     help="JSON list of {path, role}: Snakemake benchmark files of the "
                          "trainings behind the tables")
    sub.add_argument("--data-summary", default=None, help="the data set's summary JSON")

    sub = command("estimate", _estimate, "images and device hours of a plan, per rule")
    sub.add_argument("targets", nargs="+", help="Snakemake targets, e.g. results/report.md")
    sub.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                     help="as Snakemake's --config, e.g. scale=paper")
    sub.add_argument("--rates", default=None,
                     help="JSON from `python -m noisy throughput` (default: probe here)")
    sub.add_argument("--device", default=None, help="device to probe (default: config's)")
    sub.add_argument("--steps", type=int, default=5, help="timed training steps per network")
    sub.add_argument("--all", action="store_true", help="count every job, not only those "
                     "that need to run")

    sub = command("where", _where, "the folders of an experiment's chain")
    sub.add_argument("experiment", help="a name under `experiments` in config.yaml")
    sub.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                     help="as Snakemake's --config, e.g. scale=paper")
    sub.add_argument("--configfile", default="config.yaml")

    sub = command("throughput", _throughput, "training and inference images/s per network")
    sub.add_argument("--networks", nargs="+", default=["resnet20", "resnet26", "resnet32",
                                                       "resnet38"])
    sub.add_argument("--device", default="auto")
    sub.add_argument("--batch-size", type=int, default=512)
    sub.add_argument("--steps", type=int, default=20, help="timed training steps per job")
    sub.add_argument("--jobs", type=int, default=1, help="processes sharing the device")
    sub.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                     help="of the training step (auto: as config `precision: auto`)")
    sub.add_argument("--out", default=None, help="JSON file to write the rates to")
    for name in DEFINITION_INPUTS:
        commands.choices[name].add_argument(
            "--definition", help="stage.json to write: the settings and inputs of the stage")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one stage; errors are printed as one clear line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "definition", None):
            _write_definition(args)
        args.handler(args)
    except (ValueError, RuntimeError, FileNotFoundError, KeyError) as error:
        logging.getLogger("noisy").error("%s: %s", type(error).__name__, error)
        return 1
    return 0

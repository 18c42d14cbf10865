"""The jobs: one module per Snakemake rule, named like the rule (``rule train`` runs
:mod:`noisy.jobs.train`), each started as ``python -m noisy <command>`` (:mod:`noisy.cli`).

Every job keeps one contract. Its module declares its arguments (``add_arguments``) and
runs (``run``): it reads the files its rule declares as inputs and writes the rule's
outputs, each passed by a flag, the same flag for the same role in every job:

* ``--data``: the canonical data set (``cifar10.npz``); ``--split``: a split;
  ``--model``: a trained model, always an input;
* ``--out``: the main output; ``--summary``: the JSON summary beside it;
* ``--settings``: the stage's settings as JSON, as the plan hands them on (a per-class size
  of ``null`` means all images); ``--definition``: the folder's ``stage.json``;
* ``--device`` and ``--threads``: where a job with a network runs (never part of a result).

The computing is the library's (:mod:`noisy.method`, :mod:`noisy.reporting`): a job only
connects its files to it. The helpers below declare the flags every job spells the same.
"""

from __future__ import annotations

import argparse
import json

from noisy.files import write_json


def add_data(parser: argparse.ArgumentParser) -> None:
    """``--data``: the canonical data set."""
    parser.add_argument("--data", required=True, help="the canonical data set (.npz)")


def add_settings(parser: argparse.ArgumentParser, fields: str,
                 definition: bool = False) -> None:
    """``--settings``: the stage's settings as JSON (``fields`` says which); with
    ``definition``, also ``--definition``: the stage.json of a folder whose name hashes the
    stage's definition (see :func:`write_definition`)."""
    parser.add_argument("--settings", type=json.loads, required=True,
                        help=f"JSON from the plan: {fields}")
    if definition:
        parser.add_argument("--definition",
                            help="stage.json to write: the settings and inputs of the stage")


def add_out(parser: argparse.ArgumentParser, what: str, summary: str | None = None) -> None:
    """``--out``: the main output, ``what`` it is; with ``summary``, also ``--summary``: the
    JSON summary beside it, saying what it holds."""
    parser.add_argument("--out", required=True, help=f"{what} to write")
    if summary:
        parser.add_argument("--summary", required=True, help=f"JSON to write: {summary}")


def add_listing(parser: argparse.ArgumentParser, flag: str, what: str) -> None:
    """A JSON listing from the plan (``--rows``, ``--entries``): ``what`` it lists, each
    item naming result files the job reads (every one a declared input of its rule)."""
    parser.add_argument(flag, type=json.loads, required=True, help=f"JSON from the plan: {what}")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads`` of a job that runs a network."""
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of torch (default: torch's)")


def add_generated_set(parser: argparse.ArgumentParser, what: str, example: str) -> None:
    """The flags of a CIFAR-10-C or -P generator: ``what`` it writes, an ``example`` name."""
    add_data(parser)
    parser.add_argument("--name", required=True, help=f"which one, e.g. {example}")
    add_settings(parser, "per_class (test images per class; null: all), seed")
    add_out(parser, f"the {what} file (.npy)")


def write_definition(args: argparse.Namespace, ran_on: dict | None = None,
                     **inputs: str | list[str] | None) -> None:
    """Write the stage.json (``--definition``, when given): the command, its settings and
    the files it reads (``inputs`` that are None are left out). A training adds what it
    runs on (``ran_on``, :func:`noisy.method.device.describe`), which the report reads for
    its compute accounting; it is a record of the job's last start, never part of the
    definition (the folder's name does not hold it)."""
    if args.definition:
        definition = {"stage": args.command, "settings": args.settings,
                      "inputs": {name: path for name, path in inputs.items() if path is not None}}
        write_json(args.definition, definition if ran_on is None
                   else {**definition, "ran_on": ran_on})

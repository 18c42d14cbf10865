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


def add_settings(parser: argparse.ArgumentParser, fields: str) -> None:
    """``--settings``: the stage's settings as JSON (``fields`` says which)."""
    parser.add_argument("--settings", type=json.loads, required=True,
                        help=f"JSON from the plan: {fields}")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--threads`` of a job that runs a network."""
    parser.add_argument("--device", default="auto",
                        help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of torch (default: torch's)")


def add_definition(parser: argparse.ArgumentParser) -> None:
    """``--definition``: the stage.json of a folder whose name hashes its definition."""
    parser.add_argument("--definition",
                        help="stage.json to write: the settings and inputs of the stage")


def write_definition(args: argparse.Namespace, **inputs: str | list[str] | None) -> None:
    """Write the stage.json (``--definition``, when given): the command, its settings and
    the files it reads (``inputs`` that are None are left out)."""
    if args.definition:
        write_json(args.definition, {
            "stage": args.command, "settings": args.settings,
            "inputs": {name: path for name, path in inputs.items() if path is not None}})

"""Command line of the workflow: ``python -m noisy <command> ...``.

Every Snakemake rule runs one job, a module of :mod:`noisy.jobs` named like the rule; the
tools of :mod:`noisy.tools` are run by hand. Each module declares its arguments
(``add_arguments``) and runs (``run``); this module only assembles them into sub-commands,
importing the module of the command asked for and no other (the developers' tools of the
repository's ``devtools/`` are assembled the same way, ``python -m devtools``). A
:class:`noisy.errors.UserError` (a problem the user can fix) ends as one logged line and
exit status 1; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Sub-command → the module that runs it: the jobs in the order of the graph, then the tools.
COMMANDS = {
    "prepare-data": "noisy.jobs.prepare_data",
    "split": "noisy.jobs.split",
    "train": "noisy.jobs.train",
    "predict": "noisy.jobs.predict",
    "select": "noisy.jobs.select_pseudo_labels",
    "balance": "noisy.jobs.balance_classes",
    "evaluate": "noisy.jobs.evaluate",
    "evaluate-robustness": "noisy.jobs.evaluate_robustness",
    "generate-corruption": "noisy.jobs.generate_corruption",
    "generate-perturbation": "noisy.jobs.generate_perturbation",
    "corruption-grid": "noisy.jobs.corruption_grid",
    "table": "noisy.jobs.table",
    "self-training-check": "noisy.jobs.self_training_check",
    "teacher-check": "noisy.jobs.teacher_check",
    "figure1": "noisy.jobs.figure1",
    "training-curves": "noisy.jobs.training_curves",
    "class-counts": "noisy.jobs.class_counts",
    "seed-spread": "noisy.jobs.seed_spread",
    "report": "noisy.jobs.report",
    "where": "noisy.tools.where",
    "estimate": "noisy.tools.estimate",
    "throughput": "noisy.tools.throughput",
}


def build_parser(commands: list[str] | None = None, registry: dict[str, str] = COMMANDS,
                 prog: str = "python -m noisy", description: str = __doc__
                 ) -> argparse.ArgumentParser:
    """The argument parser with a sub-command for each of ``commands`` (default: all) of
    ``registry`` (sub-command → module)."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in commands or registry:
        module = importlib.import_module(registry[name])
        sub = subparsers.add_parser(name, help=module.__doc__.splitlines()[0],
                                    description=module.__doc__,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None, registry: dict[str, str] = COMMANDS,
         prog: str = "python -m noisy", description: str = __doc__) -> int:
    """Run one command of ``registry``; a user error is printed as one line and exit
    status 1."""
    from noisy.errors import UserError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else argv
    asked = [argv[0]] if argv and argv[0] in registry else None  # else help or a usage error
    args = build_parser(asked, registry, prog, description).parse_args(argv)
    try:
        args.run(args)
    except UserError as error:
        logging.getLogger("noisy").error("%s: %s", type(error).__name__, error)
        return 1
    return 0

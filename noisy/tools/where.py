"""tool where: the folders of an experiment's chain, and which experiments share each."""

from __future__ import annotations

from noisy.workflow.config import load
from noisy.workflow.stages import Plan


def add_arguments(parser) -> None:
    parser.add_argument("experiment", help="a name under `experiments` in config.yaml")
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE",
                        help="as Snakemake's --config, e.g. scale=paper")
    parser.add_argument("--configfile", default="config.yaml")


def run(args) -> None:
    plan = Plan(load(args.configfile, args.config))
    for row in plan.where(args.experiment):
        others = sorted(row["shared_with"])
        shared = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if others[3:] else "")
        print(f"seed {row['seed']}  {row['stage']:17s} {row['folder']}  "
              f"(shared with: {shared or '-'})")

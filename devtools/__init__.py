"""The developers' tools, run from the repository's root as ``python -m devtools <tool>``;
not part of the installed package, and no rule or user of the workflow needs them.

* :mod:`~devtools.benchmark`: the paper's input pipeline and training step against ours;
* :mod:`~devtools.gpu_bundle`: what travels beside the repository to a lent GPU machine;
* :mod:`~devtools.gpu_check`: the prepared check run there, in one command;
* :mod:`~devtools.gpu_rehearsal`: that check rehearsed here, as bare as the GPU machine.

Each tool declares its arguments (``add_arguments``) and runs (``run``), as the jobs do;
they use the package (:mod:`noisy`), which never imports them. The bundle and the
rehearsal share :mod:`~devtools.travelling`: the repository's files that travel, listed
with or without git.
"""

from __future__ import annotations

from noisy import cli

# Tool → the module that runs it.
TOOLS = {
    "benchmark": "devtools.benchmark",
    "gpu-bundle": "devtools.gpu_bundle",
    "gpu-check": "devtools.gpu_check",
    "gpu-rehearsal": "devtools.gpu_rehearsal",
}


def main(argv: list[str] | None = None) -> int:
    """Run one tool, as :func:`noisy.cli.main` runs a job."""
    return cli.main(argv, TOOLS, "python -m devtools", __doc__)

"""Snakemake's own job list for some targets, read from its dry run (``snakemake -n -p``).

Only Snakemake's public behaviour is used: its command line, and what a dry run with
``--printshellcmds`` prints for every job (pinned in pyproject.toml, ``snakemake>=9.27,<10``;
``tests/test_dry_run.py`` fails if the format changes)::

    rule train:
        input: results/data/cifar10.npz, results/splits/.../split.npz
        output: results/models/.../model.pt, ...
        log: results/models/.../train.log
        benchmark: results/models/.../benchmark.tsv
        wildcards: model=results/models/...
        ...
    Shell command: python -m noisy train --data ... --settings '{...}' ... > ... 2>&1

Snakemake prints the jobs in no particular order; :func:`in_order` puts every job after
the jobs that make its inputs. The estimate (:mod:`noisy.tools.estimate`) counts the
images of these jobs, and the GPU bundle (``devtools/gpu_bundle.py``) carries their
commands to a machine without Snakemake.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from noisy.errors import UserError

WORKFLOW_ROOT = Path(__file__).resolve().parents[2]
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_FIELD = re.compile(r"^ {4}(\w+): (.*)$")
_COMMAND = "Shell command: "


@dataclass(frozen=True)
class PlannedJob:
    """One job of a dry run: its rule, files and wildcards, and the shell command it runs."""

    rule: str
    command: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    benchmark: str | None = None
    wildcards: dict[str, str] = field(default_factory=dict)

    def option(self, flag: str) -> str | None:
        """The value of ``flag`` (e.g. ``--settings``) on the job's command line, unquoted."""
        words = shlex.split(self.command)
        return words[words.index(flag) + 1] if flag in words else None


def snakemake_arguments(targets: list[str], config_args: list[str], workdir: str | Path,
                        profile: str | None = None, forceall: bool = False,
                        root: Path = WORKFLOW_ROOT,
                        configfile: str | Path | None = None) -> list[str]:
    """Snakemake's command line (after ``snakemake``) for a dry run of ``targets`` in
    ``workdir`` with the Snakefile and config.yaml (or ``configfile``) of the checkout at
    ``root`` (this one), and a profile's workflow config after it when a ``profile`` (a
    folder of profiles/) is named."""
    configfiles = [Path(configfile or root / "config.yaml")]
    arguments = ["-n", "-p", "--nocolor", "-s", str(root / "Snakefile"), "-d", str(workdir)]
    if profile:
        arguments += ["--profile", str(root / "profiles" / profile)]
        configfiles.append(root / "profiles" / profile / "workflow-config.yaml")
    arguments += ["--configfile", *map(str, configfiles)]
    if forceall:
        arguments.append("--forceall")
    if config_args:
        arguments += ["--config", *config_args]
    return [*arguments, "--", *targets]


def dry_run(targets: list[str], config_args: list[str], workdir: str | Path = ".",
            profile: str | None = None, forceall: bool = False,
            configfile: str | Path | None = None) -> list[PlannedJob]:
    """The jobs Snakemake would run for ``targets`` (all of them with ``forceall``), in an
    order it could run them; Snakemake is run by this interpreter (``-m snakemake``)."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "snakemake",
               *snakemake_arguments(targets, config_args, workdir, profile, forceall,
                                    configfile=configfile)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    text = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise UserError(f"snakemake's dry run of {' '.join(targets)} failed:\n{tail}")
    jobs = parse(text)
    if not jobs and "Nothing to be done" not in text:
        raise UserError("snakemake's dry run listed no job and did not say that nothing is "
                        "to be done: has its printed format changed? (pinned: "
                        "snakemake>=9.27,<10)")
    return in_order(jobs)


def parse(text: str) -> list[PlannedJob]:
    """The jobs of a dry run's printed text, in the printed order."""
    jobs, current = [], None
    for line in text.splitlines():
        if match := _RULE.match(line):
            current = {"rule": match.group(1)}
        elif current is not None and (match := _FIELD.match(line)):
            current[match.group(1)] = match.group(2)
        elif current is not None and line.startswith(_COMMAND):
            jobs.append(_job(current, line[len(_COMMAND):]))
            current = None
    return jobs


def _job(fields: dict[str, str], command: str) -> PlannedJob:
    def files(key: str) -> tuple[str, ...]:
        return tuple(fields[key].split(", ")) if fields.get(key) else ()

    wildcards = dict(item.split("=", 1) for item in files("wildcards"))
    return PlannedJob(fields["rule"], command, files("input"), files("output"), files("log"),
                      fields.get("benchmark"), wildcards)


def in_order(jobs: list[PlannedJob]) -> list[PlannedJob]:
    """``jobs`` ordered so that each comes after the jobs making its inputs (otherwise in
    the given order)."""
    maker = {path: index for index, job in enumerate(jobs) for path in job.outputs}
    ordered, placed = [], set()

    def place(index: int) -> None:
        if index in placed:
            return
        placed.add(index)
        for path in jobs[index].inputs:
            if path in maker:
                place(maker[path])
        ordered.append(jobs[index])

    for index in range(len(jobs)):
        place(index)
    return ordered

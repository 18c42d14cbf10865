"""tool gpu-bundle: what travels beside the repository to a bare GPU machine, for
``python -m devtools gpu-check``.

The GPU machine lent to this project has Python with PyTorch, torchvision, numpy, pandas,
matplotlib, PyYAML, Pillow, SciPy and Jinja2 (:data:`IMAGE_PACKAGES`), no Snakemake and no
network; only the repository travels, with the ignored folders named. Every job is a
``python -m noisy`` command, so Snakemake need not travel: it plans here, and its jobs'
commands travel. This command writes one folder (``gpu/``, ignored by git):

* ``cifar10-jpeg.tar.gz``: the data set, a copy of ``--data``; the jobs read it as
  ``gpu/cifar10-jpeg.tar.gz`` (their ``data_source``), relative to the folder holding the
  bundle, where they run (the repository's root);
* ``jobs.json``: per scale (``paper``, and ``ci`` for ``gpu-check --quick``), the jobs of
  the paper anchor ``results/teacher_check.csv`` from Snakemake's own dry run (``snakemake
  --profile profiles/gpu --config scale=... data_source=gpu/cifar10-jpeg.tar.gz --forceall
  -n -p``, see :mod:`noisy.tools.dry_run`), in an order they can run: each command exactly
  as Snakemake would run it (this checkout's path written as ``@ROOT@``), its outputs, log
  and benchmark file, and the images it trains and scores (as the estimate counts them),
  so its results land in the folders Snakemake would use and a Snakemake run later finds
  them done;
* ``paper_loads.json``: the images every job of the whole paper (``results/report.md`` at
  ``scale=paper``) trains, scores and attacks, for the estimate from the measured rates;
* ``wheels/``: wheels, for the image's Python on manylinux x86-64, of what the check needs
  and the image lacks (:data:`EXTRA_REQUIREMENTS`: nothing today, which ``make
  gpu-rehearsal`` proves by running the check with the image's packages alone);
* ``bundle.json``: for which device and Python it was made, from which commit, and sizes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from devtools.travelling import travelling_files
from noisy.errors import UserError
from noisy.files import write_json
from noisy.tools.dry_run import WORKFLOW_ROOT, PlannedJob, dry_run, snakemake_arguments
from noisy.tools.estimate import job_load, job_loads
from noisy.workflow.config import load as load_config
from noisy.workflow.stages import Plan

# What the GPU image has (and whatever these require), by distribution name.
IMAGE_PACKAGES = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "PyYAML",
                  "pillow", "scipy", "jinja2")
# What the check and its jobs need beyond the image, as pip requirements: none today.
EXTRA_REQUIREMENTS: tuple[str, ...] = ()
ANCHOR = "results/teacher_check.csv"
SCALES = ("paper", "ci")  # the anchor at the paper's settings, and for gpu-check --quick
PROFILES = {"cuda": "gpu", "cpu": "cpu"}  # device → the profile a run there would use
ROOT_TOKEN = "@ROOT@"
ARCHIVE = "cifar10-jpeg.tar.gz"
TRAVEL_LIMIT_MIB = 64


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="gpu", help="the bundle's folder (default: gpu)")
    parser.add_argument("--data", required=True, help="the CIFAR-10 JPEG archive to carry")
    parser.add_argument("--device", default="cuda", choices=list(PROFILES),
                        help="where the check will run its jobs (default: cuda)")
    parser.add_argument("--python-version", default="3.12",
                        help="the image's Python, for the wheels (default: 3.12)")


def run(args) -> None:
    bundle = build(Path(args.out), Path(args.data), args.device, args.python_version)
    print(size_report(bundle))


def build(out: Path, data: Path, device: str, python_version: str) -> Path:
    """Write the bundle into ``out`` (see the module docstring); returns its folder."""
    if not data.is_file():
        raise UserError(f"--data {data}: no such file (the CIFAR-10 JPEG archive)")
    out.mkdir(parents=True, exist_ok=True)
    if data.resolve() != (out / ARCHIVE).resolve():
        shutil.copyfile(data, out / ARCHIVE)
    with tempfile.TemporaryDirectory() as workdir:
        os.symlink(out.resolve(), Path(workdir) / out.name)  # data_source as the jobs see it
        scales = {scale: anchor_jobs(scale, device, out.name, workdir) for scale in SCALES}
        loads = job_loads(["results/report.md"], ["scale=paper", f"device={device}"],
                          workdir, forceall=True)
    write_json(out / "jobs.json", {"device": device, "root": ROOT_TOKEN, "scales": scales})
    write_json(out / "paper_loads.json", [asdict(load) for load in loads])
    wheels = download_wheels(out / "wheels", python_version)
    write_json(out / "bundle.json", {
        "device": device, "python_version": python_version, "commit": _commit(),
        "image_packages": list(IMAGE_PACKAGES), "wheels": wheels,
        "files": {path.name: path.stat().st_size for path in sorted(out.iterdir())
                  if path.is_file()}})
    return out


def anchor_config(scale: str, bundle_name: str = "gpu") -> list[str]:
    """The ``--config`` of the anchor's run at ``scale``, reading the bundled archive."""
    return [f"scale={scale}", f"data_source={bundle_name}/{ARCHIVE}"]


def anchor_jobs(scale: str, device: str, bundle_name: str, workdir: str) -> dict:
    """The anchor's jobs at ``scale`` as a run on ``device`` would start them, with the
    images each computes, and the Snakemake command line they come from."""
    config = anchor_config(scale, bundle_name)
    profile = PROFILES[device]
    jobs = dry_run([ANCHOR], config, workdir, profile=profile, forceall=True)
    plan = Plan(load_config(WORKFLOW_ROOT / "config.yaml", [f"device={device}", *config]))
    arguments = snakemake_arguments([ANCHOR], config, ".", profile, forceall=True)
    return {"snakemake": "snakemake " + " ".join(arguments).replace(str(WORKFLOW_ROOT) + "/", ""),
            "jobs": [_job_entry(job, plan) for job in jobs]}


def _job_entry(job: PlannedJob, plan: Plan) -> dict:
    def rooted(text: str) -> str:
        return text.replace(str(WORKFLOW_ROOT), ROOT_TOKEN)

    load = job_load(job.rule, job.wildcards, plan)
    return {"rule": job.rule, "command": rooted(job.command),
            "outputs": [rooted(path) for path in job.outputs],
            "log": [rooted(path) for path in job.log], "benchmark": job.benchmark,
            "network": load.network, "train_images": load.train_images,
            "scored_images": load.scored_images, "attacked_images": load.attacked_images}


def download_wheels(folder: Path, python_version: str) -> list[str]:
    """Wheels of :data:`EXTRA_REQUIREMENTS` (and what they require) for CPython
    ``python_version`` on manylinux x86-64, into ``folder``; their file names."""
    folder.mkdir(parents=True, exist_ok=True)
    if EXTRA_REQUIREMENTS:
        abi = "cp" + python_version.replace(".", "")
        platforms = [arg for tag in ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
                     for arg in ("--platform", tag)]
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                        "--only-binary=:all:", "--python-version", python_version,
                        "--implementation", "cp", "--abi", abi, *platforms,
                        "-d", str(folder), *EXTRA_REQUIREMENTS], check=True)
    return sorted(path.name for path in folder.glob("*.whl"))


def _commit() -> str | None:
    """The checkout's commit; None without git or outside a git checkout."""
    try:
        done = subprocess.run(["git", "-C", str(WORKFLOW_ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def size_report(bundle: Path) -> str:
    """The bundle's size per file, and with the repository's files that travel too."""
    sizes = {path.relative_to(bundle).as_posix(): path.stat().st_size
             for path in sorted(bundle.rglob("*")) if path.is_file()}
    total = sum(sizes.values())
    lines = [f"bundle {bundle}: {_mib(total)}"]
    lines += [f"  {name:28s} {_mib(size):>10s}" for name, size in sizes.items()]
    repository = _repository_size()
    lines.append(f"with the repository's other files ({_mib(repository)}): "
                 f"{_mib(total + repository)} of the {TRAVEL_LIMIT_MIB} MiB that travel")
    return "\n".join(lines)


def _repository_size() -> int:
    """Bytes of the files that travel besides the bundle
    (:func:`devtools.travelling.travelling_files`)."""
    paths = (WORKFLOW_ROOT / name for name in travelling_files(WORKFLOW_ROOT))
    return sum(path.stat().st_size for path in paths if path.is_file())

"""tool gpu-rehearsal: the GPU check rehearsed here, as bare as the GPU machine is.

What the GPU run would find missing must fail here (``make gpu-rehearsal``, in CI):

1. the repository's files that travel (tracked, and untracked files git does not ignore;
   in a copy without git, the files its ``.gitignore`` does not ignore:
   :mod:`devtools.travelling`) are copied into a fresh folder, so neither ``.venv`` nor
   ``../shared`` is beside it;
2. the bundle is made into that copy (``gpu/``: :mod:`devtools.gpu_bundle`) for this
   interpreter's Python and the CPU (``profiles/cpu``);
3. a fresh virtual environment gets the GPU image's distributions and nothing else: a
   ``.pth`` file puts on its path a folder of links to exactly the distributions of
   :data:`~devtools.gpu_bundle.IMAGE_PACKAGES` and what they require, as installed for
   this interpreter (no copy, no download: seconds, not minutes and gigabytes);
4. ``python -m devtools gpu-check --device cpu --quick`` runs in the copy, with that
   environment's Python, an empty environment (no PYTHONPATH, no pip configuration) and,
   where ``unshare -n`` works, no network; it installs the bundle's wheels, if any, with
   ``pip install --no-index``;
5. its output must hold every step's result, with every anchor job done, and Snakemake,
   run here in the copy afterwards, must find nothing to do.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path, PurePosixPath

from devtools.gpu_bundle import ANCHOR, IMAGE_PACKAGES, anchor_config, build, size_report
from devtools.gpu_check import OUTPUT_FILES
from devtools.travelling import travelling_files
from noisy.errors import UserError
from noisy.tools.dry_run import WORKFLOW_ROOT, snakemake_arguments

CHECK_LIMIT_S = 600  # the check's own budget is 540 s


def add_arguments(parser) -> None:
    parser.add_argument("--data", default=None,
                        help="the CIFAR-10 JPEG archive (default: a small synthetic one in the "
                        "CIFAR-10 layout, where a clone has no copy of the data)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter of the fresh environment (default: this one)")
    parser.add_argument("--work", default=None, help="folder to rehearse in (default: a new "
                        "one under /tmp, removed when the rehearsal passes)")


def run(args) -> None:
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu-rehearsal-"))
    start = time.monotonic()
    if args.data is None:
        data = synthetic_archive(work / "synthetic-cifar10.tar.gz")
        print(f"no --data: rehearsing on {data}, random images in the CIFAR-10 layout")
    else:
        data = Path(args.data).resolve()
    rehearse(work, data, args.python)
    print(f"gpu-rehearsal passed in {time.monotonic() - start:.0f} s")
    if args.work is None:
        shutil.rmtree(work)


def rehearse(work: Path, data: Path, python: str) -> None:
    repo, env, out = work / "repo", work / "env", work / "out"
    timed("copy the repository's files", lambda: copy_travelling_files(repo))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    timed("bundle", lambda: print(size_report(build(repo / "gpu", data, "cpu", version))))
    timed("environment", lambda: image_environment(env, work / "image-site", python))
    timed("gpu-check", lambda: run_check(repo, env, out))
    verify_output(out)
    timed("snakemake -n in the copy", lambda: snakemake_finds_it_done(repo))


# The CIFAR-10 class names; the synthetic archive has 20 train and 20 test images per
# class, what the ci scale uses (train_per_class, test_per_class).
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")


def synthetic_archive(path: Path, per_class: int = 20) -> Path:
    """A tar.gz of random 32x32 JPEG images laid out as the CIFAR-10 copy is
    (``cifar10-jpeg/{train,test}/<class>/NNNN.jpg``), for a rehearsal without the data."""
    import io
    import tarfile

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for split in ("train", "test"):
            for label, name in enumerate(CLASSES):
                for index in range(per_class):
                    # a class-dependent mean colour, so the classes can be told apart
                    pixels = rng.normal(25 * label + 8, 40, (32, 32, 3)).clip(0, 255)
                    buffer = io.BytesIO()
                    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="JPEG")
                    member = tarfile.TarInfo(f"cifar10-jpeg/{split}/{name}/{index:04d}.jpg")
                    member.size = buffer.tell()
                    buffer.seek(0)
                    archive.addfile(member, buffer)
    return path


def timed(what: str, call) -> None:
    start = time.monotonic()
    print(f"== {what}", flush=True)
    call()
    print(f"== {what}: {time.monotonic() - start:.0f} s", flush=True)


def copy_travelling_files(repo: Path) -> None:
    """The files that travel to the device (:func:`devtools.travelling.travelling_files`)."""
    for name in travelling_files(WORKFLOW_ROOT):
        source = WORKFLOW_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)


def image_distributions(names: tuple[str, ...] = IMAGE_PACKAGES) -> list[metadata.Distribution]:
    """The installed distributions ``names`` and everything they require (extras aside)."""
    from packaging.requirements import Requirement

    found, seen, todo = [], set(), list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            print(f"   not installed here, left out: {name}")
            continue
        found.append(distribution)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def image_environment(env: Path, site: Path, python: str) -> None:
    """A fresh virtual environment whose only packages (besides pip) are links to the GPU
    image's distributions, in ``site``."""
    subprocess.run([python, "-m", "venv", str(env)], check=True)
    site.mkdir(parents=True)
    names = []
    for distribution in image_distributions():
        names.append(distribution.metadata["Name"])
        for top in {PurePosixPath(path).parts[0] for path in distribution.files or []}:
            if top in ("..", "__pycache__") or (site / top).exists():
                continue
            (site / top).symlink_to(Path(distribution.locate_file(top)))
    env_site = next(env.glob("lib/python*/site-packages"))
    (env_site / "gpu-image.pth").write_text(f"{site}\n")
    print(f"   {len(names)} distributions: {', '.join(sorted(names, key=str.lower))}")


def run_check(repo: Path, env: Path, out: Path) -> None:
    """The check as on the device: in the copy, an empty environment, no network."""
    command = [str(env / "bin" / "python"), "-m", "devtools", "gpu-check", "--bundle", "gpu",
               "--out", str(out), "--device", "cpu", "--quick"]
    clean = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={out.parent}",
             "PIP_CONFIG_FILE=/dev/null"]
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        clean = ["unshare", "-n", *clean]
        print("   no network (unshare -n)")
    else:
        print("   note: unshare -n does not work here; the check runs with the network")
    done = subprocess.run([*clean, *command], cwd=repo, timeout=CHECK_LIMIT_S)
    if done.returncode != 0:
        raise UserError(f"the rehearsed gpu-check failed (exit {done.returncode}); its log: "
                        f"{out / 'log.txt'}")


def verify_output(out: Path) -> None:
    """Every step's file, at most 8 files, every anchor job done."""
    files = sorted(path.name for path in out.iterdir())
    missing = [name for name in OUTPUT_FILES if name not in files]
    if missing or len(files) > 8:
        raise UserError(f"gpu-check wrote {files}; missing {missing} (at most 8 files)")
    jobs = json.loads((out / "c_jobs.json").read_text())
    unfinished = [job for job in jobs if job["status"] != "done"]
    if unfinished:
        raise UserError(f"anchor jobs did not finish: {unfinished}")
    print(f"   {len(files)} files: {', '.join(files)}; {len(jobs)} anchor jobs done")


def snakemake_finds_it_done(repo: Path) -> None:
    """Snakemake, with the bundle's configuration, has nothing to do in the copy."""
    arguments = snakemake_arguments([ANCHOR], anchor_config("ci"), repo, profile="cpu",
                                    root=repo)
    done = subprocess.run([sys.executable, "-m", "snakemake", *arguments], cwd=repo,
                          capture_output=True, text=True)
    if done.returncode != 0 or "Nothing to be done" not in done.stdout + done.stderr:
        raise UserError("after the check, snakemake -n in the copy would still run jobs:\n"
                        + (done.stdout + done.stderr)[-3000:])
    print("   nothing to be done")

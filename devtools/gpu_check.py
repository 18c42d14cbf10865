"""tool gpu-check: the prepared check of a lent GPU, one command of at most ~9 minutes.

Runs beside the bundle (``python -m devtools gpu-bundle``, ``make gpu-bundle``) with only what
the GPU image has: no Snakemake, no network. Its steps, by value, each in processes of its
own with a time box, each writing its result under ``--out`` as soon as it ends, so that a
kill loses only the step in flight:

a. ``a_device.json``: versions, the device, and one training step and one inference batch
   (ResNet-20, RandAugment(2, 27), batch 512) run, after a warm-up, under
   :func:`noisy.method.device.no_host_sync` (on CUDA ``torch.cuda.set_sync_debug_mode
   ("error")``): where the hot path makes the host wait, it names the line;
b. ``b_throughput.json``: training and inference images/s of ResNet-20/26/32/38 with 1, 2
   and 4 jobs sharing the device (``python -m noisy throughput``, timed after
   ``torch.cuda.synchronize``);
d. ``d_estimate.txt``: the whole paper's device hours per rule from (b)'s rates with 1 and
   with 4 jobs at once and the bundled image counts; it takes a second, so it runs before
   (c), whose kill must not lose it;
c. the paper anchor: the bundled jobs of ``results/teacher_check.csv`` at the paper's
   settings (the ``ci`` scale with ``--quick``) one after the other in the folder holding
   the bundle, as Snakemake would run them (it writes each training's ``benchmark.tsv``
   too), each job killed with its process group when the time is up; skipped, with the
   reason, where (b)'s rates say it cannot finish in the time left. ``c_jobs.json``: each
   job's status, seconds and predicted seconds; ``c_teacher_check.csv``: top-1 on the
   10,000 test images against Table 1 and the counts at 0.8 against Table 4;
   ``c_results.tar.gz``: ``results/`` without the data set.

``log.txt`` holds the whole story, with the tail of a failed job's log. Wheels in the
bundle (none today) are installed first, into the bundle (``pip install --no-index``). The
exit status is 0 when every step ended or was skipped for time, 1 when one failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tarfile
import time
import traceback
from pathlib import Path

from noisy.errors import UserError
from noisy.files import write_json, write_text

ROOT = Path(__file__).resolve().parents[1]  # the repository's root
# What the check writes under --out (at most 8 files may come back from the device).
OUTPUT_FILES = ("log.txt", "a_device.json", "b_throughput.json", "d_estimate.txt",
                "c_jobs.json", "c_teacher_check.csv", "c_results.tar.gz")
ROOT_TOKEN = "@ROOT@"
NETWORKS = ("resnet20", "resnet26", "resnet32", "resnet38")
JOB_COUNTS = (1, 2, 4)
# Time boxes (s) of steps a and b; d is arithmetic, c has what is left. A job's own
# start-up (interpreter, data; torch and CUDA for a network) is added to its predicted
# compute time (on the 2-core CPU: prepare_data 8 s, a network job 3-5 s).
BOXES = {"a": 120, "b": 240}
STARTUP_S = {"job": 10, "network job": 15}
KILL_GRACE_S = 15  # a training saves its state on SIGTERM before it exits
RESULTS_LIMIT = 15 * 2**20  # c_results.tar.gz stays under the 16 MiB a file may have
# Probe sizes: (training batch, timed steps) and the inference batch of step a.
PROBE = {False: {"batch": 512, "steps": 30, "infer": 1000},
         True: {"batch": 16, "steps": 1, "infer": 64}}


def add_arguments(parser) -> None:
    parser.add_argument("--bundle", default="gpu", help="the bundle's folder (default: gpu)")
    parser.add_argument("--out", required=True, help="folder for the results (e.g. $OUT)")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true",
                        help="tiny probes and the anchor at the ci scale (a CPU rehearsal)")
    parser.add_argument("--time-budget-s", type=float, default=540,
                        help="the whole check's time (default 540)")
    parser.add_argument("--step", choices=["device"], help=argparse.SUPPRESS)


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.step == "device":  # step (a), in a process of its own
        write_json(out / "a_device.json", device_report(args.device, args.quick))
        return
    check = Check(Path(args.bundle), out, args.device, args.quick, args.time_budget_s)
    if not check.run_all():
        raise UserError(f"a step of the GPU check failed: see {out / 'log.txt'}")


class Check:
    """The steps of the check against one deadline, logging to ``out/log.txt``."""

    def __init__(self, bundle: Path, out: Path, device: str, quick: bool, budget_s: float):
        self.bundle, self.out, self.device, self.quick = bundle.resolve(), out, device, quick
        self.start = time.monotonic()
        self.deadline = self.start + budget_s
        self.failed: list[str] = []
        out.mkdir(parents=True, exist_ok=True)
        self.log_path = out / "log.txt"
        self.log_path.write_text("")
        self.scratch = self.bundle / "scratch"  # step output that is not a result
        self.scratch.mkdir(exist_ok=True)
        self.jobs = read_bundle(self.bundle, device, quick)
        self.env = job_environment(self.bundle)

    def log(self, text: str) -> None:
        line = f"[{time.monotonic() - self.start:6.1f} s] {text}"
        print(line, flush=True)
        with open(self.log_path, "a") as handle:
            handle.write(line + "\n")

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def box(self, step: str) -> float:
        return max(1.0, min(BOXES[step], self.left()))

    def run_all(self) -> bool:
        self.log(f"gpu-check: device {self.device}, bundle {self.bundle}, "
                 f"{'quick, ' if self.quick else ''}{self.left():.0f} s")
        install_wheels(self.bundle, self.env, self.log)
        self.step_device()
        rates = self.step_throughput()
        self.step_estimate(rates)
        self.step_anchor(rates.get(1))
        self.log(f"done; failed: {', '.join(self.failed) or 'none'}")
        return not self.failed

    # -- a: versions, device, host synchronisation in the hot path ------------------------
    def step_device(self) -> None:
        command = [sys.executable, "-m", "devtools", "gpu-check", "--step", "device",
                   "--out", str(self.out), "--device", self.device,
                   *(["--quick"] if self.quick else [])]
        output = self.scratch / "a_device.txt"
        status, _ = run_boxed(command, self.box("a"), self.env, output)
        report_file = self.out / "a_device.json"
        if status != "done" or not report_file.exists():
            self.fail("a", f"{status}; {tail(output)}")
            return
        report = json.loads(report_file.read_text())
        self.log(f"a: torch {report['torch']}, python {report['python']}, device "
                 f"{report.get('gpu', {}).get('name', report['device'])}, precision "
                 f"{report['precision']}")
        for name, result in report["host_sync"].items():
            self.log(f"a: {name}: {result}")
        if any(result != "no host synchronisation" for result in report["host_sync"].values()):
            self.fail("a", "the hot path makes the host wait (a_device.json)")

    # -- b: throughput with 1, 2 and 4 jobs ----------------------------------------------
    def step_throughput(self) -> dict[int, dict]:
        probe, rates = PROBE[self.quick], {}
        end = time.monotonic() + self.box("b")
        output = self.scratch / "b_throughput.txt"
        for jobs in JOB_COUNTS:
            path = self.scratch / f"b_rates_{jobs}.json"
            command = [sys.executable, "-m", "noisy", "throughput", "--device", self.device,
                       "--jobs", str(jobs), "--batch-size", str(probe["batch"]),
                       "--steps", str(probe["steps"]), "--out", str(path)]
            status, seconds = run_boxed(command, max(1.0, end - time.monotonic()), self.env,
                                        output)
            if status != "done":
                self.fail("b", f"{jobs} job(s): {status}; {tail(output)}")
                break
            rates[jobs] = json.loads(path.read_text())
            write_json(self.out / "b_throughput.json", {str(k): v for k, v in rates.items()})
            self.log(f"b: {jobs} job(s) at once ({seconds:.0f} s), images/s summed: "
                     + "; ".join(f"{n} train {rates[jobs]['train'][n]:.0f} infer "
                                 f"{rates[jobs]['infer'][n]:.0f}" for n in NETWORKS))
        return rates

    # -- d: the whole paper from (b)'s rates ----------------------------------------------
    def step_estimate(self, rates: dict[int, dict]) -> None:
        if not rates:
            self.log("d: skipped, no rates from (b)")
            return
        counts = [jobs for jobs in (1, 4) if jobs in rates]
        text = "\n\n".join(paper_estimate(self.bundle, rates[jobs]) for jobs in counts)
        write_text(self.out / "d_estimate.txt", text + "\n")
        totals = [line for line in text.splitlines() if line.startswith("total")]
        self.log("d: whole paper, device hours with " + "; ".join(
            f"{jobs} job(s) at once: {line.split()[-1]}"
            for jobs, line in zip(counts, totals, strict=True)))

    # -- c: the paper anchor ----------------------------------------------------------------
    def step_anchor(self, rates: dict | None) -> None:
        results: list[dict] = []
        for index, job in enumerate(self.jobs):
            predicted = predicted_seconds(self.jobs[index:], rates)
            if predicted is not None and predicted > self.left():
                reason = (f"skipped: (b)'s rates predict {predicted:.0f} s for the "
                          f"{len(self.jobs) - index} job(s) left from {job['rule']}, "
                          f"{self.left():.0f} s are left")
                results += [{"rule": rest["rule"], "status": reason}
                            for rest in self.jobs[index:]]
                self.log(f"c: {reason}")
                break
            result = run_job(job, self.bundle.parent, self.env, self.left(),
                             self.scratch / "job.txt")
            result["predicted_s"] = predicted_seconds([job], rates)
            results.append(result)
            write_json(self.out / "c_jobs.json", results)
            self.log(f"c: {job['rule']}: {result['status']} in {result['seconds']:.0f} s")
            if result["status"] != "done":
                self.log(tail(self.bundle.parent / job["log"][0], 20) if job["log"] else "")
                results += [{"rule": rest["rule"], "status": "not run: an earlier job did not "
                             "finish"} for rest in self.jobs[index + 1:]]
                if "deadline" not in result["status"]:
                    self.fail("c", f"{job['rule']}: {result['status']}")
                break
        write_json(self.out / "c_jobs.json", results)
        self.collect_anchor(finished={"rule": "teacher_check", "status": "done"} in
                            [{key: result[key] for key in ("rule", "status")}
                             for result in results])

    def collect_anchor(self, finished: bool) -> None:
        workdir = self.bundle.parent
        table = workdir / "results/teacher_check.csv"
        if finished:
            write_text(self.out / "c_teacher_check.csv", table.read_text())
            self.log("c: results/teacher_check.csv\n" + table.read_text())
        if (workdir / "results").is_dir():
            kept, left = pack_results(workdir, self.out / "c_results.tar.gz")
            self.log(f"c: c_results.tar.gz holds {kept} files of results/"
                     + (f"; left out (the data set, or over the size limit): {left}"
                        if left else ""))

    def fail(self, step: str, why: str) -> None:
        self.failed.append(step)
        self.log(f"{step}: FAILED: {why}")


# -- the bundle and the jobs' environment -------------------------------------------------
def read_bundle(bundle: Path, device: str, quick: bool) -> list[dict]:
    """The anchor's jobs for this device and scale, from the bundle's jobs.json."""
    path = bundle / "jobs.json"
    if not path.exists():
        raise UserError(f"{path}: no such file; make the bundle first (make gpu-bundle)")
    jobs = json.loads(path.read_text())
    if jobs["device"] != device.split(":")[0]:
        raise UserError(f"the bundle {bundle} was made for device {jobs['device']}, not "
                        f"{device}: python -m devtools gpu-bundle --device {device.split(':')[0]}")
    return jobs["scales"]["ci" if quick else "paper"]["jobs"]


def job_environment(bundle: Path) -> dict[str, str]:
    """The environment of the jobs, as Snakemake's shell prefix makes it: this checkout's
    package first on PYTHONPATH (and the bundle's installed wheels), this interpreter as
    ``python`` first on PATH."""
    shim = bundle / "bin"
    shim.mkdir(exist_ok=True)
    # a script, not a link: an interpreter started through a link to a virtual
    # environment's python would not find that environment
    write_text(shim / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python").chmod(0o755)
    env = dict(os.environ)
    paths = [str(ROOT), str(bundle / "site"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    env["PATH"] = os.pathsep.join([str(shim), env.get("PATH", "")])
    return env


def install_wheels(bundle: Path, env: dict[str, str], log) -> None:
    """Install the bundle's wheels, without an index, into ``bundle/site`` (on the jobs'
    PYTHONPATH, and on this process's path)."""
    wheels = sorted((bundle / "wheels").glob("*.whl"))
    if not wheels:
        log("wheels: none in the bundle, none needed")
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                    "--no-deps", "--target", str(bundle / "site"), *map(str, wheels)],
                   check=True, env=env)
    sys.path.insert(0, str(bundle / "site"))
    log(f"wheels: installed {', '.join(wheel.name for wheel in wheels)}")


# -- running things with a deadline ------------------------------------------------------
def run_boxed(command: list[str], seconds: float, env: dict[str, str],
              output: Path, cwd: Path | None = None, shell: bool = False) -> tuple[str, float]:
    """Run ``command`` in a process group of its own, its output to ``output``; kill the
    group when ``seconds`` have passed. Returns ("done" | "exit N" | "killed ...", seconds)."""
    start = time.monotonic()
    with open(output, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                   cwd=cwd, start_new_session=True, shell=shell,
                                   executable="/bin/bash" if shell else None)
        try:
            code = process.wait(timeout=max(seconds, 0.1))
        except subprocess.TimeoutExpired:
            stop_group(process)
            return f"killed at the deadline after {seconds:.0f} s", time.monotonic() - start
    return ("done" if code == 0 else f"exit {code}"), time.monotonic() - start


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group (a training saves its state), SIGKILL after a grace."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_job(job: dict, workdir: Path, env: dict[str, str], seconds: float,
            output: Path) -> dict:
    """One bundled job as Snakemake runs it (``bash -c 'set -euo pipefail; ...'`` in the
    workflow's folder, its output folders made first), its benchmark file written after."""
    for path in (*job["outputs"], *job["log"], *filter(None, [job["benchmark"]])):
        (workdir / path.replace(ROOT_TOKEN, str(ROOT))).parent.mkdir(parents=True, exist_ok=True)
    command = "set -euo pipefail; " + job["command"].replace(ROOT_TOKEN, str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    status, elapsed = run_boxed(command, seconds, env, output, cwd=workdir, shell=True)
    missing = [path for path in job["outputs"]
               if not (workdir / path.replace(ROOT_TOKEN, str(ROOT))).exists()]
    if status == "done" and missing:
        status = f"failed: missing output {missing[0]}"
    if status == "done" and job["benchmark"]:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        write_benchmark(workdir / job["benchmark"], elapsed, cpu)
    return {"rule": job["rule"], "status": status, "seconds": round(elapsed, 1)}


def write_benchmark(path: Path, seconds: float, cpu_seconds: float) -> None:
    """The job's benchmark file in Snakemake's columns (what is not measured here: NA)."""
    hours, rest = divmod(int(seconds), 3600)
    clock = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    header = ["s", "h:m:s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out",
              "mean_load", "cpu_time"]
    values = [f"{seconds:.4f}", clock, *["NA"] * 7, f"{cpu_seconds:.2f}"]
    write_text(path, "\t".join(header) + "\n" + "\t".join(values) + "\n")


def predicted_seconds(jobs: list[dict], rates: dict | None) -> float | None:
    """Seconds ``jobs`` take at ``rates`` (images/s of one job alone), start-up included;
    None without rates."""
    if rates is None:
        return None
    total = 0.0
    for job in jobs:
        network = job.get("network")
        total += STARTUP_S["network job" if network else "job"]
        if network:
            total += ((job["train_images"] + job["attacked_images"]) / rates["train"][network]
                      + job["scored_images"] / rates["infer"][network])
    return total


def tail(path: Path, lines: int = 8) -> str:
    if not path.exists():
        return f"({path} was not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def pack_results(workdir: Path, archive: Path) -> tuple[int, list[str]]:
    """``results/`` of ``workdir`` (without the data set's arrays) into ``archive``,
    smallest files first while it stays under the size a returned file may have."""
    files = sorted((path for path in (workdir / "results").rglob("*") if path.is_file()),
                   key=lambda path: path.stat().st_size)
    kept, left, total = 0, [], 0
    with tarfile.open(archive, "w:gz") as tar:
        for path in files:
            name = path.relative_to(workdir).as_posix()
            size = path.stat().st_size
            if name.startswith("results/data/") and name.endswith(".npz") or \
                    total + size > RESULTS_LIMIT:
                left.append(name)
                continue
            tar.add(path, arcname=name)
            kept, total = kept + 1, total + size
    return kept, left


# -- d: the whole paper's estimate -----------------------------------------------------
def paper_estimate(bundle: Path, rates: dict) -> str:
    """The estimate's table of every job of the paper (the bundled counts) at ``rates``."""
    from noisy.tools.estimate import JobLoad, format_plan, summarise

    loads = [JobLoad(**row) for row in json.loads((bundle / "paper_loads.json").read_text())]
    return format_plan(summarise(loads, rates), rates, ["results/report.md (scale=paper)"])


# -- a: in its own process --------------------------------------------------------------
def device_report(device_name: str, quick: bool) -> dict:
    """Versions, the device, and the hot path under :func:`no_host_sync`."""
    import numpy
    import torch
    import torchvision

    from noisy.method.device import resolve_device
    from noisy.precision import resolve_precision

    device = resolve_device(device_name)
    report = {"python": platform.python_version(), "torch": torch.__version__,
              "torchvision": torchvision.__version__, "numpy": numpy.__version__,
              "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
              "cpus": os.cpu_count(), "device": str(device),
              "precision": resolve_precision("auto")}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        report["gpu"] = {"name": properties.name,
                         "capability": ".".join(map(str, (properties.major, properties.minor))),
                         "memory_gib": round(properties.total_memory / 2**30, 1),
                         "bf16_native": torch.cuda.is_bf16_supported(including_emulation=False),
                         "nvidia_smi": _nvidia_smi()}
    report["host_sync"] = hot_path_sync(device, report["precision"], PROBE[quick])
    return report


def _nvidia_smi() -> str | None:
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,"
                               "clocks.max.sm", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def hot_path_sync(device, precision: str, sizes: dict) -> dict[str, str]:
    """One training step (as a training job runs it), one inference batch and an epoch's
    start, each after a warm-up, under :func:`no_host_sync`: what each found."""
    import torch
    import torch.nn.functional as F

    from noisy.method.augment import TrainAugment
    from noisy.method.inference import predict_logits
    from noisy.method.models import Architecture, build_model
    from noisy.method.training import CROP_PADDING, TrainSettings, train_step

    torch.manual_seed(0)
    batch = sizes["batch"]
    settings = TrainSettings(budget_images=batch, batch_size=batch, precision=precision)
    model = build_model(Architecture(network="resnet20")).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    # the batched path, a GPU's (the CPU's default reads op counts on the host: free there)
    augment = TrainAugment(settings.randaugment_n, settings.randaugment_m, CROP_PADDING,
                           grouped=False)
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    images = torch.randint(0, 256, (2 * batch, 3, 32, 32), dtype=torch.uint8, device=device)
    targets = F.one_hot(torch.arange(2 * batch, device=device) % 10, 10).float()
    index = torch.arange(batch, device=device)

    def step() -> None:
        model.train()
        train_step(model, optimizer, augment, images, targets, index, generator, settings,
                   device)

    calls = {"training step": step,
             "inference batch": lambda: predict_logits(model, images[:sizes["infer"]], device),
             "epoch start": lambda: torch.randperm(len(images), generator=generator,
                                                   device=device)}
    return {name: _without_sync(call, device) for name, call in calls.items()}


def _without_sync(call, device) -> str:
    import torch

    from noisy.method.device import no_host_sync

    call()  # warm-up: constants copied to the device once, cuDNN's first choice
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    try:
        with no_host_sync(device):
            call()
    except Exception as error:  # reported, with where it happened
        frames = [frame for frame in traceback.extract_tb(error.__traceback__)
                  if "/noisy/" in frame.filename and "device.py" not in frame.filename]
        where = (f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} "
                 f"({frames[-1].line})" if frames else "")
        return f"{type(error).__name__}: {str(error).splitlines()[0]}{where}"
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return "no host synchronisation"

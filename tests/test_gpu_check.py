"""The GPU check (devtools.gpu_check) and its bundle (devtools.gpu_bundle): jobs run
as Snakemake would run them, each with a deadline; the anchor skipped with its reason when
the rates say it cannot finish; the estimate from rates; what the check writes; the files
that travel, with or without git. The whole check runs, bare, in `make gpu-rehearsal`
(devtools.gpu_rehearsal)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from devtools import gpu_bundle, gpu_check
from devtools.travelling import travelling_files, unignored_files
from noisy.errors import UserError
from noisy.reporting.compute import compute_summary
from noisy.tools.estimate import JobLoad, format_plan, summarise

RATES = {"device": "test", "jobs": 1, "batch_size": 512, "precision": "bf16",
         "train": {"resnet20": 1000.0}, "infer": {"resnet20": 10000.0}}


def job(rule: str, command: str, outputs=(), log=None, network=None, train_images=0,
        scored_images=0, benchmark=None) -> dict:
    return {"rule": rule, "command": command, "outputs": list(outputs),
            "log": [log] if log else [], "benchmark": benchmark, "network": network,
            "train_images": train_images, "scored_images": scored_images,
            "attacked_images": 0}


def make_check(tmp_path: Path, jobs: list[dict], budget_s: float = 60) -> gpu_check.Check:
    """A check whose bundle (in tmp_path/repo/gpu) holds ``jobs`` at both scales."""
    bundle = tmp_path / "repo" / "gpu"
    bundle.mkdir(parents=True)
    scales = {"paper": {"jobs": jobs}, "ci": {"jobs": jobs}}
    (bundle / "jobs.json").write_text(json.dumps({"device": "cpu", "scales": scales}))
    (bundle / "paper_loads.json").write_text(json.dumps([
        {"rule": "train (supervised)", "network": "resnet20", "train_images": 3_600_000,
         "scored_images": 36_000_000, "attacked_images": 0},
        {"rule": "split", "network": None}]))
    return gpu_check.Check(bundle, tmp_path / "out", "cpu", True, budget_s)


TWO_JOBS = [
    job("make", "echo made > results/a/x.txt 2> results/logs/make.log",
        outputs=["results/a/x.txt"], log="results/logs/make.log",
        benchmark="results/a/benchmark.tsv"),
    job("copy", "cat results/a/x.txt > results/b/y.txt", outputs=["results/b/y.txt"],
        network="resnet20", train_images=1000, scored_images=10000),
]


def test_the_anchor_runs_its_jobs_in_order_as_snakemake_would(tmp_path):
    check = make_check(tmp_path, TWO_JOBS)
    check.step_anchor(RATES)
    repo = tmp_path / "repo"
    assert (repo / "results/b/y.txt").read_text() == "made\n"
    jobs = json.loads((tmp_path / "out/c_jobs.json").read_text())
    assert [(j["rule"], j["status"]) for j in jobs] == [("make", "done"), ("copy", "done")]
    assert jobs[1]["predicted_s"] == gpu_check.STARTUP_S["network job"] + 1 + 1
    assert check.failed == []
    # the benchmark file Snakemake would have written, as the report reads it
    summary = compute_summary([{"benchmark": repo / "results/a/benchmark.tsv",
                                "role": "supervised"}])
    assert 0 < summary["supervised"]["wall_hours"] < 0.01
    with tarfile.open(tmp_path / "out/c_results.tar.gz") as tar:
        assert "results/b/y.txt" in tar.getnames()


def test_the_anchor_is_skipped_with_the_reason_when_the_rates_say_it_cannot_finish(
        tmp_path):
    slow = [TWO_JOBS[0], {**TWO_JOBS[1], "train_images": 5_000_000}]
    check = make_check(tmp_path, slow, budget_s=600)
    check.step_anchor(RATES)  # 5,000 s of training
    jobs = json.loads((tmp_path / "out/c_jobs.json").read_text())
    assert [j["rule"] for j in jobs] == ["make", "copy"]
    assert all(j["status"].startswith("skipped: (b)'s rates predict 5") for j in jobs)
    assert "s are left" in jobs[0]["status"]
    assert not (tmp_path / "repo/results").exists() and check.failed == []


def test_without_rates_the_anchor_runs_against_the_deadline(tmp_path):
    check = make_check(tmp_path, [job("wait", "sleep 30")], budget_s=1)
    started = time.monotonic()
    check.step_anchor(None)
    assert time.monotonic() - started < 10
    status = json.loads((tmp_path / "out/c_jobs.json").read_text())[0]["status"]
    assert status.startswith("killed at the deadline") and check.failed == []


def test_a_failing_job_fails_the_step_and_the_jobs_after_it_do_not_run(tmp_path):
    check = make_check(tmp_path, [job("fail", "exit 3"), TWO_JOBS[0]])
    check.step_anchor(RATES)
    jobs = json.loads((tmp_path / "out/c_jobs.json").read_text())
    assert [j["status"] for j in jobs] == ["exit 3", "not run: an earlier job did not finish"]
    assert check.failed == ["c"]
    check = make_check(tmp_path / "again", [job("forgot", "true", outputs=["results/z"])])
    check.step_anchor(RATES)
    assert check.failed == ["c"]


def test_a_command_past_its_time_is_killed_with_everything_it_started(tmp_path):
    started = time.monotonic()
    status, _ = gpu_check.run_boxed(["bash", "-c", "sleep 60 & echo $! > child; wait"], 1,
                                    dict(os.environ), tmp_path / "out.txt", cwd=tmp_path)
    assert status.startswith("killed at the deadline") and time.monotonic() - started < 10
    stat = Path(f"/proc/{(tmp_path / 'child').read_text().strip()}/stat")
    time.sleep(0.2)
    assert not stat.exists() or stat.read_text().split()[2] == "Z"  # gone, or dead


def test_jobs_find_this_checkout_as_python_and_the_bundles_wheels(tmp_path):
    bundle = tmp_path / "gpu"
    bundle.mkdir()
    env = gpu_check.job_environment(bundle)
    code = "import noisy, sys; print(noisy.__file__, sys.prefix, *sys.path[1:3])"
    done = subprocess.run(["bash", "-c", f"cd /; python -c '{code}'"], env=env,
                          capture_output=True, text=True, check=True)
    package, prefix, *paths = done.stdout.split()
    assert package == str(gpu_check.ROOT / "noisy" / "__init__.py")
    assert prefix == sys.prefix  # this interpreter, in its virtual environment if any
    assert paths == [str(gpu_check.ROOT), str(bundle.resolve() / "site")]


def test_the_paper_estimate_comes_from_the_rates_and_the_bundled_counts(tmp_path):
    check = make_check(tmp_path, [])
    four = {**RATES, "jobs": 4, "train": {"resnet20": 4000.0}, "infer": {"resnet20": 40000.0}}
    check.step_estimate({1: RATES, 2: RATES, 4: four})
    text = (tmp_path / "out/d_estimate.txt").read_text()
    totals = [line.split() for line in text.splitlines() if line.startswith("total")]
    # 3.6e6 images at 1000/s and 3.6e7 at 10,000/s: 2 hours; with four jobs 0.5
    assert [row[-1] for row in totals] == ["2.00", "0.50"]
    loads = [JobLoad("train (supervised)", "resnet20", 3_600_000, 36_000_000)]
    assert format_plan(summarise(loads, RATES), RATES, ["x"]).splitlines()[-3].endswith("2.00")


def test_the_check_writes_each_steps_file_and_at_most_eight(tmp_path, monkeypatch):
    def device(self):
        (self.out / "a_device.json").write_text("{}")

    monkeypatch.setattr(gpu_check.Check, "step_device", device)
    def throughput(self):
        (self.out / "b_throughput.json").write_text("{}")
        return {jobs: {**RATES, "jobs": jobs} for jobs in (1, 2, 4)}

    monkeypatch.setattr(gpu_check.Check, "step_throughput", throughput)
    teacher = job("teacher_check", "mkdir -p results && echo top1 > results/teacher_check.csv",
                  outputs=["results/teacher_check.csv"])
    check = make_check(tmp_path, [*TWO_JOBS, teacher], budget_s=300)
    assert check.run_all()
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == \
        sorted(gpu_check.OUTPUT_FILES)
    assert (tmp_path / "out/c_teacher_check.csv").read_text() == "top1\n"
    log = (tmp_path / "out/log.txt").read_text()
    assert "d: whole paper" in log and "c: teacher_check: done" in log


def test_results_are_packed_without_the_data_set(tmp_path):
    (tmp_path / "results/data").mkdir(parents=True)
    (tmp_path / "results/data/cifar10.npz").write_bytes(b"0" * 100)
    (tmp_path / "results/data/cifar10.json").write_text("{}")
    kept, left = gpu_check.pack_results(tmp_path, tmp_path / "r.tar.gz")
    assert (kept, left) == (1, ["results/data/cifar10.npz"])


def test_a_bundle_made_for_another_device_is_refused(tmp_path):
    check = make_check(tmp_path, [])
    with pytest.raises(UserError, match="made for device cpu"):
        gpu_check.read_bundle(check.bundle, "cuda", quick=False)


def test_the_bundle_carries_the_anchors_commands_as_snakemake_prints_them(tmp_path):
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(b"not read by a dry run")
    bundle = gpu_bundle.build(tmp_path / "repo" / "gpu", archive, "cuda", "3.12")
    jobs = json.loads((bundle / "jobs.json").read_text())
    assert str(gpu_check.ROOT) not in json.dumps(jobs)  # written as @ROOT@
    paper = {entry["rule"]: entry for entry in jobs["scales"]["paper"]["jobs"]}
    assert list(paper) == ["prepare_data", "split", "train", "evaluate", "predict",
                           "select_pseudo_labels", "teacher_check"] or \
        list(paper)[0] == "prepare_data" and list(paper)[-1] == "teacher_check"
    assert "--source gpu/cifar10-jpeg.tar.gz" in paper["prepare_data"]["command"]
    train = paper["train"]
    assert '"budget_images": 5000000' in train["command"] and "--device cuda" in train["command"]
    assert (train["train_images"], train["scored_images"]) == (5_000_000, 50 * 10_000)
    assert train["benchmark"].endswith("/benchmark.tsv")
    assert "@ROOT@/noisy/paper_tables/table1.csv" in paper["teacher_check"]["command"]
    loads = json.loads((bundle / "paper_loads.json").read_text())
    assert {row["rule"] for row in loads} >= {"train (student)", "evaluate_robustness"}
    assert (bundle / "cifar10-jpeg.tar.gz").read_bytes() == archive.read_bytes()
    assert "of the 64 MiB that travel" in gpu_bundle.size_report(bundle)


def test_the_rehearsals_synthetic_archive_is_a_data_source_the_workflow_prepares(tmp_path):
    from devtools.gpu_rehearsal import CLASSES, synthetic_archive
    from noisy.method.data import read_source

    archive = synthetic_archive(tmp_path / "synthetic.tar.gz", per_class=3)
    dataset, _ = read_source(str(archive), str(tmp_path / "download"))
    assert dataset.classes == CLASSES
    assert dataset.train_images.shape == dataset.test_images.shape == (30, 32, 32, 3)
    assert sorted(dataset.train_labels.tolist()) == [label for label in range(10)
                                                     for _ in range(3)]


ROOT = Path(__file__).resolve().parents[1]
GIT = shutil.which("git")


def _tree(root: Path) -> None:
    """A small repository-like tree: ignored folders and files, a re-included file, a
    nested .gitignore, files in the ignore patterns' near misses."""
    files = {".gitignore": (ROOT / ".gitignore").read_text() + "*.log\n/only_top.txt\n",
             "Makefile": "", "noisy/__init__.py": "", "noisy/__pycache__/x.pyc": "",
             "noisy/gpu/kept.py": "", "gpu/jobs.json": "", "results/README.md": "",
             "results/models/model.pt": "", ".venv/bin/python": "", "a.log": "",
             "docs/b.log": "", "only_top.txt": "", "docs/only_top.txt": "",
             "noisy.egg-info/PKG-INFO": "", "docs/.gitignore": "draft*\n!draft_kept.md\n",
             "docs/draft.md": "", "docs/draft_kept.md": "", "docs/notes.md": ""}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.skipif(GIT is None, reason="no git here")
def test_a_copy_without_git_travels_the_same_files_as_the_git_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    _tree(checkout)
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "add", "-A"], check=True)
    (checkout / "untracked.md").write_text("")  # travels too: git does not ignore it
    listed = travelling_files(checkout)
    assert "untracked.md" in listed and "docs/draft_kept.md" in listed
    assert "noisy/gpu/kept.py" in listed and "results/README.md" in listed
    assert not any(name.startswith((".git/", ".venv/", "gpu/", "results/models/"))
                   or name.endswith((".log", ".pyc")) for name in listed)
    archive = tmp_path / "archive"  # as downloaded: no .git
    shutil.copytree(checkout, archive, ignore=shutil.ignore_patterns(".git"))
    assert travelling_files(archive) == unignored_files(checkout) == listed


@pytest.mark.skipif(GIT is None or not (ROOT / ".git").exists(), reason="no git checkout")
def test_no_tracked_file_is_ignored_so_a_copy_without_git_travels_them_all():
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--ignored",
                           "--exclude-standard"], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []

"""The report and the figures, on a fake results folder (no training)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from noisy import cli
from noisy.files import write_json
from noisy.reporting import comparison, compute, figures, report
from noisy.tools import estimate
from noisy.workflow import outputs
from noisy.workflow.config import load
from noisy.workflow.stages import Model, Plan
from noisy.workflow.tables import TABLES

ROOT = Path(__file__).resolve().parents[1]
# The demo's subset of the paper (DEMO_CONFIG in the Makefile).
DEMO_CONFIG = ["scale=demo", "report_tables=[table1, table2, table4, table5]",
               "tables={table4: [hard], table5: [hard]}"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
EPSILONS = [0.0, 0.05, 0.1]


def paper_table(table: str) -> Path:
    """The paper's numbers of ``table``, shipped with the package."""
    return TABLES[table].paper_csv


def table_entries(results: Path, *tables: str) -> list[dict]:
    """The report's listing of reproduced tables (results/<table>.csv) and the paper's."""
    return [{"table": table, "path": str(results / f"{table}.csv"),
             "paper": str(paper_table(table))} for table in tables]


def _robustness(path: Path, accuracy: list[float]) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"top1": accuracy[0],
                                "fgsm": {"epsilons": EPSILONS, "accuracy": accuracy,
                                         "accuracy_unchanged": [a - 1.0 for a in accuracy],
                                         "n": 20}}))
    return path


def _history(path: Path, epochs: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"epoch": range(1, epochs + 1), "lr": 0.1,
                  "train_loss": [2.0 / e for e in range(1, epochs + 1)], "train_acc": 50.0,
                  "test_loss": 1.0, "test_acc": [10.0 * e for e in range(1, epochs + 1)],
                  "images_per_s": 100.0, "wall_s": 1.0}).to_csv(path, index=False)
    return path


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    """A results folder with Tables 2 and 5 (two seeds), a benchmark and a figure."""
    root = tmp_path / "results"
    root.mkdir()
    pd.DataFrame({"network": ["resnet20", "resnet26", "resnet32", "resnet38"],
                  "labeled": 5000, "pseudo": [0, 38626, 39000, 30000],
                  "params": [269818, 367034, 464250, 561466],
                  "top1": [82.0, 85.11, 87.6, 80.0]}).to_csv(root / "table2.csv", index=False)
    paper5 = pd.read_csv(paper_table("table5"))
    table5 = paper5[["label_type", "network"]].copy()
    table5["top1"] = paper5["top1"] + 0.5
    table5["top1_std"] = 0.1
    table5["paper_ece"] = paper5["ece"]
    table5["ece"] = 0.05
    for metric in ("rel_mce", "mfr"):
        table5[metric] = paper5[metric]
    table5.loc[1, "mfr"] = paper5.loc[1, "mfr"] + 20.0
    table5["seeds"] = 2
    table5.to_csv(root / "table5.csv", index=False)
    for model in ("resnet26-a", "resnet26-other-run"):
        _benchmark(root / "models" / model / "benchmark.tsv", wall_s=3600.0, cpu_s=7200.0)
    write_json(root / "models" / "resnet26-a" / "stage.json", {
        "stage": "train", "ran_on": {"device": "cuda:0", "name": "NVIDIA H200",
                                     "torch": "2.14.1"}})
    return root


def _training(results: Path, model: str, role: str = "student") -> dict:
    """The report's listing of one training: its benchmark file and stage.json."""
    folder = results / "models" / model
    return {"role": role, "benchmark": str(folder / "benchmark.tsv"),
            "definition": str(folder / "stage.json")}


def _benchmark(path: Path, wall_s: float, cpu_s: float) -> Path:
    """A Snakemake benchmark file of one job."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{wall_s}\t1:00:00\t10\t{cpu_s}\n")
    return path


def test_report_shows_paper_reproduced_and_difference(results: Path):
    figure = results / "figures" / "demo.png"
    figures.seed_spread_figure(str(results / "table5.csv"), str(paper_table("table5")),
                               str(figure))
    md, page = results / "report.md", results / "report.html"
    # A table and a figure left by an earlier run, not declared: never read.
    (results / "table3.csv").write_text("label_type,network,top1\nstale,resnet26,1.0\n")
    figures.seed_spread_figure(str(results / "table5.csv"), str(paper_table("table5")),
                               str(results / "figures" / "stale.png"))
    # Of the two benchmark files only the declared one counts (the other is another run's).
    report.write_report(str(md), str(page), {"scale": "demo", "seeds": [0, 1], "precision": "bf16"},
                        tables=table_entries(results, "table2", "table5"),
                        figures=[{"path": str(figure), "caption": "spread"},
                                 {"path": str(results / "figure1.png"), "caption": "Figure 1"}],
                        trainings=[_training(results, "resnet26-a")])
    text = md.read_text()
    # Table 2, ResNet-26: reproduced 85.11, paper 86.36, difference -1.25 (beyond 1 point).
    row = next(line for line in text.splitlines() if line.startswith("| resnet26 |")
               and "85.11" in line)
    assert "| 86.36 |" in row and "−1.25 ✗" in row and "differs: top1" in row
    assert "38,626 | 38,626 | +0 ✓" in row
    # Table 5: +0.5 agrees; the mFR of hard ResNet-26 is 20 points off; 2 seeds shown.
    hard26 = next(line for line in text.splitlines() if line.startswith("| hard | resnet26 |"))
    assert "86.86 ± 0.10 | 86.36 | +0.50 ✓" in hard26 and "differs: mfr" in hard26
    assert "ECE (paper's variant)" in text and "ECE (standard)" in text
    assert ("Not in this report: table1, table3, table4, table6, table7, table8, table9, "
            "table10." in text)
    assert "stale" not in text and "Table 3" not in text
    assert "`" + str(results / "figure1.png") + "`" in text  # listed as not built
    assert "![" in text and "figures/demo.png" in text
    assert "1 benchmarked training job: **2.00 CPU hours**, **1.00 wall hours**" in text
    assert "students: 1 jobs" in text and "supervised" not in text
    # Where it ran is the training's own record (its stage.json), not the report's machine.
    assert ("**Trainings ran on**: cuda:0 (NVIDIA H200), torch 2.14.1: 1 training" in text
            and "**1.00 GPU hours**" in text)
    html_text = page.read_text()
    assert "data:image/png;base64," in html_text and "86.36" in html_text
    assert '<td class="differs">' in html_text


def test_seed_spread_and_report_on_the_command_line(results: Path):
    figure = results / "figures" / "seed_spread_table5.png"
    assert cli.main(["seed-spread", "--table", str(results / "table5.csv"),
                     "--paper", str(paper_table("table5")),
                     "--settings", '{"labeled_ratios": [1.0, 0.1]}', "--out", str(figure)]) == 0
    md, page = results / "report.md", results / "report.html"
    outputs = ["--out", str(md), "--html", str(page)]
    data_summary = results / "data" / "summary.json"
    data_summary.parent.mkdir()
    data_summary.write_text('{"source": {"kind": "archive", "path": "cifar.tar.gz"}}')
    confusion = results / "models" / "resnet38-b" / "eval-all" / "confusion.png"
    confusion.parent.mkdir(parents=True)
    shutil.copy(figure, confusion)
    listings = ["--figures", json.dumps([{"path": str(figure), "caption": "the spread"}]),
                "--confusions", json.dumps([{"path": str(confusion), "caption": "a confusion"}]),
                "--trainings", "[]"]
    assert cli.main(["report", "--settings", '{"seeds": [0, 1]}',
                     "--tables", json.dumps(table_entries(results, "table5")), *listings,
                     "--data-summary", str(data_summary), *outputs]) == 0
    text = md.read_text()
    assert "## Table 5:" in text and "](figures/seed_spread_table5.png)" in text
    assert "*the spread*" in text and "*a confusion*" in text
    assert "(kind archive, path cifar.tar.gz)" in text
    assert "No training job is behind the reported tables." in text
    assert "**Trainings ran on**: no training" in text
    assert "data:image/png;base64," in page.read_text()
    unknown = [{"table": "table99", "path": str(results / "table99.csv"),
                "paper": str(paper_table("table5"))}]
    assert cli.main(["report", "--tables", json.dumps(unknown), *listings, *outputs]) == 1


def test_a_training_from_before_the_record_of_its_device_is_counted_as_not_recorded(
        results: Path):
    write_json(results / "models" / "resnet26-other-run" / "stage.json", {"stage": "train"})
    trainings = [_training(results, "resnet26-a"), _training(results, "resnet26-other-run")]
    assert compute.device_line(trainings) == (
        "cuda:0 (NVIDIA H200), torch 2.14.1: 1 training; 1 training not recorded (trained "
        "before the train job wrote `ran_on` into its stage.json)")
    assert compute.gpu_hours(trainings) == 1.0  # the recorded one only


def test_the_report_job_runs_without_torch(results: Path):
    """The report states the trainings' devices from their records, so it never needs torch
    (nor the GPU of the machine it runs on)."""
    command = ["report", "--tables", json.dumps(table_entries(results, "table2", "table5")),
               "--figures", "[]", "--confusions", "[]",
               "--trainings", json.dumps([_training(results, "resnet26-a")]),
               "--out", str(results / "report.md"), "--html", str(results / "report.html")]
    code = ("import sys; from noisy import cli; "
            f"assert cli.main({command!r}) == 0; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"
    assert "GPU hours" in (results / "report.md").read_text()


def test_fgsm_figure_csv(tmp_path: Path):
    entries = [
        {"label": "hard", "network": "resnet38", "seed": 0,
         "path": str(_robustness(tmp_path / "h0.json", [80.0, 40.0, 20.0]))},
        {"label": "hard", "network": "resnet38", "seed": 1,
         "path": str(_robustness(tmp_path / "h1.json", [82.0, 44.0, 22.0]))},
        {"label": "without_st", "network": "resnet38", "seed": 0,
         "path": str(_robustness(tmp_path / "w0.json", [70.0, 30.0, 10.0]))},
    ]
    png, csv = tmp_path / "figure1.png", tmp_path / "figure1.csv"
    assert cli.main(["figure1", "--entries", json.dumps(entries), "--out", str(png),
                     "--csv", str(csv)]) == 0
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["label", "network", "seed", "epsilon", "accuracy",
                                   "accuracy_unchanged"]
    assert len(frame) == 9
    hard = frame[(frame["label"] == "hard") & (frame["epsilon"] == 0.05)]
    assert sorted(hard["accuracy"]) == [40.0, 44.0]
    assert sorted(hard["accuracy_unchanged"]) == [39.0, 43.0]
    assert png.stat().st_size > 0
    assert not list(tmp_path.glob(".*tmp*"))


def test_training_curves_and_class_counts(tmp_path: Path):
    entries = [{"label": "hard", "network": network, "seed": 0,
                "path": str(_history(tmp_path / f"{network}.csv", epochs))}
               for network, epochs in (("resnet20", 8), ("resnet26", 3))]
    curves = tmp_path / "curves.png"
    figures.training_curves_figure(entries, str(curves))
    table4 = pd.read_csv(paper_table("table4"))
    table4.to_csv(tmp_path / "table4.csv", index=False)
    counts = tmp_path / "counts.png"
    assert cli.main(["class-counts", "--tables", str(tmp_path / "table4.csv"),
                     "--out", str(counts)]) == 0
    assert curves.stat().st_size > 0 and counts.stat().st_size > 0


def test_a_report_counts_the_hours_of_its_own_trainings_only(tmp_path, monkeypatch):
    """`make small` and then the demo in one results folder: the demo's report counts the
    demo's trainings (Table 1's eight networks, the three students of the hard chain)
    and none of the small scale's."""
    monkeypatch.chdir(tmp_path)
    demo = Plan(load(ROOT / "config.yaml", DEMO_CONFIG))
    small = Plan(load(ROOT / "config.yaml", ["scale=small"]))
    for plan, hours in ((small, 10.0), (demo, 1.0)):
        for model in plan.stages(Model):
            _benchmark(Path(model.files.benchmark), wall_s=3600 * hours,
                       cpu_s=7200 * hours)
    trainings = outputs.report_trainings(demo)
    assert not {entry["benchmark"] for entry in trainings} & {
        model.files.benchmark for model in small.stages(Model)}
    assert compute.compute_summary(trainings) == {
        "supervised": {"jobs": 8, "cpu_hours": 16.0, "wall_hours": 8.0},
        "students": {"jobs": 3, "cpu_hours": 6.0, "wall_hours": 3.0}}


def test_the_reports_benchmarks_are_the_trainings_snakemake_runs_for_it(tmp_path):
    jobs, _ = estimate.snakemake_jobs(["results/report.md"], DEMO_CONFIG, tmp_path,
                                      forceall=True)
    trained = {job.wildcards["model"] for job in jobs if job.rule == "train"}
    trainings = outputs.report_trainings(Plan(load(ROOT / "config.yaml", DEMO_CONFIG)))
    assert sorted(entry["benchmark"] for entry in trainings) == sorted(
        f"{model}/benchmark.tsv" for model in trained)
    assert sorted(entry["definition"] for entry in trainings) == sorted(
        f"{model}/stage.json" for model in trained)


def test_table1_matches_on_labeled_fraction():
    paper = pd.read_csv(paper_table("table1"))
    repro = paper.copy()
    repro["labeled"] = repro["labeled"] // 50  # a scaled-down pool: 1,000 and 100 labels
    merged = comparison.align("table1", repro, paper, labeled_ratios=[0.1, 1.0])
    assert (merged["_merge"] == "both").all()
    assert (merged["top1"] == merged["top1__paper"]).all()


def test_table7_hard_rows_are_marked_suspect():
    paper = pd.read_csv(paper_table("table7"))
    headers, rows, tally = comparison.comparison("table7", paper.assign(paper_ece=paper["ece"]),
                                                 paper)
    status = [row[-1][0] for row in rows]
    assert status[0] == "agrees; paper row suspect" and status[-1] == "agrees"
    assert tally == {"suspect": 6, "agrees": len(paper) - 6}


@pytest.mark.parametrize(("metric", "repro", "paper", "std", "verdict"), [
    ("top1", 86.0, 86.9, None, "agrees"),
    ("top1", 85.0, 86.9, None, "differs"),
    ("top1", 85.0, 86.9, 1.0, "within spread"),
    ("ece", 0.10, 0.13, None, "differs"),
    ("pseudo", 40000, 41000, None, "agrees"),
    ("params", 269819, 269818, None, "differs"),
    ("top1", float("nan"), 86.9, None, None),
])
def test_judge(metric, repro, paper, std, verdict):
    assert comparison.judge(metric, repro, paper, std) == verdict

"""The report and the figures, on a fake results folder (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from noisy import cli, figures, report

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]
EPSILONS = [0.0, 0.05, 0.1]


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
    paper5 = pd.read_csv(report.paper_table("table5"))
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
    student = root / "models" / "resnet26-a"
    student.mkdir(parents=True)
    (student / "stage.json").write_text('{"stage": "train", "inputs": {"trainset": "t.npz"}}')
    (student / "benchmark.tsv").write_text(
        "s\th:m:s\tmax_rss\tcpu_time\n3600.0\t1:00:00\t10\t7200.0\n")
    return root


def test_report_shows_paper_reproduced_and_difference(results: Path):
    figure = results / "figures" / "demo.png"
    figures.seed_spread_figure(str(results / "table5.csv"), str(report.paper_table("table5")),
                               str(figure))
    md, page = results / "report.md", results / "report.html"
    # A table and a figure left by an earlier run, not declared: never read.
    (results / "table3.csv").write_text("label_type,network,top1\nstale,resnet26,1.0\n")
    figures.seed_spread_figure(str(results / "table5.csv"), str(report.paper_table("table5")),
                               str(results / "figures" / "stale.png"))
    report.write_report(str(results), str(md), str(page),
                        {"scale": "demo", "seeds": [0, 1], "device": "cpu"},
                        tables=[str(results / "table2.csv"), str(results / "table5.csv")],
                        figures=[str(figure), str(results / "figure1.png")])
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
    assert "2.00 CPU hours" in text and "1.00 wall hours" in text
    html_text = page.read_text()
    assert "data:image/png;base64," in html_text and "86.36" in html_text
    assert '<td class="differs">' in html_text


def test_seed_spread_and_report_on_the_command_line(results: Path):
    figure = results / "figures" / "seed_spread_table5.png"
    assert cli.main(["seed-spread", "--table", str(results / "table5.csv"), "--png",
                     str(figure)]) == 0
    md, page = results / "report.md", results / "report.html"
    outputs = ["--out-md", str(md), "--out-html", str(page)]
    assert cli.main(["report", "--results", str(results), "--config-json", '{"seeds": [0, 1]}',
                     "--tables", str(results / "table5.csv"), "--figures", str(figure),
                     "--confusions", *outputs]) == 0
    text = md.read_text()
    assert "## Table 5:" in text and "](figures/seed_spread_table5.png)" in text
    assert "Confusion matrices" not in text
    assert "data:image/png;base64," in page.read_text()
    assert cli.main(["report", "--tables", str(results / "table99.csv"), *outputs]) == 1


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
    assert cli.main(["figure1", "--entries", json.dumps(entries), "--png", str(png),
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
    table4 = pd.read_csv(report.paper_table("table4"))
    table4.to_csv(tmp_path / "table4.csv", index=False)
    counts = tmp_path / "counts.png"
    assert cli.main(["class-counts", "--tables", str(tmp_path / "table4.csv"),
                     "--png", str(counts)]) == 0
    assert curves.stat().st_size > 0 and counts.stat().st_size > 0


def test_table1_matches_on_labeled_fraction():
    paper = pd.read_csv(report.paper_table("table1"))
    repro = paper.copy()
    repro["labeled"] = repro["labeled"] // 50  # a scaled-down pool: 1,000 and 100 labels
    merged = report.align("table1", repro, paper, labeled_ratios=[0.1, 1.0])
    assert (merged["_merge"] == "both").all()
    assert (merged["top1"] == merged["top1__paper"]).all()


def test_table7_hard_rows_are_marked_suspect():
    paper = pd.read_csv(report.paper_table("table7"))
    headers, rows, tally = report.comparison("table7", paper.assign(paper_ece=paper["ece"]),
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
    assert report.judge(metric, repro, paper, std) == verdict

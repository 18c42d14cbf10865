import json
import re

import pandas as pd
import pytest
import yaml

from noisy.reporting import table_csv as tables
from noisy.workflow import tables as registry
from noisy.workflow.stages import Model, Plan
from tests.test_config import ROOT


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def all_rows(config: dict, table: str) -> list[dict]:
    return registry.rows(Plan(config), table)


def baseline_file(config: dict) -> str:
    """The robustness.json of the configured baseline (seed 0)."""
    plan = Plan(config)
    return registry.robustness_file(plan, plan.baseline(0))


def test_seeds_give_mean_std_and_count_per_cell():
    frame = pd.DataFrame({"network": ["a", "a", "b", "b"], "top1": [80.0, 82.0, 70.0, 70.0]})
    table = tables.aggregate_seeds(frame, ["network"], ["top1"])
    assert table["top1"].tolist() == [81.0, 70.0]
    assert table["top1_std"].round(4).tolist() == [1.4142, 0.0]
    assert table["seeds"].tolist() == [2, 2]


def test_one_seed_has_no_spread_columns():
    frame = pd.DataFrame({"network": ["a"], "top1": [80.0]})
    assert list(tables.aggregate_seeds(frame, ["network"], ["top1"]).columns) == [
        "network", "top1"]


def test_table_rows_follow_the_paper_layout(config):
    rows = all_rows(config, "table5")
    labels = [row["keys"]["label_type"] for row in rows]
    assert labels[0] == "teacher" and labels[-1] == "without_st"
    assert labels[1:-1] == ["hard"] * 3 + ["soft"] * 3 + ["smooth"] * 3 + ["mixup_hard"] * 3
    table7 = all_rows(config, "table7")
    assert {(r["keys"]["label_type"], r["keys"]["threshold"]) for r in table7} == {
        (label, threshold) for label in ("hard", "soft", "smooth", "mixup_hard")
        for threshold in (0.7, 0.8, 0.9)}
    assert len(all_rows(config, "table10")) == 12  # final networks only


def test_every_table_matches_the_paper_row_count(config):
    for name, spec in registry.TABLES.items():
        assert len(all_rows(config, name)) == len(pd.read_csv(spec.paper_csv)), name


def test_every_registered_table_has_its_paper_file_and_key_columns():
    for name, spec in registry.TABLES.items():
        paper = pd.read_csv(spec.paper_csv)
        assert set(spec.key_columns) - {"labeled", "params", "pseudo"} <= set(paper.columns) | {
            "labeled_ratio"}, name


def test_two_seeds_are_averaged_in_a_built_table(tmp_path):
    rows = []
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"labeled": 5000, "unlabeled": 45000}))
    for seed, top1 in ((0, 80.0), (1, 84.0)):
        path = tmp_path / f"eval{seed}.json"
        path.write_text(json.dumps({"params": 269818, "top1": top1, "top5": 99.0}))
        rows.append({"keys": {"network": "resnet20"},
                     "files": {"eval": str(path), "split": str(split)}})
    table = tables.build("table1", rows, tmp_path / "table1.csv")
    assert table.loc[0, "top1"] == 82.0 and table.loc[0, "seeds"] == 2
    assert table.loc[0, "labeled"] == 5000  # counted in the split's summary
    assert pd.read_csv(tmp_path / "table1.csv")["top1_std"].round(3).tolist() == [2.828]


def test_every_robustness_row_is_measured_against_the_10_percent_resnet38(config):
    """Paper 3.5: relative mCE and mFR use the "without self-training" ResNet-38 on the
    10% split, also for Table 10's 5% and 20% rows."""
    plan = Plan(config)
    baseline = baseline_file(config)
    assert plan.stage(baseline.rsplit("/", 2)[0], Model).split.settings["labeled_ratio"] == 0.1
    rows = all_rows(config, "table10")
    assert {row["keys"]["labeled_ratio"] for row in rows} == {0.05, 0.1, 0.2}
    assert {row["files"]["baseline"] for row in rows} == {baseline}
    inputs = registry.input_files(rows)
    assert baseline in inputs
    # No ResNet-38 is trained on the 5% or 20% labels alone.
    for ratio in (0.05, 0.2):
        other = registry.robustness_file(plan, plan.supervised(ratio, 0, "resnet38"))
        assert other not in inputs
    for table in ("table5", "table6", "table7"):
        assert {row["files"]["baseline"] for row in all_rows(config, table)} == {
            baseline}, table


def test_the_baseline_ratio_is_a_setting(config):
    config["robustness"]["baseline_labeled_ratio"] = 0.2
    plan = Plan(config)
    rows = all_rows(config, "table10")
    assert {row["files"]["baseline"] for row in rows} == {
        registry.robustness_file(plan, plan.supervised(0.2, 0, "resnet38"))}


def test_robustness_metrics_log_perturbations_left_out_of_the_mfr(caplog):
    corruption = {"clean_error": 10.0, "errors": {"fog": [20.0] * 5}}
    model = {"top1": 90.0, "ece": 0.05, "paper_ece": 0.1, "corruption": corruption,
             "perturbation": {"flip_probability": {"translate": 0.02, "rotate": 0.01}}}
    baseline = {**model, "perturbation": {"flip_probability": {"translate": 0.04,
                                                               "rotate": 0.0}}}
    with caplog.at_level("WARNING", logger="noisy.reporting.table_csv"):
        values = tables.robustness_metrics(model, baseline)
    assert values["mfr"] == 50.0
    assert "mFR leaves out rotate" in caplog.text


def test_a_tables_special_cases_are_fields_of_its_registry_entry(config):
    plan = Plan(config)
    # Table 2 has no label-type column, so its teacher row is keyed by network alone.
    assert registry.rows(plan, "table2")[0]["keys"] == {"network": "resnet20"}
    assert registry.rows(plan, "table3")[0]["keys"] == {"label_type": "teacher",
                                                          "network": "resnet20"}
    assert registry.drawn_from("figure1") == "table5"
    assert [name for name, spec in registry.TABLES.items() if spec.labeled_as_ratio] == [
        "table1"]
    assert [name for name, spec in registry.TABLES.items() if spec.suspect_rows] == ["table7"]


def test_no_code_but_the_registry_decides_by_a_tables_name():
    """A table's name in quotes, outside the registry, is a special case that belongs in its
    entry; the config's ``table1`` section (Table 1's networks and labeled ratios) is a
    setting, not a decision."""
    named = re.compile(r"""(?<!config\[)["']table(10|[1-9])["']""")
    files = [*(ROOT / "noisy").rglob("*.py"), *(ROOT / "rules").glob("*.smk"),
             ROOT / "Snakefile"]
    found = [f"{path.relative_to(ROOT)}: {match.group()}" for path in files
             if path != ROOT / "noisy" / "workflow" / "tables.py"
             for match in named.finditer(path.read_text())]
    assert found == []

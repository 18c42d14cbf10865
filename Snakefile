# noisy: Noisy Student self-training on CIFAR-10, every table and figure of the paper
# as one resumable dependency graph. Usage: snakemake --cores 1 results/table1.csv
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/training.smk"
include: "rules/pseudo_labels.smk"
include: "rules/robustness.smk"
include: "rules/evaluation.smk"
include: "rules/tables.smk"
include: "rules/report.smk"


rule all:
    input:
        f"{FINAL}/report.md",
    default_target: True

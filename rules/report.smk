# Figures and the finished report (report.md, report.html in the run's FINAL folder). Which tables
# the report covers comes from config `report_tables`; the figures it shows (with their
# captions), the paper's tables it compares with and the trainings whose hours it counts
# follow from those tables (noisy.workflow.outputs).
rule figure1:
    input:
        lambda wildcards: [entry["path"] for entry in fgsm_entries(wildcards)],
    output:
        png=report(f"{FINAL}/figure1.png", caption="../report/figure1.rst", category="Figures"),
        csv=report(f"{FINAL}/figure1.csv", caption="../report/figure1.rst", category="Figures"),
    params:
        entries=lambda wildcards: as_json(fgsm_entries(wildcards)),
    log:
        f"{FINAL}/logs/figure1.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy figure1 --entries {params.entries:q} --out {output.png}"
        " --csv {output.csv} > {log} 2>&1"


rule training_curves:
    input:
        lambda wildcards: list(
            dict.fromkeys(entry["path"] for entry in training_curve_entries(wildcards))
        ),
    output:
        report(
            f"{FINAL}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Figures",
        ),
    params:
        entries=lambda wildcards: as_json(training_curve_entries(wildcards)),
    log:
        f"{FINAL}/logs/training_curves.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy training-curves --entries {params.entries:q}"
        " --out {output} > {log} 2>&1"


rule class_counts:
    input:
        outputs.class_count_tables(config),
    output:
        report(
            f"{FINAL}/figures/class_counts.png",
            caption="../report/class_counts.rst",
            category="Figures",
        ),
    log:
        f"{FINAL}/logs/class_counts.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy class-counts --tables {input} --out {output} > {log} 2>&1"


rule seed_spread:
    input:
        table=outputs.table_file(config, "{table}"),
        paper=lambda wildcards: str(tables.TABLES[wildcards.table].paper_csv),
    output:
        report(
            f"{FINAL}/figures/seed_spread_{{table}}.png",
            caption="../report/seed_spread.rst",
            category="Figures",
            subcategory="Seed spread",
        ),
    params:
        settings=as_json({"labeled_ratios": config["table1"]["labeled_ratios"]}),
    log:
        f"{FINAL}/logs/seed_spread_{{table}}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy seed-spread --table {input.table} --paper {input.paper}"
        " --settings {params.settings:q} --out {output} > {log} 2>&1"


rule report:
    input:
        tables=[entry["path"] for entry in outputs.report_table_entries(config)],
        papers=[entry["paper"] for entry in outputs.report_table_entries(config)],
        figures=[entry["path"] for entry in outputs.report_figures(config)],
        confusions=lambda wildcards: [entry["path"] for entry in report_confusions(wildcards)],
        benchmarks=lambda wildcards: [e["benchmark"] for e in report_trainings(wildcards)],
        definitions=lambda wildcards: [e["definition"] for e in report_trainings(wildcards)],
        data_summary=DATA_SUMMARY,
    output:
        md=report(f"{FINAL}/report.md", caption="../report/report.rst", category="Report"),
        html=report(f"{FINAL}/report.html", caption="../report/report.rst", category="Report"),
    params:
        settings=as_json(outputs.report_settings(PLAN)),
        tables=as_json(outputs.report_table_entries(config)),
        figures=as_json(outputs.report_figures(config)),
        confusions=lambda wildcards: as_json(report_confusions(wildcards)),
        trainings=lambda wildcards: as_json(report_trainings(wildcards)),
    log:
        f"{FINAL}/logs/report.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy report --settings {params.settings:q} --tables {params.tables:q}"
        " --figures {params.figures:q} --confusions {params.confusions:q}"
        " --trainings {params.trainings:q} --data-summary {input.data_summary}"
        " --out {output.md} --html {output.html} > {log} 2>&1"

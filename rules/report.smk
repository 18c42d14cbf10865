# Figures and the finished report (results/report.md, results/report.html). Which tables
# the report covers comes from config `report_tables` (default: all ten); the figures it
# shows follow from those tables.
rule figure1:
    input:
        fgsm_inputs,
    output:
        png=report("results/figure1.png", caption="../report/figure1.rst", category="Figures"),
        csv=report("results/figure1.csv", caption="../report/figure1.rst", category="Figures"),
    params:
        entries=fgsm_settings,
    log:
        "results/logs/figures/figure1.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy.figures fgsm --entries {params.entries:q} --png {output.png}"
        " --csv {output.csv} > {log} 2>&1"


rule training_curves:
    input:
        training_curve_inputs,
    output:
        report(
            "results/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Figures",
        ),
    params:
        entries=training_curve_settings,
    log:
        "results/logs/figures/training_curves.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy.figures training-curves --entries {params.entries:q}"
        " --png {output} > {log} 2>&1"


rule class_counts:
    input:
        class_count_tables,
    output:
        report(
            "results/figures/class_counts.png",
            caption="../report/class_counts.rst",
            category="Figures",
        ),
    log:
        "results/logs/figures/class_counts.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy.figures class-counts --tables {input} --png {output} > {log} 2>&1"


rule seed_spread:
    input:
        "results/{table}.csv",
    output:
        report(
            "results/figures/seed_spread_{table}.png",
            caption="../report/seed_spread.rst",
            category="Figures",
            subcategory="Seed spread",
        ),
    params:
        ratios=" ".join(str(r) for r in config["table1"]["labeled_ratios"]),
    log:
        "results/logs/figures/seed_spread_{table}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy.figures seed-spread --table {input} --labeled-ratios {params.ratios}"
        " --png {output} > {log} 2>&1"


rule report:
    input:
        tables=report_table_files,
        figures=report_figures,
        confusions=report_confusions,
    output:
        md=report("results/report.md", caption="../report/report.rst", category="Report"),
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
    params:
        config=report_settings,
    log:
        "results/logs/report.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy.report --results results --config-json {params.config:q}"
        " --tables {input.tables} --figures {input.figures} --confusions {input.confusions}"
        " --out-md {output.md} --out-html {output.html} > {log} 2>&1"

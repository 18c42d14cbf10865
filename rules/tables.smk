rule table1:
    input:
        table1_evaluations,
    output:
        report(
            "results/table1.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
    log:
        "results/logs/tables/table1.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy table1 --out {output} {input} > {log} 2>&1"

# The paper's tables: each gathers per-model result files listed by noisy.tables.


rule table:
    input:
        table_inputs,
    output:
        report(
            "results/{table}.csv",
            caption="../report/tables.rst",
            category="Tables",
            subcategory="{table}",
        ),
    params:
        rows=table_rows,
    log:
        "results/logs/tables/{table}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy table --name {wildcards.table} --rows {params.rows:q}"
        " --out {output} > {log} 2>&1"


# Teacher, students and their yardsticks side by side (config `self_training_check`).
rule self_training_check:
    input:
        self_training_inputs,
    output:
        report(
            "results/self_training.csv",
            caption="../report/self_training.rst",
            category="Tables",
        ),
    params:
        rows=self_training_rows,
    log:
        "results/logs/tables/self_training.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy self-training-check --rows {params.rows:q} --out {output} > {log} 2>&1"

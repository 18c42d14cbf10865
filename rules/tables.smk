# The paper's tables: each gathers the result files its rows read (noisy.workflow.tables).


rule table:
    input:
        lambda wildcards: tables.input_files(table_rows(wildcards)),
    output:
        report(
            f"{FINAL}/{{table}}.csv",
            caption="../report/tables.rst",
            category="Tables",
            subcategory="{table}",
        ),
    params:
        rows=lambda wildcards: as_json(table_rows(wildcards)),
    log:
        f"{FINAL}/logs/{{table}}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy table --name {wildcards.table} --rows {params.rows:q}"
        " --out {output} > {log} 2>&1"


# Teacher, students and their yardsticks side by side (config `self_training_check`).
rule self_training_check:
    input:
        lambda wildcards: tables.input_files(outputs.self_training_rows(PLAN)),
    output:
        report(
            f"{FINAL}/self_training.csv",
            caption="../report/self_training.rst",
            category="Tables",
        ),
    params:
        rows=lambda wildcards: as_json(outputs.self_training_rows(PLAN)),
    log:
        f"{FINAL}/logs/self_training.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy self-training-check --rows {params.rows:q} --out {output} > {log} 2>&1"


# The paper's first number: the chain's first teacher beside the paper's (make paper-teacher).
rule teacher_check:
    input:
        lambda wildcards: tables.input_files(outputs.teacher_check_rows(PLAN)),
    output:
        report(
            f"{FINAL}/teacher_check.csv",
            caption="../report/teacher_check.rst",
            category="Tables",
        ),
    params:
        rows=lambda wildcards: as_json(outputs.teacher_check_rows(PLAN)),
    log:
        f"{FINAL}/logs/teacher_check.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy teacher-check --rows {params.rows:q} --out {output} > {log} 2>&1"

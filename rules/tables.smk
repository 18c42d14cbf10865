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

# CIFAR-10 as one array file, and the labeled/unlabeled splits of its train set.
rule prepare_data:
    input:
        source=data_source,
    output:
        data=DATA,
        summary=DATA_SUMMARY,
    params:
        source=config["data_source"],
        download_root=config["download_root"],
    log:
        DATA_FOLDER.log,
    conda:
        "../environment.yml"
    shell:
        "python -m noisy prepare-data --source {params.source:q} --out {output.data}"
        " --summary {output.summary} --download-root {params.download_root:q} > {log} 2>&1"


rule split:
    input:
        data=DATA,
    output:
        split=SPLIT_FOLDER.split,
        summary=SPLIT_FOLDER.summary,
    params:
        settings=settings_of("split", Split),
    log:
        SPLIT_FOLDER.log,
    conda:
        "../environment.yml"
    shell:
        "python -m noisy split --data {input.data} --settings {params.settings:q}"
        " --out {output.split} --summary {output.summary} > {log} 2>&1"

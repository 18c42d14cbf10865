rule prepare_data:
    output:
        data="results/data/cifar10.npz",
        summary="results/data/cifar10.json",
    params:
        source=config["data_source"],
        download_root=config["download_root"],
    log:
        "results/logs/prepare_data.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy prepare-data --source {params.source:q} --out {output.data}"
        " --download-root {params.download_root:q} > {log} 2>&1"


rule split:
    input:
        data=rules.prepare_data.output.data,
    output:
        split="results/splits/ratio{ratio}/seed{seed}.npz",
        summary="results/splits/ratio{ratio}/seed{seed}.json",
    params:
        settings=split_settings,
    log:
        "results/logs/split/ratio{ratio}/seed{seed}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy split --data {input.data} --settings {params.settings:q}"
        " --out {output.split} > {log} 2>&1"

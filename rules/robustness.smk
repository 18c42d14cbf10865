# CIFAR-10-C and CIFAR-10-P generated from the clean test set (seeded), one file per
# corruption or perturbation in the official layout. With `robustness: source: official`
# the official files are read from their folders instead and these rules are not used.


rule generate_corruption:
    input:
        data=rules.prepare_data.output.data,
    output:
        "results/robustness/cifar10_c/{corruption}.npy",
    params:
        per_class=PRESET["robustness_per_class"] or 0,
        seed=config["robustness"]["seed"],
    log:
        "results/logs/robustness/cifar10_c/{corruption}.log",
    resources:
        **noisy_config.cluster_resources(config, "generate_corruption"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy generate-corruption --data {input.data} --name {wildcards.corruption}"
        " --per-class {params.per_class} --seed {params.seed} --out {output} > {log} 2>&1"


rule generate_perturbation:
    input:
        data=rules.prepare_data.output.data,
    output:
        "results/robustness/cifar10_p/{perturbation}.npy",
    params:
        per_class=PRESET["robustness_per_class"] or 0,
        seed=config["robustness"]["seed"],
    log:
        "results/logs/robustness/cifar10_p/{perturbation}.log",
    resources:
        **noisy_config.cluster_resources(config, "generate_perturbation"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy generate-perturbation --data {input.data}"
        " --name {wildcards.perturbation} --per-class {params.per_class}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


rule corruption_grid:
    input:
        data=rules.prepare_data.output.data,
    output:
        report(
            "results/figures/corruption_grid.png",
            caption="../report/corruption_grid.rst",
            category="Figures",
        ),
    params:
        seed=config["robustness"]["seed"],
    log:
        "results/logs/figures/corruption_grid.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy corruption-grid --data {input.data} --seed {params.seed}"
        " --out {output} > {log} 2>&1"

# CIFAR-10-C and CIFAR-10-P generated from the clean test set (seeded), one file per
# corruption or perturbation in the official layout, in a folder named by the images
# per class and the seed. With `robustness: source: official` the official files are
# read from their folders instead and these rules are not used.


rule generate_corruption:
    input:
        data=DATA,
        frost=frost_photographs,
    output:
        "{corruptions}/{name}.npy",
    params:
        settings=settings_of("corruptions", RobustnessSet),
    log:
        "{corruptions}/{name}.log",
    resources:
        **resources_of("generate_corruption"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy generate-corruption --data {input.data} --name {wildcards.name}"
        " --settings {params.settings:q} --out {output} > {log} 2>&1"


rule generate_perturbation:
    input:
        data=DATA,
    output:
        "{perturbations}/{name}.npy",
    params:
        settings=settings_of("perturbations", RobustnessSet),
    log:
        "{perturbations}/{name}.log",
    resources:
        **resources_of("generate_perturbation"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy generate-perturbation --data {input.data} --name {wildcards.name}"
        " --settings {params.settings:q} --out {output} > {log} 2>&1"


rule corruption_grid:
    input:
        data=DATA,
    output:
        report(
            f"{FINAL}/figures/corruption_grid.png",
            caption="../report/corruption_grid.rst",
            category="Figures",
        ),
    params:
        settings=as_json({"seed": config["robustness"]["seed"]}),
    log:
        f"{FINAL}/figures/corruption_grid.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy corruption-grid --data {input.data} --settings {params.settings:q}"
        " --out {output} > {log} 2>&1"

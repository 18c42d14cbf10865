# Evaluation of any trained model (supervised or student): clean metrics for every
# model, robustness (FGSM, CIFAR-10-C, CIFAR-10-P) only where a table asks for it.
# Both run on the configured `device`, in fp32.


rule evaluate:
    input:
        data=rules.prepare_data.output.data,
        model="results/{model_dir}/model.pt",
    output:
        metrics="results/{model_dir}/eval.json",
        confusion=report(
            "results/{model_dir}/confusion.png",
            caption="../report/confusion.rst",
            category="Confusion matrices",
        ),
    params:
        settings=as_json({"test_per_class": PRESET["test_per_class"]}),
    log:
        "results/logs/evaluate/{model_dir}.log",
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "evaluate"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy evaluate --data {input.data} --model {input.model}"
        " --settings {params.settings:q} --confusion {output.confusion}"
        " --device {config[device]} --threads {threads} --out {output.metrics} > {log} 2>&1"


rule evaluate_robustness:
    input:
        data=rules.prepare_data.output.data,
        model="results/{model_dir}/model.pt",
        corruptions=corruption_files,
        perturbations=perturbation_files,
    output:
        "results/{model_dir}/robustness.json",
    params:
        settings=robustness_settings,
    log:
        "results/logs/robustness/{model_dir}.log",
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "evaluate_robustness"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy evaluate --data {input.data} --model {input.model}"
        " --settings {params.settings:q} --corruptions {input.corruptions}"
        " --perturbations {input.perturbations} --device {config[device]}"
        " --threads {threads} --out {output} > {log} 2>&1"

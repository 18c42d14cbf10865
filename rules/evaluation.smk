# Evaluation of any trained model: clean metrics (eval-*/) for every model, robustness
# (FGSM, CIFAR-10-C, CIFAR-10-P; robustness-*/) only where a table asks for it. Both run
# on the configured `device`, in fp32.


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        metrics=EVALUATION_FOLDER.metrics,
        confusion=report(
            EVALUATION_FOLDER.confusion,
            caption="../report/confusion.rst",
            category="Confusion matrices",
        ),
    params:
        settings=settings_of("evaluation", Evaluation),
    log:
        EVALUATION_FOLDER.log,
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **RUNTIME,
        **resources_of("evaluate"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy evaluate --data {input.data} --model {input.model}"
        " --settings {params.settings:q} --confusion {output.confusion}"
        " --device {resources.device} --threads {threads} --out {output.metrics} > {log} 2>&1"


rule evaluate_robustness:
    input:
        unpack(robustness_inputs),
    output:
        metrics=ROBUSTNESS_FOLDER.metrics,
        definition=ROBUSTNESS_FOLDER.definition,
    params:
        settings=settings_of("robustness", Robustness),
    log:
        ROBUSTNESS_FOLDER.log,
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **RUNTIME,
        **resources_of("evaluate_robustness"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy evaluate-robustness --data {input.data} --model {input.model}"
        " --settings {params.settings:q} --corruptions {input.corruptions}"
        " --perturbations {input.perturbations} --device {resources.device}"
        " --threads {threads} --out {output.metrics} --definition {output.definition}"
        " > {log} 2>&1"

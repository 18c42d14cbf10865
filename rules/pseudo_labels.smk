# Pseudo labels: a teacher's predictions on the unlabeled pool of its split (they depend
# on the teacher only), the labeled images plus the confident ones (select), and their
# classes balanced (the student's training set).


rule predict:
    input:
        unpack(prediction_inputs),
    output:
        "{model}/predictions.npz",
    log:
        "{model}/predict.log",
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **RUNTIME,
        **resources_of("predict"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy predict --data {input.data} --split {input.split}"
        " --model {input.model} --device {resources.device} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule select_pseudo_labels:
    input:
        unpack(selection_inputs),
    output:
        candidates="{selection}/candidates.npz",
        summary="{selection}/candidates.json",
        definition="{selection}/stage.json",
    params:
        settings=settings_of("selection", Selection),
    log:
        "{selection}/select.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy select --data {input.data} --split {input.split}"
        " --predictions {input.predictions} --settings {params.settings:q}"
        " --out {output.candidates} --summary {output.summary}"
        " --definition {output.definition} > {log} 2>&1"


rule balance_classes:
    input:
        balance_input,
    output:
        trainset="{balanced}/trainset.npz",
        summary="{balanced}/trainset.json",
        definition="{balanced}/stage.json",
    params:
        settings=settings_of("balanced", BalancedSet),
    log:
        "{balanced}/balance.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy balance --candidates {input} --settings {params.settings:q}"
        " --out {output.trainset} --summary {output.summary}"
        " --definition {output.definition} > {log} 2>&1"

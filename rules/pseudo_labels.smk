# Pseudo labels: a teacher's predictions on the unlabeled pool of its split (they depend
# on the teacher only), the labeled images plus the confident ones (select), and their
# classes balanced (the student's training set).


rule predict:
    input:
        unpack(prediction_inputs),
    output:
        MODEL_FOLDER.predictions,
    log:
        MODEL_FOLDER.prediction_log,
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
        candidates=SELECTION_FOLDER.candidates,
        summary=SELECTION_FOLDER.summary,
        definition=SELECTION_FOLDER.definition,
    params:
        settings=settings_of("selection", Selection),
    log:
        SELECTION_FOLDER.log,
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
        trainset=BALANCED_FOLDER.trainset,
        summary=BALANCED_FOLDER.summary,
        definition=BALANCED_FOLDER.definition,
    params:
        settings=settings_of("balanced", BalancedSet),
    log:
        BALANCED_FOLDER.log,
    conda:
        "../environment.yml"
    shell:
        "python -m noisy balance --candidates {input} --settings {params.settings:q}"
        " --out {output.trainset} --summary {output.summary}"
        " --definition {output.definition} > {log} 2>&1"

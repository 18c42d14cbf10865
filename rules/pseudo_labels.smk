# Pseudo labels: the teacher's predictions on the unlabeled pool (depend on the teacher
# only), then selection (threshold + target type) and class balancing.


rule predict_supervised:
    input:
        data=rules.prepare_data.output.data,
        split=rules.split.output.split,
        model="results/supervised/ratio{ratio}/seed{seed}/{network}/model.pt",
    output:
        "results/supervised/ratio{ratio}/seed{seed}/{network}/predictions.npz",
    log:
        "results/logs/predict/supervised/ratio{ratio}/seed{seed}/{network}.log",
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "predict_supervised"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy predict --data {input.data} --split {input.split}"
        " --model {input.model} --device {config[device]} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule predict_student:
    input:
        data=rules.prepare_data.output.data,
        split=experiment_split,
        model="results/runs/{experiment}/seed{seed}/{network}/model.pt",
    output:
        "results/runs/{experiment}/seed{seed}/{network}/predictions.npz",
    log:
        "results/logs/predict/runs/{experiment}/seed{seed}/{network}.log",
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "predict_student"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy predict --data {input.data} --split {input.split}"
        " --model {input.model} --device {config[device]} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule select_pseudo_labels:
    input:
        data=rules.prepare_data.output.data,
        split=experiment_split,
        predictions=teacher_predictions,
    output:
        candidates="results/runs/{experiment}/seed{seed}/{network}/candidates.npz",
        summary="results/runs/{experiment}/seed{seed}/{network}/candidates.json",
    params:
        settings=selection_settings,
    log:
        "results/logs/select/{experiment}/seed{seed}/{network}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy select --data {input.data} --split {input.split}"
        " --predictions {input.predictions} --settings {params.settings:q}"
        " --out {output.candidates} > {log} 2>&1"


rule balance_classes:
    input:
        rules.select_pseudo_labels.output.candidates,
    output:
        trainset="results/runs/{experiment}/seed{seed}/{network}/trainset.npz",
        summary="results/runs/{experiment}/seed{seed}/{network}/trainset.json",
    params:
        settings=selection_settings,
    log:
        "results/logs/balance/{experiment}/seed{seed}/{network}.log",
    conda:
        "../environment.yml"
    shell:
        "python -m noisy balance --candidates {input} --settings {params.settings:q}"
        " --out {output.trainset} > {log} 2>&1"

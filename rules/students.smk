# Students: trained from scratch on the balanced training set with model and input noise;
# each then teaches the next network of its chain.


rule train_student:
    input:
        data=rules.prepare_data.output.data,
        trainset=student_trainset,
    output:
        model="results/runs/{experiment}/seed{seed}/{network}/model.pt",
        history="results/runs/{experiment}/seed{seed}/{network}/history.csv",
    params:
        settings=student_settings,
        state="results/.state/runs/{experiment}/seed{seed}/{network}.pt",
    log:
        "results/logs/students/{experiment}/seed{seed}/{network}.log",
    benchmark:
        "results/benchmarks/students/{experiment}/seed{seed}/{network}.tsv"
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "train_student"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy train-student --data {input.data} --trainset {input.trainset}"
        " --settings {params.settings:q} --state {params.state} --threads {threads}"
        " --checkpoint-interval-s {config[checkpoint_interval_s]}"
        " --model {output.model} --history {output.history} > {log} 2>&1"


# Supervised models on the labeled part of a split: Table 1, the teacher (10% ResNet-20)
# and the "without self-training" baseline under results/supervised/ (one rule, so the
# teacher is trained once), and under results/yardstick/ the same networks with a
# student's budget (the fair comparison in results/self_training.csv).
rule train_supervised:
    input:
        data=rules.prepare_data.output.data,
        split=rules.split.output.split,
    output:
        model="results/{kind}/ratio{ratio}/seed{seed}/{network}/model.pt",
        history="results/{kind}/ratio{ratio}/seed{seed}/{network}/history.csv",
    params:
        settings=supervised_settings,
        state="results/.state/{kind}/ratio{ratio}/seed{seed}/{network}.pt",
    log:
        "results/logs/{kind}/ratio{ratio}/seed{seed}/{network}.log",
    benchmark:
        "results/benchmarks/{kind}/ratio{ratio}/seed{seed}/{network}.tsv"
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **noisy_config.cluster_resources(config, "train_supervised"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy train-supervised --data {input.data} --split {input.split}"
        " --settings {params.settings:q} --state {params.state} --threads {threads}"
        " --checkpoint-interval-s {config[checkpoint_interval_s]}"
        " --model {output.model} --history {output.history} > {log} 2>&1"


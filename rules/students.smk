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
    conda:
        "../environment.yml"
    shell:
        "python -m noisy train-student --data {input.data} --trainset {input.trainset}"
        " --settings {params.settings:q} --state {params.state} --threads {threads}"
        " --model {output.model} --history {output.history} > {log} 2>&1"


rule evaluate_student:
    input:
        data=rules.prepare_data.output.data,
        model=rules.train_student.output.model,
    output:
        "results/runs/{experiment}/seed{seed}/{network}/eval.json",
    params:
        test_per_class=PRESET["test_per_class"] or 0,
    log:
        "results/logs/evaluate/runs/{experiment}/seed{seed}/{network}.log",
    threads: 2
    conda:
        "../environment.yml"
    shell:
        "python -m noisy evaluate --data {input.data} --model {input.model}"
        " --test-per-class {params.test_per_class} --threads {threads}"
        " --out {output} > {log} 2>&1"

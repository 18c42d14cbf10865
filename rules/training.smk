# Every trained network, in its folder under results/models/: supervised models (the
# teacher, Table 1, the robustness baseline, the yardsticks) learn from the labeled part
# of their split, students from a balanced training set with model and input noise.
# A killed or timed-out training resumes from its saved state (state.pt).
rule train:
    input:
        unpack(training_inputs),
    output:
        model=MODEL_FOLDER.model,
        history=MODEL_FOLDER.history,
        definition=MODEL_FOLDER.definition,
    params:
        settings=settings_of("model", Model),
        source=training_source,
        state=MODEL_FOLDER.state,
    log:
        MODEL_FOLDER.log,
    benchmark:
        MODEL_FOLDER.benchmark
    threads: 2
    resources:
        gpu=GPU_PER_JOB,
        **RUNTIME,
        mem_mb=training_resource("mem_mb"),
        runtime=training_resource("runtime"),
    conda:
        "../environment.yml"
    shell:
        "python -m noisy train --data {input.data} --{params.source} {input.source}"
        " --settings {params.settings:q} --state {params.state} --device {resources.device}"
        " --threads {threads}"
        " --checkpoint-interval-s {resources.checkpoint_interval_s}"
        " --out {output.model} --history {output.history}"
        " --definition {output.definition} > {log} 2>&1"

# Fine-tuning: the victim and every ADA / mixup / AMDA model, one job per run identity.


rule train_model:
    input:
        unpack(train_inputs),
    output:
        model=directory(WILDCARDS.saved_model),
        metrics=WILDCARDS.metrics,
    log:
        f"results/logs/train_model/{RUN}.log",
    benchmark:
        WILDCARDS.train_benchmark
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=6000,
        runtime=240,
        gpu=GPU_PER_JOB,
    params:
        spec=lambda wc: json.dumps(training_spec(config, run_of(wc)), sort_keys=True),
        flags=train_flags,
        data_dir="results/data/{dataset}",
        out=WILDCARDS.model_dir,
        checkpoint=WILDCARDS.checkpoint_dir,
    shell:
        "python workflow_scripts/train_model.py --data-dir {params.data_dir} --spec-json {params.spec:q}"
        " {params.flags} --out {params.out} --checkpoint-dir {params.checkpoint} --threads {threads}"
        " > {log} 2>&1"

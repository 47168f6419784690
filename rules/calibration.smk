# Calibration: the `calibrated` evaluation setting (amda.naming.SETTINGS), off unless calibration.tables names a
# table. Each model of those tables gets a temperature fitted on dev; it is attacked again with its logits over
# that temperature; the comparisons are decided again (claims rows of their own) and results/calibration.{csv,md}
# lists each model's temperature, its calibration and its accuracy under attack in both settings.

# Each (model, attack) of the calibrated tables, once.
CALIBRATED_PAIRS = sorted({pair for name in CALIBRATED_TABLES for pair in PAIRS[name]}, key=lambda p: (p[0].rel, p[1]))


rule calibrate:
    input:
        model=WILDCARDS.saved_model,
        dev=lambda wc: data_files(wc.dataset)["dev"],
        test=lambda wc: data_files(wc.dataset)["test"],
        code=stage_code("calibrate.py"),
    output:
        WILDCARDS.calibration,
    log:
        f"results/logs/calibrate/{RUN}.log",
    benchmark:
        f"results/benchmarks/calibrate/{RUN}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPU_PER_JOB,
    params:
        run=lambda wc: run_json(run_of(wc)),
        max_length=lambda wc: config["datasets"][wc.dataset]["max_length"],
        batch_size=config["evaluation"]["batch_size"],
    shell:
        "python workflow_scripts/calibrate.py --model-dir {input.model} --dev {input.dev} --test {input.test}"
        " --max-length {params.max_length} --batch-size {params.batch_size} --run-json {params.run:q}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule attack_shard_calibrated:
    input:
        unpack(attack_inputs(run_of, "test")),
        temperature=lambda wc: run_of(wc).calibration,
    output:
        WILDCARDS.tae_shard("{attack}", "{shard}", "{shards}", setting=CALIBRATED),
    log:
        f"results/logs/attack/{RUN}/{CALIBRATED}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.log",
    benchmark:
        f"results/benchmarks/attack_shard/{RUN}/{CALIBRATED}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=600,
        gpu=GPU_PER_JOB,
    params:
        attack=lambda wc: attack_json(wc.attack),
        resources=resource_flags,
        max_length=lambda wc: config["datasets"][wc.dataset]["max_length"],
        batch_size=config["evaluation"]["batch_size"],
        sample=TAE_SAMPLE,
        checkpoint=f"results/checkpoints/attacks/{RUN}/{CALIBRATED}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.jsonl",
        reuse=f"--reuse-dir results/reuse/attacks/{RUN}/{CALIBRATED}/tae-{{attack}}",
    shell:
        f"{ATTACK_COMMAND} --temperature-json {{input.temperature}} > {{log}} 2>&1"


rule merge_attack_calibrated:
    input:
        shards=lambda wc: [run_of(wc).tae_shard(wc.attack, i, SHARDS, setting=CALIBRATED) for i in range(SHARDS)],
        code=stage_code("merge_attack.py"),
    output:
        parquet=WILDCARDS.tae("{attack}", "parquet", setting=CALIBRATED),
        summary=WILDCARDS.tae("{attack}", setting=CALIBRATED),
    log:
        f"results/logs/attack/{RUN}/{CALIBRATED}/tae-{{attack}}/merge.log",
    benchmark:
        f"results/benchmarks/merge_attack/{RUN}/{CALIBRATED}/tae-{{attack}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        run=lambda wc: run_json(run_of(wc)),
        setting=CALIBRATED,
    shell:
        "python workflow_scripts/merge_attack.py --shards {input.shards} --run-json {params.run:q}"
        " --attack {wildcards.attack} --setting {params.setting} --out-parquet {output.parquet}"
        " --out-json {output.summary} > {log} 2>&1"


for _name in [name for name in CALIBRATED_TABLES if name in CLAIM_TABLES]:

    rule:
        name:
            f"claims_{_name}_{CALIBRATED}"
        input:
            tae=sorted({r.tae(a, setting=CALIBRATED) for r, a in PAIRS[_name]}),
            records=sorted({r.tae(a, "parquet", setting=CALIBRATED) for r, a in PAIRS[_name]}),
            code=stage_code("claims.py"),
        output:
            claims_part(_name, CALIBRATED),
        log:
            f"results/logs/aggregate/claims_{_name}_{CALIBRATED}.log",
        benchmark:
            f"results/benchmarks/claims_{_name}_{CALIBRATED}.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        shell:
            "python workflow_scripts/claims.py --tae {input.tae} --out-csv {output} > {log} 2>&1"


rule calibration_table:
    input:
        calibration=sorted({r.calibration for r, _ in CALIBRATED_PAIRS}),
        tae=tae_files(CALIBRATED_PAIRS),
        tae_calibrated=sorted({r.tae(a, setting=CALIBRATED) for r, a in CALIBRATED_PAIRS}),
        code=AGG_CODE,
    output:
        csv=report("results/calibration.csv", caption="../report/calibration.rst", category="Tables"),
        md="results/calibration.md",
    log:
        "results/logs/aggregate/calibration.log",
    benchmark:
        "results/benchmarks/calibration.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python workflow_scripts/aggregate.py calibration --calibration {input.calibration} --tae {input.tae}"
        " --tae-calibrated {input.tae_calibrated} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"

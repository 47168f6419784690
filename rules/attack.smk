# Attacks: the adversarial training set (on the victim), TAE of every model (sharded), SAE.


ATTACK_COMMAND = (
    "python workflow_scripts/attack_shard.py --model-dir {input.model} --data {input.data}"
    " --attack {wildcards.attack} --attack-json {params.attack:q} {params.resources}"
    " --max-length {params.max_length} --batch-size {params.batch_size}"
    " --shard {wildcards.shard} --shards {wildcards.shards} {params.sample}"
    " --checkpoint {params.checkpoint} {params.reuse} --out {output} --threads {threads}"
)
ATTACK_SHELL = f"{ATTACK_COMMAND} > {{log}} 2>&1"
# The evaluation sample of TAE (evaluation.attack_size): the same rows in every setting.
TAE_SAMPLE = (
    f"--sample-size {config['evaluation']['attack_size']} --sample-seed {config['evaluation']['attack_seed']}"
    if config["evaluation"]["attack_size"]
    else ""
)


rule adv_train_shard:
    input:
        unpack(attack_inputs(victim_of, "train")),
    output:
        adv_train_shard("{dataset}", "{model}", "{attack}", "{shard}", "{shards}"),
    log:
        "results/logs/adv_train/{dataset}/{model}/{attack}/shard{shard}-of-{shards}.log",
    benchmark:
        adv_train_shard_benchmark("{dataset}", "{model}", "{attack}", "{shard}", "{shards}")
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
        sample=lambda wc: (
            f"--fraction {adv_train_fraction(config, wc.dataset)} --sample-seed {config['adv_train']['seed']}"
        ),
        checkpoint="results/checkpoints/adv_train/{dataset}/{model}/{attack}/shard{shard}-of-{shards}.jsonl",
        reuse="",
    shell:
        ATTACK_SHELL


rule merge_adv_train:
    input:
        shards=lambda wc: [adv_train_shard(wc.dataset, wc.model, wc.attack, i, ADV_SHARDS) for i in range(ADV_SHARDS)],
        code=stage_code("merge_attack.py"),
    output:
        parquet=adv_train("{dataset}", "{model}", "{attack}"),
        summary=adv_train("{dataset}", "{model}", "{attack}", "json"),
    log:
        "results/logs/adv_train/{dataset}/{model}/{attack}/merge.log",
    benchmark:
        "results/benchmarks/merge_adv_train/{dataset}/{model}/{attack}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        run=lambda wc: run_json(victim_of(wc)),
    shell:
        "python workflow_scripts/merge_attack.py --shards {input.shards} --run-json {params.run:q}"
        " --attack {wildcards.attack} --split train --out-parquet {output.parquet} --out-json {output.summary} > {log} 2>&1"


rule attack_shard:
    input:
        unpack(attack_inputs(run_of, "test")),
    output:
        WILDCARDS.tae_shard("{attack}", "{shard}", "{shards}"),
    log:
        f"results/logs/attack/{RUN}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.log",
    benchmark:
        f"results/benchmarks/attack_shard/{RUN}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.tsv"
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
        checkpoint=f"results/checkpoints/attacks/{RUN}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.jsonl",
        reuse=f"--reuse-dir results/reuse/attacks/{RUN}/tae-{{attack}}",
    shell:
        ATTACK_SHELL


rule merge_attack:
    input:
        shards=lambda wc: [run_of(wc).tae_shard(wc.attack, i, SHARDS) for i in range(SHARDS)],
        code=stage_code("merge_attack.py"),
    output:
        parquet=WILDCARDS.tae("{attack}", "parquet"),
        summary=WILDCARDS.tae("{attack}"),
    log:
        f"results/logs/attack/{RUN}/tae-{{attack}}/merge.log",
    benchmark:
        f"results/benchmarks/merge_attack/{RUN}/tae-{{attack}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        run=lambda wc: run_json(run_of(wc)),
    shell:
        "python workflow_scripts/merge_attack.py --shards {input.shards} --run-json {params.run:q}"
        " --attack {wildcards.attack} --out-parquet {output.parquet} --out-json {output.summary} > {log} 2>&1"


rule static_eval:
    input:
        model=WILDCARDS.saved_model,
        victim_tae=lambda wc: victim_of(wc).tae(wc.attack, "parquet"),
        code=stage_code("static_eval.py"),
    output:
        WILDCARDS.sae("{attack}"),
    log:
        f"results/logs/attack/{RUN}/sae-{{attack}}.log",
    benchmark:
        f"results/benchmarks/static_eval/{RUN}/sae-{{attack}}.tsv"
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
        padding=sae_padding_flag,
    shell:
        "python workflow_scripts/static_eval.py --model-dir {input.model} --victim-tae {input.victim_tae}"
        " --max-length {params.max_length} --batch-size {params.batch_size} --run-json {params.run:q}"
        " --attack {wildcards.attack}{params.padding} --out {output} --threads {threads} > {log} 2>&1"

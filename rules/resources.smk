# Offline attack resources: NLTK data made ready in the project cache; counter-fitted word vectors.


rule prepare_nltk:
    input:
        code=stage_code("prepare_resources.py"),
    output:
        touch(NLTK_READY),
    log:
        "results/logs/prepare_nltk.log",
    benchmark:
        "results/benchmarks/prepare_nltk.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        src=f"{config['paths']['shared_resources']}/nltk_data",
        dst=NLTK_DIR,
    shell:
        "python workflow_scripts/prepare_resources.py --nltk-src {params.src:q} --nltk-dst {params.dst:q} > {log} 2>&1"


rule counterfit:
    input:
        code=stage_code("counterfit.py"),
    output:
        directory(EMBEDDING_DIR),
    log:
        "results/logs/counterfit.log",
    benchmark:
        "results/benchmarks/counterfit.tsv"
    conda:
        CONDA_ENV
    # One thread: a two-thread job waits for two free cores, which a queue of one-thread jobs never leaves it
    # (on 2 cores it starved, holding back every TextFooler job); the embeddings are the same bytes either way.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        constraints=f"{config['paths']['shared_resources']}/counter-fitting",
        glove=config["counterfit"]["glove"],
        vocab=config["counterfit"]["vocab_size"],
        neighbours=config["counterfit"]["neighbours"],
        epochs=config["counterfit"]["epochs"],
    shell:
        "python workflow_scripts/counterfit.py --resources {params.constraints:q} --glove {params.glove:q}"
        " --vocab-size {params.vocab} --neighbours {params.neighbours} --epochs {params.epochs} --seed 0"
        " --out {output:q} --threads {threads} > {log} 2>&1"

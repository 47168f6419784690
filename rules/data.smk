# Data stage: validated, subsampled splits and their statistics; token statistics per model apart.


rule prepare_data:
    input:
        code=stage_code("prepare_data.py"),
        sources=lambda wc: [str(p) for p in source_files(config, wc.dataset).values()],
    output:
        **data_files("{dataset}"),
        stats="results/data/{dataset}/stats.json",
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        spec=lambda wc: json.dumps(config["datasets"][wc.dataset], sort_keys=True),
        shared=config["paths"]["shared_data"],
        out_dir="results/data/{dataset}",
    shell:
        "python workflow_scripts/prepare_data.py --name {wildcards.dataset:q} --spec-json {params.spec:q}"
        " --shared-data {params.shared:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


# A model's tokenizer never touches the splits: changing or breaking a model reruns only this.
rule token_stats:
    input:
        **data_files("{dataset}"),
        code=stage_code("token_stats.py"),
    output:
        TOKEN_STATS,
    log:
        "results/logs/token_stats/{dataset}/{model}.log",
    benchmark:
        "results/benchmarks/token_stats/{dataset}/{model}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=lambda wc: config["models"][wc.model]["source"],
        max_length=lambda wc: config["datasets"][wc.dataset]["max_length"],
        data_dir=lambda wc, input: os.path.dirname(input.train),
        cache=CACHE,
    shell:
        "python workflow_scripts/token_stats.py --data-dir {params.data_dir:q} --source {params.source:q}"
        " --max-length {params.max_length} --cache-dir {params.cache:q} --out {output:q} > {log:q} 2>&1"


# What changes the meaning of the results (a test split with one class, ...) reaches the console.
onsuccess:
    print_data_warnings()


onerror:
    print_data_warnings()

# Data stage: validated, subsampled splits and their statistics.


rule prepare_data:
    input:
        code=stage_code("prepare_data.py", "data.py"),
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
        tokenizers=lambda wc: tokenizer_args(wc.dataset),
        out_dir="results/data/{dataset}",
        cache=CACHE,
    shell:
        "python workflow_scripts/prepare_data.py --name {wildcards.dataset} --spec-json {params.spec:q}"
        " --shared-data {params.shared:q} --out-dir {params.out_dir} --cache-dir {params.cache:q}"
        " {params.tokenizers} > {log} 2>&1"

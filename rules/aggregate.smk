# Aggregation: the paper's tables and figures, and our numbers beside the paper's.


rule table1:
    input:
        unpack(table_inputs(PAIRS.get("table1", []), with_sae=True)),
    output:
        csv=report("results/table1.csv", caption="../report/table1.rst", category="Tables"),
        md="results/table1.md",
    log:
        "results/logs/aggregate/table1.log",
    benchmark:
        "results/benchmarks/table1.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        victim_seed=VICTIM_SEED,
    shell:
        "python workflow_scripts/aggregate.py table1 --tae {input.tae} --metrics {input.metrics} --sae {input.sae}"
        " --victim-seed {params.victim_seed} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


for _name in ("table2", "table3", "table4"):

    rule:
        name:
            _name
        input:
            unpack(table_inputs(PAIRS.get(_name, []))),
        output:
            csv=report(f"results/{_name}.csv", caption=f"../report/{_name}.rst", category="Tables"),
            md=f"results/{_name}.md",
        log:
            f"results/logs/aggregate/{_name}.log",
        benchmark:
            f"results/benchmarks/{_name}.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            table=_name,
        shell:
            "python workflow_scripts/aggregate.py {params.table} --tae {input.tae} --metrics {input.metrics}"
            " --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


for _name in ("figure2", "figure3"):

    rule:
        name:
            _name
        input:
            unpack(table_inputs(PAIRS.get(_name, []))),
        output:
            png=report(f"results/{_name}.png", caption=f"../report/{_name}.rst", category="Figures"),
            csv=f"results/{_name}.csv",
        log:
            f"results/logs/aggregate/{_name}.log",
        benchmark:
            f"results/benchmarks/{_name}.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            figure=_name,
        shell:
            "python workflow_scripts/aggregate.py {params.figure} --tae {input.tae} --metrics {input.metrics}"
            " --out-png {output.png} --out-csv {output.csv} > {log} 2>&1"


rule paper_comparison:
    input:
        tables=[f"results/{t}.csv" for t in ("table1", "table2", "table3", "table4") if t in TABLES],
        code=AGG_CODE,
    output:
        report("results/paper_comparison.md", caption="../report/paper_comparison.rst", category="Tables"),
    log:
        "results/logs/aggregate/paper_comparison.log",
    benchmark:
        "results/benchmarks/paper_comparison.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python workflow_scripts/aggregate.py paper-comparison --tables {input.tables} --out-md {output} > {log} 2>&1"

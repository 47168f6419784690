# Aggregation: the paper's tables and figures, and our numbers beside the paper's.

# The tables with claims (Table 1: SAE vs TAE; Tables 2-4: method comparisons); default: every configured one.
CLAIM_TABLES = claim_tables(config)


rule table1:
    input:
        unpack(table_inputs(PAIRS.get("table1", []), with_sae=True)),
        claims="results/claims/table1.csv" if "table1" in CLAIM_TABLES else [],
        data_stats=stats_files(PAIRS.get("table1", [])),
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
        claims="--claims results/claims/table1.csv" if "table1" in CLAIM_TABLES else "",
    shell:
        "python workflow_scripts/aggregate.py table1 --tae {input.tae} --metrics {input.metrics} --sae {input.sae}"
        " --victim-seed {params.victim_seed} {params.claims} --data-stats {input.data_stats}"
        " --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"


for _name in ("table2", "table3", "table4"):

    rule:
        name:
            _name
        input:
            unpack(table_inputs(PAIRS.get(_name, []))),
            claims=f"results/claims/{_name}.csv" if _name in CLAIM_TABLES else [],
            data_stats=stats_files(PAIRS.get(_name, [])),
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
            claims=f"--claims results/claims/{_name}.csv" if _name in CLAIM_TABLES else "",
            train_attacks=train_attacks_flag(_name),
        shell:
            "python workflow_scripts/aggregate.py {params.table} --tae {input.tae} --metrics {input.metrics}"
            " {params.claims}{params.train_attacks} --data-stats {input.data_stats} --out-csv {output.csv}"
            " --out-md {output.md} > {log} 2>&1"


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


rule defenses:
    input:
        unpack(table_inputs(PAIRS.get("defenses", []))),
        train_benchmarks=sorted({r.train_benchmark for r, _ in PAIRS.get("defenses", [])}),
        adv_benchmarks=adv_set_benchmarks(PAIRS.get("defenses", [])),
        data_stats=stats_files(PAIRS.get("defenses", [])),
    output:
        csv=report("results/defenses.csv", caption="../report/defenses.rst", category="Tables"),
        md="results/defenses.md",
        png=report("results/defenses.png", caption="../report/defenses.rst", category="Figures"),
    log:
        "results/logs/aggregate/defenses.log",
    benchmark:
        "results/benchmarks/defenses.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        train_attacks=train_attacks_flag("defenses"),
    shell:
        "python workflow_scripts/aggregate.py defenses --tae {input.tae} --metrics {input.metrics}"
        " --train-benchmarks {input.train_benchmarks} --adv-benchmarks {input.adv_benchmarks}{params.train_attacks}"
        " --data-stats {input.data_stats}"
        " --out-csv {output.csv} --out-md {output.md} --out-png {output.png} > {log} 2>&1"


rule paper_comparison:
    input:
        tables=[f"results/{t}.csv" for t in ("table1", "table2", "table3", "table4") if t in TABLES],
        claims="results/claims.csv",
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
        "python workflow_scripts/aggregate.py paper-comparison --tables {input.tables} --claims {input.claims}"
        " --out-md {output} > {log} 2>&1"


for _name in CLAIM_TABLES:

    rule:
        name:
            f"claims_{_name}"
        input:
            tae=tae_files(PAIRS.get(_name, [])),
            records=sorted({r.tae(a, "parquet") for r, a in PAIRS.get(_name, [])}),
            sae=sae_files(PAIRS.get(_name, [])) if _name == "table1" else [],
            code=stage_code("claims.py"),
        output:
            f"results/claims/{_name}.csv",
        log:
            f"results/logs/aggregate/claims_{_name}.log",
        benchmark:
            f"results/benchmarks/claims_{_name}.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            # params are fixed when the rule is defined; the shell string would read _name when it runs
            sae=sae_flags if _name == "table1" else "",
        shell:
            "python workflow_scripts/claims.py --tae {input.tae} {params.sae} --out-csv {output} > {log} 2>&1"


# The claims tables' models attacked by both attacks of a reference/recipe pair (amda.records.attack_pairs), compared
# under the two; in `all` when there are any.
CHANGE_PAIRS = paired_runs(pair for name in CLAIM_TABLES for pair in PAIRS.get(name, []))


rule attack_change:
    input:
        tae=tae_files(CHANGE_PAIRS),
        records=sorted({r.tae(a, "parquet") for r, a in CHANGE_PAIRS}),
        code=stage_code("claims.py"),
    output:
        csv=report("results/attack_change.csv", caption="../report/attack_change.rst", category="Tables"),
        md="results/attack_change.md",
    log:
        "results/logs/aggregate/attack_change.log",
    benchmark:
        "results/benchmarks/attack_change.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python workflow_scripts/claims.py --attack-change --tae {input.tae} --out-csv {output.csv}"
        " --out-md {output.md} > {log} 2>&1"


rule claims:
    input:
        parts=[claims_part(name) for name in CLAIM_TABLES]
        + [claims_part(name, CALIBRATED) for name in CALIBRATED_TABLES if name in CLAIM_TABLES],
        code=stage_code("claims.py"),
    output:
        csv=report("results/claims.csv", caption="../report/claims.rst", category="Tables"),
        md="results/claims.md",
    log:
        "results/logs/aggregate/claims.log",
    benchmark:
        "results/benchmarks/claims.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python workflow_scripts/claims.py --parts {input.parts} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"

"""bench/plan.py: list scheduling and the critical path on hand-made DAGs with known answers, reading the DAG
that Snakemake prints, measured job times, and real plans (configs/tiny.yaml; the measured main job)."""

import subprocess
import sys
from collections import Counter

import pytest
from conftest import REPO, SHARED, copy_workflow, job_counts, snakemake

sys.path.insert(0, str(REPO / "bench"))
import plan  # noqa: E402  (the plan script, imported to call its functions)


def make_dag(spec):
    """{name: (seconds, [parent names], threads)} -> (jobs, seconds, ids by name); ids in the order given."""
    ids = {name: i for i, name in enumerate(spec)}
    jobs, seconds = {}, {}
    for name, (s, parents, *threads) in spec.items():
        i = ids[name]
        jobs[i] = plan.Job(
            id=i, rule=name, parents=tuple(ids[p] for p in parents), threads=threads[0] if threads else 1
        )
        seconds[i] = float(s)
    return jobs, seconds, ids


# Three independent 3 s jobs listed first, then a chain of three 3 s jobs: 18 s of work, a 9 s critical path.
# Longest-path-first starts the chain at once and ends in 9 s on 2 cores; taking ready jobs in id order (FIFO)
# would leave the chain for last and end in 12 s.
CHAIN_AND_INDEPENDENT = {
    "i1": (3, []),
    "i2": (3, []),
    "i3": (3, []),
    "a1": (3, []),
    "a2": (3, ["a1"]),
    "a3": (3, ["a2"]),
}


@pytest.mark.parametrize("cores, wall", [(1, 18.0), (2, 9.0), (3, 9.0), (6, 9.0)])
def test_list_schedule_of_a_chain_beside_independent_jobs(cores, wall):
    jobs, seconds, _ = make_dag(CHAIN_AND_INDEPENDENT)
    assert plan.on_cores(jobs, seconds, cores) == wall


def test_list_schedule_starts_the_longest_remaining_path_first():
    jobs, seconds, ids = make_dag(CHAIN_AND_INDEPENDENT)
    start = plan.list_schedule(jobs, seconds, {"cores": 2}, lambda job: {"cores": 1}).start
    assert [start[ids[n]] for n in ("a1", "a2", "a3")] == [0.0, 3.0, 6.0]
    assert sorted(start[ids[n]] for n in ("i1", "i2", "i3")) == [0.0, 3.0, 6.0]


def test_critical_path_is_the_chain():
    jobs, seconds, ids = make_dag(CHAIN_AND_INDEPENDENT)
    length, path = plan.critical_path(jobs, seconds)
    assert length == 9.0 and path == [ids["a1"], ids["a2"], ids["a3"]]
    # unlimited cores: the wall time is the critical path
    assert plan.list_schedule(jobs, seconds, {"cores": None}, lambda job: {"cores": 1}).makespan == 9.0


def test_nothing_to_run_takes_no_time():
    assert plan.on_cores({}, {}, 2) == 0.0 and plan.critical_path({}, {}) == (0.0, [])


def test_a_diamond_waits_for_its_slowest_parent():
    jobs, seconds, ids = make_dag(
        {"src": (1, []), "fast": (2, ["src"]), "slow": (5, ["src"]), "sink": (1, ["fast", "slow"])}
    )
    assert plan.critical_path(jobs, seconds) == (7.0, [ids["src"], ids["slow"], ids["sink"]])
    assert plan.on_cores(jobs, seconds, 2) == 7.0
    assert plan.on_cores(jobs, seconds, 1) == 9.0


def test_a_job_takes_its_threads_capped_at_the_cores():
    jobs, seconds, _ = make_dag({"wide": (4, [], 2), "a": (4, []), "b": (4, [])})
    assert plan.on_cores(jobs, seconds, 2) == 8.0  # the two-thread job alone, then a and b together
    assert plan.on_cores(jobs, seconds, 1) == 12.0  # capped at one core, as Snakemake caps threads at --cores
    assert plan.on_cores(jobs, seconds, 4) == 4.0


def test_a_job_started_beside_idle_cores_takes_one_more_when_spread():
    """The victim alone takes the second core (8 s / 2 = 4 s); then a and b each take one, none to spare (6 s);
    rules with no speed-up never spread. Without `spread` every job keeps its one thread."""
    jobs, seconds, _ = make_dag({"victim": (8, []), "a": (6, ["victim"]), "b": (6, ["victim"])})
    assert plan.on_cores(jobs, seconds, 2) == 14.0
    assert plan.on_cores(jobs, seconds, 2, {"victim": 2.0, "a": 2.0, "b": 2.0}) == 10.0
    assert plan.on_cores(jobs, seconds, 3, {"victim": 2.0, "a": 2.0, "b": 2.0}) == 10.0  # a first takes the third
    assert plan.on_cores(jobs, seconds, 2, {"a": 2.0}) == 14.0


def test_several_pools_bound_the_gpu_jobs_alone():
    jobs, seconds, ids = make_dag({"g1": (5, []), "g2": (5, []), "cpu": (5, [])})
    gpu = {ids["g1"], ids["g2"]}
    demand = lambda job: {"jobs": 1, **({"gpu": 1} if job.id in gpu else {})}  # noqa: E731
    assert plan.list_schedule(jobs, seconds, {"jobs": None, "gpu": 1}, demand).makespan == 10.0
    assert plan.list_schedule(jobs, seconds, {"jobs": None, "gpu": None}, demand).makespan == 5.0
    assert plan.list_schedule(jobs, seconds, {"jobs": 1, "gpu": None}, demand).makespan == 15.0


# What `python bench/plan.py --dag-json results/table2.csv --configfile configs/tiny.yaml` prints, cut to the
# jobs up to the first ADA model (Snakemake's own messages go to stderr; one stray line of stdout stays here).
DAG_OUTPUT = """Building DAG of jobs...
PLAN-DAG-JSON {"config": {"seeds": [42]}, "jobs": [\
{"id": 3, "rule": "train_model", "wildcards": {"dataset": "sst2", "model": "minilm", "method": "ada", \
"train_attack": "pwws", "hp": "default", "seed": "42"}, "threads": 1, "gpu": true, \
"benchmark": "results/benchmarks/train_model/sst2/minilm/ada/pwws/default/seed42.tsv", "parents": [4, 5]}, \
{"id": 4, "rule": "prepare_data", "wildcards": {"dataset": "sst2"}, "threads": 1, "gpu": false, \
"benchmark": "results/benchmarks/prepare_data/sst2.tsv", "parents": []}, \
{"id": 5, "rule": "merge_adv_train", "wildcards": {"dataset": "sst2", "model": "minilm", "attack": "pwws"}, \
"threads": 1, "gpu": false, "benchmark": "results/benchmarks/merge_adv_train/sst2/minilm/pwws.tsv", "parents": [6]}, \
{"id": 6, "rule": "adv_train_shard", "wildcards": {"dataset": "sst2", "model": "minilm", "attack": "pwws", \
"shard": "0", "shards": "1"}, "threads": 1, "gpu": true, \
"benchmark": "results/benchmarks/adv_train_shard/sst2/minilm/pwws/shard0-of-1.tsv", "parents": [4, 7, 8]}, \
{"id": 7, "rule": "train_model", "wildcards": {"dataset": "sst2", "model": "minilm", "method": "base", \
"train_attack": "clean", "hp": "default", "seed": "42"}, "threads": 1, "gpu": true, \
"benchmark": "results/benchmarks/train_model/sst2/minilm/base/clean/default/seed42.tsv", "parents": [4]}, \
{"id": 8, "rule": "prepare_nltk", "wildcards": {}, "threads": 1, "gpu": false, \
"benchmark": "results/benchmarks/prepare_nltk.tsv", "parents": []}]}
"""


def test_parse_dag_json_reads_jobs_wildcards_and_parents():
    config, jobs = plan.parse_dag_json(DAG_OUTPUT)
    assert config == {"seeds": [42]}
    assert sorted(jobs) == [3, 4, 5, 6, 7, 8]
    ada = jobs[3]
    assert ada.rule == "train_model" and ada.wildcards["method"] == "ada" and ada.wildcards["seed"] == "42"
    assert ada.parents == (4, 5) and ada.gpu and ada.threads == 1
    assert ada.benchmark == "results/benchmarks/train_model/sst2/minilm/ada/pwws/default/seed42.tsv"
    assert jobs[6].parents == (4, 7, 8) and not jobs[8].gpu
    assert plan.topological_order(jobs) == [4, 7, 8, 6, 5, 3]
    assert plan.job_label(jobs[6]) == "adv_train_shard(sst2/minilm/pwws/0/1)"
    assert plan.job_label(jobs[7]) == "train_model(sst2/minilm/base/seed42)"


def test_parse_dag_json_refuses_a_missing_parent_a_cycle_and_no_dag():
    with pytest.raises(ValueError, match="parent 99"):
        plan.parse_dag_json(DAG_OUTPUT.replace('"parents": [4, 7, 8]', '"parents": [4, 7, 99]'))
    with pytest.raises(ValueError, match="cycle"):
        plan.parse_dag_json(DAG_OUTPUT.replace('"parents": [4]}', '"parents": [4, 3]}'))
    with pytest.raises(ValueError, match="PLAN-DAG-JSON"):
        plan.parse_dag_json("Building DAG of jobs...\n")


def test_measured_job_times_replace_the_model_and_calibrate_their_rule(tmp_path):
    _, jobs = plan.parse_dag_json(DAG_OUTPUT)
    bench = tmp_path / "results" / "benchmarks" / "train_model" / "sst2" / "minilm" / "base" / "clean" / "default"
    bench.mkdir(parents=True)
    (bench / "seed42.tsv").write_text("s\th:m:s\tmax_rss\n200.0\t0:03:20\t1500\n220.0\t0:03:40\t1500\n")
    measured = plan.measured_seconds(jobs, tmp_path)  # a checkout (or its results/, or results/benchmarks)
    assert measured == {7: 210.0}  # the mean of the repeats
    assert plan.measured_seconds(jobs, tmp_path / "results" / "benchmarks") == measured
    model_s = dict.fromkeys(jobs, 100.0)
    seconds, ratios = plan.calibrate(jobs, model_s, measured)
    assert seconds[7] == 210.0  # measured
    assert seconds[3] == pytest.approx(210.0)  # the other train_model: the model times the rule's ratio 2.1
    assert seconds[4] == 100.0  # no measured prepare_data: the model
    assert ratios == {"train_model": (2.1, 1)}


def test_reference_statistics_are_those_of_sst2_at_max_length_64(shared):
    config = {
        "paths": {"shared_data": str(shared / "data")},
        "datasets": {
            "sst2": {
                "source": "parquet",
                "dir": "{shared_data}/sst2",
                "splits": {"train": "train.parquet", "dev": "dev.parquet", "test": "test.parquet"},
                "max_length": 64,
                "subsample": {"train": 2000, "dev": 400, "test": 1000},
            }
        },
    }
    stats, note = plan.split_stats(config, "sst2", REPO)
    assert note is None and (stats["train"].rows, stats["dev"].rows, stats["test"].rows) == (2000, 400, 1000)
    for split in ("train", "dev", "test"):
        assert stats[split].tokens == pytest.approx(plan.REF_TOKENS[split], rel=0.01)
    for split in ("train", "test"):
        assert stats[split].word_tokens == pytest.approx(plan.REF_WORD_TOKENS[split], rel=0.01)
        assert stats[split].words == pytest.approx(plan.REF_WORDS[split], rel=0.01)


class _Attacked:
    def attacked(self, dataset):
        return 400


def test_power_lines_only_for_a_config_that_names_its_claims_tables():
    config = {"seeds": [42, 43, 44], "tables": {"table2": {"datasets": ["sst2"]}}}
    assert plan.power_lines(config, _Attacked()) == []
    (line,) = plan.power_lines({**config, "claims": {"tables": ["table2"]}}, _Attacked())
    assert "400 sentences × 3 seeds = 1200 pairs" in line and "needs 940 pairs" in line


def test_plan_of_the_tiny_config_is_snakemakes_dag(tmp_path):
    """A real plan: the jobs are those `snakemake -n` lists, with the edges the rules imply."""
    root = copy_workflow(tmp_path)
    text, numbers = plan.plan(root, ["configs/tiny.yaml"], ["results/table2.csv"], [1, 2])
    jobs, seconds = numbers["jobs"], numbers["seconds"]
    dry = snakemake(root, "results/table2.csv", "--configfile", "configs/tiny.yaml", "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert dict(Counter(j.rule for j in jobs.values())) == job_counts(dry.stdout + dry.stderr)
    by_rule = lambda rule: [j for j in jobs.values() if j.rule == rule]  # noqa: E731
    for job in by_rule("attack_shard"):  # attacks the model trained with the same run wildcards
        trained = [jobs[p] for p in job.parents if jobs[p].rule == "train_model"]
        assert len(trained) == 1
        assert all(trained[0].wildcards[k] == job.wildcards[k] for k in ("method", "train_attack", "hp", "seed"))
    for job in by_rule("train_model"):
        parents = {jobs[p].rule for p in job.parents}
        assert ("merge_adv_train" in parents) == (job.wildcards["method"] in ("ada", "amda_tmix", "amda_smix"))
    (table,) = by_rule("table2")
    assert not plan.children_of(jobs)[table.id]  # the target is the sink
    total = sum(seconds.values())
    assert numbers["walls"][1] == pytest.approx(total)  # one core runs the jobs one after another
    assert max(total / 2, numbers["critical_path_s"]) <= numbers["walls"][2] < total
    assert f"| **total** | **{len(jobs)}** |" in text and "Critical path" in text and "SLURM" in text
    assert "Power" not in text  # tiny names no claims tables


@pytest.mark.slow
@pytest.mark.parametrize(
    "run, overlay, models_trained",
    [
        ("configs/claims.yaml", "configs/claims-ref-reuse.yaml", 12),
        ("configs/scale-data.yaml", "configs/scale-data-ref.yaml", 4),
    ],
)
def test_the_reference_attack_on_a_runs_models_trains_none_it_does_not(tmp_path, run, overlay, models_trained):
    """The overlays that attack a run's models with pwws_ref too (issue 26, 3a; issue 29 at scale): Snakemake's DAG
    trains exactly the run's models, builds no adversarial set with pwws_ref, and attacks every model with pwws_ref."""
    root = copy_workflow(tmp_path)
    targets = ["results/claims.csv", "results/table2.csv"]
    _, claims = plan.snakemake_dag(root, [run], targets)
    _, reuse = plan.snakemake_dag(root, [run, overlay], [*targets, "results/attack_change.csv"])

    def models(jobs, rule, **where):
        return {
            (j.wildcards["method"], j.wildcards["train_attack"], j.wildcards["seed"])
            for j in jobs.values()
            if j.rule == rule and all(j.wildcards.get(k) == v for k, v in where.items())
        }

    assert len(models(claims, "train_model")) == models_trained and models(reuse, "train_model") == models(
        claims, "train_model"
    )
    assert {j.wildcards["attack"] for j in reuse.values() if j.rule == "adv_train_shard"} == {"pwws"}
    assert models(reuse, "merge_attack", attack="pwws_ref") == models(claims, "merge_attack", attack="pwws")
    assert {m[:2] for m in models(reuse, "merge_attack", attack="pwws_ref")} == {
        ("base", "clean"),
        ("ada", "pwws"),
        ("tmix", "clean"),
        ("amda_tmix", "pwws"),
    }
    (change,) = [j for j in reuse.values() if j.rule == "attack_change"]  # each model under both attacks, paired
    assert {(reuse[p].rule, reuse[p].wildcards["attack"]) for p in change.parents} == {
        ("merge_attack", "pwws"),
        ("merge_attack", "pwws_ref"),
    }
    assert len(change.parents) == 2 * len(models(reuse, "merge_attack", attack="pwws_ref"))


def test_speed_scales_the_modelled_cpu_times_and_no_gpu_time(tmp_path, monkeypatch):
    """--speed X plans for a machine X times slower than the one the cost model was measured on."""
    root = copy_workflow(tmp_path)
    dag = plan.snakemake_dag(root, ["configs/tiny.yaml"], ["results/table2.csv"])
    monkeypatch.setattr(plan, "snakemake_dag", lambda *args: dag)  # one DAG for both plans
    _, measured_here = plan.plan(root, ["configs/tiny.yaml"], ["results/table2.csv"], [2])
    text, slower = plan.plan(root, ["configs/tiny.yaml"], ["results/table2.csv"], [2], speed=2.4)
    assert slower["seconds"] == pytest.approx({i: 2.4 * s for i, s in measured_here["seconds"].items()})
    assert slower["walls"][2] == pytest.approx(2.4 * measured_here["walls"][2])
    gpu = [i for i, job in dag[1].items() if job.gpu]
    assert gpu and all(slower["slurm_job_s"][i] == measured_here["slurm_job_s"][i] for i in gpu)
    assert "CPU times × 2.4" in text


def test_two_core_plan_of_the_measured_main_job_is_within_15_percent(tmp_path):
    """BENCHMARKS.md, "Main job end to end": `snakemake --cores 2 results/table2.csv` took 16.2 min on 2 cores at
    bc01d92 (43 jobs; mixup batches then length-grouped, a mixup step about 1.15x a plain one, "AMDA step time").
    That commit's own DAG, priced by today's cost model and scheduled on 2 cores."""
    commit = "bc01d92"
    if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO, capture_output=True).returncode:
        pytest.skip(f"{commit} is not in this clone's history")
    old = tmp_path / "repo"
    old.mkdir()
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    (tmp_path / "shared").symlink_to(SHARED)
    (REPO / ".cache").mkdir(exist_ok=True)
    (old / ".cache").symlink_to(REPO / ".cache")
    config, jobs = plan.snakemake_dag(old, [], ["results/table2.csv"])
    assert len(jobs) == 43
    # Then `ada.ratio` was the share of the adversarial set added (1.0: all of it, 10% of train attacked); today
    # it is the share of train attacked: the same run is ratio 0.1.
    config["ada"]["ratio"]["sst2"] = 0.1
    model = plan.CostModel(config, old, mixup_factor=1.15)
    seconds = {i: model.seconds(job) for i, job in jobs.items()}
    wall_min = plan.on_cores(jobs, seconds, 2) / 60
    assert abs(wall_min - 16.2) / 16.2 < 0.15, wall_min


def test_a_freelb_model_is_priced_at_its_k_passes(tmp_path):
    """FreeLB++ at K = 1 costs a plain model's time; at K = 10 its training part 9.4x (bench/bench_freelb_step.py),
    the loading and evaluation unchanged, so between 6x and 9.4x the whole plain job."""
    root = copy_workflow(tmp_path)
    config, jobs = plan.snakemake_dag(root, ["configs/defenses.yaml"], ["results/defenses.csv"])
    (base,) = [j for j in jobs.values() if j.rule == "train_model" and j.wildcards["method"] == "base"]
    (freelb,) = [j for j in jobs.values() if j.rule == "train_model" and j.wildcards["method"] == "freelb"]
    plain = plan.CostModel(config, root).seconds(base)
    assert plan.CostModel({**config, "freelb": {**config["freelb"], "adv_steps": 1}}, root).seconds(freelb) == plain
    assert 6 * plain < plan.CostModel(config, root).seconds(freelb) < 9.4 * plain


def test_each_mixup_kind_is_priced_at_the_step_of_the_batches_it_draws(tmp_path):
    """Under `mixup.batching: pairs` TMix draws pairs padded to the longer member and SMix runs its batch by halves
    (amda.mixup.PAIR_BATCHINGS): an SMix model is priced below a TMix one on the same data; --mixup-factor prices
    both alike."""
    root = copy_workflow(tmp_path)
    config, jobs = plan.snakemake_dag(root, [], ["results/table2.csv"])
    trains = {j.wildcards["method"]: j for j in jobs.values() if j.rule == "train_model"}
    model = plan.CostModel(config, root)
    assert model.mixup_factor == {"tmix": 1.47, "smix": 1.23}
    assert model.seconds(trains["smix"]) < model.seconds(trains["tmix"])
    same = plan.CostModel(config, root, mixup_factor=1.3)
    assert same.seconds(trains["smix"]) == same.seconds(trains["tmix"])


def test_a_dataset_without_local_files_takes_sst2_lengths_and_its_subsample():
    config = {"datasets": {"hub_set": {"source": "hf", "hf_name": "x", "subsample": {"train": 500, "test": 50}}}}
    stats, note = plan.split_stats(config, "hub_set", REPO)
    assert "no local files" in note
    assert (stats["train"].rows, stats["dev"].rows, stats["test"].rows) == (500, 0, 50)
    assert stats["test"].word_tokens == plan.REF_WORD_TOKENS["test"] and stats["train"].words == plan.REF_WORDS["train"]


@pytest.mark.slow
def test_measured_speed_is_the_reference_rate_over_the_rate_here():
    """--speed measure: real MiniLM steps on SST-2; the factor is 60 examples/s over the rate measured."""
    speed, rate = plan.measure_speed(REPO, probe_s=2.0)
    assert rate > 0 and speed == pytest.approx(60.0 / rate)


def test_speed_must_be_a_positive_number_or_measure(capsys):
    for bad in ("fast", "0", "-1"):
        with pytest.raises(SystemExit, match=f"--speed {bad}"):
            plan.main(["--speed", bad])

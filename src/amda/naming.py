"""The workflow's vocabulary (method and attack sets and display names, derived from `amda.records`;
hyper-parameter settings), the run identity of a trained model and the paths of everything made from it,
and how a share of rows is counted: the one home of each, read by the config schema check, the Snakemake
rules, the stages and the tables."""

import re
from dataclasses import asdict, dataclass

from amda import records

METHODS = tuple(records.METHODS)
# Each mixup method and its kind (tmix / smix).
MIXUP_METHODS = {name: m.mixup for name, m in records.METHODS.items() if m.mixup}
ADV_METHODS = {name for name, m in records.METHODS.items() if m.data == "one_shot"}
ITERATIVE_METHODS = {name for name, m in records.METHODS.items() if m.data == "iterative"}
# Each (non-iterative) AMDA method and the mixup-only method it adds adversarial data to.
AMDA_VS_MIXUP = {name: m.adds_to for name, m in records.METHODS.items() if m.adds_to}
# Each AMDA method and the adversarial-data-only method it must beat (the paper's claim 2).
AMDA_VS_ADA = records.baselines("AMDA beats ADA")
ATTACKS = tuple(records.ATTACKS)
# The result of attacking one example. `errored` (the attack raised), `capped` (it hit the per-example
# time or query cap) and `no_words` (the text has no word to perturb) are counted apart: never a failed
# attack, never robust.
RESULT_TYPES = ("successful", "failed", "skipped", "errored", "capped", "no_words")
APART = ("errored", "capped", "no_words")
BASE = "base"
CLEAN = "clean"
DEFAULT_HP = "default"
HP_KEYS = ("ratio", "alpha")
# `default`, or one sweep override written by `format_hp`; also the Snakemake wildcard constraint of `hp`.
HP_PATTERN = rf"{DEFAULT_HP}|(?:{'|'.join(HP_KEYS)})-[0-9.]+"
# The evaluation sample is nested (`amda.attack.runner.nested_order`): its first rows are the sample of this
# size that every attack result was made on before samples were nested (`evaluation.attack_size` of
# config.yaml then), so those results and their kept records stay valid under any later size. A fact about
# past results, not a setting: it does not follow config.yaml, and changing it would reorder every sample.
PRE_NESTING_ATTACK_SIZE = 60

# How the attacked model's scores are read: an evaluation setting, a column of the claims and the calibration
# table. `raw`: its logits, as trained; `calibrated`: its logits over the temperature fitted on dev
# (`amda.calibration`, Guo et al. 2017), which a score-based attack then sees (Raina et al., ACL 2024).
RAW = "raw"
CALIBRATED = "calibrated"
SETTINGS = (RAW, CALIBRATED)
SETTING_NAMES = {RAW: "raw logits", CALIBRATED: "temperature-scaled"}


def summary_setting(record):
    """The evaluation setting of a TAE summary: its `setting`, which only a setting other than raw writes."""
    return record.get("setting", RAW)


METHOD_NAMES = {name: m.display for name, m in records.METHODS.items()}
ATTACK_NAMES = {name: a.display for name, a in records.ATTACKS.items()}

# The train spec's shape (amda.config writes the spec, amda.training checks and reads it): its top-level
# values, and its sections with their keys; beside them only `attack`, null but for an adversarial method.
SPEC_TOP_KEYS = ("num_labels", "label_names", "max_length", "cache_dir")
SPEC_KEYS = {
    "run": ("dataset", "model", "method", "train_attack", "hp", "seed"),
    "model": ("name", "source", "num_layers", "mixup_layers"),
    "training": (
        "epochs",
        "batch_size",
        "eval_batch_size",
        "lr",
        "adam_eps",
        "weight_decay",
        "warmup_ratio",
        "max_grad_norm",
        "length_grouped",
        "bf16",
    ),
    "mixup": ("alpha", "mask", "shared_forward", "batching"),
    "ada": ("ratio",),
}

# Trained without adversarial data, once per dataset and model, and attacked with every attack (the
# paper's Base, TMix and SMix: one clean accuracy under both attack columns).
CLEAN_TRAINED = {name for name, m in records.METHODS.items() if m.data == "clean"}


def share_count(share, n):
    """How many of `n` rows the share `share` of them is: round(share * n), Python's round (half to even).
    The adversarial training sample (`adv_train.fraction`), the rows whose successes `ada.ratio` adds and
    the iterative methods' attacked rows all count this way, so a ratio equal to the fraction takes exactly
    the rows attacked."""
    return int(round(float(share) * n))


def train_attack_for(method, attack):
    """The `train_attack` of the model of `method` that a table shows under `attack`: the methods of
    CLEAN_TRAINED train on clean data, every other one on `attack`'s adversarial data or α setting."""
    return CLEAN if method in CLEAN_TRAINED else attack


@dataclass(frozen=True)
class RunId:
    """dataset / model / method / train_attack / hp / seed of one fine-tuned model."""

    dataset: str
    model: str
    method: str
    train_attack: str
    hp: str
    seed: int

    @property
    def rel(self):
        return f"{self.dataset}/{self.model}/{self.method}/{self.train_attack}/{self.hp}/seed{self.seed}"

    @property
    def model_dir(self):
        return f"results/models/{self.rel}"

    @property
    def saved_model(self):
        return f"{self.model_dir}/model"

    @property
    def metrics(self):
        return f"{self.model_dir}/metrics.json"

    @property
    def train_benchmark(self):
        """Snakemake's benchmark of the training job (wall `s`, `cpu_time`): the cost of this model."""
        return f"results/benchmarks/train_model/{self.rel}.tsv"

    @property
    def checkpoint_dir(self):
        """The per-epoch training checkpoint (removed once the model is complete)."""
        return f"results/checkpoints/models/{self.rel}"

    @property
    def calibration(self):
        """The temperature fitted on dev and the test split's calibration before and after (`amda.calibration`)."""
        return f"results/calibration/{self.rel}.json"

    @property
    def attack_dir(self):
        return f"results/attacks/{self.rel}"

    def setting_dir(self, setting=RAW):
        """Where the attacks of an evaluation setting go: the attack folder itself for `raw`, a subfolder named
        after the setting for any other (the `seed` wildcard, digits only, never matches across it)."""
        return self.attack_dir if setting == RAW else f"{self.attack_dir}/{setting}"

    def tae(self, attack, ext="json", setting=RAW):
        return f"{self.setting_dir(setting)}/tae-{attack}.{ext}"

    def tae_shard(self, attack, shard, shards, setting=RAW):
        return f"{self.setting_dir(setting)}/tae-{attack}/shard{shard}-of-{shards}.parquet"

    def sae(self, attack):
        return f"{self.attack_dir}/sae-{attack}.json"

    def as_dict(self):
        return asdict(self)


# The run identity whose fields are Snakemake wildcards: its paths are the rules' path templates.
WILDCARDS = RunId(*(f"{{{name}}}" for name in RunId.__dataclass_fields__))


def victim(dataset, model, victim_seed):
    return RunId(dataset, model, BASE, CLEAN, DEFAULT_HP, int(victim_seed))


def adv_train(dataset, model, attack, ext="parquet"):
    """The adversarial training set of `attack`, made on the victim of dataset and model."""
    return f"results/adv_train/{dataset}/{model}/{attack}.{ext}"


def adv_train_shard(dataset, model, attack, shard, shards):
    return f"results/adv_train/{dataset}/{model}/{attack}/shard{shard}-of-{shards}.parquet"


def adv_train_shard_benchmark(dataset, model, attack, shard, shards):
    """Snakemake's benchmark of one shard of attacking the victim to build the adversarial training set."""
    return f"results/benchmarks/adv_train_shard/{dataset}/{model}/{attack}/shard{shard}-of-{shards}.tsv"


def claims_part(table, setting=RAW):
    """The claims of one table's models under an evaluation setting (merged into results/claims.csv)."""
    return f"results/claims/{table}.csv" if setting == RAW else f"results/claims/{table}-{setting}.csv"


def parse_hp(hp):
    """`default` -> {}; `ratio-0.25` -> {"ratio": 0.25}; `alpha-2.0` -> {"alpha": 2.0}."""
    if not re.fullmatch(HP_PATTERN, hp):
        raise ValueError(f"unknown hyper-parameter setting {hp!r}: expected default, ratio-<x> or alpha-<x>")
    if hp == DEFAULT_HP:
        return {}
    key, _, value = hp.partition("-")
    return {key: float(value)}


def format_hp(key, value):
    return f"{key}-{float(value):g}"


def paired_runs(pairs):
    """The (run, attack) of `pairs` whose run is also attacked by the other attack of a pair (records.attack_pairs):
    what results/attack_change.csv compares, sorted; empty when no model meets both attacks of a pair."""
    pairs = set(pairs)
    other = {x: y for pair in records.attack_pairs() for x, y in (pair, pair[::-1])}
    return sorted(((r, a) for r, a in pairs if a in other and (r, other[a]) in pairs), key=lambda p: (p[0].rel, p[1]))

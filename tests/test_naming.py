"""The vocabulary in amda.naming is consistent with itself, and its paths are the rules' templates."""

import re

from amda.naming import (
    ADV_METHODS,
    AMDA_VS_MIXUP,
    ATTACK_NAMES,
    ATTACKS,
    CLEAN,
    CLEAN_TRAINED,
    HP_PATTERN,
    ITERATIVE_METHODS,
    METHOD_NAMES,
    METHODS,
    MIXUP_METHODS,
    WILDCARDS,
    adv_train,
    adv_train_shard_benchmark,
    format_hp,
    train_attack_for,
    victim,
)


def test_method_sets_and_names_cover_the_methods():
    assert set(MIXUP_METHODS) | ADV_METHODS | ITERATIVE_METHODS < set(METHODS)
    assert list(METHOD_NAMES) == list(METHODS) and list(ATTACK_NAMES) == list(ATTACKS)
    for amda, mix in AMDA_VS_MIXUP.items():
        assert amda in ADV_METHODS and MIXUP_METHODS[amda] == mix and mix in METHODS


def test_base_mixup_alone_and_freelb_train_on_clean_data_and_every_other_method_on_the_attack():
    assert {train_attack_for(m, "pwws") for m in CLEAN_TRAINED} == {CLEAN}
    assert CLEAN_TRAINED == {"base", "tmix", "smix", "freelb"}
    assert {train_attack_for(m, "pwws") for m in METHODS if m not in CLEAN_TRAINED} == {"pwws"}


def test_hp_pattern_takes_what_format_hp_writes():
    for hp in ("default", format_hp("ratio", 0.0175), format_hp("alpha", 2)):
        assert re.fullmatch(HP_PATTERN, hp)
    assert not re.fullmatch(HP_PATTERN, "beta-1")


def test_wildcard_paths_are_the_rule_templates():
    run = "{dataset}/{model}/{method}/{train_attack}/{hp}/seed{seed}"
    assert WILDCARDS.saved_model == f"results/models/{run}/model"
    assert WILDCARDS.metrics == f"results/models/{run}/metrics.json"
    assert WILDCARDS.checkpoint_dir == f"results/checkpoints/models/{run}"
    assert WILDCARDS.train_benchmark == f"results/benchmarks/train_model/{run}.tsv"
    assert adv_train_shard_benchmark("{dataset}", "{model}", "{attack}", "{shard}", "{shards}") == (
        "results/benchmarks/adv_train_shard/{dataset}/{model}/{attack}/shard{shard}-of-{shards}.tsv"
    )
    assert WILDCARDS.tae_shard("{attack}", "{shard}", "{shards}") == (
        f"results/attacks/{run}/tae-{{attack}}/shard{{shard}}-of-{{shards}}.parquet"
    )
    assert WILDCARDS.sae("{attack}") == f"results/attacks/{run}/sae-{{attack}}.json"
    assert victim("sst2", "minilm", 42).tae("pwws", "parquet") == (
        "results/attacks/sst2/minilm/base/clean/default/seed42/tae-pwws.parquet"
    )
    assert adv_train("sst2", "minilm", "pwws", "json") == "results/adv_train/sst2/minilm/pwws.json"

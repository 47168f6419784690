"""Config validation: the shipped configs pass; each kind of mistake gets a one-line error naming the key."""

import copy
from importlib import resources

import pytest

from amda import records
from amda.aggregate import trained_run
from amda.config import (
    alpha_for,
    check_files,
    check_model_sources,
    check_ratios,
    check_runs,
    load_schema,
    load_yaml,
    merge_configs,
    overlay_warnings,
    training_spec,
    valid_run,
    validate_config,
)
from amda.errors import AmdaError
from amda.naming import ATTACKS, HP_PATTERN, METHODS, SPEC_KEYS, SPEC_TOP_KEYS, RunId, parse_hp, train_attack_for


@pytest.fixture(scope="module")
def default(repo):
    return load_yaml(repo / "config.yaml")


def _merged(repo, name):
    """What Snakemake does with `--configfile name`: config.yaml extended (recursively) by the file."""
    from snakemake.utils import update_config

    config = load_yaml(repo / "config.yaml")
    if name != "config.yaml":
        update_config(config, load_yaml(repo / name))
    return config


@pytest.mark.parametrize("name", ["config.yaml", "configs/paper.yaml", "configs/tiny.yaml", "configs/cpu-full.yaml"])
def test_shipped_configs_are_valid(repo, name):
    config = validate_config(_merged(repo, name), source=name)
    assert config["offline"] in (True, False)


def test_a_method_table_trains_on_each_attacks_own_set_unless_it_names_another(repo, default):
    """tables.<t>.train_attacks defaults to none named: every attack's models are those trained on its own set, the
    paths of before the option."""
    config = validate_config(copy.deepcopy(default))
    assert all(config["tables"][t]["train_attacks"] == {} for t in ("table2", "table3", "table4"))
    for method in METHODS:
        for attack in ATTACKS:
            run = RunId("sst2", "minilm", method, train_attack_for(method, attack), "default", 42)
            assert trained_run("sst2", "minilm", method, attack, 42, train_attacks={}) == run
            assert trained_run("sst2", "minilm", method, attack, 42) == run
    reuse = {"pwws_ref": "pwws"}
    assert trained_run("sst2", "minilm", "ada", "pwws_ref", 42, train_attacks=reuse).train_attack == "pwws"
    assert trained_run("sst2", "minilm", "base", "pwws_ref", 42, train_attacks=reuse).train_attack == "clean"
    assert trained_run("sst2", "minilm", "ada", "pwws", 42, train_attacks=reuse).train_attack == "pwws"


def _error(config, mutate):
    config = copy.deepcopy(config)
    mutate(config)
    with pytest.raises(AmdaError) as info:
        validate_config(config, source="config.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["training"].update(epoch=3), "config.yaml: training.epoch: unknown key"),
        (lambda c: c.update(victim_seeds=[1]), "config.yaml: victim_seeds: unknown key"),
        (lambda c: c["training"].update(epochs="3"), "training.epochs: '3' is not of type 'integer'"),
        (lambda c: c["training"]["methods"].update(tmix={"lr_": 1.0}), "training.methods.tmix.lr_: unknown key"),
        (lambda c: c["mixup"].update(mask="both"), "mixup.mask: 'both' is not one of"),
        (lambda c: c["datasets"]["sst2"].update(max_length="long"), "datasets.sst2.max_length"),
        (lambda c: c["datasets"]["sst2"].pop("label_names"), "datasets.sst2.label_names: required key is missing"),
        (
            lambda c: c["models"]["minilm"].update(mixup_layers=[7]),
            "models.minilm.mixup_layers: [7] exceed num_layers 6",
        ),
        (lambda c: c["models"]["minilm"].update(family="bert"), "models.minilm.family: unknown key"),
        (lambda c: c["attacks"]["pwws"].update(recipe="pwws"), "attacks.pwws.recipe: unknown key"),
        (lambda c: c["attacks"].update(bae={}), "attacks.bae: unknown key"),
        (
            lambda c: c["mixup"]["alpha"]["sst2"]["amda_tmix"].update(bae=1.0),
            "mixup.alpha.sst2.amda_tmix: 'bae' is not one of",
        ),
        (lambda c: c["tables"]["table2"].update(methods=["mixup"]), "tables.table2.methods.0: 'mixup' is not one of"),
        (lambda c: c["tables"]["table2"].update(attacks=["deepwordbug"]), "tables.table2.attacks.0"),
        (lambda c: c["tables"]["table2"].update(models=["bert"]), "tables.table2: model 'bert' is not under models"),
        (
            lambda c: c["tables"]["table2"].update(train_attacks={"pwws": "bae"}),
            "tables.table2.train_attacks.pwws: 'bae' is not one of",
        ),
        (
            lambda c: c["tables"]["table4"].update(train_attacks={"textfooler": "pwws"}),
            "tables.table4.train_attacks.textfooler: 'textfooler' is not one of the table's attacks",
        ),
        (
            lambda c: c["tables"]["table2"].update(train_attacks={"pwws": "pwws_ref"}),
            "tables.table2.train_attacks.pwws: attack 'pwws_ref' is not under attacks",
        ),
        (lambda c: c["datasets"].update({"sst`id`": c["datasets"]["sst2"]}), "datasets: 'sst`id`' does not match"),
        (lambda c: c["models"].update({"../up": c["models"]["minilm"]}), "models: '../up' does not match"),
        (lambda c: c.update(seeds=[42, 42]), "seeds: [42, 42] has non-unique elements"),
        (lambda c: c["ada"]["ratio"].update({"sst-2": 0.5}), "ada.ratio.sst-2: 'sst-2' is not under datasets"),
        (
            lambda c: c["mixup"]["alpha"].update({"sst22": {"tmix": {"pwws": 1.0}}}),
            "mixup.alpha.sst22: 'sst22' is not under datasets",
        ),
        (
            lambda c: c["adv_train"].update(fraction={"sst2": 0.1, "imbd": 0.2}),
            "adv_train.fraction.imbd: 'imbd' is not under datasets",
        ),
    ],
)
def test_bad_config_names_the_key(default, mutate, expected):
    assert expected in _error(default, mutate)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda c: c["tables"]["figure2"].update(method="tmix"),
            "config.yaml: tables.figure2.method: 'tmix' takes no ratio",
        ),
        (
            lambda c: c["tables"]["figure2"].update(method="ada_iter"),
            "config.yaml: tables.figure2.method: 'ada_iter' takes no ratio",
        ),
        (
            lambda c: c["tables"]["figure3"].update(method="ada"),
            "config.yaml: tables.figure3.method: 'ada' takes no alpha",
        ),
        (
            lambda c: c["tables"]["figure3"].update(method="base"),
            "config.yaml: tables.figure3.method: 'base' takes no alpha",
        ),
    ],
)
def test_a_figure_whose_method_does_not_sweep_its_setting_is_named(default, mutate, expected):
    """Figure 2 sweeps ada.ratio, Figure 3 mixup's alpha: a method without that setting is a config error
    (it used to reach the planner as `ValueError: not a meaningful model` with a stack)."""
    message = _error(default, mutate)
    assert message.startswith(expected), message


@pytest.mark.parametrize("method", ["ada", "amda_tmix", "amda_smix"])
def test_figure2_accepts_every_method_that_takes_a_ratio(default, method):
    config = copy.deepcopy(default)
    config["tables"]["figure2"]["method"] = method
    validate_config(config)


@pytest.mark.parametrize("method", ["tmix", "smix", "amda_tmix", "amda_smix", "amda_tmix_iter", "amda_smix_iter"])
def test_figure3_accepts_every_method_that_takes_an_alpha(default, method):
    config = copy.deepcopy(default)
    config["tables"]["figure3"]["method"] = method
    validate_config(config)


def _set(path, value):
    """A mutation that sets the config value at dotted `path` (list items by index)."""

    def mutate(config):
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


@pytest.mark.parametrize(
    "path, value",
    [
        ("seeds.0", 2**32),
        ("victim_seed", 2**32),
        ("table1_seeds.0", 2**40),
        ("adv_train.seed", 2**32),
        ("evaluation.attack_seed", 2**32),
        ("datasets.sst2.seed", 2**32),
        ("training.epochs", 1_000_000_000),
        ("training.methods.tmix.epochs", 1001),
        ("training.batch_size", 65537),
        ("training.eval_batch_size", 65537),
        ("training.lr", 2.0),
        ("training.adam_eps", 2.0),
        ("training.weight_decay", 2.0),
        ("training.max_grad_norm", 1e9),
        ("datasets.sst2.subsample.train", 10**7 + 1),
        ("datasets.sst2.dev_from_train", 10**7 + 1),
        ("models.minilm.num_layers", 10**4),
        ("models.minilm.mixup_layers.0", 10**4),
        ("mixup.alpha.default", 1e6),
        ("tables.figure2.ratios.0", 2.0),
        ("tables.figure3.alphas.0", 1e6),
        ("attacks.pwws.query_budget", 10**9),
        ("attacks.pwws.max_seconds", 10**7),
        ("adv_train.shards", 10**5),
        ("evaluation.shards", 10**5),
        ("evaluation.batch_size", 65537),
        ("evaluation.attack_size", 10**7 + 1),
        ("counterfit.epochs", 1001),
        ("counterfit.vocab_size", 10**8),
        ("counterfit.neighbours", 10**5),
    ],
)
def test_every_numeric_setting_has_a_sane_maximum(default, path, value):
    """Values past a sane bound are one-line config errors naming the key, not a Snakemake
    PeriodicWildcardError (seeds past 2**32 - 1) or a billion-epoch job."""
    message = _error(default, _set(path, value))
    assert message.startswith(f"config.yaml: {path}: ") and "maximum" in message, message


def test_every_numeric_setting_of_the_schema_has_a_maximum():
    """A new numeric setting gets its bound too (a number or integer without `maximum` fails here)."""
    schema = load_schema()

    def unbounded(node, where):
        if isinstance(node, dict):
            types = node.get("type", [])
            types = [types] if isinstance(types, str) else types
            if {"integer", "number"} & set(types) and "maximum" not in node and "exclusiveMaximum" not in node:
                yield where
            for key, value in node.items():
                yield from unbounded(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from unbounded(value, f"{where}.{i}")

    assert list(unbounded(schema, "schema")) == []


def test_missing_data_file_is_named(default, tmp_path, shared):
    config = validate_config(copy.deepcopy(default))
    config["paths"]["shared_resources"] = str(shared / "resources")
    config["datasets"]["sst2"]["dir"] = str(tmp_path)
    with pytest.raises(AmdaError, match=r"datasets\.sst2\.splits\.train: file .*train\.parquet does not exist"):
        check_files(config, ["sst2"])


def test_missing_resources_folder_is_named(default, tmp_path):
    config = validate_config(copy.deepcopy(default))
    config["paths"]["shared_resources"] = str(tmp_path / "nowhere")
    with pytest.raises(AmdaError, match="paths.shared_resources"):
        check_files(config, ["sst2"])


def test_alpha_lookup_and_default(default):
    config = validate_config(copy.deepcopy(default))
    assert alpha_for(config, "sst2", "tmix", "clean") == 2.0  # trained once, for both attacks
    assert alpha_for(config, "sst2", "amda_tmix", "textfooler") == 0.4
    assert alpha_for(config, "imdb", "amda_smix", "pwws") == 8.0
    config["mixup"]["alpha"]["sst2"]["tmix"] = {"pwws": 2.0, "textfooler": 0.4}
    with pytest.raises(AmdaError, match="mixup.alpha.sst2.tmix: tmix is trained once for every attack"):
        alpha_for(config, "sst2", "tmix", "clean")
    assert alpha_for(config, "ag_news", "tmix", "pwws") == config["mixup"]["alpha"]["default"]


def test_training_spec_resolves_overrides(default):
    config = validate_config(copy.deepcopy(default))
    config["training"]["methods"] = {"tmix": {"epochs": 7}}
    spec = training_spec(config, RunId("sst2", "minilm", "tmix", "clean", "alpha-4", 42))
    assert spec["training"]["epochs"] == 7
    assert spec["mixup"]["alpha"] == 4.0
    assert spec["ada"]["ratio"] is None
    assert spec["model"]["mixup_layers"] == [4, 5, 6]
    base = training_spec(config, RunId("sst2", "minilm", "base", "clean", "default", 42))
    assert base["training"]["epochs"] == config["training"]["epochs"]
    assert base["attack"] is None
    ada = training_spec(config, RunId("sst2", "minilm", "ada", "pwws", "ratio-0.5", 1))
    assert ada["ada"]["ratio"] == 0.5 and ada["mixup"]["alpha"] is None and ada["attack"]["name"] == "pwws"


@pytest.mark.parametrize("method", METHODS)
def test_the_training_spec_has_exactly_the_shape_naming_declares(default, method):
    # amda.training checks a spec against naming's keys: a key config writes and naming lacks would
    # go unchecked, and one naming has and config never writes would fail every train job.
    config = validate_config(copy.deepcopy(default))
    # A method's own sections (its record's settings, e.g. FreeLB++'s) come from its record, every key of each.
    spec = training_spec(config, RunId("sst2", "minilm", method, train_attack_for(method, "pwws"), "default", 42))
    own = records.METHODS[method].settings
    assert set(spec) == {*SPEC_TOP_KEYS, *SPEC_KEYS, "attack", *own}
    for section, keys in {**SPEC_KEYS, **own}.items():
        assert set(spec[section]) == set(keys), section


def test_a_setting_a_method_does_not_read_leaves_its_training_spec_alone(default):
    # The spec is the train job's identity (a rule parameter): a mixup setting must not retrain Base or
    # ADA, nor the training batch grouping a mixup model (which follows mixup.batching).
    runs = [
        RunId("sst2", "minilm", "base", "clean", "default", 42),
        RunId("sst2", "minilm", "ada", "pwws", "default", 42),
        RunId("sst2", "minilm", "ada_iter", "pwws", "default", 42),
        RunId("sst2", "minilm", "tmix", "clean", "default", 42),
        RunId("sst2", "minilm", "amda_smix", "pwws", "default", 42),
    ]

    def specs(edit):
        config = validate_config(copy.deepcopy(default))
        edit(config)
        return {run.method: training_spec(config, run) for run in runs}

    before = specs(lambda c: None)
    mixup = specs(lambda c: c["mixup"].update(mask="first", shared_forward=False, batching="length"))
    grouping = specs(lambda c: c["training"].update(length_grouped=False))
    for method in ("base", "ada", "ada_iter"):
        assert mixup[method] == before[method]
        assert before[method]["mixup"] == dict.fromkeys(["alpha", "mask", "shared_forward", "batching"])
        assert grouping[method]["training"]["length_grouped"] is False
    for method in ("tmix", "amda_smix"):
        assert grouping[method] == before[method] and before[method]["training"]["length_grouped"] is None
        assert mixup[method]["mixup"] == {
            "alpha": 2.0,
            "mask": "first",
            "shared_forward": False,
            "batching": "length",
        }


@pytest.mark.parametrize(
    "run, ok",
    [
        (RunId("sst2", "m", "base", "clean", "default", 1), True),
        (RunId("sst2", "m", "base", "pwws", "default", 1), False),
        (RunId("sst2", "m", "ada", "clean", "default", 1), False),
        (RunId("sst2", "m", "ada", "pwws", "alpha-2", 1), False),
        (RunId("sst2", "m", "tmix", "clean", "ratio-0.5", 1), False),
        (RunId("sst2", "m", "tmix", "pwws", "default", 1), False),  # mixup-only models are trained clean
        (RunId("sst2", "m", "smix", "clean", "alpha-2", 1), True),
        (RunId("sst2", "m", "amda_tmix", "pwws", "ratio-0.5", 1), True),
        (RunId("sst2", "m", "amda_tmix", "textfooler", "alpha-0.2", 1), True),
    ],
)
def test_valid_run(run, ok):
    assert valid_run(run) is ok


def test_a_ratio_beyond_the_attacked_share_is_an_error(default):
    config = validate_config(copy.deepcopy(default))
    check_ratios(config)  # the default ratios fit the 10% of train that is attacked
    config["tables"]["figure2"]["ratios"] = [0.05, 0.25, 0.5]
    with pytest.raises(AmdaError, match="tables.figure2.ratios: 0.25 exceeds adv_train.fraction 0.1 of sst2"):
        check_ratios(config)
    config["adv_train"]["fraction"] = {"sst2": 1.0, "imdb": 0.1, "ag_news": 0.1}
    check_ratios(config)
    config["ada"]["ratio"]["ag_news"] = 0.2
    with pytest.raises(AmdaError, match="ada.ratio.ag_news: 0.2 exceeds adv_train.fraction 0.1 of ag_news"):
        check_ratios(config)


def test_schema_enums_are_the_naming_vocabulary():
    """amda.naming is the one home of the method and attack names; the schema follows it."""
    schema = load_schema()
    assert schema["$defs"]["method"]["enum"] == list(METHODS)
    assert schema["$defs"]["attack_name"]["enum"] == list(ATTACKS)
    assert set(schema["properties"]["attacks"]["properties"]) == set(ATTACKS)


def test_schema_ships_as_package_data():
    assert (resources.files("amda") / "data" / "config.schema.yaml").is_file()


def test_validation_fills_every_default_from_the_schema(default):
    config = copy.deepcopy(default)
    config.pop("offline", None)
    del config["evaluation"]["attack_size"]
    sst2 = config["datasets"]["sst2"]
    del sst2["drop_test_overlap"]
    sst2["subsample"] = {"train": 10}
    config["training"].pop("methods")
    config["attacks"]["textfooler"] = {}
    validate_config(config)
    assert config["offline"] is True
    assert config["adv_train"]["shards"] == 1
    assert config["evaluation"]["attack_size"] is None and config["evaluation"]["attack_seed"] == 0
    assert (sst2["text_column"], sst2["label_column"], sst2["seed"], sst2["drop_test_overlap"]) == (
        "text",
        "label",
        0,
        True,
    )
    assert sst2["subsample"] == {"train": 10, "dev": None, "test": None}
    assert config["training"]["methods"] == {}
    assert config["attacks"]["textfooler"] == {
        "query_budget": None,
        "max_modification_rate": None,
        "max_seconds": 300,
        "use_threshold": 0.840845057,
        "use_window": 15,
    }
    assert "use_window" not in config["attacks"]["pwws"]


@pytest.mark.parametrize("hp", ["default", "ratio-0.25", "alpha-2", "ratio-1e-05", "ratio-", "beta-1"])
def test_parse_hp_accepts_what_the_wildcard_constraint_accepts(hp):
    import re

    if re.fullmatch(HP_PATTERN, hp):
        parse_hp(hp)
    else:
        with pytest.raises(ValueError):
            parse_hp(hp)


def test_a_dataset_missing_from_a_per_dataset_map_is_named_before_any_job(default):
    config = validate_config(copy.deepcopy(default))
    config["datasets"]["sst2b"] = config["datasets"]["sst2"]
    ada = RunId("sst2b", "minilm", "ada", "pwws", "default", 42)
    with pytest.raises(AmdaError, match=r"^config.yaml: ada.ratio.sst2b: missing"):
        check_runs(config, [ada], source="config.yaml")
    config["ada"]["ratio"]["sst2b"] = 1.0
    config["adv_train"]["fraction"] = {"sst2": 0.1}
    with pytest.raises(AmdaError, match=r"^config.yaml: adv_train.fraction.sst2b: missing"):
        check_runs(config, [ada], source="config.yaml")
    check_runs(config, [RunId("sst2b", "minilm", "base", "clean", "default", 42)])


@pytest.mark.parametrize(
    "source, expected",
    [
        ("package:no_such_model_pkg", "package 'no_such_model_pkg' is not installed"),
        ("dir:{tmp}", "holds no config.json"),
        ("hub:no-such-org/no-such-model", "not in the Hugging Face cache and offline is true"),
    ],
)
def test_a_model_source_that_cannot_resolve_is_named(default, tmp_path, source, expected):
    config = validate_config(copy.deepcopy(default))
    config["models"]["minilm"]["source"] = source.format(tmp=tmp_path)
    with pytest.raises(AmdaError) as info:
        check_model_sources(config, ["minilm"], source="config.yaml")
    message = str(info.value)
    assert message.startswith("config.yaml: models.minilm.source: ") and expected in message and "\n" not in message


def test_shipped_model_sources_resolve(default):
    config = validate_config(copy.deepcopy(default))
    check_model_sources(config, list(config["models"]))


PAIRS_IN_USE = [
    (RunId("sst2", "minilm", "base", "clean", "default", 42), "pwws"),
    (RunId("sst2", "minilm", "tmix", "clean", "default", 42), "pwws"),
    (RunId("sst2", "minilm", "amda_smix", "pwws", "default", 42), "pwws"),
]


def test_an_overlay_value_that_changes_nothing_is_warned_of(default):
    overlay = {"mixup": {"alpha": {"default": 0.5}}, "ada": {"ratio": {"imdb": 0.5}}}
    warnings = overlay_warnings(default, [("o.yaml", overlay)], PAIRS_IN_USE)
    assert [name for name, _ in warnings] == ["o.yaml", "o.yaml"]
    assert warnings[0][1].startswith("mixup.alpha.default changes nothing")
    assert warnings[1][1] == "ada.ratio.imdb changes nothing: no table uses dataset 'imdb'"
    # Once a mixup model in use falls back to the default, the default applies.
    base = copy.deepcopy(default)
    base["mixup"]["alpha"]["sst2"].pop("tmix")
    assert len(overlay_warnings(base, [("o.yaml", overlay)], PAIRS_IN_USE)) == 1


@pytest.mark.parametrize(
    "overlay, expected",
    [
        (
            {"models": {"mpnet": {"num_layers": 24}}},
            "models.mpnet.num_layers changes nothing: no table uses model 'mpnet'",
        ),
        (
            {"attacks": {"textfooler": {"use_window": 10}}},
            "attacks.textfooler.use_window changes nothing: no table uses attack 'textfooler'",
        ),
        (
            {"datasets": {"imdb": {"max_length": 32}}},
            "datasets.imdb.max_length changes nothing: no table uses dataset 'imdb'",
        ),
        (
            {"mixup": {"alpha": {"sst2": {"smix": 1.0}}}},
            "mixup.alpha.sst2.smix changes nothing: no table uses method 'smix'",
        ),
        (
            {"counterfit": {"epochs": 3}},
            "counterfit.epochs changes nothing: only attacks that need the counter-fitted embedding read it, and no table uses one",
        ),
        ({"training": {"methods": {"smix": {"lr": 1e-4}}}}, "training.methods.smix.lr changes nothing: no model"),
        ({"freelb": {"adv_steps": 3}}, "freelb.adv_steps changes nothing: no table uses method 'freelb'"),
    ],
)
def test_every_overlay_key_that_changes_nothing_in_use_is_named(default, overlay, expected):
    warnings = overlay_warnings(default, [("o.yaml", overlay)], PAIRS_IN_USE)
    assert len(warnings) == 1 and warnings[0][1].startswith(expected), warnings


@pytest.mark.parametrize(
    "overlay",
    [
        {"training": {"lr": 1e-4}},  # read by every model
        {"training": {"methods": {"tmix": {"epochs": 3}}}},
        {"attacks": {"pwws": {"max_seconds": 10}}},
        {"mixup": {"alpha": {"sst2": {"amda_smix": {"pwws": 1.0}}}}},
        {"adv_train": {"seed": 1}},  # the victim's adversarial set, which amda_smix trains on
        {"evaluation": {"attack_size": 30}},
        {"seeds": [42, 43]},
        {"training": {"epochs": 2}},  # restates config.yaml's value: nothing to be misled by
    ],
)
def test_an_overlay_value_that_applies_or_restates_is_not_warned_of(default, overlay):
    assert overlay_warnings(default, [("o.yaml", overlay)], PAIRS_IN_USE) == []


def test_a_methods_own_section_applies_once_a_model_of_that_method_is_in_use(default):
    freelb = (RunId("sst2", "minilm", "freelb", "clean", "default", 42), "pwws")
    assert overlay_warnings(default, [("o.yaml", {"freelb": {"adv_steps": 3}})], [*PAIRS_IN_USE, freelb]) == []


def test_a_value_a_later_overlay_replaces_is_named_with_that_file(default):
    first, second = {"training": {"lr": 1e-4}}, {"training": {"lr": 2e-4}}
    warnings = overlay_warnings(default, [("a.yaml", first), ("b.yaml", second)], PAIRS_IN_USE)
    assert warnings == [("a.yaml", "training.lr changes nothing: b.yaml sets it later")]


def test_configs_merge_as_snakemake_merges_them(repo):
    from snakemake.utils import update_config

    base = load_yaml(repo / "config.yaml")
    for name in ("configs/tiny.yaml", "configs/claims.yaml", "configs/paper.yaml"):
        expected = copy.deepcopy(base)
        update_config(expected, load_yaml(repo / name))
        assert merge_configs(base, load_yaml(repo / name)) == expected
    assert base == load_yaml(repo / "config.yaml")  # not modified

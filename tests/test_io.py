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
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    with replacing_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left behind

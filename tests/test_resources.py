"""NLTK data made ready offline: a go-w copy in the cache, re-runnable, and used with the network blocked."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from amda.errors import AmdaError
from amda.resources import missing_nltk, prepare_nltk_data


def _writable_by_group_or_other(root):
    return [p for p in root.rglob("*") if p.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)]


def test_copy_is_complete_and_not_group_writable(shared, tmp_path):
    dst = prepare_nltk_data(shared / "resources" / "nltk_data", tmp_path / "nltk_data")
    assert missing_nltk(dst) == []
    assert _writable_by_group_or_other(dst) == []


def test_rerun_repairs_permissions_and_keeps_a_complete_copy(shared, tmp_path):
    dst = prepare_nltk_data(shared / "resources" / "nltk_data", tmp_path / "nltk_data")
    marker = dst / "corpora" / "wordnet" / "lexnames"
    os.chmod(marker, 0o666)
    inode = marker.stat().st_ino
    prepare_nltk_data(shared / "resources" / "nltk_data", dst)
    assert marker.stat().st_ino == inode  # not copied again
    assert _writable_by_group_or_other(dst) == []


def test_incomplete_source_is_named(tmp_path):
    (tmp_path / "src" / "corpora" / "wordnet").mkdir(parents=True)
    with pytest.raises(AmdaError, match="lacks corpora/stopwords"):
        prepare_nltk_data(tmp_path / "src", tmp_path / "dst")


def test_attack_resources_load_with_the_network_blocked(nltk_data, repo):
    """TextAttack's import, WordNet, stopwords and the POS tagger, inside a namespace with no network."""
    code = textwrap.dedent(f"""
        import socket
        from amda.resources import use_nltk_data
        use_nltk_data({str(nltk_data)!r})
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=3)
            raise SystemExit("network reachable: the test is not isolated")
        except OSError:
            pass
        import textattack  # looks for NLTK data (and would download) at import time
        import nltk
        from nltk.corpus import stopwords, wordnet
        assert wordnet.synsets("good"), "wordnet"
        assert "the" in stopwords.words("english")
        tags = nltk.pos_tag(["a", "good", "movie"], tagset="universal")
        assert tags[1][1] == "ADJ", tags
        print("offline ok")
    """)
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(repo / "src")),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offline ok" in result.stdout

"""Offline attack resources: NLTK data made ready once in a project cache.

NLTK 3.10 refuses data files that group or others may write, and the shared copy is read-only
(and may carry any mode), so the tree is copied into the cache and stripped of go-w. TextAttack
looks for NLTK data at import time, so `use_nltk_data` must run before `import textattack`.
"""
import os
import shutil
import stat
import tempfile
from pathlib import Path

from amda.errors import AmdaError

# What the attacks need, relative to an nltk_data folder.
REQUIRED_NLTK = (
    "corpora/wordnet",
    "corpora/stopwords",
    "taggers/averaged_perceptron_tagger_eng",
    "taggers/universal_tagset",
)


def missing_nltk(directory):
    """The required NLTK resources absent from `directory`."""
    return [rel for rel in REQUIRED_NLTK if not (Path(directory) / rel).is_dir()]


def _strip_group_other_write(root):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + [""]:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWGRP | stat.S_IWOTH) | stat.S_IWUSR)


def prepare_nltk_data(src, dst):
    """Copy the NLTK data under `src` to `dst` (go-w) unless `dst` is already complete; return `dst`.

    Re-runnable: a complete `dst` is left alone; an incomplete one is rebuilt. The copy goes to a
    temporary sibling first, so an interrupted run never leaves a half-copied `dst` behind.
    """
    src, dst = Path(src), Path(dst)
    if dst.is_dir() and not missing_nltk(dst):
        _strip_group_other_write(dst)
        return dst
    if not src.is_dir():
        raise AmdaError(f"paths.shared_resources: NLTK data folder {src} does not exist")
    absent = missing_nltk(src)
    if absent:
        raise AmdaError(f"paths.shared_resources: {src} lacks {', '.join(absent)}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        shutil.copytree(src, tmp / "tree", symlinks=False)
        _strip_group_other_write(tmp / "tree")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp / "tree", dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dst


def use_nltk_data(directory):
    """Point NLTK (and anything importing it later, TextAttack included) at `directory` only."""
    directory = str(Path(directory).resolve())
    absent = missing_nltk(directory)
    if absent:
        raise AmdaError(
            f"NLTK data at {directory} lacks {', '.join(absent)}: run `make setup` "
            "(or workflow_scripts/prepare_resources.py)"
        )
    os.environ["NLTK_DATA"] = directory
    import nltk

    if directory not in nltk.data.path:
        nltk.data.path.insert(0, directory)
    return directory

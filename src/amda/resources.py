"""Offline attack resources: NLTK data made ready once in a project cache.

NLTK 3.10 refuses data files that group or others may write, and the shared copy is read-only
(and may carry any mode), so the tree is copied into the cache and stripped of go-w. TextAttack
looks for NLTK data at import time, so `use_nltk_data` must run before `import textattack`.
"""

import os
import shutil
import stat
from pathlib import Path

from amda.errors import AmdaError
from amda.io import replacing_dir

# What the attacks need, relative to an nltk_data folder, and the NLTK package names that provide it.
REQUIRED_NLTK = {
    "corpora/wordnet": "wordnet",
    "corpora/stopwords": "stopwords",
    "taggers/averaged_perceptron_tagger_eng": "averaged_perceptron_tagger_eng",
    "taggers/universal_tagset": "universal_tagset",
}


def missing_nltk(directory):
    """The required NLTK resources absent from `directory`."""
    return [rel for rel in REQUIRED_NLTK if not (Path(directory) / rel).is_dir()]


def _strip_group_other_write(root):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + [""]:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_IWGRP | stat.S_IWOTH) | stat.S_IWUSR)


def _download(tree, packages):
    """NLTK's own downloader, for a machine with a network but without the shared copy."""
    import nltk

    for package in packages:
        if not nltk.download(package, download_dir=str(tree), quiet=True, raise_on_error=True):
            raise AmdaError(f"nltk.download({package!r}) failed")
    for archive in tree.rglob("*.zip"):  # NLTK reads wordnet only unzipped
        shutil.unpack_archive(archive, archive.parent)


def prepare_nltk_data(src, dst):
    """Copy the NLTK data under `src` to `dst` (go-w) unless `dst` is already complete; return `dst`.

    Re-runnable: a complete `dst` is left alone; an incomplete one is rebuilt. The copy goes to a
    temporary sibling first, so an interrupted run never leaves a half-copied `dst` behind. Where
    `src` is missing, NLTK's downloader fills `dst` instead (this needs a network).
    """
    src, dst = Path(src), Path(dst)
    if dst.is_dir() and not missing_nltk(dst):
        _strip_group_other_write(dst)
        return dst
    if src.is_dir() and missing_nltk(src):
        raise AmdaError(f"paths.shared_resources: {src} lacks {', '.join(missing_nltk(src))}")
    with replacing_dir(dst) as tmp:
        if src.is_dir():
            shutil.copytree(src, tmp, symlinks=False, dirs_exist_ok=True)
        else:
            try:
                _download(tmp, REQUIRED_NLTK.values())
            except Exception as err:
                raise AmdaError(
                    f"paths.shared_resources: NLTK data folder {src} does not exist and downloading it failed "
                    f"({type(err).__name__}: {err})"
                ) from None
        _strip_group_other_write(tmp)
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

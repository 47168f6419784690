"""Keeping TextAttack off the network.

TextAttack downloads on its own in three places: at first import (`nltk.download` of six packages),
when WordNet swaps are built (`nltk.download("omw-1.4")`), and when a component has no local file
(`download_from_s3`: embeddings, language models). `activate` points NLTK at a local copy, makes
`nltk.download` look only there, turns S3 downloads into an `AmdaError`, and only then imports
TextAttack, so none of those calls can reach the network.
"""

import os

import nltk

from amda.errors import AmdaError
from amda.resources import use_nltk_data

# Packages TextAttack asks for that English word-swap attacks never read: Open Multilingual WordNet
# (non-English lemmas), punkt (sentence splitting, for metrics not used here) and the pickled tagger
# that NLTK >= 3.9 replaced by averaged_perceptron_tagger_eng. Absent, they are reported as not
# downloaded (`False`, as NLTK does offline) instead of failing.
UNUSED_NLTK_PACKAGES = frozenset({"omw", "omw-1.4", "punkt", "averaged_perceptron_tagger"})
NLTK_CATEGORIES = (
    "corpora",
    "taggers",
    "tokenizers",
    "chunkers",
    "models",
    "misc",
    "sentiment",
    "stemmers",
    "grammars",
)

_active_dir = None


def nltk_package_is_local(name):
    """Whether NLTK package `name` (as `nltk.download` takes it) is in the NLTK data path."""
    for category in NLTK_CATEGORIES:
        try:
            nltk.data.find(f"{category}/{name}")
            return True
        except LookupError:
            continue
    return False


def local_only_download(info_or_id=None, *args, **kwargs):
    """Stand-in for `nltk.download`: succeeds if the package is already local, never downloads."""
    name = str(info_or_id)
    if nltk_package_is_local(name):
        return True
    if name in UNUSED_NLTK_PACKAGES:
        return False
    raise AmdaError(
        f"NLTK package {name!r} is not in the local NLTK data ({_active_dir}) "
        "and downloads are disabled: add it to the prepared nltk_data folder"
    )


def refuse_s3_download(folder_name, skip_if_cached=True):
    """Stand-in for TextAttack's `download_from_s3`: attacks here only use local resources."""
    raise AmdaError(
        f"TextAttack tried to download {folder_name!r} from its S3 bucket; attacks run "
        "offline, so that component must be given a local resource"
    )


def activate(nltk_data):
    """Use `nltk_data` (a prepared, go-w copy), disable TextAttack's downloads; return `textattack`."""
    global _active_dir
    _active_dir = use_nltk_data(nltk_data)
    nltk.download = local_only_download
    import textattack
    import textattack.shared.utils.install as textattack_install

    textattack_install.download_from_s3 = refuse_s3_download
    textattack.shared.utils.download_from_s3 = refuse_s3_download
    return textattack


def require_textattack():
    """`textattack`, made offline first: by an earlier `activate`, else from `NLTK_DATA`."""
    if _active_dir is not None:
        import textattack

        return textattack
    if os.environ.get("NLTK_DATA"):
        return activate(os.environ["NLTK_DATA"])
    raise AmdaError(
        "TextAttack needs local NLTK data before it is imported: call "
        "amda.attack.offline.activate(nltk_data_dir) or set NLTK_DATA"
    )

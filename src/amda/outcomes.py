"""The per-example attack records (`tae-<attack>.parquet`, shards, the adversarial training set): their
columns, a frame of them, and reading them. Torch-free, so the claims and tables read records without
importing the attack package."""

import pandas as pd

from amda.errors import AmdaError
from amda.io import read_parquet
from amda.naming import RESULT_TYPES

RECORD_COLUMNS = (
    "idx",
    "original_text",
    "perturbed_text",
    "label",
    "pred_before",
    "pred_after",
    "result",
    "error",
    "queries",
    "words_changed",
    "num_words",
    "modification_rate",
    "openattack_modification_rate",
    "truncated",
    "sample_rank",
    "seconds",
)


def records_frame(records):
    return pd.DataFrame(list(records), columns=list(RECORD_COLUMNS))


def read_records(path):
    """A shard's or a TAE's records; AmdaError naming the file if it is missing or malformed."""
    df = read_parquet(path, RECORD_COLUMNS, what="attack records")
    bad = sorted(set(df["result"]) - set(RESULT_TYPES))
    if bad:
        raise AmdaError(f"{path}: unknown result value(s) {', '.join(map(str, bad))}")
    return df

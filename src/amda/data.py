"""The data stage: read a dataset's splits, validate every row, subsample, report statistics.

Order of operations (so that the same config always gives the same rows):
1. read and validate train, test and dev (or carve dev out of train, stratified);
2. subsample test, then dev (stratified, seeded);
3. if `drop_test_overlap`, drop train rows whose whitespace-normalised text is in the final test or dev;
4. subsample train.
Overlap is measured before step 3 and after it, so stats.json shows what was found and what remains.
"""

import logging
import re

import numpy as np
import pandas as pd

from amda.errors import AmdaError
from amda.io import read_parquet

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")

_C1_CONTROLS = re.compile("[\u0080-\u009f]")
# A word character: a letter or digit of any script (`\w` less the underscore).
WORD_CHAR = re.compile(r"[^\W_]")


def normalise(text):
    """Whitespace-insensitive form used to find overlapping texts.

    All whitespace and C1 control characters are dropped: IMDB copies differ where one lost a
    U+0096/U+0097 and the other turned it into a space ("by.what" vs "by .what").
    """
    return re.sub(r"\s+", "", _C1_CONTROLS.sub("", text))


def read_parquet_split(path, text_column="text", label_column="label"):
    """Read one split as a DataFrame with columns text, label, source_row."""
    df = read_parquet(path, (text_column, label_column), only=True)[[text_column, label_column]]
    df.columns = ["text", "label"]
    df["source_row"] = np.arange(len(df))
    return df


def read_hf_split(name, split, text_column="text", label_column="label"):
    """Read a Hugging Face dataset split (needs the network or a warm HF cache)."""
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split)
    except Exception as err:  # the hub raises many types; all mean "cannot load"
        raise AmdaError(f"hf dataset {name!r} split {split!r}: cannot load ({type(err).__name__}: {err})") from None
    df = ds.to_pandas()[[text_column, label_column]]
    df.columns = ["text", "label"]
    df["source_row"] = np.arange(len(df))
    return df


def validate_rows(df, num_labels, where):
    """Every row: a non-empty string text and an integer label in [0, num_labels).

    Errors name the row 0-based, as pandas and pyarrow count them (`row 5 (0-based)`)."""
    if len(df) == 0:
        raise AmdaError(f"{where}: no rows")
    for row, text in enumerate(df["text"].tolist()):
        if text is None or pd.isna(text):
            raise AmdaError(f"{where} row {row} (0-based): missing text")
        if not isinstance(text, str):
            raise AmdaError(f"{where} row {row} (0-based): text is {type(text).__name__}, not a string")
        if not text.strip():
            raise AmdaError(f"{where} row {row} (0-based): empty text")
    for row, label in enumerate(df["label"].tolist()):
        if label is None or pd.isna(label):
            raise AmdaError(f"{where} row {row} (0-based): missing label")
        if isinstance(label, (bool, str)) or not float(label).is_integer():
            raise AmdaError(f"{where} row {row} (0-based): label {label!r} is not an integer")
        if not 0 <= int(label) < num_labels:
            raise AmdaError(f"{where} row {row} (0-based): label {int(label)} out of range 0..{num_labels - 1}")
    df = df.copy()
    df["label"] = df["label"].astype("int64")
    return df


def check_label_coverage(df, label_names, where, required):
    """Labels with no rows: an error where `required` (train cannot teach them), else a warning."""
    counts = df["label"].value_counts()
    empty = [f"{k} ({name})" for k, name in enumerate(label_names) if counts.get(k, 0) == 0]
    if not empty:
        return
    message = f"{where}: no rows with label {', '.join(empty)}"
    if required:
        raise AmdaError(f"{message}; check label_names")
    log.warning("%s", message)


def stratified_sample(df, n, seed):
    """`n` rows with the label proportions of `df` (largest remainder), seeded, in source order."""
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    rng = np.random.RandomState(seed)
    counts = df["label"].value_counts().sort_index()
    exact = counts / counts.sum() * n
    take = np.floor(exact).astype(int)
    remainder = (exact - take).sort_values(ascending=False, kind="stable")
    for label in remainder.index[: n - take.sum()]:
        take[label] += 1
    picked = []
    for label, k in take.items():
        rows = np.flatnonzero(df["label"].to_numpy() == label)
        picked.extend(rng.choice(rows, size=int(k), replace=False))
    return df.iloc[np.sort(picked)].reset_index(drop=True)


def split_off(df, n, seed):
    """Stratified (rest, part) with `n` rows in part."""
    part = stratified_sample(df.assign(_pos=np.arange(len(df))), n, seed)
    rest = df.iloc[np.setdiff1d(np.arange(len(df)), part["_pos"].to_numpy())]
    return rest.reset_index(drop=True), part.drop(columns="_pos")


def overlap(a, b):
    """Rows of `a` whose text also occurs in `b`: exact and whitespace-normalised."""
    exact = a["text"].isin(set(b["text"]))
    norm_b = {normalise(t) for t in b["text"]}
    normalised = a["text"].map(lambda t: normalise(t) in norm_b)
    return {"exact": int(exact.sum()), "normalised": int(normalised.sum())}


def _drop_overlap(train, others):
    seen = set()
    for df in others:
        seen |= {normalise(t) for t in df["text"]}
    keep = ~train["text"].map(lambda t: normalise(t) in seen)
    return train[keep].reset_index(drop=True)


def build_splits(raw, spec, seed):
    """Apply the dev carve-out, subsampling and overlap removal to raw splits; return (splits, info)."""
    sub = spec["subsample"]
    train = raw["train"]
    dev = raw.get("dev")
    if dev is None:
        train, dev = split_off(train, spec["dev_from_train"], seed)
    test = stratified_sample(raw["test"], sub["test"], seed)
    dev = stratified_sample(dev, sub["dev"], seed)
    info = {
        "duplicates_before": {s: int(df["text"].duplicated().sum()) for s, df in raw.items()},
        "overlap_before": {
            "train_test": overlap(train, test),
            "train_dev": overlap(train, dev),
            "dev_test": overlap(dev, test),
        },
        "dropped_from_train": 0,
    }
    if spec["drop_test_overlap"]:
        before = len(train)
        train = _drop_overlap(train, [test, dev])
        info["dropped_from_train"] = before - len(train)
    elif info["overlap_before"]["train_test"]["normalised"]:
        log.warning(
            "drop_test_overlap is off: %d train rows also occur in test (kept, as in the paper)",
            info["overlap_before"]["train_test"]["normalised"],
        )
    train = stratified_sample(train, sub["train"], seed)
    splits = {"train": train, "dev": dev, "test": test}
    info["overlap_after"] = {"train_test": overlap(train, test), "train_dev": overlap(train, dev)}
    return splits, info


def has_words(text):
    """Whether a text holds a word (a letter or digit): punctuation-, emoji- or control-only texts do not,
    and an attack on them is recorded apart (`no_words`), never as robust."""
    return WORD_CHAR.search(text) is not None


def split_stats(df, num_labels):
    words = df["text"].str.split().map(len)
    return {
        "rows": len(df),
        "labels": {str(k): int((df["label"] == k).sum()) for k in range(num_labels)},
        "words_mean": round(float(words.mean()), 2),
        "words_max": int(words.max()),
        "duplicate_texts": int(df["text"].duplicated().sum()),
        "no_word_texts": int((~df["text"].map(has_words)).sum()),
        "chars_max": int(df["text"].str.len().max()),
    }


def token_stats(splits, tokenizer, max_length):
    """Token lengths of each split under one model's tokenizer (kept apart from the splits' stats.json,
    so that a model change never touches the data stage)."""
    stats = {}
    for split, df in splits.items():
        lengths = np.array([len(ids) for ids in tokenizer(df["text"].tolist(), truncation=False)["input_ids"]])
        stats[split] = {
            "mean": round(float(lengths.mean()), 2),
            "max": int(lengths.max()),
            "truncated_at_max_length": int((lengths > max_length).sum()),
        }
    return {"max_length": max_length, "splits": stats}


def make_stats(splits, info, spec, name, source_note):
    num_labels = len(spec["label_names"])
    return {
        "dataset": name,
        "source": source_note,
        "label_names": spec["label_names"],
        "max_length": spec["max_length"],
        "splits": {s: split_stats(df, num_labels) for s, df in splits.items()},
        **info,
        "drop_test_overlap": spec["drop_test_overlap"],
    }

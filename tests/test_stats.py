"""Paired statistics on fixtures with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from amda import stats
from amda.errors import AmdaError


def _records(results):
    return pd.DataFrame({"idx": range(len(results)), "result": results})


def test_mcnemar_known_table():
    # 1 sentence only A holds, 9 only B holds: p = 2 * P(X <= 1 | Bin(10, 1/2)) = 22/1024.
    a = [1] + [0] * 9 + [1] * 5 + [0] * 5
    b = [0] + [1] * 9 + [1] * 5 + [0] * 5
    assert stats.mcnemar_exact(a, b) == pytest.approx(22 / 1024)
    assert stats.mcnemar_exact([1, 0], [1, 0]) == 1.0


def test_paired_difference_known_interval():
    # 100 sentences, A holds on 20 that B does not: difference 20 points, bootstrap se = sqrt(.2 * .8 / 100),
    # so the 95% interval is 20 ± 1.96 * 4 points, about [12.2, 27.8], up to the discreteness of a count.
    a = np.array([1] * 20 + [0] * 80)
    b = np.zeros(100, dtype=int)
    result = stats.paired_comparison([(a, b)], reps=4000)
    assert result.diff == pytest.approx(20.0)
    assert result.low == pytest.approx(12.0, abs=1.1)
    assert result.high == pytest.approx(28.0, abs=1.1)
    assert (result.sentences, result.seeds, result.discordance) == (100, 1, 0.2)
    assert result.verdict(+1) == stats.HOLDS and result.verdict(-1) == stats.CONTRADICTED


def test_identical_seeds_give_the_one_seed_interval_and_constant_difference_none():
    # A constant difference has a zero-width interval whatever is resampled.
    ones, zeros = np.ones(30, dtype=int), np.zeros(30, dtype=int)
    result = stats.paired_comparison([(ones, zeros)] * 3, reps=200)
    assert (result.low, result.high, result.seeds) == (100.0, 100.0, 3)


def test_several_seeds_widen_the_interval_when_seeds_disagree():
    a1, a2 = np.array([1] * 10 + [0] * 90), np.array([1] * 30 + [0] * 70)
    b = np.zeros(100, dtype=int)
    pooled = stats.paired_comparison([(a1, b), (a2, b)], reps=2000)
    assert pooled.diff == pytest.approx(20.0)
    # Resampling seeds puts half the replicates near 10 or 30: wider than 100 sentences of one seed at 20.
    single = stats.paired_comparison([(np.array([1] * 20 + [0] * 80), b)], reps=2000)
    assert pooled.high - pooled.low > single.high - single.low
    assert len(pooled.mcnemar_p) == 2


def test_verdict_three_values():
    assert stats.verdict(-1.0, 3.0) == stats.INCONCLUSIVE
    assert stats.verdict(0.5, 3.0) == stats.HOLDS
    assert stats.verdict(-3.0, -0.5) == stats.CONTRADICTED
    with pytest.raises(AmdaError):
        stats.verdict(0, 1, direction=0)


def test_minimum_detectable_difference_inverts_the_sample_size_formula():
    # Connor (1987): psi = 0.2, delta = 0.05 needs 626 pairs; at 626 pairs the MDD is just under 5 points.
    assert stats.pairs_needed(0.05, 0.2) == 626
    mdd = stats.min_detectable_difference(626, 0.2)
    assert 0.0495 < mdd <= 0.05
    assert math.isnan(stats.min_detectable_difference(60, 0.0))


def test_paired_arrays_drop_errored_and_refuse_different_sentences():
    a = _records(["failed", "successful", "errored", "failed"])
    b = _records(["failed", "failed", "failed", "skipped"])
    x, y = stats.paired_arrays(a, b)
    assert x.tolist() == [1, 0, 1] and y.tolist() == [1, 1, 0]
    with pytest.raises(AmdaError, match="different sentences"):
        stats.paired_arrays(a, _records(["failed"] * 5))


def test_seeds_that_repeat_each_other_are_worth_one_seed_of_pairs():
    # Three seeds with the very same outcomes carry no more information than one: the crossed bootstrap's
    # variance is the one seed's, three times what 1,500 independent pairs would give, so they count as
    # about 500 pairs and detect what one seed detects (not the 1,500 pairs' smaller difference).
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    one = stats.paired_comparison([(a, b)], reps=4000)
    three = stats.paired_comparison([(a, b)] * 3, reps=4000)
    assert one.effective_pairs == 500.0
    assert three.effective_pairs == pytest.approx(500, rel=0.1)
    assert three.mdd == pytest.approx(one.mdd, rel=0.06)
    assert three.mdd > 100 * stats.min_detectable_difference(1500, three.discordance)


def test_effective_pairs_never_exceed_the_pairs_and_count_all_without_discordance():
    rng = np.random.default_rng(3)
    diffs = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.75, 0.15], size=(3, 400))
    assert stats.effective_pairs(diffs, np.full(100, 0.05)) == 1200.0  # a bootstrap variance of 0: capped
    assert stats.effective_pairs(np.zeros((3, 400)), np.zeros(100)) == 1200.0
    assert stats.effective_pairs(diffs[:1], stats.bootstrap_means(diffs[:1], 500)) == 400.0

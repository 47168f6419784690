"""Paired statistics of accuracy under attack: every model is attacked on the same sentences, so two
methods are compared sentence by sentence.

An outcome is 1 when the model withstood the attack on a sentence (result `failed`), 0 otherwise; a
sentence counted apart (errored, capped, no words) for either model is dropped from that pair. Differences are A − B in points (%).

- Interval: 95% percentile bootstrap of the mean paired difference. With one seed, sentences are
  resampled; with several, seeds and sentences are resampled together (a two-way crossed bootstrap:
  a multiset of seeds and a multiset of sentences per replicate).
- McNemar: exact two-sided binomial test on the discordant pairs of one seed.
- Minimum detectable difference (MDD): the smallest |A − B| that a two-sided 5% McNemar test detects
  with 80% power at n pairs and discordance ψ (share of discordant pairs), from the paired-proportions
  sample-size formula of Connor (1987): n = (z_{α/2} √ψ + z_β √(ψ − δ²))² / δ², solved for δ.
  Several seeds attacked on the same sentences are not n × seeds independent pairs (a sentence one
  model loses, its re-seeded twin often loses too; the seeds themselves vary): n is their effective
  number, n × seeds divided by the design effect, the crossed bootstrap's variance of the mean over
  the variance that independent pairs would give (at least 1), so the MDD answers to the same
  uncertainty as the interval that makes the verdict.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from amda.errors import AmdaError
from amda.naming import APART

HOLDS, CONTRADICTED, INCONCLUSIVE = "holds", "contradicted", "inconclusive"
LEVEL = 0.95
POWER = 0.80
BOOTSTRAP_REPS = 10_000
POWER_FORMULA = "Connor (1987) paired-proportions formula, two-sided α = 0.05, 80% power"


@dataclass(frozen=True)
class PairedResult:
    """A − B in points with its interval, the pairs it rests on and what they could have detected."""

    diff: float
    low: float
    high: float
    sentences: int
    seeds: int
    discordance: float
    effective_pairs: float
    mdd: float
    mcnemar_p: tuple

    def verdict(self, direction=1):
        return verdict(self.low, self.high, direction)


def outcomes(records):
    """{idx: 1 if the attack failed (the model held), 0 if it succeeded or was skipped}; rows counted apart
    (naming.APART: errored, capped, no words) dropped."""
    kept = records[~records["result"].isin(APART)]
    return dict(zip(kept["idx"].astype(int), (kept["result"] == "failed").astype(int)))


def aligned_outcomes(records_list, what="pair"):
    """Aligned 0/1 outcome arrays of several attack records (models, or one model under several attacks) over the
    sentences none counted apart; AmdaError naming `what` unless all were attacked on the same sentences."""
    attacked = [set(r["idx"].astype(int)) for r in records_list]
    if any(s != attacked[0] for s in attacked):
        extra = sorted(set.union(*attacked) - set.intersection(*attacked))[:3]
        raise AmdaError(f"{what}: the records were attacked on different sentences (e.g. idx {extra})")
    found = [outcomes(r) for r in records_list]
    common = sorted(set.intersection(*(set(o) for o in found)))
    return [np.array([o[i] for i in common]) for o in found]


def paired_arrays(a_records, b_records, what="pair"):
    """Aligned 0/1 outcome arrays of two models' records over the sentences both attacked."""
    return tuple(aligned_outcomes([a_records, b_records], what))


def mcnemar_exact(a, b):
    """Exact two-sided McNemar p-value of paired 0/1 outcomes (binomial test on the discordant pairs)."""
    a, b = np.asarray(a), np.asarray(b)
    only_a, only_b = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def bootstrap_interval(diffs, reps=BOOTSTRAP_REPS, seed=0, level=LEVEL):
    """Percentile interval of the mean of `diffs` (seeds × sentences) under the crossed bootstrap."""
    return _percentile_interval(bootstrap_means(diffs, reps, seed), level)


def _percentile_interval(means, level=LEVEL):
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def bootstrap_means(diffs, reps=BOOTSTRAP_REPS, seed=0):
    """The `reps` replicate means of `diffs` (seeds × sentences) under the crossed bootstrap."""
    diffs = np.atleast_2d(np.asarray(diffs, dtype=float))
    n_seeds, n_sent = diffs.shape
    if n_sent == 0:
        raise AmdaError("bootstrap: no sentence is paired (every one counted apart?)")
    rng = np.random.default_rng(seed)
    # Each replicate's multisets as counts (how often each seed and sentence is drawn): the replicate mean is
    # seed_counts · diffs · sentence_counts / (seeds × sentences), all replicates in one product.
    seed_counts = _draw_counts(rng, n_seeds, reps) if n_seeds > 1 else np.ones((reps, 1))
    sentence_counts = _draw_counts(rng, n_sent, reps)
    return ((seed_counts @ diffs) * sentence_counts).sum(axis=1) / (n_seeds * n_sent)


def _draw_counts(rng, n, reps):
    """(reps, n) counts of n draws with replacement from n items, one row per replicate."""
    draws = rng.integers(0, n, (reps, n)) + n * np.arange(reps)[:, None]
    return np.bincount(draws.ravel(), minlength=reps * n).reshape(reps, n)


def min_detectable_difference(n, discordance, alpha=1 - LEVEL, power=POWER):
    """The δ (as a fraction) that `n` pairs at discordance ψ detect with `power` (Connor 1987); NaN if ψ = 0."""
    if n <= 0 or discordance <= 0:
        return math.nan
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    psi = discordance

    def gap(delta):
        return math.sqrt(n) * delta - za * math.sqrt(psi) - zb * math.sqrt(max(psi - delta * delta, 0.0))

    top = math.sqrt(psi)
    if gap(top) < 0:  # even the largest difference ψ allows is not detectable
        return math.nan
    return float(optimize.brentq(gap, 0.0, top))


def pairs_needed(delta, discordance, alpha=1 - LEVEL, power=POWER):
    """Pairs needed to detect `delta` (fraction) at discordance ψ with `power` (Connor 1987)."""
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return math.ceil((za * math.sqrt(discordance) + zb * math.sqrt(discordance - delta**2)) ** 2 / delta**2)


def paired_comparison(pairs, reps=BOOTSTRAP_REPS, seed=0):
    """A − B of [(a, b) aligned 0/1 arrays, one per seed, all over the same sentences] as a PairedResult."""
    if not pairs:
        raise AmdaError("paired comparison: no seed to compare")
    lengths = {len(a) for a, _ in pairs}
    if len(lengths) != 1:
        raise AmdaError(f"paired comparison: seeds paired on different numbers of sentences ({sorted(lengths)})")
    diffs = np.array([np.asarray(a, float) - np.asarray(b, float) for a, b in pairs])
    means = bootstrap_means(diffs, reps, seed)
    low, high = _percentile_interval(means)
    discordance = float((diffs != 0).mean())
    n_pairs = effective_pairs(diffs, means)
    return PairedResult(
        diff=100 * float(diffs.mean()),
        low=100 * low,
        high=100 * high,
        sentences=diffs.shape[1],
        seeds=diffs.shape[0],
        discordance=discordance,
        effective_pairs=n_pairs,
        mdd=100 * min_detectable_difference(n_pairs, discordance),
        mcnemar_p=tuple(mcnemar_exact(a, b) for a, b in pairs),
    )


def effective_pairs(diffs, means):
    """How many independent pairs the seeds × sentences `diffs` are worth: their number over the design
    effect (the bootstrap `means`' variance over var(d) / number, at least 1). One seed's pairs are
    independent by design, so they count in full (the ratio would only add resampling noise)."""
    diffs = np.atleast_2d(diffs)
    iid = diffs.var() / diffs.size
    if diffs.shape[0] == 1 or iid == 0:
        return float(diffs.size)
    return float(diffs.size / max(1.0, float(np.var(means)) / iid))


def verdict(low, high, direction=1):
    """holds: the interval excludes 0 in the paper's direction (+1: A > B); contradicted: the other way;
    inconclusive: it covers 0."""
    if direction not in (1, -1):
        raise AmdaError(f"verdict: direction must be +1 or -1, got {direction!r}")
    if low > 0:
        return HOLDS if direction == 1 else CONTRADICTED
    if high < 0:
        return HOLDS if direction == -1 else CONTRADICTED
    return INCONCLUSIVE


def footer(sentences, seeds, mdd):
    """The line every table carries: what the sample is and what it could detect."""
    detect = "not estimable (no discordant pair)" if math.isnan(mdd) else f"{mdd:.1f} points"
    return (
        f"n = {sentences} attacked sentences × {seeds} seed{'s' if seeds != 1 else ''}; smallest difference "
        f"detectable with 80% power: {detect} ({POWER_FORMULA}, at the observed discordance)."
    )

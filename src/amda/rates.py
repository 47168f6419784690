"""The rates of a TAE summary from its result counts: the attack stage writes them and aggregation
recomputes them, so a summary whose rates disagree with its own counts is caught (formulas in
docs/ARCHITECTURE.md). Light on purpose: aggregation imports it without torch or TextAttack."""

from amda.naming import APART


def tae_fractions(counts, n):
    """{rate: (numerator, denominator)} of `n` attacked examples with these result counts."""
    scored = n - sum(counts[name] for name in APART)
    attacked = counts["successful"] + counts["failed"]
    return {
        "clean_accuracy": (attacked, scored),
        "accuracy_under_attack": (counts["failed"], scored),
        "attack_success_rate": (counts["successful"], attacked),
    }


def ratio(numerator, denominator):
    """numerator / denominator; None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def tae_rates(counts, n):
    return {key: ratio(*fraction) for key, fraction in tae_fractions(counts, n).items()}

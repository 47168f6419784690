"""Static attack evaluation (SAE): a model scored on the sentences attacked on the victim."""

import numpy as np

from amda.inference import predict_logits
from amda.naming import APART
from amda.outcomes import read_records


def _correct(model, tokenizer, texts, labels, max_length, batch_size):
    """0/1 per text: whether the model predicts its gold label."""
    if not len(texts):
        return np.zeros(0, dtype=int)
    logits = predict_logits(model, tokenizer, list(texts), max_length, batch_size)
    return (logits.argmax(dim=1).numpy() == np.asarray(labels)).astype(int)


def _mean(correct):
    return float(correct.mean()) if len(correct) else None


def static_eval(model, tokenizer, victim_tae, max_length, batch_size):
    """Static attack evaluation (SAE) of `model` on the victim's attacked sentences (gold labels).

    The paper's static set is every attacked sentence: the perturbed text where the victim's attack
    succeeded, the original where it failed or was skipped (examples counted apart are left out), so
    the victim's SAE equals its TAE. `static_accuracy_successful_only` is the accuracy on the victim's
    successful adversarial examples alone (None when there are none). `idx` and `correct` are the
    per-sentence outcomes (test-split row, 1 when the model is right), so SAE and TAE can be compared
    sentence by sentence."""
    df = read_records(victim_tae)
    attacked = df[~df["result"].isin(APART)]
    success = attacked["result"] == "successful"
    texts = attacked["perturbed_text"].where(success, attacked["original_text"])
    labels = attacked["label"].to_numpy()
    correct = _correct(model, tokenizer, texts, labels, max_length, batch_size)
    return {
        "n": int(len(attacked)),
        "static_accuracy": _mean(correct),
        "n_successful": int(success.sum()),
        "static_accuracy_successful_only": _mean(correct[success.to_numpy()]),
        "idx": [int(i) for i in attacked["idx"]],
        "correct": [int(c) for c in correct],
    }

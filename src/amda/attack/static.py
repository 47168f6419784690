"""Static attack evaluation (SAE): a model scored on the sentences attacked on the victim."""

import numpy as np

from amda.attack.runner import read_records
from amda.inference import predict_logits
from amda.naming import APART


def _accuracy(model, tokenizer, texts, labels, max_length, batch_size):
    if not len(texts):
        return None
    logits = predict_logits(model, tokenizer, list(texts), max_length, batch_size)
    return float((logits.argmax(dim=1).numpy() == np.asarray(labels)).sum()) / len(texts)


def static_eval(model, tokenizer, victim_tae, max_length, batch_size):
    """Static attack evaluation (SAE) of `model` on the victim's attacked sentences (gold labels).

    The paper's static set is every attacked sentence: the perturbed text where the victim's attack
    succeeded, the original where it failed or was skipped (examples counted apart are left out), so
    the victim's SAE equals its TAE. `static_accuracy_successful_only` is the accuracy on the victim's
    successful adversarial examples alone (None when there are none)."""
    df = read_records(victim_tae)
    attacked = df[~df["result"].isin(APART)]
    success = attacked["result"] == "successful"
    texts = attacked["perturbed_text"].where(success, attacked["original_text"])
    labels = attacked["label"].to_numpy()
    return {
        "n": int(len(attacked)),
        "static_accuracy": _accuracy(model, tokenizer, texts, labels, max_length, batch_size),
        "n_successful": int(success.sum()),
        "static_accuracy_successful_only": _accuracy(
            model, tokenizer, attacked["perturbed_text"][success], labels[success.to_numpy()], max_length, batch_size
        ),
    }

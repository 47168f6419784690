"""Static attack evaluation (SAE): a model scored on the sentences attacked on the victim."""

import numpy as np
import torch

from amda.errors import AmdaError
from amda.inference import model_device, predict_logits
from amda.naming import APART
from amda.outcomes import read_records

PADDING_SIDES = ("right", "left")


def left_padded_logits(model, tokenizer, texts, max_length, batch_size):
    """Logits with every text truncated to and padded on the left to `max_length`: what a reference attack with
    `padding_side: left` scores (`amda.attack.wrapper.DynamicPaddingModelWrapper`, whose copy a test checks this
    against; here without TextAttack, which an SAE job does not load)."""
    device = model_device(model)
    out = []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = tokenizer(
                    list(texts[start : start + batch_size]),
                    padding="max_length",
                    truncation=True,
                    max_length=max_length,
                    padding_side="left",
                    return_tensors="pt",
                ).to(device)
                out.append(model(**enc).logits.float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)


def _correct(model, tokenizer, texts, labels, max_length, batch_size, padding_side):
    """0/1 per text: whether the model, fed as the attack fed it (`padding_side`), predicts its gold label."""
    if not len(texts):
        return np.zeros(0, dtype=int)
    score = left_padded_logits if padding_side == "left" else predict_logits
    logits = score(model, tokenizer, list(texts), max_length, batch_size)
    return (logits.argmax(dim=1).numpy() == np.asarray(labels)).astype(int)


def _mean(correct):
    return float(correct.mean()) if len(correct) else None


def static_eval(model, tokenizer, victim_tae, max_length, batch_size, padding_side="right"):
    """Static attack evaluation (SAE) of `model` on the victim's attacked sentences (gold labels), its inputs padded
    on `padding_side` as the attack's were (the reference attacks' `padding_side` setting; right: every other
    attack's, training's).

    The paper's static set is every attacked sentence: the perturbed text where the victim's attack
    succeeded, the original where it failed or was skipped (examples counted apart are left out), so
    the victim's SAE equals its TAE. `static_accuracy_successful_only` is the accuracy on the victim's
    successful adversarial examples alone (None when there are none). `idx` and `correct` are the
    per-sentence outcomes (test-split row, 1 when the model is right), so SAE and TAE can be compared
    sentence by sentence."""
    if padding_side not in PADDING_SIDES:
        raise AmdaError(f"padding_side: expected 'right' or 'left', got {padding_side!r}")
    df = read_records(victim_tae)
    attacked = df[~df["result"].isin(APART)]
    success = attacked["result"] == "successful"
    texts = attacked["perturbed_text"].where(success, attacked["original_text"])
    labels = attacked["label"].to_numpy()
    correct = _correct(model, tokenizer, texts, labels, max_length, batch_size, padding_side)
    return {
        "n": int(len(attacked)),
        "static_accuracy": _mean(correct),
        "n_successful": int(success.sum()),
        "static_accuracy_successful_only": _mean(correct[success.to_numpy()]),
        "idx": [int(i) for i in attacked["idx"]],
        "correct": [int(c) for c in correct],
    }

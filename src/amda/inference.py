"""Batched inference shared by training-time evaluation and the attack wrapper.

Both paths call `predict_logits`, so the logits an attack sees are by construction the ones the
training loop evaluates: same tokenizer call, same truncation, right padding to the batch's longest.
"""

import torch


def tokenize_batch(tokenizer, texts, max_length):
    """Tokenize to the batch's longest sequence (dynamic padding, right side, truncated to max_length)."""
    return tokenizer(
        list(texts),
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )


def model_device(model):
    return next(model.parameters()).device


def predict_logits(model, tokenizer, texts, max_length, batch_size, autocast_bf16=False):
    """Logits [len(texts), num_labels] as float32 on the CPU, in input order.

    Texts are processed in length-sorted batches (less padding, identical results since every
    batch is padded on the right and attention-masked), then put back in input order.
    """
    texts = list(texts)
    if not texts:
        return torch.zeros(0, model.config.num_labels)
    device = model_device(model)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.empty(len(texts), model.config.num_labels)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = tokenize_batch(tokenizer, [texts[i] for i in idx], max_length).to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast_bf16):
                    logits = model(**enc).logits
                out[idx] = logits.float().cpu()
    finally:
        model.train(was_training)
    return out

"""Static attack evaluation (SAE): a model scored on the victim's successful adversarial examples."""

from amda.attack.runner import read_records
from amda.inference import predict_logits


def static_eval(model, tokenizer, victim_tae, max_length, batch_size):
    """Accuracy of `model` on the perturbed texts of the victim's successful attacks (gold labels).

    Returns {"n", "static_accuracy"}; static_accuracy is None when the victim has no successes.
    """
    df = read_records(victim_tae)
    adversarial = df[df["result"] == "successful"]
    if not len(adversarial):
        return {"n": 0, "static_accuracy": None}
    logits = predict_logits(model, tokenizer, adversarial["perturbed_text"].tolist(), max_length, batch_size)
    correct = (logits.argmax(dim=1).numpy() == adversarial["label"].to_numpy()).sum()
    return {"n": int(len(adversarial)), "static_accuracy": float(correct) / len(adversarial)}

"""Temperature scaling (Guo et al. 2017) and the calibration it is judged by.

Score-based attacks read the model's confidence, so an over- or under-confident model weakens them
(Raina et al., ACL 2024), and mixup changes confidence. One temperature T per model is fitted on the dev
split by minimising the negative log-likelihood of softmax(logits / T) over log T (so T stays positive),
with L-BFGS; the attacked model's scores are then logits / T (its predictions are unchanged).

Expected calibration error (ECE): the confidence of a prediction is its largest softmax probability; the
predictions fall into `ECE_BINS` = 15 equal-width bins of confidence, bin b holding those in
((b − 1)/15, b/15] (the first also holds 0); ECE = Σ_b |B_b| / n · |accuracy(B_b) − mean confidence(B_b)|.
"""

import torch

ECE_BINS = 15


def nll(logits, labels, temperature=1.0):
    """Mean negative log-likelihood (nats) of `labels` under softmax(logits / temperature)."""
    return float(torch.nn.functional.cross_entropy(logits.double() / temperature, labels))


def fit_temperature(logits, labels, max_iter=100):
    """The temperature T > 0 minimising the NLL of `labels` under softmax(logits / T): L-BFGS over log T, from
    T = 1, in float64 (one convex parameter: it converges to the optimum, not to a nearby point)."""
    logits, labels = logits.detach().double(), labels.detach().long()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [log_t], lr=1.0, max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def expected_calibration_error(logits, labels, temperature=1.0, bins=ECE_BINS):
    """ECE of softmax(logits / temperature) against `labels`, over `bins` equal-width confidence bins (above)."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    confidence, predicted = probs.max(dim=-1)
    correct = (predicted == labels).double()
    # bin b (0-based) holds confidences in (b/bins, (b + 1)/bins]; a confidence of 0 joins bin 0
    which = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += float(members.double().mean()) * abs(float(correct[members].mean() - confidence[members].mean()))
    return ece


def calibration_summary(dev_logits, dev_labels, test_logits, test_labels):
    """The temperature fitted on dev, and the test split's ECE and NLL before (T = 1) and after scaling."""
    temperature = fit_temperature(dev_logits, dev_labels)
    return {
        "temperature": temperature,
        "ece_bins": ECE_BINS,
        "n_dev": len(dev_labels),
        "n_test": len(test_labels),
        "dev_nll_before": nll(dev_logits, dev_labels),
        "dev_nll_after": nll(dev_logits, dev_labels, temperature),
        "test_accuracy": float((test_logits.argmax(dim=-1) == test_labels).double().mean()),
        "test_ece_before": expected_calibration_error(test_logits, test_labels),
        "test_ece_after": expected_calibration_error(test_logits, test_labels, temperature),
        "test_nll_before": nll(test_logits, test_labels),
        "test_nll_after": nll(test_logits, test_labels, temperature),
    }

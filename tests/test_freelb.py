"""FreeLB++ (amda.freelb) on tiny randomly initialised BERT, RoBERTa and MPNet classifiers built here.

The perturbation is observed where the model receives it: a hook on the embeddings module records the
`inputs_embeds` of every pass, and δ = inputs_embeds - word_embeddings(input_ids). A few-sentence fine-tuning run
of the method `freelb` goes through the workflow's training spec and `fine_tune`.
"""

from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fixtures.tiny_models import sst2
from safetensors.torch import load_file
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    MPNetConfig,
    MPNetForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from amda.config import load_yaml, training_spec, validate_config
from amda.errors import AmdaError
from amda.freelb import FreeLBLoss
from amda.losses import batching
from amda.naming import RunId
from amda.records import FREELB_SETTINGS
from amda.training import fine_tune, validate_spec

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[1]

SIZES = dict(
    vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=2
)
NO_DROPOUT = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
LENGTHS = (7, 4, 9, 3)
PAD = {"bert": 0, "roberta": 1, "mpnet": 1}


def tiny_model(family="bert", dropout=True):
    """A tiny classifier from a fixed seed, in training mode; dropout off for exact comparisons."""
    torch.manual_seed(0)
    sizes = {**SIZES, **({} if dropout else NO_DROPOUT)}
    if family == "bert":
        model = BertForSequenceClassification(BertConfig(**sizes))
    elif family == "roberta":
        model = RobertaForSequenceClassification(
            RobertaConfig(**sizes, pad_token_id=1, max_position_embeddings=40, type_vocab_size=1)
        )
    else:
        model = MPNetForSequenceClassification(MPNetConfig(**sizes, pad_token_id=1, max_position_embeddings=40))
    return model.train()


def batch(family="bert", seed=0):
    """Right-padded sentences of unequal lengths, as amda.inference.tokenize_batch makes them."""
    gen = torch.Generator().manual_seed(seed)
    width = max(LENGTHS)
    ids = torch.full((len(LENGTHS), width), PAD[family])
    mask = torch.zeros((len(LENGTHS), width), dtype=torch.long)
    for row, n in enumerate(LENGTHS):
        ids[row, :n] = torch.randint(5, SIZES["vocab_size"], (n,), generator=gen)
        mask[row, :n] = 1
    enc = {"input_ids": ids, "attention_mask": mask}
    if family == "bert":
        enc["token_type_ids"] = torch.zeros_like(ids)
    return enc, torch.tensor([0, 1, 1, 0])


def freelb(**settings):
    defaults = {name: setting["default"] for name, setting in FREELB_SETTINGS.items()}
    return FreeLBLoss.from_spec({"freelb": {**defaults, **settings}, "training": {"bf16": False}})


def plain_backward(model, enc, labels):
    loss = F.cross_entropy(model(**enc).logits, labels)
    loss.backward()
    return loss.detach()


def grads(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def assert_same_grads(a, b, **tol):
    ga, gb = grads(a), grads(b)
    assert ga.keys() == gb.keys() and ga
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], **tol, msg=name)


def perturbations(model, loss, enc, labels, rng):
    """The δ of every pass of one `loss.backward` call, as the model received it."""
    seen = []
    hook = model.base_model.embeddings.register_forward_pre_hook(
        lambda _module, _args, kwargs: seen.append(kwargs["inputs_embeds"].detach().clone()), with_kwargs=True
    )
    try:
        result = loss.backward(model, enc, labels, rng)
    finally:
        hook.remove()
    clean = model.get_input_embeddings()(enc["input_ids"]).detach()
    return [embeds - clean for embeds in seen], result


def norms(delta, norm_type="l2"):
    flat = delta.reshape(delta.shape[0], -1)
    return flat.norm(dim=1) if norm_type == "l2" else flat.abs().amax(dim=1)


def padding(enc):
    return enc["attention_mask"] == 0


def test_defaults_validate_and_bad_settings_name_their_key():
    loss = freelb()
    assert (loss.adv_steps, loss.adv_learning_rate, loss.adv_init_mag, loss.adv_max_norm, loss.adv_norm_type) == (
        10,
        0.03,
        0.05,
        0.0,
        "l2",
    )
    # One check, the config schema's (the record's settings added to it): one line naming the key.
    for bad, key in (
        ({"adv_steps": 51}, "freelb.adv_steps"),
        ({"adv_steps": 2.5}, "freelb.adv_steps"),
        ({"adv_norm_type": "l1"}, "freelb.adv_norm_type"),
        ({"adv_max_norm": -0.1}, "freelb.adv_max_norm"),
        ({"adv_init_magnitude": 0.1}, "freelb.adv_init_magnitude: unknown key"),
    ):
        config = load_yaml(REPO / "config.yaml")
        config["freelb"] = bad
        with pytest.raises(AmdaError, match=rf"^config: {key}") as err:
            validate_config(config)
        assert "\n" not in str(err.value)
    spec = training_spec(
        validate_config(load_yaml(REPO / "config.yaml")), RunId("sst2", "minilm", "freelb", "clean", "default", 3)
    )
    del spec["freelb"]["adv_steps"]
    with pytest.raises(AmdaError, match=r"^spec: missing key freelb\.adv_steps, needed by the method freelb$"):
        validate_spec(spec)


def test_every_setting_has_a_bounded_schema_its_default_meets_and_a_cited_description():
    for name, setting in FREELB_SETTINGS.items():
        jsonschema.validate(setting["default"], setting)
        assert "maximum" in setting or "enum" in setting, name
        assert "TextDefender" in setting["description"], name


@pytest.mark.parametrize(("norm_type", "bound", "init", "lr"), [("l2", 0.1, 0.05, 0.05), ("linf", 0.03, 0.02, 0.02)])
def test_perturbation_stays_inside_its_norm_bound_at_every_pass(norm_type, bound, init, lr):
    """Unprojected, five steps of `lr` would carry δ well past the bound: the bound is reached and never passed."""
    enc, labels = batch()
    loss = freelb(adv_steps=6, adv_max_norm=bound, adv_init_mag=init, adv_learning_rate=lr, adv_norm_type=norm_type)
    deltas, _ = perturbations(tiny_model(), loss, enc, labels, np.random.default_rng(0))
    assert len(deltas) == 6
    reach = torch.stack([norms(d, norm_type) for d in deltas])
    assert reach.max() <= bound * (1 + 1e-5)
    assert reach[-1].min() >= bound * (1 - 1e-4)  # the projection is what holds δ there
    assert all(d[padding(enc)].abs().max() == 0 for d in deltas)


def test_unbounded_steps_have_the_step_size_and_stay_within_the_triangle_bound():
    """adv_max_norm = 0 (the reference's unlimited): each ascent step moves every sentence's δ by exactly
    adv_learning_rate in l2, so pass t is within adv_init_mag + (t - 1) x adv_learning_rate."""
    enc, labels = batch()
    loss = freelb(adv_steps=5, adv_max_norm=0.0)
    deltas, _ = perturbations(tiny_model(), loss, enc, labels, np.random.default_rng(0))
    assert norms(deltas[0]).max() <= loss.adv_init_mag
    for t in range(1, len(deltas)):
        torch.testing.assert_close(norms(deltas[t] - deltas[t - 1]), torch.full((4,), 0.03), rtol=1e-4, atol=1e-6)
        assert norms(deltas[t]).max() <= loss.adv_init_mag + t * loss.adv_learning_rate + 1e-6


def test_initial_perturbation_is_redrawn_per_batch():
    enc, labels = batch()
    model, loss, rng = tiny_model(), freelb(adv_steps=2), np.random.default_rng(0)
    first, _ = perturbations(model, loss, enc, labels, rng)
    second, _ = perturbations(model, loss, enc, labels, rng)
    for deltas in (first, second):
        assert deltas[0][~padding(enc)].abs().min() > 0  # every real-token coordinate drawn
        assert deltas[0][padding(enc)].abs().max() == 0
        assert norms(deltas[0]).max() <= loss.adv_init_mag
    assert (first[0] - second[0]).abs().max() > 1e-3


def test_reproducible_from_the_seed():
    enc, labels = batch()
    runs = []
    for seed in (0, 0, 1):
        model = tiny_model()
        torch.manual_seed(seed)  # dropout
        total, first, _ = freelb(adv_steps=3).backward(model, enc, labels, np.random.default_rng(seed))
        runs.append(((total, first), grads(model)))
    (same_losses, same_grads), (again_losses, again_grads), (other_losses, _) = runs
    assert all(torch.equal(a, b) for a, b in zip(same_losses, again_losses))
    assert all(torch.equal(same_grads[name], again_grads[name]) for name in same_grads)
    assert not torch.equal(same_losses[0], other_losses[0])


def test_zero_steps_is_plain_fine_tuning():
    enc, labels = batch()
    plain, adversarial = tiny_model(dropout=False), tiny_model(dropout=False)
    expected = plain_backward(plain, enc, labels)
    total, clean, extra = freelb(adv_steps=0).backward(adversarial, enc, labels, np.random.default_rng(0))
    assert extra is None
    assert torch.equal(total, expected) and torch.equal(clean, expected)
    assert_same_grads(plain, adversarial, rtol=0, atol=0)


@pytest.mark.parametrize("family", ["bert", "roberta", "mpnet"])
def test_a_pass_at_zero_perturbation_is_the_plain_step(family):
    """One pass through inputs_embeds at δ = 0 is the model's plain forward, for every family (positions,
    token types and padding included); three such passes at loss / 3 add up to the plain gradient."""
    enc, labels = batch(family)
    plain = tiny_model(family, dropout=False)
    expected = plain_backward(plain, enc, labels)
    for steps in (1, 3):
        model = tiny_model(family, dropout=False)
        loss = freelb(adv_steps=steps, adv_init_mag=0.0, adv_learning_rate=0.0)
        total, first, extra = loss.backward(model, enc, labels, np.random.default_rng(0))
        assert extra is None
        for value in (total, first):
            torch.testing.assert_close(value, expected)
        assert_same_grads(plain, model, rtol=1e-5, atol=1e-7)


def test_ascent_raises_the_loss():
    """The mean loss the step descends lies above the loss at δ₀: the later passes are more adversarial."""
    enc, labels = batch()
    total, first, _ = freelb(adv_steps=4, adv_learning_rate=0.5).backward(
        tiny_model(dropout=False), enc, labels, np.random.default_rng(0)
    )
    assert first < total


def freelb_run_spec(tiny_bert, adv_steps, method="freelb"):
    """The training spec config.yaml gives a model of `method` (FreeLB++ with `adv_steps`), on the tiny BERT for one
    epoch."""
    config = validate_config(load_yaml(REPO / "config.yaml"))
    config["freelb"]["adv_steps"] = adv_steps
    spec = training_spec(config, RunId("sst2", "minilm", method, "clean", "default", 3))
    spec["model"].update(source=f"dir:{tiny_bert}", num_layers=4, mixup_layers=[2, 3, 4])
    spec["training"].update(epochs=1, batch_size=8)
    return spec


def fine_tuned(spec, out):
    train, dev, test = sst2("train", 24), sst2("dev", 8), sst2("test", 8)
    metrics = fine_tune(spec, train, dev, test, out / "model", out / "checkpoint")
    return metrics, load_file(str(out / "model" / "model" / "model.safetensors"))


def test_a_freelb_model_trains_through_the_workflows_spec_and_zero_steps_is_base(tiny_bert, tmp_path):
    spec = freelb_run_spec(tiny_bert, 2)
    assert spec["freelb"] == {**{name: s["default"] for name, s in FREELB_SETTINGS.items()}, "adv_steps": 2}
    assert batching(spec) == "length"  # as plain fine-tuning: training.length_grouped
    metrics, adversarial = fine_tuned(spec, tmp_path / "k2")
    assert (metrics["method"], metrics["freelb"]["adv_steps"], metrics["alpha"], metrics["num_mixed"]) == (
        "freelb",
        2,
        None,
        0,
    )
    assert metrics["epochs"][0]["examples"] == 24 and metrics["epochs"][0]["mix_loss"] is None
    _, zero_steps = fine_tuned(freelb_run_spec(tiny_bert, 0), tmp_path / "k0")
    _, base = fine_tuned(freelb_run_spec(tiny_bert, 0, method="base"), tmp_path / "base")
    assert all(torch.equal(zero_steps[key], base[key]) for key in base)  # same batches, same steps
    assert any(not torch.equal(adversarial[key], base[key]) for key in base)

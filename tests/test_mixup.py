"""TMix / SMix on tiny random BERT, RoBERTa (local BPE tokenizer) and MPNet (local WordPiece) models."""

import numpy as np
import pytest
import torch
from fixtures.tiny_models import save_tiny_bert, save_tiny_mpnet, save_tiny_roberta, sst2
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.errors import AmdaError
from amda.inference import tokenize_batch
from amda.mixup import (
    MixPlan,
    MixupConfig,
    check_layers,
    draw_plan,
    hidden_after,
    layer_window,
    length_groups,
    logits_from,
    mix_hidden,
    mixed_logits,
    mixed_targets,
    mixup_kl,
    smix_logits_by_length,
    step_losses,
)

FAMILIES = ("bert", "roberta", "mpnet")
LAYERS = 4


@pytest.fixture(scope="module")
def sentences():
    return sst2("train", 300)["text"].tolist()


@pytest.fixture(scope="module", params=FAMILIES)
def family_model(request, tmp_path_factory, sentences):
    """(family, eval-mode model, tokenizer, batch with unequal lengths, labels) of one family."""
    dest = tmp_path_factory.mktemp(request.param)
    save = {
        "bert": lambda: save_tiny_bert(dest),
        "roberta": lambda: save_tiny_roberta(dest, sentences),
        "mpnet": lambda: save_tiny_mpnet(dest, sentences),
    }[request.param]
    path = save()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    texts = sentences[:6]
    enc = dict(tokenize_batch(tokenizer, texts, 64))
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    return request.param, model, tokenizer, enc, labels


# A permutation pairing sequences of different lengths (checked below) and no fixed points.
PERM = torch.tensor([3, 0, 5, 1, 2, 4])


def config(kind="tmix", mask="union", shared=True, layers=(LAYERS,)):
    return MixupConfig(kind=kind, alpha=2.0, layers=layers, mask=mask, shared_forward=shared)


def clean(model, enc):
    with torch.no_grad():
        return model(**enc, output_hidden_states=True)


@pytest.mark.parametrize("k", range(LAYERS + 1))
def test_tmix_with_lambda_one_is_the_clean_forward(family_model, k):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    with torch.no_grad():
        for shared in (True, False):
            logits = mixed_logits(
                model,
                enc,
                MixPlan(1.0, PERM, k),
                config(mask="first", shared=shared),
                out.hidden_states if shared else None,
            )
            assert torch.equal(logits, out.logits), (k, shared)


def test_tmix_lambda_one_with_union_mask_differs_only_for_padded_pairs(family_model):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    with torch.no_grad():
        logits = mixed_logits(model, enc, MixPlan(1.0, PERM, 1), config(mask="union"), out.hidden_states)
    mask = enc["attention_mask"]
    same_mask = (torch.maximum(mask, mask[PERM]) == mask).all(dim=1)
    assert not same_mask.all() and same_mask.any()
    assert torch.equal(logits[same_mask], out.logits[same_mask])
    assert not torch.allclose(logits[~same_mask], out.logits[~same_mask])


def test_smix_equals_tmix_when_mixing_after_the_last_layer(family_model):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    plan = MixPlan(0.3, PERM, LAYERS)
    with torch.no_grad():
        tmix = mixed_logits(model, enc, plan, config("tmix"), out.hidden_states)
        smix = mixed_logits(model, enc, plan, config("smix"), out.hidden_states)
        smix_below = mixed_logits(model, enc, MixPlan(0.3, PERM, 2), config("smix"), out.hidden_states)
        tmix_below = mixed_logits(model, enc, MixPlan(0.3, PERM, 2), config("tmix"), out.hidden_states)
    assert torch.equal(tmix, smix)
    assert not torch.allclose(tmix, out.logits)
    assert not torch.allclose(smix_below, tmix_below)


@pytest.mark.parametrize("kind", ["tmix", "smix"])
@pytest.mark.parametrize("k", [0, 2, 3])
def test_shared_and_recomputed_partner_give_the_same_mixed_logits(family_model, kind, k):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    plan = MixPlan(0.35, PERM, k)
    with torch.no_grad():
        shared = mixed_logits(model, enc, plan, config(kind, shared=True), out.hidden_states)
        recomputed = mixed_logits(model, enc, plan, config(kind, shared=False))
    torch.testing.assert_close(shared, recomputed, rtol=1e-5, atol=1e-6)


def test_union_and_first_masks_differ_only_where_the_masks_differ(family_model):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    plan = MixPlan(0.6, PERM, 2)
    with torch.no_grad():
        union = mixed_logits(model, enc, plan, config(mask="union"), out.hidden_states)
        first = mixed_logits(model, enc, plan, config(mask="first"), out.hidden_states)
        smix_union = mixed_logits(model, enc, plan, config("smix", mask="union"), out.hidden_states)
        smix_first = mixed_logits(model, enc, plan, config("smix", mask="first"), out.hidden_states)
    mask = enc["attention_mask"]
    differs = (torch.maximum(mask, mask[PERM]) != mask).any(dim=1)
    assert differs.any() and not differs.all()
    assert torch.equal(union[~differs], first[~differs])
    assert (union[differs] - first[differs]).abs().amax(dim=1).min() > 1e-6
    # SMix keeps x_i's sequence (only position 0 is mixed), hence x_i's mask either way.
    assert torch.equal(smix_union, smix_first)


def test_mixed_targets_rows_sum_to_one_and_weigh_both_labels():
    labels = torch.tensor([0, 1, 2, 2, 1])
    perm = torch.tensor([1, 2, 0, 4, 3])
    targets = mixed_targets(labels, perm, 0.7, 3)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(5))
    assert targets[0].tolist() == pytest.approx([0.7, 0.3, 0.0])
    assert targets[3].tolist() == pytest.approx([0.0, 0.3, 0.7])
    assert targets[2].tolist() == pytest.approx([0.3, 0.0, 0.7])


def test_draw_plan_is_seeded_and_uses_the_configured_layers():
    plans = [draw_plan(np.random.default_rng(3), 8, 0.4, (7, 9, 12)) for _ in range(2)]
    assert plans[0].lam == plans[1].lam and torch.equal(plans[0].perm, plans[1].perm)
    rng = np.random.default_rng(0)
    drawn = [draw_plan(rng, 8, 0.4, (7, 9, 12)) for _ in range(300)]
    assert {p.layer for p in drawn} == {7, 9, 12}
    assert all(0.0 < p.lam < 1.0 for p in drawn)
    assert all(sorted(p.perm.tolist()) == list(range(8)) for p in drawn)


def test_step_losses_adds_the_mix_loss_and_trains_the_layers_below_k(family_model):
    _, model, _, enc, labels = family_model
    model.zero_grad()
    total, ce, mix = step_losses(model, enc, labels, config(layers=(2,)), np.random.default_rng(0))
    assert torch.isfinite(total) and mix.item() > 0
    torch.testing.assert_close(total, ce + mix)
    mix.backward()
    first_layer = model.base_model.encoder.layer[0]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first_layer.parameters())
    model.zero_grad()


def test_a_given_pairing_draws_the_same_lam_and_layer_and_gives_the_same_losses(family_model):
    # Pair-first batches bring their own pairing: the plan then takes lam and layer from the rng (in
    # that order) and the losses are those of the same pairing drawn by the mixup step.
    _, model, _, enc, labels = family_model  # eval mode: no dropout, so the two computations are equal
    drawn = draw_plan(np.random.default_rng(5), 6, 0.4, (1, 2), perm=PERM)
    rng = np.random.default_rng(5)
    assert torch.equal(drawn.perm, PERM) and (drawn.lam, drawn.layer) == (rng.beta(0.4, 0.4), (1, 2)[rng.integers(2)])
    given = draw_plan(np.random.default_rng(5), 6, 2.0, (2,), perm=PERM)
    with torch.no_grad():
        out = clean(model, enc)
        _, ce, mix = step_losses(model, enc, labels, config(layers=(2,)), np.random.default_rng(5), PERM)
        logits = mixed_logits(model, enc, MixPlan(given.lam, PERM, 2), config(layers=(2,)), out.hidden_states)
        targets = mixed_targets(labels, PERM, given.lam, model.config.num_labels)
    torch.testing.assert_close(mix, mixup_kl(logits, targets))
    torch.testing.assert_close(ce, torch.nn.functional.cross_entropy(out.logits, labels))


def test_length_groups_partition_the_rows_shortest_first_each_trimmed_to_its_longest():
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]])
    groups = length_groups(mask, 2)
    assert [rows.tolist() for rows, _ in groups] == [[1, 3, 0], [4, 2]]
    assert [width for _, width in groups] == [3, 5]
    assert len(length_groups(mask[:1], 2)) == 1  # a one-row batch: one run, none empty


@pytest.mark.parametrize("k", [1, 2, LAYERS])  # k = 0 moves these tiny models' logits by ~1e-7 only
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_smix_run_by_length_equals_one_padded_pass(family_model, k, groups):
    # SMix takes only the partner's position 0, so the batch may run in runs of similar length, each trimmed to
    # its longest row: the same clean and mixed logits as one pass over the batch padded to its longest row.
    _, model, _, enc, _ = family_model
    lengths = enc["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) > 2  # the runs are trimmed to different widths
    plan = MixPlan(0.3, PERM, k)
    with torch.no_grad():
        out = clean(model, enc)
        clean_logits, mixed = smix_logits_by_length(model, enc, plan, groups)
        padded = mixed_logits(model, enc, plan, config("smix"), out.hidden_states)
    torch.testing.assert_close(clean_logits, out.logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(mixed, padded, rtol=1e-4, atol=1e-5)
    shift = (padded - out.logits).abs().max()  # what mixing changes, far above the runs' float rounding
    assert (mixed - padded).abs().max() < 1e-2 * shift, (shift, (mixed - padded).abs().max())


def test_smix_step_losses_and_gradients_run_by_length_equal_one_padded_pass(family_model):
    # The step's SMix losses on a fixed pairing, and the mixed loss's gradients (through each row as x_i and, by its
    # [CLS], as a partner in the other run), are those of one padded pass.
    _, model, _, enc, labels = family_model
    lam = draw_plan(np.random.default_rng(5), 6, 2.0, (2,), perm=PERM).lam
    with torch.no_grad():
        _, ce, mix = step_losses(model, enc, labels, config("smix", layers=(2,)), np.random.default_rng(5), PERM)
        out = clean(model, enc)
        padded = mixed_logits(model, enc, MixPlan(lam, PERM, 2), config("smix"), out.hidden_states)
    torch.testing.assert_close(ce, torch.nn.functional.cross_entropy(out.logits, labels), rtol=1e-4, atol=1e-5)
    expected = mixup_kl(padded, mixed_targets(labels, PERM, lam, model.config.num_labels))
    torch.testing.assert_close(mix, expected, rtol=1e-4, atol=1e-5)
    grads = []
    for by_length in (True, False):  # the gradients of the mixed loss: by length, then of one padded pass
        model.zero_grad()
        if by_length:
            _, _, mix = step_losses(model, enc, labels, config("smix", layers=(2,)), np.random.default_rng(5), PERM)
        else:
            out = model(**enc, output_hidden_states=True)
            logits = mixed_logits(model, enc, MixPlan(lam, PERM, 2), config("smix"), out.hidden_states)
            mix = mixup_kl(logits, mixed_targets(labels, PERM, lam, model.config.num_labels))
        mix.backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    model.zero_grad()
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-3, atol=1e-6, msg=name)


def test_layer_window_restores_the_model_after_an_error(family_model):
    _, model, _, enc, _ = family_model
    stack, embeddings = model.base_model.encoder.layer, model.base_model.embeddings
    with pytest.raises(RuntimeError):
        with layer_window(model, 2, None, given_input=True):
            assert len(model.base_model.encoder.layer) == LAYERS - 2
            raise RuntimeError("boom")
    assert model.base_model.encoder.layer is stack and model.base_model.embeddings is embeddings
    assert len(model.state_dict()) == len(type(model)(model.config).state_dict())


def test_bad_mixup_settings_are_named(family_model):
    _, model, *_ = family_model
    with pytest.raises(AmdaError, match="mixup_layers"):
        check_layers(model, (2, 7))
    with pytest.raises(AmdaError, match="mixup.alpha"):
        MixupConfig(kind="tmix", alpha=None, layers=(2,))
    with pytest.raises(AmdaError, match="mixup.mask"):
        MixupConfig(kind="tmix", alpha=1.0, layers=(2,), mask="both")


def test_first_mask_when_recomputing_runs_the_partner_under_x_i_mask_as_the_reference(family_model):
    _, model, _, enc, _ = family_model
    out = clean(model, enc)
    plan, mask = MixPlan(0.6, PERM, 2), enc["attention_mask"]
    partner = {**{name: value[PERM] for name, value in enc.items()}, "attention_mask": mask}
    with torch.no_grad():
        recomputed = mixed_logits(model, enc, plan, config(mask="first", shared=False))
        shared = mixed_logits(model, enc, plan, config(mask="first"), out.hidden_states)
        h = mix_hidden(hidden_after(model, enc, 2), hidden_after(model, partner, 2), 0.6, "tmix")
        reference = logits_from(model, h, mask, 2)
    torch.testing.assert_close(recomputed, reference, rtol=1e-5, atol=1e-6)
    differs = (mask[PERM] != mask).any(dim=1)  # the shared forward keeps the partner's own mask below k
    assert (recomputed[differs] - shared[differs]).abs().amax(dim=1).min() > 1e-6

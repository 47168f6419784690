"""TMix / SMix on the hidden states of a transformer encoder (BERT, RoBERTa, MPNet alike).

One mechanism for every family: `layer_window` temporarily narrows the base model's layer stack
(`model.base_model.encoder.layer`) and, to start in the middle, swaps the embeddings for a
pass-through that returns `inputs_embeds`. Calling the model's own forward then runs exactly its
code for the layers left: extended attention mask (eager or SDPA), MPNet's relative position
bias, BERT's pooler, the classification head. Nothing is re-implemented per family.

Mixing after layer k (k = 0: the embeddings, k = L: the last layer's output):
TMix  h~ = lam * h_k(x_i) + (1 - lam) * h_k(x_j) at every position;
SMix  only position 0 ([CLS] / <s>) is mixed, the rest stays x_i's.
The mixed pass then runs layers k+1..L and the head. With `shared_forward`, h_k of x_i and of its
partner x_j = x[perm][i] are taken from the clean pass (one pass of layers 1..k for both); without
it, both are recomputed in a fresh forward (independent dropout, as the reference code does). SMix's
shared forward runs the batch's shorter and longer halves apart (`smix_logits_by_length`): it takes only
the partner's position 0, so no row pads to another row's length.
In eval mode the two are the same computation. In training mode the shared forward is equal in
expectation, not identical: the clean loss and the mixed loss then share the dropout masks of
layers 1..k (the reference draws fresh ones for the mixed pass).

Attention masks. `union` (default): the mixed sequence attends to every position either sentence
has. `first` is the reference code's mask reuse: it runs the whole mixed forward under x_i's mask.
After mixing this is exact in both modes; below the mixing layer only the recomputing mode
(shared_forward: false) runs the partner's layers 1..k under x_i's mask as the reference does; the
shared forward takes the partner's h_k from the clean pass under the partner's own mask, so there
`first` reproduces only the post-mix half of the reference's behaviour.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from amda.errors import AmdaError

KINDS = ("tmix", "smix")
MASKS = ("union", "first")
# SMix's shared forward runs a batch as its shorter and its longer half (`smix_logits_by_length`), so its
# pair-first batches group pairs by both members' lengths, TMix's by the longer (`training.make_pair_batches`).
SMIX_LENGTH_GROUPS = 2
PAIR_BATCHINGS = {"tmix": "pairs", "smix": "pairs_by_both"}


def drawn_batching(kind, chosen):
    """The batches a mixup kind draws under `mixup.batching: chosen`: `pairs` as the kind pads (PAIR_BATCHINGS)."""
    return PAIR_BATCHINGS[kind] if chosen == "pairs" else chosen


@dataclass(frozen=True)
class MixupConfig:
    kind: str  # tmix | smix
    alpha: float  # lam ~ Beta(alpha, alpha)
    layers: tuple  # mixing layers k, drawn uniformly per batch
    mask: str = "union"  # union of the pair's masks, or x_i's (`first`, the reference's reuse; see above)
    shared_forward: bool = True
    length_groups: int = SMIX_LENGTH_GROUPS  # runs of similar length SMix's shared forward splits a batch into

    def __post_init__(self):
        if self.kind not in KINDS:
            raise AmdaError(f"mixup kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.mask not in MASKS:
            raise AmdaError(f"mixup.mask {self.mask!r}: expected one of {', '.join(MASKS)}")
        if self.alpha is None or not float(self.alpha) > 0:
            raise AmdaError(f"mixup.alpha {self.alpha!r}: a mixup method needs a positive alpha")
        if not self.layers:
            raise AmdaError("model.mixup_layers is empty: a mixup method needs at least one layer")


@dataclass(frozen=True)
class MixPlan:
    """The random choices of one batch: mixing weight, partner permutation, mixing layer."""

    lam: float
    perm: torch.Tensor
    layer: int


def draw_plan(rng, batch_size, alpha, layers, perm=None):
    """From a numpy Generator, in this order: one lam ~ Beta(alpha, alpha), one random permutation of the
    batch unless the batch brings its pairing (`perm`, from pair-first batches), one layer."""
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(batch_size) if perm is None else np.asarray(perm))
    layer = int(layers[rng.integers(len(layers))])
    return MixPlan(lam, perm, layer)


def check_layers(model, layers):
    """AmdaError unless every mixing layer is within 0..L of this model."""
    num_layers = len(encoder_layers(model))
    bad = [k for k in layers if not 0 <= int(k) <= num_layers]
    if bad:
        raise AmdaError(
            f"model.mixup_layers {list(layers)}: {bad} outside 0..{num_layers} (the model has {num_layers} layers)"
        )


def encoder_layers(model):
    try:
        return model.base_model.encoder.layer
    except AttributeError as err:
        raise AmdaError(f"{type(model).__name__}: no base_model.encoder.layer stack to mix in") from err


class _PassThroughEmbeddings(nn.Module):
    """Stands in for the embeddings: the hidden state to start from comes in as `inputs_embeds`."""

    def forward(self, inputs_embeds=None, **_ignored):
        return inputs_embeds


@contextmanager
def layer_window(model, start, stop, given_input):
    """Run only layers start+1..stop (1-based) of the encoder while inside the block.

    given_input: the embeddings become a pass-through, so `inputs_embeds` is the hidden state
    entering layer start+1 (h_start). The model's modules are restored on exit, even on error.
    """
    base = model.base_model
    encoder = base.encoder
    full_stack, embeddings = encoder.layer, base.embeddings
    encoder.layer = nn.ModuleList(list(full_stack)[start:stop])
    if given_input:
        base.embeddings = _PassThroughEmbeddings()
    try:
        yield
    finally:
        encoder.layer = full_stack
        base.embeddings = embeddings


def hidden_after(model, enc, k):
    """h_k for a tokenized batch: the output of layer k (k = 0: the embeddings' output)."""
    with layer_window(model, 0, k, given_input=False):
        return model.base_model(**enc).last_hidden_state


def logits_from(model, hidden, attention_mask, k):
    """Logits of the model continued from h_k: layers k+1..L, then its head."""
    with layer_window(model, k, None, given_input=True):
        return model(inputs_embeds=hidden, attention_mask=attention_mask).logits


def mix_hidden(h_i, h_j, lam, kind):
    if kind == "tmix":
        return lam * h_i + (1.0 - lam) * h_j
    first = lam * h_i[:, :1] + (1.0 - lam) * h_j[:, :1]
    return torch.cat([first, h_i[:, 1:]], dim=1)


def mixed_attention_mask(attention_mask, perm, kind, policy):
    """TMix: union of the pair's masks (or x_i's with `first`). SMix keeps x_i's sequence, so x_i's mask."""
    if kind == "tmix" and policy == "union":
        return torch.maximum(attention_mask, attention_mask[perm])
    return attention_mask


def mixed_targets(labels, perm, lam, num_labels):
    """lam * onehot(y_i) + (1 - lam) * onehot(y_perm[i]); every row sums to 1."""
    onehot = F.one_hot(labels, num_labels).float()
    return lam * onehot + (1.0 - lam) * onehot[perm]


def mixed_logits(model, enc, plan, config, clean_hidden_states=None):
    """Logits of the mixed batch. `clean_hidden_states` (the clean pass's, when shared) skips layers 1..k."""
    k, perm = plan.layer, plan.perm.to(enc["input_ids"].device)
    if clean_hidden_states is not None:
        h_i = clean_hidden_states[k]
        h_j = h_i[perm]
    else:
        partner = {name: value[perm] for name, value in enc.items()}
        if config.mask == "first":  # the reference runs the partner's layers 1..k under x_i's mask too
            partner["attention_mask"] = enc["attention_mask"]
        pair = {name: torch.cat([enc[name], partner[name]]) for name in enc}
        h_i, h_j = hidden_after(model, pair, k).chunk(2)
    hidden = mix_hidden(h_i, h_j, plan.lam, config.kind)
    mask = mixed_attention_mask(enc["attention_mask"], perm, config.kind, config.mask)
    return logits_from(model, hidden, mask, k)


def length_groups(attention_mask, groups):
    """A right-padded batch's rows in `groups` runs of similar length, shortest first, each as (row indices,
    its longest row's length): run apart, each run pads only to its own longest row."""
    lengths = attention_mask.sum(dim=1)
    order = torch.argsort(lengths, stable=True)
    return [(rows, int(lengths[rows].max())) for rows in order.tensor_split(groups) if len(rows)]


def smix_logits_by_length(model, enc, plan, groups):
    """(clean, mixed) logits of SMix with the shared forward, the batch run in `groups` runs of similar length.

    SMix takes only the partner's h_k at position 0 and keeps x_i's own sequence and mask, so no row needs
    another row's padding: a real token's states do not depend on the pad positions after it (they are
    masked keys), and each run is trimmed to its longest row. Equal to one padded pass up to float rounding
    (tests/test_mixup.py). Pair batches grouped by both members' lengths (`training.make_pair_batches`) put
    the shorter members of a batch in one run and the longer in the other.
    """
    k, perm = plan.layer, plan.perm.to(enc["input_ids"].device)
    runs = [
        (rows, {name: value[rows, :width] for name, value in enc.items()})
        for rows, width in length_groups(enc["attention_mask"], groups)
    ]
    outs = [model(**run, output_hidden_states=True) for _, run in runs]
    back = torch.argsort(torch.cat([rows for rows, _ in runs]))  # run order -> batch order
    partner_cls = torch.cat([out.hidden_states[k][:, :1] for out in outs])[back][perm]
    mixed = [
        logits_from(
            model, mix_hidden(out.hidden_states[k], partner_cls[rows], plan.lam, "smix"), run["attention_mask"], k
        )
        for (rows, run), out in zip(runs, outs)
    ]
    return torch.cat([out.logits for out in outs])[back], torch.cat(mixed)[back]


def mixup_kl(logits, targets):
    """mean over the batch of KL(targets || softmax(logits))."""
    return F.kl_div(F.log_softmax(logits.float(), dim=-1), targets, reduction="batchmean")


def step_losses(model, enc, labels, config=None, rng=None, perm=None):
    """(total, clean, mix) losses of one batch; mix is None without a mixup config.

    L = mean CE(f(x_i), y_i) + mean KL(y~ || softmax(f(h~))). `perm`: row i's partner is row perm[i]
    (the batch's own pairing); None draws a random permutation of the batch, as the reference does.
    SMix with the shared forward runs the batch by length (`smix_logits_by_length`).
    """
    if config is None:
        clean = F.cross_entropy(model(**enc).logits.float(), labels)
        return clean, clean, None
    plan = draw_plan(rng, labels.shape[0], config.alpha, config.layers, perm)
    if config.kind == "smix" and config.shared_forward:
        clean_logits, logits = smix_logits_by_length(model, enc, plan, config.length_groups)
    else:
        out = model(**enc, output_hidden_states=config.shared_forward)
        clean_logits = out.logits
        logits = mixed_logits(
            model, enc, plan, config, clean_hidden_states=out.hidden_states if config.shared_forward else None
        )
    clean = F.cross_entropy(clean_logits.float(), labels)
    mix = mixup_kl(logits, mixed_targets(labels, plan.perm.to(labels.device), plan.lam, model.config.num_labels))
    return clean + mix, clean, mix

"""FreeLB++: adversarial training in the word-embedding space (Li et al., EMNLP 2021), as a training loss.

Reference: RockyLzy/TextDefender@06a5068, `trainer/freelb.py` (the loop, lines 41-80) and `trainer/gradient.py`
(`delta_initial`, lines 59-73; `delta_update`, lines 76-96), after Zhu et al.'s FreeLB (zhuchen03/FreeLB). FreeLB++
is TextDefender's FreeLB with more ascent steps; RMLM (ACL 2023) ran it with K = 10 on SST-2.

Per batch, with e = the word embeddings of the batch and K = `adv_steps`:

1. δ₀ is drawn afresh: uniform in [-1, 1] at the real tokens (0 at padding), scaled for l2 by
   adv_init_mag / sqrt(tokens × hidden size) of its sentence (so ‖δ₀‖ ≤ adv_init_mag), for linf by adv_init_mag;
   adv_init_mag = 0 starts at δ₀ = 0.
2. For t = 1..K: forward on inputs_embeds = e + δ, CE loss (batch mean), backward of loss / K; the parameters'
   gradients accumulate over the K passes, so the update descends the mean of the K losses. Between passes
   δ ← δ + adv_learning_rate · g / ‖g‖ (g = ∂loss/∂δ, its norm per sentence over all its coordinates), then
   projected onto the adv_max_norm ball (l2: rescaled; linf: clipped). No ascent after the last pass.

Choices the reference leaves open, or where this module differs:

- K counts the forward/backward passes, as the reference's `adv_steps` (K − 1 updates of δ). K = 0, which the
  reference cannot run (it would take no loss), is plain fine-tuning: one clean forward, CE, backward.
- δ₀ is projected too (the reference projects only after an ascent step): a no-op whenever
  adv_init_mag ≤ adv_max_norm (‖δ₀‖ ≤ adv_init_mag), and otherwise what keeps every pass inside the bound.
- adv_max_norm = 0 is the reference's "unlimited" (`trainer/freelb.py:34`): no projection. δ then stays within
  adv_init_mag + (K − 1) · adv_learning_rate (the triangle inequality): 0.32 at the defaults, against 0.17 at
  FreeLB's K = 5: the larger search region is what the extra steps buy.
- The ascent update is masked by the attention mask too (the reference masks only δ₀). Where padding is
  masked out of attention (BERT, RoBERTa, MPNet) its gradient is zero, so this changes nothing there; it
  keeps padding unperturbed in any model.
- δ₀ is drawn from a torch generator seeded by `rng` (the training loop's numpy generator, checkpointed with
  it): one draw of `rng` per batch, so a run is reproducible from its seed on the same device.
- Losses returned: the mean of the K losses (what the step descends, the reference's `total_loss`) and the loss
  of the first pass (at δ₀: the clean loss when adv_init_mag = 0), which metrics.json records as the clean loss;
  no extra loss (the training loop's extra is mixup's). The reference takes no clean pass and this module adds none.
- With `training.bf16` the forwards run under bf16 autocast, the backwards outside it; δ, its gradient
  and its norms stay float32.
- Dropout is redrawn on every pass (as in the reference); gradient clipping and the optimizer step are the
  caller's, once per batch after the K passes (the reference clips once too, `trainer/freelb.py:78`).
"""

from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from amda import records
from amda.errors import AmdaError
from amda.losses import CrossEntropy

# The record's settings (defaults, bounds, descriptions citing TextDefender's file and line).
SETTINGS = records.METHODS["freelb"].settings["freelb"]


def _per_sentence_norm(x, norm_type):
    """Norm of each sentence's perturbation over all its coordinates, shaped (batch, 1, 1) for broadcasting."""
    flat = x.reshape(x.shape[0], -1).float()
    return torch.linalg.vector_norm(flat, ord=2 if norm_type == "l2" else float("inf"), dim=1).view(-1, 1, 1)


def initial_delta(embeds, token_mask, init_mag, norm_type, generator):
    """δ₀ for a batch: uniform at the real tokens (token_mask (batch, seq, 1)), zero at padding; see the module doc."""
    if init_mag == 0:
        return torch.zeros_like(embeds)
    noise = torch.empty_like(embeds).uniform_(-1, 1, generator=generator) * token_mask
    if norm_type == "linf":
        return noise * init_mag
    dims = token_mask.sum(dim=(1, 2)) * embeds.shape[-1]
    return noise * (init_mag / torch.sqrt(dims)).view(-1, 1, 1)


def project(delta, max_norm, norm_type):
    """δ onto the max_norm ball of its norm, per sentence; max_norm = 0: unchanged (the reference's unlimited)."""
    if max_norm == 0:
        return delta
    if norm_type == "linf":
        return delta.clamp(-max_norm, max_norm)
    norm = _per_sentence_norm(delta, "l2")
    return delta * torch.where(norm > max_norm, max_norm / norm, torch.ones_like(norm)).to(delta.dtype)


def ascent_step(delta, grad, token_mask, learning_rate, max_norm, norm_type):
    """One normalised gradient-ascent step on δ, masked to the real tokens, then projected."""
    step = grad / _per_sentence_norm(grad, norm_type).clamp(min=1e-8).to(grad.dtype)
    return project((delta + learning_rate * step) * token_mask, max_norm, norm_type)


def word_embeddings(model):
    """The model's word-embedding layer (BERT, RoBERTa, MPNet: `base_model.embeddings.word_embeddings`)."""
    layer = model.get_input_embeddings()
    if layer is None:
        raise AmdaError(f"{type(model).__name__}: no input embeddings to perturb for FreeLB")
    return layer


@dataclass(frozen=True)
class FreeLBLoss:
    """The loss of the method record `freelb` (`amda.losses`'s interface): batches as plain fine-tuning draws them."""

    adv_steps: int
    adv_learning_rate: float
    adv_init_mag: float
    adv_max_norm: float
    adv_norm_type: str
    bf16: bool = False

    @classmethod
    def from_spec(cls, spec):
        """From a training spec: its `freelb` section and `training.bf16`. The settings were checked once, by the
        config schema (`config.load_schema` adds the record's), and their presence by `training.validate_spec`."""
        settings = spec["freelb"]
        return cls(**{name: settings[name] for name in SETTINGS}, bf16=bool(spec["training"]["bf16"]))

    batching = staticmethod(CrossEntropy.batching)

    def check_model(self, model):
        """An AmdaError if the model has no word embeddings to perturb."""
        word_embeddings(model)

    def metrics(self):
        """metrics.json's loss settings: no mixup; the FreeLB++ settings."""
        settings = {name: getattr(self, name) for name in SETTINGS}
        return {"alpha": None, "mix_layers": None, "freelb": settings}

    def _logits(self, model, labels, **inputs):
        autocast = torch.autocast(labels.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with autocast:
            return model(**inputs).logits.float()

    def backward(self, model, enc, labels, rng, perm=None):
        """Backward of one batch's FreeLB++ loss into the parameters' gradients; returns (mean of the K losses, first
        pass's loss, None) detached, or (clean, clean, None) when K = 0. `perm` (mixup's) is unused."""
        del perm
        if self.adv_steps == 0:
            loss = F.cross_entropy(self._logits(model, labels, **enc), labels)
            loss.backward()
            return loss.detach(), loss.detach(), None
        ids = enc["input_ids"]
        others = {key: value for key, value in enc.items() if key != "input_ids"}
        embedding = word_embeddings(model)
        embeds = embedding(ids)
        token_mask = enc["attention_mask"].unsqueeze(2).to(embeds.dtype)
        generator = torch.Generator(device=embeds.device).manual_seed(int(rng.integers(2**63)))
        delta = initial_delta(embeds.detach(), token_mask, self.adv_init_mag, self.adv_norm_type, generator)
        delta = project(delta, self.adv_max_norm, self.adv_norm_type)
        losses = []
        for step in range(self.adv_steps):
            delta.requires_grad_()
            logits = self._logits(model, labels, **others, inputs_embeds=embeds + delta)
            loss = F.cross_entropy(logits, labels)
            (loss / self.adv_steps).backward()
            losses.append(loss.detach())
            if step + 1 < self.adv_steps:
                delta = ascent_step(
                    delta.detach(),
                    delta.grad,
                    token_mask,
                    self.adv_learning_rate,
                    self.adv_max_norm,
                    self.adv_norm_type,
                )
                embeds = embedding(ids)  # a fresh graph: the backward above freed the last one
        return torch.stack(losses).mean(), losses[0], None

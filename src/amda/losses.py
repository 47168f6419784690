"""The per-batch training losses: the seam through which a method supplies its loss (its record's `loss`,
`amda.records`). A loss is built from the training spec (`from_spec`); `backward` computes the batch's losses and calls
backward itself (a loss may need several forward/backward passes per batch, e.g. adversarial ascent steps);
the training step around it is zero_grad, backward, clip, step."""

import torch

from amda import records
from amda.mixup import MixupConfig, check_layers, drawn_batching, step_losses


def method_loss(spec):
    """The loss of the spec's method, built from the spec."""
    return records.resolve(records.METHODS[spec["run"]["method"]].loss).from_spec(spec)


def batching(spec):
    """How the run's batches are drawn, as its method's loss wants them (`Mixup.batching`, `CrossEntropy.batching`)."""
    return records.resolve(records.METHODS[spec["run"]["method"]].loss).batching(spec)


class CrossEntropy:
    """Plain cross-entropy on the batch, under bf16 autocast when `training.bf16`."""

    def __init__(self, bf16=False):
        self.bf16 = bf16

    @classmethod
    def from_spec(cls, spec):
        return cls(bool(spec["training"]["bf16"]))

    @staticmethod
    def batching(spec):
        """`training.length_grouped`: batches grouped by length (less padding, same examples), else shuffled."""
        return "length" if spec["training"]["length_grouped"] else "shuffled"

    def check_model(self, model):
        """An AmdaError if the loss cannot run on `model` (nothing to check for plain cross-entropy)."""

    def metrics(self):
        """The loss's settings as metrics.json records them."""
        return {"alpha": None, "mix_layers": None}

    def _losses(self, model, enc, labels, rng, perm):
        return step_losses(model, enc, labels, None, rng, perm)

    def backward(self, model, enc, labels, rng, perm):
        """(total, clean, extra or None) losses of the batch, after backward of the total."""
        with torch.autocast(labels.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss, clean, extra = self._losses(model, enc, labels, rng, perm)
        loss.backward()
        return loss, clean, extra


class Mixup(CrossEntropy):
    """Cross-entropy plus TMix / SMix's KL term on the batch mixed with its partners (`amda.mixup`); the kind
    is the method record's `mixup`."""

    def __init__(self, config, bf16=False):
        super().__init__(bf16)
        self.config = config

    @classmethod
    def from_spec(cls, spec):
        mix = spec["mixup"]
        config = MixupConfig(
            kind=records.METHODS[spec["run"]["method"]].mixup,
            alpha=mix["alpha"],
            layers=tuple(int(k) for k in spec["model"]["mixup_layers"]),
            mask=mix["mask"],
            shared_forward=bool(mix["shared_forward"]),
        )
        return cls(config, bool(spec["training"]["bf16"]))

    @staticmethod
    def batching(spec):
        """`mixup.batching`: pairs (partners from the whole train set, batches grouped by the pair's longer length
        for TMix, by both lengths for SMix: `mixup.drawn_batching`), shuffled (the reference's random batches) or length
        (partners of nearly equal length)."""
        return drawn_batching(records.METHODS[spec["run"]["method"]].mixup, spec["mixup"]["batching"])

    def check_model(self, model):
        check_layers(model, self.config.layers)

    def metrics(self):
        return {"alpha": self.config.alpha, "mix_layers": list(self.config.layers)}

    def _losses(self, model, enc, labels, rng, perm):
        return step_losses(model, enc, labels, self.config, rng, perm)

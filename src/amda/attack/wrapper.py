"""The victim as TextAttack sees it: the training-time inference path, padded per batch.

TextAttack's stock `HuggingFaceModelWrapper` pads every query to the tokenizer's model_max_length
(512 for BERT-likes), which costs most of an attack's compute on short texts. This wrapper calls
`amda.inference.predict_logits`, the function training-time evaluation uses, so the attacked model
sees exactly the inputs it is evaluated on: truncated to `max_length`, padded on the right to the
batch's longest text. `padding_side="left"` instead pads every text on the left to `max_length`, as
the reference's attack did (thunlp/MixADA attackEval.py:297, `pad_on_left=True`), for the reference
attacks' `padding_side` setting. `temperature` divides the logits (the `calibrated` evaluation setting:
TextAttack's PWWS and TextFooler softmax these scores, `pwws_ref` reads them raw; the argmax is unchanged).
"""

import time

import torch

from amda.attack.offline import require_textattack
from amda.errors import AmdaError
from amda.inference import model_device, predict_logits

textattack = require_textattack()


class DynamicPaddingModelWrapper(textattack.models.wrappers.ModelWrapper):
    """Scores lists of texts with `predict_logits` (over `temperature`); counts the texts scored and the time spent."""

    def __init__(self, model, tokenizer, max_length, batch_size, padding_side="right", temperature=1.0):
        if tokenizer.padding_side != "right":
            raise AmdaError(
                f"tokenizer pads on the {tokenizer.padding_side!r}; models here are trained and "
                "evaluated with right padding, so attacking a left-padded batch would attack a "
                "mis-fed model"
            )
        if padding_side not in ("right", "left"):
            raise AmdaError(f"padding_side: expected 'right' or 'left', got {padding_side!r}")
        if not float(temperature) > 0:
            raise AmdaError(f"temperature: expected a positive number, got {temperature!r}")
        self.padding_side = padding_side
        self.temperature = float(temperature)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.texts_scored = 0
        self.model_seconds = 0.0

    def __call__(self, text_input_list):
        start = time.perf_counter()
        if self.padding_side == "right":
            logits = predict_logits(self.model, self.tokenizer, text_input_list, self.max_length, self.batch_size)
        else:
            logits = self._left_padded_logits(text_input_list)
        if self.temperature != 1.0:
            logits = logits / self.temperature
        self.model_seconds += time.perf_counter() - start
        self.texts_scored += len(text_input_list)
        return logits

    def with_padding_side(self, padding_side):
        """A wrapper of the same model and temperature padding on `padding_side` (its own counters)."""
        return type(self)(self.model, self.tokenizer, self.max_length, self.batch_size, padding_side, self.temperature)

    def _left_padded_logits(self, texts):
        """Logits with every text truncated to and padded on the left to `max_length` (positions shift
        with the padding for models whose position ids count from the first slot)."""
        device = model_device(self.model)
        out = []
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(texts), self.batch_size):
                    enc = self.tokenizer(
                        list(texts[start : start + self.batch_size]),
                        padding="max_length",
                        truncation=True,
                        max_length=self.max_length,
                        padding_side="left",
                        return_tensors="pt",
                    ).to(device)
                    out.append(self.model(**enc).logits.float().cpu())
        finally:
            self.model.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, self.model.config.num_labels)

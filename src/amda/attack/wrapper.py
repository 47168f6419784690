"""The victim as TextAttack sees it: the training-time inference path, padded per batch.

TextAttack's stock `HuggingFaceModelWrapper` pads every query to the tokenizer's model_max_length
(512 for BERT-likes), which costs most of an attack's compute on short texts. This wrapper calls
`amda.inference.predict_logits`, the function training-time evaluation uses, so the attacked model
sees exactly the inputs it is evaluated on: truncated to `max_length`, padded on the right to the
batch's longest text.
"""

import time

from amda.attack.offline import require_textattack
from amda.errors import AmdaError
from amda.inference import predict_logits

textattack = require_textattack()


class DynamicPaddingModelWrapper(textattack.models.wrappers.ModelWrapper):
    """Scores lists of texts with `predict_logits`; counts the texts scored and the time spent."""

    def __init__(self, model, tokenizer, max_length, batch_size):
        if tokenizer.padding_side != "right":
            raise AmdaError(
                f"tokenizer pads on the {tokenizer.padding_side!r}; models here are trained and "
                "evaluated with right padding, so attacking a left-padded batch would attack a "
                "mis-fed model"
            )
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.texts_scored = 0
        self.model_seconds = 0.0

    def __call__(self, text_input_list):
        start = time.perf_counter()
        logits = predict_logits(self.model, self.tokenizer, text_input_list, self.max_length, self.batch_size)
        self.model_seconds += time.perf_counter() - start
        self.texts_scored += len(text_input_list)
        return logits

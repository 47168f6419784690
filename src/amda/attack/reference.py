"""The paper's PWWS as its reference code ran it (thunlp/MixADA's bundled OpenAttack v1), built from
TextAttack components: a goal function, a transformation and a search method.

Each way the reference differs from TextAttack's `PWWSRen2019` is a setting of the attack's record
(`amda.records.PWWS_REF_SETTINGS`, the reference's behaviour by default, each citing the file and line it
follows), so switching one at a time shows which of them moves a result. File paths are in thunlp/MixADA
@ 8d247f3. The search checks no constraints, as the reference's did not: a `max_modification_rate` is refused.

How a text is handled: the attack lower-cases it (`lowercase`), splits it into the reference's
tokens (`amda.attack.openattack_wordnet`) and replaces tokens in place, so the recorded perturbed
text is the original with the substitutions at their character spans (TextAttack's word counts stay
aligned). What the model scores is what the reference's classifier scored: the original text as
given, every other text as the reference's detokenised token list (`attack_attrs["model_input"]`).
"""

import numpy as np
import torch

from amda.attack.offline import require_textattack
from amda.attack.openattack_wordnet import ReferenceTokenizer, detokenize, wordnet_substitutes
from amda.attack.recipes import record_settings
from amda.errors import AmdaError

textattack = require_textattack()
from textattack.constraints.pre_transformation import StopwordModification  # noqa: E402
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.goal_functions import ClassificationGoalFunction, TargetedClassification  # noqa: E402
from textattack.search_methods import SearchMethod  # noqa: E402
from textattack.shared import AttackedText, validators  # noqa: E402
from textattack.transformations import Transformation, WordSwapWordNet  # noqa: E402


def model_input(attacked_text):
    """The string the reference's classifier scored for `attacked_text`."""
    return attacked_text.attack_attrs.get("model_input", attacked_text.text)


class ReferenceClassification(ClassificationGoalFunction):
    """Scores the raw logit (or probability) of the target class 1 - label, and succeeds when the
    prediction is the target (targeted); or scores minus the gold label's, and succeeds when the
    prediction leaves it (untargeted). A text whose prediction already meets the goal is skipped.

    Texts are scored as `model_input` gives them, so the model cache is keyed by that string."""

    def __init__(self, model_wrapper, scores, targeted, lowercase, **kwargs):
        super().__init__(model_wrapper, **kwargs)
        self.scores = scores
        self.targeted = targeted
        self.lowercase = lowercase

    def init_attack_example(self, attacked_text, ground_truth_output):
        if self.lowercase:
            attacked_text = AttackedText(attacked_text.text.lower())
        self.target_class = 1 - int(ground_truth_output) if self.targeted else None
        return super().init_attack_example(attacked_text, ground_truth_output)

    def _process_model_outputs(self, inputs, scores):
        scores = torch.as_tensor(scores, dtype=torch.float32).reshape(len(inputs), -1)
        return torch.softmax(scores, dim=1) if self.scores == "probabilities" else scores

    def _is_goal_complete(self, model_output, _):
        predicted = int(model_output.argmax())
        return predicted == self.target_class if self.targeted else predicted != self.ground_truth_output

    def _get_score(self, model_output, _):
        if self.targeted:
            return model_output[self.target_class]
        return -model_output[self.ground_truth_output]

    def _call_model(self, attacked_text_list):
        inputs = [model_input(text) for text in attacked_text_list]
        missing = list(dict.fromkeys(i for i in inputs if i not in self._call_model_cache))
        if missing:
            outputs = [self.model(missing[s : s + self.batch_size]) for s in range(0, len(missing), self.batch_size)]
            for text, output in zip(missing, self._process_model_outputs(missing, torch.cat(outputs))):
                self._call_model_cache[text] = output
        return [self._call_model_cache[i] for i in inputs]


# The models TextAttack accepts for a classification goal function, so that building one logs no warning.
validators.MODELS_BY_GOAL_FUNCTION[ReferenceClassification] = validators.MODELS_BY_GOAL_FUNCTION[TargetedClassification]


class TokenView:
    """A text as the reference's tokens (lower-cased or not, as given), their Penn tags and spans."""

    def __init__(self, text, tokenizer):
        self.text = text
        self.spans = tokenizer.spans(text)
        self.tokens = [text[s:e] for s, e in self.spans]
        self.tags = tokenizer.tag(self.tokens)

    def attacked_text(self, tokens):
        """The text with `tokens` in place of its own, scored as the reference's detokenised list."""
        pieces, end = [], 0
        for (s, e), token in zip(self.spans, tokens):
            pieces += [self.text[end:s], token]
            end = e
        text = "".join(pieces) + self.text[end:]
        return AttackedText(text, attack_attrs={"model_input": detokenize(tokens), "reference_tokens": tuple(tokens)})

    def with_token(self, tokens, i, token):
        return self.attacked_text(tokens[:i] + [token] + tokens[i + 1 :])


class ReferenceWordSwap(Transformation):
    """Swaps one reference token (of the text tokenised afresh) for each of its WordNet substitutes,
    OpenAttack v1's or TextAttack's."""

    def __init__(self, substitutes, tokenizer):
        self.source = substitutes
        self.tokenizer = tokenizer
        self._textattack_wordnet = WordSwapWordNet() if substitutes == "textattack_wordnet" else None

    def substitutes(self, token, tag):
        """Substitutes of `token` (tagged `tag`) other than the token, in the source's order."""
        if self._textattack_wordnet is not None:
            found = sorted(self._textattack_wordnet._get_replacement_words(token))
        else:
            found = wordnet_substitutes(token, tag)
        return [word for word in found if word != token]

    def _get_transformations(self, current_text, indices_to_modify):
        view = TokenView(current_text.text, self.tokenizer)
        return [
            view.with_token(view.tokens, i, word)
            for i in sorted(indices_to_modify)
            if i < len(view.tokens)
            for word in self.substitutes(view.tokens[i], view.tags[i])
        ]


class ReferencePWWS(SearchMethod):
    """PWWS's ranking (softmax of the tokens' saliency × their best substitute's gain, both on the
    original text) and the reference's greedy loop (pwws.py:55-80) or TextAttack's (`greedy`)."""

    def __init__(self, transformation, unk_token, greedy, stopwords):
        self.transformation = transformation
        self.unk_token = unk_token
        self.greedy = greedy
        self.stopwords = stopwords

    def _scores(self, texts):
        """(goal results, their scores as float32, whether the query budget ran out)."""
        results, over = self.get_goal_results(texts)
        return results, np.array([float(r.score) for r in results], dtype=np.float32), over or len(results) < len(texts)

    def perform_search(self, initial_result):
        view = TokenView(initial_result.attacked_text.text, self.transformation.tokenizer)
        tokens = view.tokens
        if not tokens:
            return initial_result
        saliency_texts = [view.with_token(tokens, i, self.unk_token) for i in range(len(tokens))]
        _, res, over = self._scores(saliency_texts + [view.attacked_text(tokens)])
        if over:
            return initial_result
        saliency = res[:-1] - res[-1]
        weights = np.exp(saliency - saliency.max())
        weights = weights / weights.sum()
        ranked = []
        for i, token in enumerate(tokens):
            words = [] if token in self.stopwords else self.transformation.substitutes(token, view.tags[i])
            if not words:
                ranked.append((i, token, weights[i] * 0))
                continue
            _, res, over = self._scores([view.with_token(tokens, i, w) for w in words] + [view.attacked_text(tokens)])
            if over:
                return initial_result
            best = int(res[:-1].argmax())
            ranked.append((i, words[best], weights[i] * (res[:-1][best] - res[-1])))
        ranked.sort(key=lambda entry: -entry[2])
        if self.greedy == "reference":
            return self._apply_in_order(view, ranked, initial_result)
        return self._rescore_in_order(view, ranked, initial_result)

    def _apply_in_order(self, view, ranked, initial_result):
        """pwws.py:69-80: apply each position's substitute in ranked order; stop when the goal is met."""
        current, result = list(view.tokens), initial_result
        for i, word, _ in ranked:
            current[i] = word
            results, _, over = self._scores([view.attacked_text(current)])
            if not results:
                break
            result = results[0]
            if result.goal_status == GoalFunctionResultStatus.SUCCEEDED or over:
                break
        return result

    def _rescore_in_order(self, view, ranked, initial_result):
        """TextAttack's GreedyWordSwapWIR loop: in ranked order, the best substitute on the current
        text, kept only if it raises the score; stop when the goal is met."""
        current, result = list(view.tokens), initial_result
        for i, _, _ in ranked:
            words = self.transformation.substitutes(view.tokens[i], view.tags[i])
            if not words or view.tokens[i] in self.stopwords:
                continue
            results, res, over = self._scores([view.with_token(current, i, w) for w in words])
            if len(results) and res.max() > float(result.score):
                best = int(res.argmax())
                current, result = current[:i] + [words[best]] + current[i + 1 :], results[best]
            if result.goal_status == GoalFunctionResultStatus.SUCCEEDED or over:
                break
        return result

    @property
    def is_black_box(self):
        return True


def reference_goal_function(name, model_wrapper, attack_cfg, settings):
    """The goal function of the reference attack `name` (both reference attacks share it), after the checks its
    search forces: no modification cap (the reference's search checks no constraints) and a target only for two
    labels; the victim scores with the padding side of `settings` (the record's, resolved)."""
    if attack_cfg.get("max_modification_rate") is not None:
        raise AmdaError(
            f"attacks.{name}.max_modification_rate: the reference's search checks no constraints, so no cap "
            "applies (set it to null)"
        )
    num_labels = model_wrapper.model.config.num_labels
    if settings["targeted"] and num_labels != 2:
        raise AmdaError(
            f"attacks.{name}.targeted: the reference targets 1 - label, defined for two labels; the model "
            f"has {num_labels} (set targeted: false)"
        )
    if settings["padding_side"] != model_wrapper.padding_side:
        model_wrapper = model_wrapper.with_padding_side(settings["padding_side"])
    return ReferenceClassification(
        model_wrapper, scores=settings["scores"], targeted=settings["targeted"], lowercase=settings["lowercase"]
    )


def pwws_ref(model_wrapper, attack_cfg, resources):
    """The reference's PWWS against `model_wrapper` (a `DynamicPaddingModelWrapper`), configured by
    `attack_cfg` (`attacks.pwws_ref`: the record's settings, absent ones at their defaults). `resources` is
    unused: NLTK's data is the one `amda.attack.offline` activated. `build_attack` applies the query budget."""
    s = record_settings("pwws_ref", attack_cfg)
    goal_function = reference_goal_function("pwws_ref", model_wrapper, attack_cfg, s)
    transformation = ReferenceWordSwap(s["substitutes"], ReferenceTokenizer())
    stopwords = StopwordModification().stopwords if s["skip_stopwords"] else frozenset()
    search = ReferencePWWS(transformation, s["unk_token"], s["greedy"], stopwords)
    return textattack.Attack(goal_function, [], transformation, search)

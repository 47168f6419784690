"""The paper's TextFooler as its reference code ran it (thunlp/MixADA's bundled OpenAttack v1,
`OpenAttack/attackers/textfooler.py`, cited below as textfooler.py), built from TextAttack components
and the pieces of `amda.attack.reference`: its goal function (raw target logit, targeted at 1 - label),
its view of a text as the reference's tokens, and its lower-casing and padding side.

Each way the reference differs from TextAttack's `TextFoolerJin2019` is a setting of the attack's
record (`amda.records.TEXTFOOLER_REF_SETTINGS`, the reference's behaviour by default, each citing its
file and line). The reference's USE and POS checks are masks inside its greedy loop, not filters, so
the search applies them itself and the attack has no TextAttack constraints: a
`max_modification_rate` is refused.

Offline stand-ins for the reference's resources: this project's counter-fitted GloVe 50d
(`amda.counterfit`, the `embedding` resource) for OpenAttack's counter-fitted vectors
(substitutes/counter_fit.py:16), with the same cosine-distance neighbour search; USE multilingual v3
in numpy (`amda.attack.use_encoder`) for USE v4 on TensorFlow Hub (metric/usencoder.py:22), with the
same cosine similarity; an untrained Punkt for OpenAttack's sentence splitter
(`amda.attack.openattack_wordnet`).
"""

import functools

import numpy as np

from amda.attack.offline import require_textattack
from amda.attack.openattack_wordnet import ReferenceTokenizer, detokenize
from amda.attack.recipes import load_embedding, record_settings, textfooler
from amda.attack.reference import TokenView, reference_goal_function
from amda.attack.use_encoder import OfflineUniversalSentenceEncoder
from amda.errors import AmdaError

textattack = require_textattack()
from textattack.constraints.pre_transformation import StopwordModification  # noqa: E402
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.search_methods import SearchMethod  # noqa: E402
from textattack.shared import AttackedText  # noqa: E402
from textattack.transformations import Transformation  # noqa: E402

# textfooler.py:10-39, DEFAULT_SKIP_WORDS.
REFERENCE_SKIP_WORDS = frozenset(
    "the and a of to is it in i this that was as for with movie but film on not you he are his have be".split()
)
IMPORT_SCORE_THRESHOLD = -1.0  # textfooler.py:43: a word of importance at most this is never replaced
POS_WINDOW_OVER = 10  # textfooler.py:174-175: texts longer than this tag a candidate in a window of it
POS_WINDOW_SIDE = 4  # ... of 4 tokens each side


def textattack_stopwords(model_wrapper, embedding):
    """TextFoolerJin2019's stopwords, as its StopwordModification holds them."""
    stock = textfooler(model_wrapper, embedding, use_threshold=0.5, use_window=15)
    return next(c.stopwords for c in stock.pre_transformation_constraints if isinstance(c, StopwordModification))


class CounterFittedNeighbours(Transformation):
    """OpenAttack v1's `EmbedBasedSubstitute` with cosine distance (substitutes/embedbase.py:26-47) as the
    reference's TextFooler asks for it (textfooler.py:199-209): the words within `max_cos_distance` of a
    token, nearest first, the nearest other word left out when `skip_nearest`, at most `synonym_num`."""

    def __init__(self, embedding, tokenizer, max_cos_distance, synonym_num, skip_nearest):
        self.tokenizer = tokenizer
        self.max_cos_distance = max_cos_distance
        self.synonym_num = synonym_num
        self.skip_nearest = skip_nearest
        matrix = np.asarray(embedding.embedding_matrix)
        self._unit = matrix / np.linalg.norm(matrix, axis=1)[:, np.newaxis]
        self._index = embedding._word2index
        self._words = embedding._index2word
        self.neighbours = functools.lru_cache(maxsize=2**14)(self._neighbours)

    def _neighbours(self, word):
        if word not in self._index:
            return ()
        distance = 1 - self._unit[self._index[word]].dot(self._unit.T)
        rank = distance.argsort()
        found = []
        for i in rank[1:]:
            if distance[i] > self.max_cos_distance:
                break
            found.append(self._words[i])
        start = 1 if self.skip_nearest else 0
        return tuple(found[start : start + self.synonym_num])

    def _get_transformations(self, current_text, indices_to_modify):
        view = TokenView(current_text.text, self.tokenizer)
        return [
            view.with_token(view.tokens, i, word)
            for i in sorted(indices_to_modify)
            if i < len(view.tokens)
            for word in self.neighbours(view.tokens[i])
        ]


class WindowTooShort(Exception):
    """textfooler.py:174-175 indexes a re-tokenised window past its end: the reference's attack raises."""


class ReferenceTextFooler(SearchMethod):
    """textfooler.py:79-196 on the goal function's outputs: word importance, the neighbours of the words
    kept, then the reference's greedy loop or TextAttack's (`greedy`), with the USE and POS checks."""

    def __init__(self, transformation, encoder, s, stopwords):
        self.transformation = transformation
        self.encoder = encoder
        self.s = s
        self.stopwords = stopwords

    def _results(self, texts):
        """(goal results, their model outputs [n, labels] as float32, whether the query budget ran out)."""
        results, over = self.get_goal_results(texts)
        outputs = np.array([np.asarray(r.raw_output, dtype=np.float32) for r in results], dtype=np.float32)
        return results, outputs, over or len(results) < len(texts)

    def _importance(self, tokens, original):
        """(importance of each token, whether the query budget ran out), textfooler.py:116-121."""
        unk = self.s["unk_token"]
        left_out = [tokens[:i] + ([unk] if unk is not None else []) + tokens[i + 1 :] for i in range(len(tokens))]
        texts = [AttackedText(detokenize(t), attack_attrs={"model_input": detokenize(t)}) for t in left_out]
        results, probs, over = self._results(texts)
        if over:
            return None, True
        if self.s["importance"] == "goal_score":
            return np.array([float(r.score) for r in results]), False
        label = np.argmax(original[np.newaxis], axis=1)
        argmax = np.argmax(probs, axis=-1)
        scores = (
            original.max()
            - probs[:, label].squeeze()
            + (argmax != label).astype(np.float64) * (np.max(probs, axis=-1) - original.squeeze()[argmax])
        )
        return np.atleast_1d(scores), False

    def _similarities(self, current, candidates, idx):
        """textfooler.py:153-167: cosine similarity of the USE of each candidate's window and the current's."""
        n, window = len(current), self.s["use_window"]
        if n < window and not self.s["use_short_texts"]:
            return np.ones(len(candidates))
        half = (window - 1) // 2
        if idx >= half and n - idx - 1 >= half:
            low, high = idx - half, idx + half + 1
        elif idx < half and n - idx - 1 >= half:
            low, high = 0, window
        elif idx >= half and n - idx - 1 < half:
            low, high = n - window, n
        else:
            low, high = 0, n
        vectors = self.encoder.encode([detokenize(current[low:high])] + [detokenize(c[low:high]) for c in candidates])
        norms = np.linalg.norm(vectors, axis=1)
        return np.array([vectors[0].dot(v) / (norms[0] * norm) for v, norm in zip(vectors[1:], norms[1:])])

    def _tag_at(self, tokens, idx):
        """textfooler.py:174-175: the Penn tag at `idx` of the candidate's detokenised, re-tokenised window."""
        if len(tokens) > POS_WINDOW_OVER:
            tokens, idx = tokens[max(idx - POS_WINDOW_SIDE, 0) : idx + POS_WINDOW_SIDE + 1], min(POS_WINDOW_SIDE, idx)
        text = detokenize(tokens)
        tags = self.transformation.tokenizer.tag([text[s:e] for s, e in self.transformation.tokenizer.spans(text)])
        if idx >= len(tags):
            raise WindowTooShort
        return tags[idx]

    def _pos_ok(self, tag, candidates, idx):
        if self.s["pos_check"] == "none":
            return np.ones(len(candidates), dtype=bool)
        return np.array([self._tag_at(c, idx) == tag for c in candidates])

    def perform_search(self, initial_result):
        view = TokenView(initial_result.attacked_text.text, self.transformation.tokenizer)
        tokens = view.tokens
        if not tokens:
            return initial_result
        original = np.asarray(initial_result.raw_output, dtype=np.float32)
        importance, over = self._importance(tokens, original)
        if over:
            return initial_result
        threshold = IMPORT_SCORE_THRESHOLD if self.s["importance"] == "reference" else -np.inf
        order = sorted(enumerate(importance), key=lambda item: item[1], reverse=True)
        ranked = [
            (i, words)
            for i, score in order
            if score > threshold and tokens[i] not in self.stopwords
            for words in [self.transformation.neighbours(tokens[i])]
            if words
        ]
        try:
            if self.s["greedy"] == "reference":
                return self._reference_loop(view, ranked, initial_result, original)
            return self._textattack_loop(view, ranked, initial_result)
        except WindowTooShort:
            return initial_result

    def _candidates(self, view, current, idx, words):
        """The candidate token lists, their goal results and outputs, USE similarities and POS checks."""
        lists = [current[:idx] + [w] + current[idx + 1 :] for w in words]
        results, probs, over = self._results([view.attacked_text(t) for t in lists])
        if over:
            return results, None, None, None, True
        sims = self._similarities(current, lists, idx)
        return results, probs, sims, self._pos_ok(view.tags[idx], lists, idx), False

    def _reference_loop(self, view, ranked, initial_result, original):
        """textfooler.py:146-196."""
        label, threshold = int(np.argmax(original)), self.s["use_threshold"]
        current, result = list(view.tokens), initial_result
        for idx, words in ranked:
            results, probs, sims, pos_ok, over = self._candidates(view, current, idx, words)
            if over:
                return result
            passing = (probs.argmax(axis=1) != label) & (sims >= threshold) & pos_ok
            if passing.any():
                best = int((passing * sims).argmax())
                current[idx], result = words[best], results[best]
                if result.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                    return result
                continue
            # :189-191 adds the penalties as the reference's dtypes do: float32 logit + bool, then float64.
            best = int(probs[:, label].argmin())
            lowest = np.float64(probs[best, label] + np.float32(sims[0] < threshold)) + float(not pos_ok[0])
            if lowest < original.max():
                current[idx], result = words[best], results[best]
        return result

    def _textattack_loop(self, view, ranked, initial_result):
        """GreedyWordSwapWIR.perform_search: the candidates passing USE and POS; the best-scoring one is kept
        if it raises the score; on success, the succeeding candidate most similar by USE."""
        current, result = list(view.tokens), initial_result
        for idx, words in ranked:
            results, probs, sims, pos_ok, over = self._candidates(view, current, idx, words)
            if over:
                return result
            kept = [j for j in range(len(words)) if sims[j] >= self.s["use_threshold"] and pos_ok[j]]
            if not kept:
                continue
            kept.sort(key=lambda j: -float(results[j].score))
            if float(results[kept[0]].score) <= float(result.score):
                continue
            current[idx], result = words[kept[0]], results[kept[0]]
            if result.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                return results[max(self._succeeding_prefix(results, kept), key=lambda j: sims[j])]
        return result

    @staticmethod
    def _succeeding_prefix(results, ordered):
        """The indices in `ordered` up to the first whose result did not succeed (GreedyWordSwapWIR's break)."""
        succeeding = []
        for j in ordered:
            if results[j].goal_status != GoalFunctionResultStatus.SUCCEEDED:
                break
            succeeding.append(j)
        return succeeding

    @property
    def is_black_box(self):
        return True


def textfooler_ref(model_wrapper, attack_cfg, resources):
    """The reference's TextFooler against `model_wrapper` (a `DynamicPaddingModelWrapper`), configured by
    `attack_cfg` (`attacks.textfooler_ref`: the record's settings, absent ones at their defaults), over the
    counter-fitted embedding in `resources["embedding_dir"]`. `build_attack` applies the query budget."""
    s = record_settings("textfooler_ref", attack_cfg)
    embedding_dir = resources.get("embedding_dir")
    if not embedding_dir:
        raise AmdaError(
            "attacks.textfooler_ref: needs the counter-fitted embedding (resources embedding_dir is not set)"
        )
    goal_function = reference_goal_function("textfooler_ref", model_wrapper, attack_cfg, s)
    embedding = load_embedding(str(embedding_dir))
    transformation = CounterFittedNeighbours(
        embedding,
        ReferenceTokenizer(),
        s["max_cos_distance"],
        s["synonym_num"],
        s["skip_nearest"],
    )
    encoder = OfflineUniversalSentenceEncoder(threshold=s["use_threshold"], metric="cosine")
    stopwords = (
        REFERENCE_SKIP_WORDS if s["stopwords"] == "reference" else textattack_stopwords(model_wrapper, embedding)
    )
    search = ReferenceTextFooler(transformation, encoder, s, stopwords)
    return textattack.Attack(goal_function, [], transformation, search)

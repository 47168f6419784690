"""The reference PWWS (thunlp/MixADA's OpenAttack v1) as TextAttack components: its goal function's
scores, targeting and skipping on a bag-of-words fixture whose rankings are known, its text
processing against literal transcriptions, and (slow) sentence-by-sentence parity with a direct
transcription of the reference's PWWS loop on a fine-tuned MiniLM."""

import numpy as np
import pytest
from fixtures.toy_victims import BagOfWords

from amda.errors import AmdaError

SETTINGS = {"padding_side": "right"}


@pytest.fixture(scope="module")
def textattack(nltk_data):
    from amda.attack.offline import activate

    return activate(nltk_data)


@pytest.fixture(scope="module")
def substitutes(textattack):
    """The substitutes of "film" and "often" in the fixture sentence."""
    from amda.attack.openattack_wordnet import ReferenceTokenizer, wordnet_substitutes

    tokens = "the film is often".split()
    found = {t: wordnet_substitutes(t, tag) for t, tag in zip(tokens, ReferenceTokenizer().tag(tokens))}
    assert found["film"] and found["often"], "both words need WordNet substitutes for the fixture"
    return found


@pytest.fixture(scope="module")
def two_words(substitutes):
    """A sentence of two replaceable tokens and the first substitute of each."""
    return "the film is often", substitutes["film"][0], substitutes["often"][0]


def attack_with(weights, settings, text, label):
    from amda.attack.reference import pwws_ref

    victim = BagOfWords(weights)
    return pwws_ref(victim, {**SETTINGS, **settings}, {}).attack(text, label), victim


def test_logits_and_probabilities_rank_two_words_differently(two_words):
    """Swapping a (film's substitute) raises the target's logit by 6 but its probability by 0.23; swapping
    b (often's) raises them by 2 and 0.49. Either swap alone flips the label: which one the attack makes
    is the one its scores rank first."""
    text, a, b = two_words
    weights = {a: (5.0, 6.0), b: (-3.0, 2.0)}
    by_logits, _ = attack_with(weights, {"scores": "logits"}, text, 0)
    by_probabilities, _ = attack_with(weights, {"scores": "probabilities"}, text, 0)
    assert by_logits.perturbed_result.attacked_text.text == f"the {a} is often"
    assert by_probabilities.perturbed_result.attacked_text.text == f"the film is {b}"
    assert float(by_logits.perturbed_result.score) == 6.0  # the raw logit of the target, no softmax
    assert float(by_probabilities.perturbed_result.score) == pytest.approx(1 / (1 + np.exp(-5)))


def test_targeted_attack_raises_one_minus_the_label_untargeted_lowers_the_label(two_words):
    """a raises label 1's logit by 6 and leaves label 0's; b lowers label 0's by 8 and leaves label 1's."""
    text, a, b = two_words
    weights = {a: (0.0, 6.0), b: (-8.0, 0.0)}
    targeted, _ = attack_with(weights, {"targeted": True}, text, 0)
    untargeted, _ = attack_with(weights, {"targeted": False}, text, 0)
    assert targeted.perturbed_result.attacked_text.text == f"the {a} is often"
    assert untargeted.perturbed_result.attacked_text.text == f"the film is {b}"
    flipped, _ = attack_with({a: (6.0, 0.0), b: (0.0, -8.0), "the": (0.0, 1.0)}, {"targeted": True}, text, 1)
    assert flipped.perturbed_result.attacked_text.text == f"the {a} is often"
    assert [int(r.perturbed_result.output) for r in (targeted, untargeted, flipped)] == [1, 1, 0]


def test_a_text_already_predicted_as_the_target_is_skipped_unchanged_after_one_query(two_words):
    from textattack.attack_results import SkippedAttackResult

    text, a, _ = two_words
    result, victim = attack_with({"film": (0.0, 1.0), a: (9.0, 0.0)}, {}, text.upper(), 0)
    assert isinstance(result, SkippedAttackResult)
    assert result.perturbed_result.attacked_text.text == text  # lower-cased, as the reference's data
    assert victim.texts == [text] and result.num_queries == 1


def test_the_reference_loop_applies_a_swap_that_lowers_the_score_textattacks_does_not(two_words, substitutes):
    """Every swap of film lowers the target's logit (a, the first, is its best); often's b raises it, not
    enough to flip. The reference applies both in order (and fails); TextAttack's loop keeps only b."""
    text, a, b = two_words
    weights = {**{w: (0.0, -1.0) for w in substitutes["film"]}, b: (0.0, 0.5), "the": (1.0, 0.0)}
    reference, _ = attack_with(weights, {"greedy": "reference"}, text, 0)
    textattack_loop, _ = attack_with(weights, {"greedy": "textattack"}, text, 0)
    assert reference.perturbed_result.attacked_text.text == f"the {a} is {b}"
    assert textattack_loop.perturbed_result.attacked_text.text == f"the film is {b}"


def test_saliency_scores_the_literal_unk_and_every_text_as_the_reference_detokenised_it(two_words):
    text, _, _ = two_words
    _, victim = attack_with({}, {}, text, 0)
    assert victim.texts[:2] == [text, " <unk> film is often"]  # the raw text, then '<UNK>'.capitalize()
    assert " The film is often" in victim.texts  # the unmodified token list, detokenised
    _, victim = attack_with({}, {"unk_token": "[UNK]"}, text, 0)
    assert victim.texts[1] == " [unk] film is often"


def test_stopwords_are_replaced_unless_the_setting_skips_them(textattack):
    from amda.attack.openattack_wordnet import wordnet_substitutes

    subs = wordnet_substitutes("very", "RB")  # "very": an NLTK English stopword with WordNet substitutes
    assert subs
    weights = {subs[0]: (0.0, 5.0)}
    replaced, _ = attack_with(weights, {}, "very often", 0)
    kept, _ = attack_with(weights, {"skip_stopwords": True}, "very often", 0)
    assert replaced.perturbed_result.attacked_text.text == f"{subs[0]} often"
    assert kept.perturbed_result.attacked_text.text.split()[0] == "very"


def test_bad_settings_a_cap_and_a_targeted_attack_beyond_two_labels_name_the_key(textattack):
    from amda.attack.reference import pwws_ref

    with pytest.raises(AmdaError, match=r"^attacks\.pwws_ref\.scores: 'softmax' is not one of \['logits', 'probab"):
        pwws_ref(BagOfWords({}), {"scores": "softmax"}, {})
    with pytest.raises(AmdaError, match=r"^attacks\.pwws_ref\.targeted: 1 is not of type 'boolean'$"):
        pwws_ref(BagOfWords({}), {"targeted": 1}, {})
    with pytest.raises(AmdaError, match=r"^attacks\.pwws_ref\.max_modification_rate: .* no constraints"):
        pwws_ref(BagOfWords({}), {**SETTINGS, "max_modification_rate": 0.2}, {})
    with pytest.raises(AmdaError, match=r"attacks\.pwws_ref\.targeted: .* the model has 4"):
        pwws_ref(BagOfWords({}, num_labels=4), {}, {})
    pwws_ref(BagOfWords({}, num_labels=4), {**SETTINGS, "targeted": False}, {})


def test_every_setting_defaults_to_the_reference_and_cites_its_line():
    from amda.records import ATTACKS

    record = ATTACKS["pwws_ref"]
    assert record.defaults() == {
        "scores": "logits",
        "targeted": True,
        "unk_token": "<UNK>",
        "substitutes": "openattack_wordnet",
        "lowercase": True,
        "greedy": "reference",
        "skip_stopwords": False,
        "padding_side": "left",
    }
    assert all(".py:" in s["description"] for s in record.settings.values())


# ---------------------------------------------------------------- text processing against the reference


def test_detokenizer_follows_the_reference():
    from amda.attack.openattack_wordnet import detokenize

    assert detokenize(["it", "'s", "good", ".", "really", "!", "do", "n't", "##ing"]) == " It's good. Really! Don'ting"
    assert detokenize(["a", "'", "b", "''", "?"]) == " A ' b ''?"


def _wordnet_substitute_literal(wn, word, pos_tag):
    """thunlp/MixADA OpenAttack/substitutes/wordnet.py:7-83, copied (the reference's own words)."""

    def prefilter(token, synonym):
        return not (len(synonym.split()) > 2 or synonym == token or token in ("be", "is", "are", "am"))

    pp = {"JJ": "adj", "VB": "verb", "NN": "noun", "RB": "adv"}.get(pos_tag[:2])
    if pp is None:
        return [word]
    pos = "r" if pp[0] == "a" and pp[2] == "v" else pp[0]
    synonyms = [lemma.name().replace("_", " ").split()[0] for s in wn.synsets(word, pos=pos) for lemma in s.lemmas()]
    token = word.replace("_", " ").split()[0]
    out = []
    for synonym in (s for s in synonyms if prefilter(token, s)):
        if synonym.lower() not in out:
            out.append(synonym.lower())
    return out


def test_wordnet_substitutes_equal_the_references_for_every_tag(textattack):
    from nltk.corpus import wordnet

    from amda.attack.openattack_wordnet import wordnet_substitutes

    words = ["good", "film", "run", "quickly", "is", "be", "well", "light", "u.s.", "dull", "a", "better"]
    for word in words:
        for tag in ("JJ", "JJR", "NN", "NNS", "VB", "VBZ", "RB", "DT", "IN"):
            expected = [w for w in _wordnet_substitute_literal(wordnet, word, tag) if w != word]  # pwws.py:105
            assert [w for w in wordnet_substitutes(word, tag) if w != word] == expected, (word, tag)


# ---------------------------------------------------------------- parity with the reference loop (slow)


class ReferencePWWSLoop:
    """thunlp/MixADA OpenAttack/attackers/pwws.py:38-119, targeted, transcribed; `get_prob` returns
    logits as attackEval.py:347-366 does, `processor` is the reference's tokens, tags and detokenizer."""

    def __init__(self, get_prob, tokenizer, substitute, detokenizer, token_unk="<UNK>"):
        self.get_prob, self.tokenizer, self.substitute = get_prob, tokenizer, substitute
        self.detokenizer, self.token_unk = detokenizer, token_unk

    def get_pred(self, texts):
        return self.get_prob(texts).argmax(axis=1)

    def __call__(self, x_orig, target):
        if self.get_pred([x_orig])[0] == target:
            return (x_orig, target)
        x_orig = [x_orig[s:e] for s, e in self.tokenizer.spans(x_orig)]
        poss = self.tokenizer.tag(x_orig)
        S = self.get_saliency(x_orig, target)
        S_softmax = np.exp(S - S.max())
        S_softmax = S_softmax / S_softmax.sum()
        w_star = [self.get_wstar(x_orig, i, poss[i], target) for i in range(len(x_orig))]
        H = [(idx, w_star[idx][0], S_softmax[idx] * w_star[idx][1]) for idx in range(len(x_orig))]
        H = sorted(H, key=lambda x: -x[2])
        ret_sent = x_orig.copy()
        for idx, wd, _ in H:
            ret_sent[idx] = wd
            pred = self.get_pred([self.detokenizer(ret_sent)])[0]
            if pred == target:
                return (self.detokenizer(ret_sent), pred)
        return None

    def get_saliency(self, sent, target):
        x_hat_raw = [self.detokenizer(sent[:i] + [self.token_unk] + sent[i + 1 :]) for i in range(len(sent))]
        x_hat_raw.append(self.detokenizer(sent))
        res = self.get_prob(x_hat_raw)[:, target]
        return res[:-1] - res[-1]

    def get_wstar(self, sent, idx, pos, target):
        word = sent[idx]
        rep_words = [x for x in self.substitute(word, pos) if x != word]
        if len(rep_words) == 0:
            return (word, 0)
        sents = [self.detokenizer(sent[:idx] + [rw] + sent[idx + 1 :]) for rw in rep_words]
        sents.append(self.detokenizer(sent))
        res = self.get_prob(sents)[:, target]
        prob_orig = res[-1]
        res = res[:-1]
        return (rep_words[res.argmax()], res.max() - prob_orig)


@pytest.mark.slow
def test_pwws_ref_gives_the_reference_loops_result_sentence_by_sentence(nltk_data, request, one_thread):
    """Parity on 60 SST-2 sentences with a fine-tuned victim; the speed ratios are bench/bench_reference_attacks.py's."""
    from fixtures.attack_victim import memoised, sst2, victim_model_dir
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.openattack_wordnet import ReferenceTokenizer, detokenize, wordnet_substitutes
    from amda.attack.reference import pwws_ref
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model_dir = victim_model_dir(request.config.cache.mkdir("amda_attack"))
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    wrapper = memoised(DynamicPaddingModelWrapper(model, AutoTokenizer.from_pretrained(model_dir), 64, 32))
    left = wrapper.with_padding_side("left")
    test = sst2("test", 60)
    texts, labels = test["text"].tolist(), test["label"].tolist()

    loop = ReferencePWWSLoop(lambda t: left(t).numpy(), ReferenceTokenizer(), wordnet_substitutes, detokenize)
    expected = [loop(text.lower(), 1 - label) for text, label in zip(texts, labels)]
    attack = pwws_ref(wrapper, {}, {})
    results = [attack.attack(text, label) for text, label in zip(texts, labels)]
    agree = 0
    for text, want, got in zip(texts, expected, results):
        kind = type(got).__name__
        if want is None:
            same = kind == "FailedAttackResult"
        elif want[0] == text.lower():
            same = kind == "SkippedAttackResult"
        else:
            perturbed = got.perturbed_result.attacked_text
            same = kind == "SuccessfulAttackResult" and perturbed.attack_attrs["model_input"] == want[0]
        agree += same
        assert same, (text, want, kind)
    kinds = [type(r).__name__ for r in results]
    assert kinds.count("SuccessfulAttackResult") >= 10 and kinds.count("FailedAttackResult") >= 1
    print(
        f"\npwws_ref parity: {agree}/{len(texts)} agree; success/fail/skip "
        f"{kinds.count('SuccessfulAttackResult')}/{kinds.count('FailedAttackResult')}/"
        f"{kinds.count('SkippedAttackResult')}"
    )

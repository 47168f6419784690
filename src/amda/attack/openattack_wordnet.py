"""OpenAttack v1's text processing and WordNet substitutes, as thunlp/MixADA bundles them.

The reference's PWWS (thunlp/MixADA `OpenAttack/attackers/pwws.py`) sees a text as the tokens and
Penn tags of `DefaultTextProcessor.get_tokens`, turns token lists back into the text its classifier
scores with `DefaultTextProcessor.detokenizer`, and draws substitutes from `WordNetSubstitute`.
These are transcriptions of those three, over the local NLTK data (no download).

One difference is forced by what exists offline: the reference splits sentences with its trained
Punkt model (`OpenAttack/data/nltk_senttokenizer.py`, english.pickle), which the local NLTK data
lacks; an untrained Punkt stands in. Sentence splitting only changes the tokens where a sentence
end is followed by punctuation with no space between them (WordPunct then splits `."` into `.`, `"`).
"""

import functools

import nltk
from nltk.tokenize import PunktSentenceTokenizer, WordPunctTokenizer

# WordNetSubstitute.__call__ (substitutes/wordnet.py:40-50): Penn tag prefix -> WordNet part of speech
# (`get_pos`, wordnet.py:19-24, maps "noun", "verb", "adj", "adv" to n, v, a, r).
PENN_TO_WORDNET = {"JJ": "a", "VB": "v", "NN": "n", "RB": "r"}
# prefilter (substitutes/wordnet.py:7-16): forms of "be" are never replaced.
NEVER_REPLACED = frozenset({"be", "is", "are", "am"})


class ReferenceTokenizer:
    """`DefaultTextProcessor.get_tokens` (text_processors/default.py:22-40): Punkt sentences, each
    split by `WordPunctTokenizer`, the whole token list tagged by NLTK's averaged perceptron."""

    def __init__(self):
        self._sentences = PunktSentenceTokenizer()
        self._words = WordPunctTokenizer()
        self._tagger = nltk.tag.PerceptronTagger()

    def spans(self, text):
        """Character spans of the tokens of `text`, in order."""
        return [
            (start + s, start + e)
            for start, end in self._sentences.span_tokenize(text)
            for s, e in self._words.span_tokenize(text[start:end])
        ]

    def tag(self, tokens):
        return [tag for _, tag in self._tagger.tag(list(tokens))] if tokens else []


def detokenize(tokens):
    """`DefaultTextProcessor.detokenizer` (text_processors/default.py:239-272), the text the
    reference's classifier scores: a space before each token, none before ".", "?", "!" (after which
    the next token is capitalised), before "'x" or "n't"; "##x" joins as "x"."""
    text = ""
    new_sentence = True
    for token in tokens:
        if token in ".?!":
            text += token
            new_sentence = True
        elif len(token) >= 2 and token[0] == "'" and token[1] != "'":
            text += token
        elif len(token) >= 2 and token[:2] == "##":
            text += token[2:]
        elif token == "n't":
            text += token
        elif new_sentence:
            text += " " + token.capitalize()
            new_sentence = False
        else:
            text += " " + token
    return text


@functools.lru_cache(maxsize=2**16)
def wordnet_substitutes(word, penn_tag):
    """`WordNetSubstitute.__call__` (substitutes/wordnet.py:39-83): the first word of each lemma of
    each synset of `word` in its part of speech, in WordNet's order, other than `word` as WordNet
    spells it, then lower-cased without repeats (so a capitalised form of `word` stays, for
    `pwws.py:105` to drop); none for forms of "be" or for other tags (the reference returns `word`
    itself, which `pwws.py:105` drops too)."""
    from nltk.corpus import wordnet

    pos = PENN_TO_WORDNET.get(penn_tag[:2])
    if pos is None:
        return ()
    token = word.replace("_", " ").split()[0]
    kept = []
    for synset in wordnet.synsets(word, pos=pos):
        for lemma in synset.lemmas():
            synonym = lemma.name().replace("_", " ").split()[0]
            if synonym == token or token in NEVER_REPLACED:
                continue
            if synonym.lower() not in kept:
                kept.append(synonym.lower())
    return tuple(kept)

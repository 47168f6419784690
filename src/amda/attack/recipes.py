"""PWWS and offline TextFooler, composed from TextAttack's own recipes.

PWWS is `PWWSRen2019` as TextAttack builds it (WordNet from the local NLTK data). TextFooler is
`TextFoolerJin2019` as TextAttack builds it, with three offline substitutes: the counter-fitted
vectors of `amda.counterfit` for the synonym swaps and the word-embedding distance, USE multilingual
v3 in numpy for the sentence-encoder constraint, and (already the recipe's default) the NLTK
averaged-perceptron POS tagger with the universal tagset. `build_attack` then applies the config's
query budget and maximum fraction of words changed.
"""

import contextlib
import functools
import math

import jsonschema
import torch

from amda import records
from amda.attack.offline import require_textattack
from amda.attack.use_encoder import OfflineUniversalSentenceEncoder
from amda.counterfit import read_embedding_dir
from amda.errors import AmdaError

textattack = require_textattack()
from textattack.attack_recipes import PWWSRen2019, TextFoolerJin2019  # noqa: E402
from textattack.constraints.pre_transformation import MaxModificationRate  # noqa: E402
from textattack.constraints.semantics.sentence_encoders import UniversalSentenceEncoder  # noqa: E402
from textattack.shared import WordEmbedding  # noqa: E402
from textattack.shared.utils import words_from_text  # noqa: E402


def pwws(model_wrapper):
    """TextAttack's PWWS recipe, unchanged."""
    return PWWSRen2019.build(model_wrapper)


@contextlib.contextmanager
def _default_embedding(embedding):
    """Make `embedding` what TextAttack components load when given none (instead of downloading)."""
    original = WordEmbedding.__dict__["counterfitted_GLOVE_embedding"]
    WordEmbedding.counterfitted_GLOVE_embedding = staticmethod(lambda: embedding)
    try:
        yield
    finally:
        WordEmbedding.counterfitted_GLOVE_embedding = original


def textfooler(model_wrapper, embedding, use_threshold, use_window):
    """TextAttack's TextFooler recipe over `embedding`, with its USE constraint computed offline."""
    with _default_embedding(embedding):
        stock = TextFoolerJin2019.build(model_wrapper)
    constraints = list(stock.pre_transformation_constraints)
    for constraint in stock.constraints:
        if isinstance(constraint, UniversalSentenceEncoder):
            constraint = OfflineUniversalSentenceEncoder(
                threshold=use_threshold,
                metric=constraint.metric,
                compare_against_original=constraint.compare_against_original,
                window_size=use_window,
                skip_text_shorter_than_window=constraint.skip_text_shorter_than_window,
                threads=torch.get_num_threads(),
            )
        constraints.append(constraint)
    return textattack.Attack(stock.goal_function, constraints, stock.transformation, stock.search_method)


def load_word_embedding(directory):
    """A folder written by `amda.counterfit.save_embedding_dir` as a `textattack.shared.WordEmbedding`
    with its precomputed neighbour matrix."""
    words, embeddings, nn = read_embedding_dir(directory)
    word2index = {w: i for i, w in enumerate(words)}
    index2word = dict(enumerate(words))
    return WordEmbedding(embeddings, word2index, index2word, nn)


@functools.lru_cache(maxsize=4)
def load_embedding(directory):
    """The counter-fitted embedding in `directory`, loaded once per process.

    Every entry must be one word as TextAttack splits text: a neighbour such as "," or "u.s." would
    make a swap that deletes or splits a word, and TextAttack's sentence-encoder constraint then
    fails on that candidate (StopIteration), erroring the example.
    """
    embedding = load_word_embedding(directory)
    words = (embedding.index2word(row) for row in range(len(embedding.embedding_matrix)))
    not_words = [(row, word) for row, word in enumerate(words) if words_from_text(word) != [word]]
    if not_words:
        row, word = not_words[0]
        raise AmdaError(
            f"counter-fitted embedding {directory}: {len(not_words)} entries are not single "
            f"words (first: row {row}, {word!r}); keep only words in its vocabulary"
        )
    return embedding


def build_pwws(model_wrapper, attack_cfg, resources):
    """The record's builder of PWWS: no settings beyond the limits."""
    return pwws(model_wrapper)


def build_textfooler(model_wrapper, attack_cfg, resources):
    """The record's builder of TextFooler: the counter-fitted embedding and the USE settings."""
    embedding_dir = resources.get("embedding_dir")
    if not embedding_dir:
        raise AmdaError(
            "attacks.textfooler: textfooler needs the counter-fitted embedding (resources embedding_dir is not set)"
        )
    return textfooler(
        model_wrapper,
        load_embedding(str(embedding_dir)),
        use_threshold=_number(attack_cfg, "textfooler", "use_threshold", 0.0, 1.0),
        use_window=int(_number(attack_cfg, "textfooler", "use_window", 1, math.inf)),
    )


def record_settings(name, attack_cfg):
    """The settings of attack `name`'s record (`amda.records`) as `attack_cfg` gives them, the record's defaults
    for the absent ones: for builders called outside a validated config too. A value its schema property
    refuses is an AmdaError naming `attacks.<name>.<key>`. Here, not in `amda.config`, so that the config
    module and schema are no code inputs of attack jobs."""
    record, settings = records.ATTACKS[name], {}
    for key, value in {**record.defaults(), **{k: v for k, v in attack_cfg.items() if k in record.settings}}.items():
        prop = record.settings[key]
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(prop).iter_errors(value))
        if error is not None:
            raise AmdaError(f"attacks.{name}.{key}: {error.message}")
        settings[key] = value
    return settings


def with_limits(attack, batch_size, query_budget=None, max_modification_rate=None):
    """`attack` with a query budget, a cap on the fraction of words changed and a model batch size, set on its
    own goal function (a recipe's, or one of its own such as pwws_ref's targeted raw-logit goal)."""
    goal_function = attack.goal_function
    goal_function.query_budget = float("inf") if query_budget is None else query_budget
    goal_function.batch_size = batch_size
    constraints = attack.pre_transformation_constraints + attack.constraints
    if max_modification_rate is not None:
        constraints.append(MaxModificationRate(max_modification_rate))
    return textattack.Attack(goal_function, constraints, attack.transformation, attack.search_method)


def build_attack(name, attack_cfg, model_wrapper, resources):
    """The attack `name` (one of `amda.naming.ATTACKS`) configured by `attack_cfg` (config
    `attacks.<name>`, its defaults filled in by the schema) against `model_wrapper`.

    `resources`: {"nltk_data": dir, "embedding_dir": dir or None}; the attack's record (`amda.records`) names
    its builder and whether it needs the embedding.
    """
    if name not in records.ATTACKS:
        raise AmdaError(f"attacks.{name}: unknown attack (expected one of {', '.join(records.ATTACKS)})")
    attack = records.resolve(records.ATTACKS[name].builder)(model_wrapper, attack_cfg, resources)
    budget = optional_number(attack_cfg, name, "query_budget", 1, math.inf)
    rate = optional_number(attack_cfg, name, "max_modification_rate", 0.0, 1.0)
    return with_limits(
        attack,
        model_wrapper.batch_size,
        query_budget=None if budget is None else int(budget),
        max_modification_rate=None if rate is None else float(rate),
    )


def optional_number(attack_cfg, name, key, low, high):
    if _setting(attack_cfg, name, key) is None:
        return None
    return _number(attack_cfg, name, key, low, high)


def _setting(attack_cfg, name, key):
    if key not in attack_cfg:
        raise AmdaError(f"attacks.{name}.{key}: missing (the config schema gives its default)")
    return attack_cfg[key]


def _number(attack_cfg, name, key, low, high):
    value = _setting(attack_cfg, name, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise AmdaError(f"attacks.{name}.{key}: expected a number in [{low}, {high}], got {value!r}")
    return value

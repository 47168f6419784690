"""Fine-tuning: clean, ADA, TMix/SMix, AMDA and iterative ADA, with resume within an epoch.

Everything random comes from seeded generators whose states are checkpointed after each epoch and
every CHECKPOINT_EVERY_S within one, so a run killed mid-training resumes from its last checkpoint
and ends with the same weights and metrics (timings apart) as one that was never interrupted; an
iterative method's attack round is checkpointed as soon as it ends. Evaluation goes
through `amda.inference.predict_logits`, the function the attacks use, so training-time and
attack-time logits are the same computation.
"""

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import set_seed
from transformers.trainer_pt_utils import get_length_grouped_indices

from amda import records
from amda.errors import AmdaError
from amda.inference import predict_logits, tokenize_batch
from amda.io import remove_with_empty_parents, replacing_dir, write_atomic, write_json_atomic
from amda.losses import batching, method_loss
from amda.mixup import PAIR_BATCHINGS
from amda.models import load_classifier
from amda.naming import ADV_METHODS, ITERATIVE_METHODS, METHODS, SPEC_KEYS, SPEC_TOP_KEYS, share_count

log = logging.getLogger(__name__)

ADV_COLUMNS = ("perturbed_text", "label", "result", "sample_rank")
BATCHES_PER_LENGTH_GROUP = 50
PROGRESS_EVERY_S = 5.0
CHECKPOINT_FILE = "last.pt"
# Within an epoch, a checkpoint at most this often (an epoch of SST-2's 67k sentences takes 20-50 min on a CPU
# thread); each epoch's end has its own. MiniLM's checkpoint (weights and AdamW moments) takes about 260 MiB.
CHECKPOINT_EVERY_S = 600.0


def validate_spec(spec):
    """AmdaError naming the first missing key of the resolved training spec; returns the spec."""
    if not isinstance(spec, dict):
        raise AmdaError("spec: expected a JSON object")
    for key in SPEC_TOP_KEYS:
        if key not in spec:
            raise AmdaError(f"spec: missing key {key}")
    for section, keys in SPEC_KEYS.items():
        if not isinstance(spec.get(section), dict):
            raise AmdaError(f"spec: missing key {section} (an object)")
        for key in keys:
            if key not in spec[section]:
                raise AmdaError(f"spec: missing key {section}.{key}")
    if len(spec["label_names"]) != int(spec["num_labels"]):
        raise AmdaError(f"spec: label_names {spec['label_names']} do not number num_labels ({spec['num_labels']})")
    method = spec["run"]["method"]
    if method not in METHODS:
        raise AmdaError(f"spec: run.method {method!r} is not one of {', '.join(METHODS)}")
    for section, keys in records.METHODS[method].settings.items():  # e.g. FreeLB++'s `freelb`
        for key in keys:
            if not isinstance(spec.get(section), dict) or key not in spec[section]:
                raise AmdaError(f"spec: missing key {section}.{key}, needed by the method {method}")
    if method in ITERATIVE_METHODS and not isinstance(spec.get("attack"), dict):
        raise AmdaError(f"spec: missing key attack (an object), needed by the iterative method {method}")
    if method in ITERATIVE_METHODS and int(spec["training"]["epochs"]) < 2:
        raise AmdaError(f"spec: training.epochs of {method} must be at least 2 (it attacks before each later epoch)")
    return spec


def check_split(df, name, num_labels):
    """AmdaError naming the split and row unless `df` has text (str) and label (0..num_labels-1)."""
    for column in ("text", "label"):
        if column not in df.columns:
            raise AmdaError(f"{name}: missing column {column!r} (has {', '.join(map(str, df.columns))})")
    bad_text = ~df["text"].map(lambda t: isinstance(t, str))
    if bad_text.any():
        raise AmdaError(f"{name}: row {int(np.flatnonzero(bad_text.to_numpy())[0])} has no text")
    labels = df["label"].to_numpy()
    bad = np.flatnonzero((labels < 0) | (labels >= num_labels))
    if len(bad):
        raise AmdaError(f"{name}: row {int(bad[0])} has label {labels[bad[0]]} outside 0..{num_labels - 1}")


def select_adversarial(adv_df, ratio, num_clean, name="adversarial parquet"):
    """(texts, gold labels) of the successful attacks on the share `ratio` of the train set (the paper's
    ratio): the rows of `sample_rank` < share_count(ratio, num_clean), the seeded attack order's prefix, in
    file order. AmdaError when fewer rows than that were attacked (adv_train.fraction too small)."""
    missing = [c for c in ADV_COLUMNS if c not in adv_df.columns]
    if missing:
        raise AmdaError(f"{name}: missing column(s) {', '.join(missing)}")
    wanted = share_count(ratio, num_clean)
    attacked = int((adv_df["sample_rank"] < wanted).sum())
    if attacked < wanted:
        raise AmdaError(
            f"{name}: ada.ratio {ratio} asks for {wanted} of {num_clean} train rows attacked, but "
            f"{len(adv_df)} were (raise adv_train.fraction to at least {ratio})"
        )
    chosen = adv_df[(adv_df["result"] == "successful") & (adv_df["sample_rank"] < wanted)]
    empty = chosen.index[~chosen["perturbed_text"].map(lambda t: isinstance(t, str) and bool(t))]
    if len(empty):
        raise AmdaError(f"{name}: successful row {int(empty[0])} has no perturbed_text")
    return list(chosen["perturbed_text"]), [int(v) for v in chosen["label"]]


def _length_grouped_order(lengths, batch_size, rng):
    """transformers' grouping: a seeded shuffle, then chunks of 50 batches sorted by length."""
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return np.asarray(
        get_length_grouped_indices(
            [int(n) for n in lengths], batch_size, mega_batch_mult=BATCHES_PER_LENGTH_GROUP, generator=generator
        )
    )


def make_batches(lengths, batch_size, rng, length_grouped):
    """Index batches for one epoch. Length-grouped (less padding): transformers' grouping, then the
    batch order shuffled."""
    if not length_grouped:
        order = rng.permutation(len(lengths))
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = _length_grouped_order(lengths, batch_size, rng)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def random_pairs(n, rng):
    """Partner groups for one epoch: a uniformly random perfect matching of 0..n-1 (an odd n's
    left-over row joins the last pair as a 3-cycle). Each row is first once and partner once."""
    order = rng.permutation(n)
    groups = [order[i : i + 2] for i in range(0, n - n % 2, 2)]
    if n % 2:
        groups = groups[:-1] + [order[-3:]] if n > 1 else [order]
    return groups


def _grouped_by_both_lengths(shorter, longer, pairs_per_batch, rng):
    """An order of the pairs whose runs of `pairs_per_batch` have similar shorter AND similar longer members: the
    pairs sorted by their longer length (ties at random) are cut into bands of about sqrt(batches) batches, and
    each band is sorted by its pairs' shorter length."""
    batches = -(-len(longer) // pairs_per_batch)
    band = pairs_per_batch * max(1, round(batches**0.5))
    by_longer = np.lexsort((rng.random(len(longer)), longer))
    bands = [by_longer[i : i + band] for i in range(0, len(by_longer), band)]
    return np.concatenate([b[np.lexsort((rng.random(len(b)), shorter[b]))] for b in bands])


def make_pair_batches(lengths, batch_size, rng, grouping="pairs"):
    """Pair-first batches for mixup: (rows, perm) per batch, where row i's partner is rows[perm[i]].

    The pairs are drawn first (`random_pairs`: a partner uniform over the training set, once per
    epoch, as in the reference), then grouped, batch_size // 2 pairs a batch (the batch with an odd
    training set's 3-cycle holds one sentence more), and the batch order shuffled. `pairs` (TMix) groups
    by the pair's longer length (transformers' grouping): a TMix batch pads both members to the longer.
    `pairs_by_both` (SMix) groups by both members' lengths (`_grouped_by_both_lengths`): SMix runs a batch's
    shorter and longer members apart (`mixup.smix_logits_by_length`), each padded among its peers. Either
    way a batch holds both members of each pair, so the mixed pass reuses the clean pass's hidden states.
    """
    lengths = np.asarray(lengths)
    groups = random_pairs(len(lengths), rng)
    pairs_per_batch = max(1, batch_size // 2)
    if grouping == "pairs":
        order = _length_grouped_order([int(lengths[g].max()) for g in groups], pairs_per_batch, rng)
    else:
        shorter, longer = (np.array([int(f(lengths[g])) for g in groups]) for f in (np.min, np.max))
        order = _grouped_by_both_lengths(shorter, longer, pairs_per_batch, rng)
    chunks = [order[i : i + pairs_per_batch] for i in range(0, len(order), pairs_per_batch)]
    batches = []
    for chunk in (chunks[i] for i in rng.permutation(len(chunks))):
        members = [groups[g] for g in chunk]
        starts = np.cumsum([0] + [len(m) for m in members[:-1]])
        perm = np.concatenate([s + (np.arange(len(m)) + 1) % len(m) for s, m in zip(starts, members)])
        batches.append((np.concatenate(members), perm))
    return batches


def epoch_batches(lengths, batch_size, rng, batching):
    """(rows, perm) per batch of one epoch; perm is None where the mixup step draws the pairing."""
    if batching in PAIR_BATCHINGS.values():
        return make_pair_batches(lengths, batch_size, rng, batching)
    return [(rows, None) for rows in make_batches(lengths, batch_size, rng, batching == "length")]


def lr_factor(progress, warmup_ratio):
    """Linear warm-up over the first `warmup_ratio` of training, then linear decay to 0.

    Not transformers' get_linear_schedule_with_warmup: that one counts steps against a total fixed
    in advance, and an iterative method's epochs grow as adversarial examples are added; it also
    rounds differently (1 ulp at ~40% of the default job's steps), so the weights would change.
    """
    if progress < warmup_ratio:
        return progress / warmup_ratio
    return max(0.0, (1.0 - progress) / (1.0 - warmup_ratio)) if warmup_ratio < 1 else 0.0


def accuracy(model, tokenizer, df, max_length, batch_size, bf16=False):
    logits = predict_logits(model, tokenizer, list(df["text"]), max_length, batch_size, autocast_bf16=bf16)
    return float((logits.argmax(-1).numpy() == df["label"].to_numpy()).mean())


@dataclass
class _State:
    """What is checkpointed besides model and optimizer."""

    epoch: int = 0  # epochs completed
    epochs: list = None  # per-epoch records
    adv_texts: list = None  # iterative: adversarial examples found so far
    adv_labels: list = None
    num_mixed: int = 0
    partial: dict = None  # the epoch in progress as of a checkpoint within it (_epoch_start), else None


def _epoch_start(rng, attack_seconds):
    """The progress of an epoch about to start: `rng` is the generator's state now (its batch plan is drawn, and
    redrawn on resume, from it), `batch` the batches done, the running loss sums and counts, `seconds` so far."""
    return {
        "rng": rng.bit_generator.state,
        "batch": 0,
        "sums": {"loss": 0.0, "clean": 0.0, "mix": 0.0, "mix_batches": 0},
        "examples": 0,
        "mixed": 0,
        "seconds": attack_seconds,
        "attack_seconds": attack_seconds,
    }


def _rng_states(rng):
    """Every RNG state as tensors and plain data, so the checkpoint loads with weights_only=True."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
        "generator": rng.bit_generator.state,
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng_states(states, rng):
    random.setstate(states["python"])
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    rng.bit_generator.state = states["generator"]
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _fingerprint(spec, train_df, adv_texts):
    """Identifies the inputs of a run, so a checkpoint of other inputs is never resumed."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode())
    for text, label in zip(train_df["text"], train_df["label"]):
        digest.update(f"{label}\t{text}\n".encode())
    digest.update("\n".join(adv_texts).encode())
    return digest.hexdigest()


def _save_checkpoint(path, model, optimizer, state, rng, fingerprint):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "state": state.__dict__,
        "rng": _rng_states(rng),
        "fingerprint": fingerprint,
    }
    write_atomic(path, lambda tmp: torch.save(checkpoint, tmp), checksum=False)


def _load_checkpoint(path, model, optimizer, rng, fingerprint):
    """The saved _State, or None when there is no usable checkpoint (a damaged one is named and ignored)."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)  # no unpickling of code
        saved_fingerprint = saved["fingerprint"]
    except Exception as err:  # torch raises several types for a truncated or overwritten file
        log.warning("checkpoint %s: damaged (%s: %s), ignored (training from scratch)", path, type(err).__name__, err)
        return None
    if saved_fingerprint != fingerprint:
        log.warning("checkpoint %s: made from other inputs, ignored (training from scratch)", path)
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    _restore_rng_states(saved["rng"], rng)
    state = _State(**saved["state"])
    if state.partial:
        log.info("checkpoint %s: resuming epoch %d after batch %d", path, state.epoch + 1, state.partial["batch"])
    else:
        log.info("checkpoint %s: resuming after epoch %d", path, state.epoch)
    return state


def make_optimizer(model, training):
    """AdamW; weight decay on matrices only (not on biases and LayerNorm weights)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": float(training["weight_decay"])},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=float(training["lr"]), eps=float(training["adam_eps"]))


def iterative_picks(ratio, num_clean, epochs, round_index, seed):
    """Train rows attacked before epoch round_index + 2 of an iterative method: the one-shot method's
    share of train (the paper's ratio), share_count(ratio, num_clean) rows, split evenly over the epochs - 1
    rounds, no row twice."""
    total, rounds = share_count(ratio, num_clean), epochs - 1
    order = np.random.default_rng([seed, 1]).permutation(num_clean)
    return order[total * round_index // rounds : total * (round_index + 1) // rounds]


def _attack_round(model, tokenizer, adversary, train_df, picked):
    """Iterative ADA: attack the training rows `picked` with the current model; the successes."""
    texts = [train_df["text"].iloc[i] for i in picked]
    labels = [int(train_df["label"].iloc[i]) for i in picked]
    model.eval()
    try:
        adversarial = adversary(model, tokenizer, texts, labels)
    finally:
        model.train()
    if len(adversarial) != len(texts):
        raise AmdaError(f"adversary returned {len(adversarial)} results for {len(texts)} examples")
    found = [(adv, label) for adv, label in zip(adversarial, labels) if adv is not None]
    return [t for t, _ in found], [lab for _, lab in found]


def train_step(model, optimizer, enc, labels, loss_fn, rng, max_grad_norm, perm=None):
    """One optimisation step on a tokenized batch with the method's loss (`amda.losses`); returns its (total,
    clean, extra or None) losses. perm: the batch's mixup pairing (pair-first batches), None to draw one."""
    optimizer.zero_grad(set_to_none=True)
    loss, clean, mix_loss = loss_fn.backward(model, enc, labels, rng, perm)
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss, clean, mix_loss


def _running_losses(sums, batches):
    losses = {"loss": f"{sums['loss'] / batches:.4f}", "clean": f"{sums['clean'] / batches:.4f}"}
    if sums["mix_batches"]:
        losses["mix"] = f"{sums['mix'] / sums['mix_batches']:.4f}"
    return losses


def _train_epoch(
    model, tokenizer, optimizer, texts, labels, rng, spec, loss_fn, state, device, save, every_s, on_batch_end
):
    """The epoch in progress (`state.partial`), from its first batch or from the batch after its last checkpoint.

    The batch plan is drawn from the generator's state at the epoch's start; the draws of the steps (mixup's λ and
    layer, dropout) go on from the states after the last batch done (restored with the checkpoint). `save()` writes
    a checkpoint at most every `every_s` seconds; on_batch_end(epoch, batches done) is called after each step,
    before any checkpoint of it."""
    training, progress = spec["training"], state.partial
    started = time.monotonic()  # the epoch's set-up (token lengths, batch plan) counts in its seconds
    epochs, max_length = int(training["epochs"]), int(spec["max_length"])
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    resumed_at = rng.bit_generator.state
    rng.bit_generator.state = progress["rng"]
    batches = epoch_batches(lengths, int(training["batch_size"]), rng, batching(spec))
    if progress["batch"]:  # resumed within the epoch
        rng.bit_generator.state = resumed_at
    labels = torch.tensor(labels, dtype=torch.long)
    sums = progress["sums"]
    bar = tqdm(
        total=len(batches),
        initial=progress["batch"],
        desc=f"epoch {state.epoch + 1}/{epochs}",
        mininterval=PROGRESS_EVERY_S,
    )
    base_lr = float(training["lr"])
    seconds = progress["seconds"]
    saved = started
    model.train()
    for b in range(progress["batch"], len(batches)):
        idx, perm = batches[b]
        factor = lr_factor((state.epoch + b / len(batches)) / epochs, float(training["warmup_ratio"]))
        for group in optimizer.param_groups:
            group["lr"] = base_lr * factor
        enc = tokenize_batch(tokenizer, [texts[i] for i in idx], max_length).to(device)
        y = labels[idx].to(device)
        loss, clean, mix_loss = train_step(
            model, optimizer, dict(enc), y, loss_fn, rng, float(training["max_grad_norm"]), perm
        )
        sums["loss"] += loss.item()
        sums["clean"] += clean.item()
        if mix_loss is not None:
            sums["mix"] += mix_loss.item()
            sums["mix_batches"] += 1
            progress["mixed"] += len(idx)
        progress["examples"] += len(idx)
        progress["batch"] = b + 1
        bar.set_postfix(_running_losses(sums, b + 1), refresh=False)
        bar.update()
        if on_batch_end is not None:
            on_batch_end(state.epoch + 1, b + 1)
        now = time.monotonic()
        progress["seconds"] = seconds + now - started
        if b + 1 < len(batches) and now - saved >= every_s:
            save()
            saved = now
    bar.close()
    n = max(len(batches), 1)
    return {
        "loss": sums["loss"] / n,
        "clean_loss": sums["clean"] / n,
        "mix_loss": sums["mix"] / sums["mix_batches"] if sums["mix_batches"] else None,
        "examples": progress["examples"],
        "num_mixed": progress["mixed"],
        "seconds": progress["seconds"],
        "attack_seconds": progress["attack_seconds"],
    }


def fine_tune(
    spec,
    train_df,
    dev_df,
    test_df,
    out_dir,
    checkpoint_dir,
    adv_df=None,
    adversary=None,
    on_epoch_end=None,
    on_batch_end=None,
    checkpoint_every_s=CHECKPOINT_EVERY_S,
):
    """Fine-tune the spec's model and method; write `out_dir` (model/, metrics.json) atomically.

    adv_df: the adversarial-train records (ada, amda_*). adversary: for iterative methods, a
    callable (model, tokenizer, texts, labels) -> [adversarial text or None]. on_epoch_end(record)
    is called after each epoch's checkpoint is written; on_batch_end(epoch, batches done in it) after each
    step, before a checkpoint within the epoch (at most every `checkpoint_every_s`). Returns the metrics dict.
    """
    validate_spec(spec)
    training, method = spec["training"], spec["run"]["method"]
    num_labels, seed = int(spec["num_labels"]), int(spec["run"]["seed"])
    for name, df in (("train", train_df), ("dev", dev_df), ("test", test_df)):
        check_split(df, name, num_labels)
    if method in ITERATIVE_METHODS and adversary is None:
        raise AmdaError(f"method {method} attacks during training: an adversary is required")
    if method in ADV_METHODS and adv_df is None:
        raise AmdaError(f"method {method} needs the adversarial-train parquet (--adv-parquet)")
    adv_texts, adv_labels = (
        select_adversarial(adv_df, spec["ada"]["ratio"], len(train_df)) if method in ADV_METHODS else ([], [])
    )
    loss_fn = method_loss(spec)

    set_seed(seed)  # python, numpy and torch (CUDA included)
    rng = np.random.default_rng(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_classifier(spec["model"]["source"], spec["cache_dir"], num_labels, seed=seed)
    layers = len(model.base_model.encoder.layer)
    if layers != int(spec["model"]["num_layers"]):
        raise AmdaError(
            f"model.num_layers is {spec['model']['num_layers']} but {spec['model']['source']} has {layers} layers"
        )
    loss_fn.check_model(model)
    model.to(device)
    optimizer = make_optimizer(model, training)

    checkpoint = Path(checkpoint_dir) / CHECKPOINT_FILE
    fingerprint = _fingerprint(spec, train_df, adv_texts)
    state = _load_checkpoint(checkpoint, model, optimizer, rng, fingerprint) or _State(
        epochs=[], adv_texts=[], adv_labels=[]
    )
    base_texts, base_labels = list(train_df["text"]) + adv_texts, [int(v) for v in train_df["label"]] + adv_labels
    epochs = int(training["epochs"])

    def save():
        _save_checkpoint(checkpoint, model, optimizer, state, rng, fingerprint)

    while state.epoch < epochs:
        if state.partial is None:  # a new epoch (else one resumed within, its attack round done)
            started = time.monotonic()
            attacks = method in ITERATIVE_METHODS and state.epoch > 0
            if attacks:
                picked = iterative_picks(spec["ada"]["ratio"], len(train_df), epochs, state.epoch - 1, seed)
                found_texts, found_labels = _attack_round(model, tokenizer, adversary, train_df, picked)
                state.adv_texts += found_texts
                state.adv_labels += found_labels
                log.info(
                    "epoch %d: %d new adversarial examples (%d in all)",
                    state.epoch + 1,
                    len(found_texts),
                    len(state.adv_texts),
                )
            state.partial = _epoch_start(rng, time.monotonic() - started)
            if attacks:  # a resumed run keeps this round's examples (its max_seconds caps depend on the clock)
                save()
        record = _train_epoch(
            model,
            tokenizer,
            optimizer,
            base_texts + state.adv_texts,
            base_labels + state.adv_labels,
            rng,
            spec,
            loss_fn,
            state,
            device,
            save,
            checkpoint_every_s,
            on_batch_end,
        )
        state.partial = None
        state.num_mixed += record.pop("num_mixed")
        state.epoch += 1
        record = {"epoch": state.epoch, **record, "num_adversarial": len(adv_texts) + len(state.adv_texts)}
        state.epochs.append(record)
        save()
        if on_epoch_end is not None:
            on_epoch_end(record)

    metrics = _final_metrics(spec, model, tokenizer, dev_df, test_df, state, len(train_df), len(adv_texts), loss_fn)
    metrics["device"] = device.type
    name_labels(model, spec["label_names"])
    write_model_dir(out_dir, model, tokenizer, metrics)
    remove_with_empty_parents(checkpoint_dir)
    return metrics


def _final_metrics(spec, model, tokenizer, dev_df, test_df, state, num_clean, num_fixed_adv, loss_fn):
    """metrics.json: run identity, accuracies (through predict_logits), per-epoch losses, counts.

    train_seconds is the wall time of all epochs (iterative attacks included); examples_per_second
    counts training time only.
    """
    training = spec["training"]
    bf16, eval_batch, max_length = bool(training["bf16"]), int(training["eval_batch_size"]), int(spec["max_length"])
    train_seconds = sum(e["seconds"] for e in state.epochs)
    step_seconds = train_seconds - sum(e["attack_seconds"] for e in state.epochs)
    return {
        **{key: spec["run"][key] for key in SPEC_KEYS["run"]},
        "dev_accuracy": accuracy(model, tokenizer, dev_df, max_length, eval_batch, bf16),
        "test_accuracy": accuracy(model, tokenizer, test_df, max_length, eval_batch, bf16),
        "epochs": state.epochs,
        "train_seconds": train_seconds,
        "examples_per_second": sum(e["examples"] for e in state.epochs) / max(step_seconds, 1e-9),
        "num_clean": num_clean,
        "num_adversarial": num_fixed_adv + len(state.adv_texts),
        "num_mixed": state.num_mixed,
        **loss_fn.metrics(),
    }


def name_labels(model, label_names):
    """Put the dataset's label names into the model config, so a loaded model says `positive`, not `LABEL_1`."""
    model.config.id2label = dict(enumerate(label_names))
    model.config.label2id = {name: i for i, name in enumerate(label_names)}


def write_model_dir(out_dir, model, tokenizer, metrics):
    """out_dir/model (safetensors + tokenizer) and out_dir/metrics.json, built aside, swapped in; every file with
    the mode the umask gives (safetensors' save_file writes 0600 whatever the umask: unreadable to colleagues)."""
    with replacing_dir(out_dir) as tmp:
        model.save_pretrained(tmp / "model", safe_serialization=True)
        tokenizer.save_pretrained(tmp / "model")
        write_json_atomic(metrics, tmp / "metrics.json")
        mode = (tmp / "metrics.json").stat().st_mode & 0o777  # an atomic write's: 0666 less the umask
        for path in (tmp / "model").rglob("*"):
            if path.is_file():
                path.chmod(mode)

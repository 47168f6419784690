"""The method and attack records (`amda.records`): everything derived from them, the layers that must not
import torch, and the training-loss seam."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.tiny_models import sst2, tiny_spec

from amda import records
from amda.claims import COMPARISONS
from amda.inference import tokenize_batch
from amda.losses import batching, method_loss
from amda.mixup import step_losses
from amda.models import load_classifier
from amda.paper import EFFECTS
from amda.training import make_optimizer, train_step

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")


def _python(code):
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": SRC}, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_tables_figures_claims_and_calibration_import_neither_torch_nor_the_attack_package():
    loaded = _python(
        "import json, sys\n"
        "import amda.aggregate, amda.calibration_table, amda.claims, amda.defenses, amda.figures, amda.paper,"
        " amda.tables, amda.records\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'torch' or m.startswith('amda.attack'))))"
    )
    assert loaded == []


def test_a_new_method_and_attack_record_are_picked_up_everywhere():
    """Registering a record is all it takes: naming, the schema, the comparisons and the effects follow."""
    found = _python(
        "import json\n"
        "from amda import records\n"
        "records.METHODS['awp'] = records.Method('awp', 'AWP', 'clean', loss='amda.losses:CrossEntropy',"
        " comparisons=(records.Comparison('ADA beats base', 'base', paper_tables=(2,)),),"
        " settings={'awp': {'adv_steps': {'type': 'integer', 'minimum': 1, 'default': 3}}})\n"
        "records.ATTACKS['bae'] = records.Attack('bae', 'BAE', 'amda.attack.recipes:build_bae',"
        " resources=('nltk', 'embedding'), settings={'k': {'type': 'integer', 'default': 50}})\n"
        "from amda import claims, config, naming, paper\n"
        "schema = config.load_schema()\n"
        "print(json.dumps({'methods': naming.METHODS, 'clean': sorted(naming.CLEAN_TRAINED),"
        " 'names': naming.METHOD_NAMES, 'attack_names': naming.ATTACK_NAMES,"
        " 'method_enum': schema['$defs']['method']['enum'], 'attack_enum': schema['$defs']['attack_name']['enum'],"
        " 'attack_settings': schema['properties']['attacks']['properties']['bae'],"
        " 'comparisons': claims.COMPARISONS, 'effects': paper.EFFECTS[2],"
        " 'filled': config.validate_config(config.load_yaml('config.yaml'))['awp']}))"
    )
    assert found["methods"][-1] == "awp" and found["method_enum"] == found["methods"]
    assert "awp" in found["clean"] and found["names"]["awp"] == "AWP"
    assert found["attack_enum"][-1] == "bae" and found["attack_names"]["bae"] == "BAE"
    assert found["attack_settings"]["properties"] == {"k": {"type": "integer", "default": 50}}
    assert ["ADA beats base", "awp", "base", 1] in found["comparisons"]
    assert ["awp", "base"] in found["effects"]
    assert found["filled"] == {"adv_steps": 3}  # the method's own section, its default filled in


def test_the_papers_effects_are_the_claims_comparisons():
    """paper.EFFECTS and claims.COMPARISONS come from the same records, so both say A − B the same way."""
    pairs = {(a, b) for _, a, b, _ in COMPARISONS}
    for number in (2, 3, 4):
        assert EFFECTS[number] and set(EFFECTS[number]) <= pairs
    assert EFFECTS[4] == (("ada", "ada_iter"), ("amda_tmix", "amda_tmix_iter"), ("amda_smix", "amda_smix_iter"))


def test_every_record_points_at_something_that_exists():
    for name, method in records.METHODS.items():
        assert method.data in records.TRAINING_DATA, name
        assert records.resolve(method.loss), name
        assert (method.one_shot is not None) == (method.data == "iterative"), name
        for other in (method.one_shot, method.adds_to, *(c.baseline for c in method.comparisons)):
            assert other is None or other in records.METHODS, name
        assert all(c.claim in records.CLAIMS for c in method.comparisons), name
    for name, attack in records.ATTACKS.items():
        module, _, builder = attack.builder.partition(":")
        source = (ROOT / "src" / f"{module.replace('.', '/')}.py").read_text()  # read, not imported: no TextAttack
        assert module.startswith("amda.attack.") and f"\ndef {builder}(model_wrapper, attack_cfg, resources):" in source
        assert set(attack.resources) <= {"nltk", "embedding"}, name


@pytest.mark.parametrize("method", ["base", "amda_tmix"])
def test_the_loss_seam_takes_the_same_step_as_the_loss_before_it(tiny_bert, method):
    """train_step through the method's loss gives bit for bit the weights of the step it replaced: the
    forward under autocast, then zero_grad, backward, clip and step."""
    spec = tiny_spec(tiny_bert, method)
    texts, labels = sst2("train", 8)["text"].tolist(), torch.tensor(sst2("train", 8)["label"].to_numpy())
    weights = []
    for seam in (False, True):
        torch.manual_seed(0)
        model, tokenizer = load_classifier(spec["model"]["source"], ".cache", 2, seed=0)
        model.train()
        optimizer = make_optimizer(model, spec["training"])
        enc = dict(tokenize_batch(tokenizer, texts, 64))
        rng = np.random.default_rng(0)
        loss_fn = method_loss(spec)
        if seam:
            train_step(model, optimizer, enc, labels, loss_fn, rng, 1.0)
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
                loss, _, _ = step_losses(model, enc, labels, getattr(loss_fn, "config", None), rng, None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        weights.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))
    assert batching(spec) == {"base": "length" if spec["training"]["length_grouped"] else "shuffled",
                              "amda_tmix": spec["mixup"]["batching"]}[method]  # fmt: skip


def test_code_inputs_follow_the_imports_and_leave_the_attack_package_to_the_jobs_that_attack():
    from amda.code_inputs import code_inputs, other_losses

    attacking = code_inputs("train_model.py", ROOT)
    plain = code_inputs("train_model.py", ROOT, ("amda.attack",))
    assert {"src/amda/attack/recipes.py", "src/amda/attack/runner.py", "src/amda/losses.py"} <= set(attacking)
    assert "src/amda/training.py" in plain and not [p for p in plain if p.startswith("src/amda/attack/")]
    own = code_inputs("train_model.py", ROOT, other_losses("freelb"))
    others = code_inputs("train_model.py", ROOT, other_losses("base"))
    assert "src/amda/freelb.py" in own and "src/amda/freelb.py" not in others and "src/amda/losses.py" in others
    tables = code_inputs("aggregate.py", ROOT)
    assert {"src/amda/data/published_results.csv", "src/amda/records.py", "src/amda/outcomes.py"} <= set(tables)
    assert not [p for p in tables if p.startswith("src/amda/attack/")]

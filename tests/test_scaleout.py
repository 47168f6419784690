"""The paper-scale config plans the paper's grid (dry run only: it needs GPUs and a network to execute)."""

import pytest
from conftest import job_counts, snakemake


@pytest.fixture(scope="module")
def paper_plan(tmp_path_factory):
    from conftest import copy_workflow

    workflow = copy_workflow(tmp_path_factory.mktemp("paper"))
    result = snakemake(workflow, "-n", "--configfile", "configs/paper.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    return job_counts(result.stdout + result.stderr)


def test_paper_grid_job_counts(paper_plan):
    datasets_models = 2 * 2  # table 2: {sst2, imdb} x {bert, roberta}
    # base, tmix, smix (trained clean, once) + {ada, amda_tmix, amda_smix} x {pwws, textfooler}
    per_pair = 3 + 3 * 2
    table1_extra = datasets_models * 2  # two re-seeded base models per pair
    table3 = 1 * per_pair  # ag_news x roberta
    table4_iterative = 2 * 2  # {amda_tmix, amda_smix}_iter x 2 attacks on sst2/roberta (one-shot: table 2)
    figures = 4 + 5  # amda_smix: ratio sweep on sst2/bert/pwws + alpha sweep on imdb/bert/pwws
    models = datasets_models * per_pair + table1_extra + table3 + table4_iterative + figures
    assert paper_plan["train_model"] == models == 66

    per_pair_tae = 3 * 2 + 3 * 2  # each clean-trained model attacked with both attacks
    tae = datasets_models * per_pair_tae + table1_extra * 2 + per_pair_tae + table4_iterative + figures
    assert paper_plan["merge_attack"] == tae == 89
    assert paper_plan["attack_shard"] == tae * 8  # evaluation.shards

    adversarial_sets = datasets_models * 2 + 1 * 2  # victim x attack, tables 2 and 3
    assert paper_plan["merge_adv_train"] == adversarial_sets
    assert paper_plan["adv_train_shard"] == adversarial_sets * 50  # adv_train.shards
    assert paper_plan["static_eval"] == datasets_models * 3 * 2  # victim + 2 seeds, 2 attacks
    assert paper_plan["prepare_data"] == 3
    for rule in ("table1", "table2", "table3", "table4", "figure2", "figure3", "paper_comparison", "counterfit"):
        assert paper_plan[rule] == 1, rule

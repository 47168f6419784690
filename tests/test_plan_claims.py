"""The claims config plans without error: its jobs and their CPU hours."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import plan_claims  # noqa: E402  (the plan script, imported to call its main())


def test_claims_config_plans_four_methods_three_seeds_and_enough_pairs():
    text = plan_claims.main([])
    assert "| train_model | 12 |" in text and "| attack_shard | 12 |" in text  # 4 methods x 3 seeds
    assert "| adv_train_shard | 2 |" in text
    assert "400 sentences × 3 seeds = 1200 pairs" in text and "needs 940 pairs" in text
    assert "**total**" in text

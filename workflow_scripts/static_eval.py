"""Attack stage: static attack evaluation (SAE) of a model on the victim's adversarial examples.

By hand:
  python workflow_scripts/static_eval.py --model-dir results/models/sst2/minilm/ada/pwws/default/seed42/model \
      --victim-tae results/attacks/sst2/minilm/base/clean/default/seed42/tae-pwws.parquet \
      --max-length 64 --batch-size 64 --run-json '{"dataset": "sst2", ...}' --attack pwws \
      --out results/attacks/sst2/minilm/ada/pwws/default/seed42/sae-pwws.json [--padding-side left] [--threads 1]

The static set is the paper's: every sentence attacked on the victim (the perturbed text where the attack
succeeded, the original where it failed or was skipped), gold labels; so the victim's static_accuracy equals
its accuracy under attack. static_accuracy_successful_only scores the victim's successful adversarial
examples alone (null when there are none). The model is fed as the attack fed the victim: `--padding-side left`
for an attack whose `padding_side` setting pads on the left (pwws_ref's default, the reference's attack time).
"""

import argparse

import torch

from amda.attack.static import PADDING_SIDES, static_eval
from amda.cli import parse_json_object, run_main
from amda.io import write_json_atomic
from amda.models import load_saved_classifier


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="save_pretrained folder of the evaluated model")
    ap.add_argument("--victim-tae", required=True, help="the victim's tae-{attack}.parquet")
    ap.add_argument("--max-length", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--run-json", required=True, help="run identity of the evaluated model (JSON object)")
    ap.add_argument("--attack", required=True)
    ap.add_argument("--out", required=True, help="sae-{attack}.json")
    ap.add_argument(
        "--padding-side",
        choices=PADDING_SIDES,
        default="right",
        help="how the attack fed the model (attacks.<name>.padding_side of the reference attacks; default: right, "
        "as training)",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    run = parse_json_object(args.run_json, "--run-json")
    model, tokenizer = load_saved_classifier(args.model_dir)
    result = static_eval(model, tokenizer, args.victim_tae, args.max_length, args.batch_size, args.padding_side)
    write_json_atomic({**run, "attack": args.attack, **result}, args.out)


if __name__ == "__main__":
    run_main(main)

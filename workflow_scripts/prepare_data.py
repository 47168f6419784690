"""Data stage: validated, subsampled train/dev/test parquet files and stats.json for one dataset.

By hand:
  python workflow_scripts/prepare_data.py --name sst2 --spec-json '{...datasets.sst2 of the config...}' \
      --shared-data ../shared/data --out-dir results/data/sst2
Token statistics per model are workflow_scripts/token_stats.py's, so a model never touches the splits.
"""

import argparse
import logging
from pathlib import Path

from amda.cli import parse_json_object, run_main
from amda.config import dataset_spec
from amda.data import build_splits, check_label_coverage, make_stats, read_hf_split, read_parquet_split, validate_rows
from amda.io import write_json_atomic, write_parquet_atomic


def read_raw(spec, shared_data):
    text_col, label_col = spec["text_column"], spec["label_column"]
    raw, notes = {}, {}
    for split, name in spec["splits"].items():
        if spec["source"] == "parquet":
            path = Path(spec["dir"].replace("{shared_data}", shared_data)) / name
            df = read_parquet_split(path, text_col, label_col)
            where = str(path)
        else:
            df = read_hf_split(spec["hf_name"], name, text_col, label_col)
            where = f"hf:{spec['hf_name']}[{name}]"
        raw[split] = validate_rows(df, len(spec["label_names"]), where)
        check_label_coverage(raw[split], spec["label_names"], where, required=split == "train")
        notes[split] = f"{where} ({len(df)} rows)"
    return raw, notes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--spec-json", required=True, help="the dataset's config entry, defaults filled in, as JSON")
    ap.add_argument("--shared-data", required=True)
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args(argv)

    # The workflow passes the entry with its defaults filled in; checking it (and filling defaults for a spec
    # written by hand) changes nothing the workflow makes, so amda.config is no code input of this stage.
    spec = dataset_spec(parse_json_object(args.spec_json, "--spec-json"), "--spec-json")
    raw, notes = read_raw(spec, args.shared_data)
    splits, info = build_splits(raw, spec, spec["seed"])
    source_note = {"files": notes}
    if spec.get("note"):
        source_note["note"] = spec["note"]
    stats = make_stats(splits, info, spec, args.name, source_note)
    out = Path(args.out_dir)
    for split, df in splits.items():
        write_parquet_atomic(df, out / f"{split}.parquet")
    write_json_atomic(stats, out / "stats.json")
    logging.getLogger("amda.prepare_data").info("wrote %s: %s", out, {s: len(df) for s, df in splits.items()})


if __name__ == "__main__":
    run_main(main)

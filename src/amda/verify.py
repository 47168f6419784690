"""Check every finished artifact under a folder (default `results`) against its manifest (`amda.manifest`).

    python -m amda.verify [results]      (or: make verify)

Prints one line per damaged or missing file with how to rebuild it, a count, and exits 1; else one summary
line and exits 0. Temporaries (names starting with a dot) are skipped; files without a manifest are not
checked, nor is a sidecar whose file is gone (`amda.manifest.covering_manifest`).
"""

import argparse
import sys
from pathlib import Path

from amda.cli import run_main
from amda.errors import AmdaError
from amda.manifest import FOLDER_MANIFEST, SIDECAR_SUFFIX, check_entry, read_manifest


def manifests(root):
    """Every sidecar and folder manifest under `root`, outside temporaries."""
    found = []
    for path in sorted(Path(root).rglob(f"*{SIDECAR_SUFFIX}")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts):
            found.append(path)
    return found


def problems(root):
    """(lines naming each damaged or missing file, number of files checked)."""
    lines, checked = [], 0
    for manifest in manifests(root):
        try:
            entries = read_manifest(manifest)
        except AmdaError as err:
            lines.append(str(err))
            continue
        for name, digest in entries.items():
            path = manifest.parent / name
            if manifest.name != FOLDER_MANIFEST and not path.exists():
                continue  # not built (Snakemake removed a failed or forced job's output): rebuilt when needed
            checked += 1
            problem = check_entry(path, manifest, digest)
            if problem:
                lines.append(problem)
    return lines, checked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", default="results", help="folder to check (default: results)")
    args = ap.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        raise AmdaError(f"{root} is not a folder")
    lines, checked = problems(root)
    for line in lines:
        print(line)
    if lines:
        print(f"verify: {len(lines)} damaged or missing file(s) under {root}, {checked} checked")
        sys.exit(1)
    print(f"verify: {checked} file(s) under {root} match their manifests")


if __name__ == "__main__":
    run_main(main)

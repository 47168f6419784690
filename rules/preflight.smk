# Before `configfile:`: a broken or empty config.yaml gets a one-line error naming it (Snakemake's own
# message does not). Overlays given with --configfile are read by Snakemake's command line before any
# workflow code runs: the venv's hook src/amda/snakemake_configfile.py names those, in the same one line.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from amda.config import load_yaml  # noqa: E402
from amda.errors import AmdaError  # noqa: E402

try:
    load_yaml("config.yaml")
except AmdaError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

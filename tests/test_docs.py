"""Every Snakemake command the docs and config comments show runs exactly as written.

Each command runs in a fresh copy of the workflow with `-n` appended (a dry run: planning is what a
wrong argument order breaks, and the real runs take minutes to hours); the dry runs are independent
single-threaded processes, so they run side by side, one per core. `--report` needs a finished run and is
left to tests/test_end_to_end.py::test_report_builds_offline_with_captions.
"""

import os
import re
import shlex
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import REPO, copy_workflow, job_counts, snakemake

DOCS = ("README.md", "profiles/slurm/README.md", "docs/ARCHITECTURE.md", "BENCHMARKS.md")
COMMENTED = ("Snakefile", "config.yaml", "configs/tiny.yaml", "configs/cpu-full.yaml", "configs/paper.yaml")


def documented_commands():
    """Commands in ```bash blocks, in `inline code`, and in `#   snakemake ...` comments."""
    found = []
    for name in DOCS:
        text = (REPO / name).read_text()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            found += [line.split(" #")[0].strip() for line in block.splitlines() if line.startswith("snakemake ")]
        found += re.findall(r"`(snakemake [^`]*)`", text)
    for name in COMMENTED:
        for line in (REPO / name).read_text().splitlines():
            match = re.match(r"#.*?\b(snakemake .*)$", line)
            if match and "`" in line:
                found += re.findall(r"`(snakemake [^`]*)`", line)
            elif match:
                found.append(match.group(1).split(" #")[0].strip())
    return sorted(set(found))


COMMANDS = documented_commands()
PLANNED = [c for c in COMMANDS if "--report" not in c]
TINY_RUN = "snakemake --cores 2 --configfile configs/tiny.yaml"  # the README's; its dry run counts tiny's jobs


def test_the_docs_show_the_main_commands():
    assert "snakemake --cores 2 results/table2.csv" in COMMANDS and TINY_RUN in COMMANDS
    assert "snakemake --workflow-profile profiles/slurm results/table2.csv --configfile configs/paper.yaml" in COMMANDS


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """command -> its dry run's CompletedProcess, each in its own copy of the workflow."""

    def plan(command):
        workflow = copy_workflow(tmp_path_factory.mktemp("docs"))
        return command, snakemake(workflow, *shlex.split(command)[1:], "-n")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(pool.map(plan, PLANNED))


@pytest.mark.parametrize("command", PLANNED)
def test_documented_command_plans(dry_runs, command):
    result = dry_runs[command]
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Traceback" not in output and "not valid JSON or YAML" not in output, output[-3000:]


def test_tiny_config_plans_the_jobs_its_comment_states(dry_runs):
    stated = re.search(r"plans (\d+) jobs", (REPO / "configs" / "tiny.yaml").read_text())
    result = dry_runs[TINY_RUN]
    assert result.returncode == 0, result.stderr[-3000:]
    total = sum(job_counts(result.stdout + result.stderr).values())
    assert stated and total == int(stated.group(1)) <= 50

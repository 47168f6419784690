"""Shared fixtures: repository paths, offline settings, a saved tiny BERT, the prepared NLTK data."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AMDA_SHARED", REPO.parent / "shared"))

# Tests never reach a model or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Test modules by their measured time, longest first (`pytest --durations=0` on 2 cores, BENCHMARKS.md "Test
# suite"). `make test` runs the suite on one worker per core, a module per worker at a time (pytest-xdist's
# loadfile); starting the longest modules first keeps a long one from starting last.
LONGEST_FIRST = (
    "test_end_to_end.py",
    "test_textfooler_ref.py",
    "test_slurm.py",
    "test_attack_reference.py",
    "test_attack_runner.py",
    "test_training.py",
    "test_workflow.py",
    "test_attack_offline.py",
    "test_docs.py",
    "test_plan.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_configure(config):
    """A test worker beside others takes one core's worth of torch threads, as each Snakemake job does."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def shared():
    assert SHARED.is_dir(), f"shared material not found at {SHARED} (set AMDA_SHARED)"
    return SHARED


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for the tests of a module; the previous setting is restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A saved tiny random BERT classifier (`fixtures.tiny_models`), one per test module."""
    from fixtures.tiny_models import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="session")
def nltk_data(shared):
    """The project's NLTK cache (made by `make setup`; rebuilt here if absent), in use for this session."""
    from amda.resources import prepare_nltk_data, use_nltk_data

    path = prepare_nltk_data(shared / "resources" / "nltk_data", REPO / ".cache" / "nltk_data")
    use_nltk_data(path)
    return path


WORKFLOW_PARTS = (
    "Snakefile",
    "config.yaml",
    "configs",
    "rules",
    "src",
    "workflow_scripts",
    "report",
    "envs",
    "profiles",
)


def copy_workflow(dst):
    """A runnable copy of the workflow in `dst/repo`, with `../shared` and the prepared cache linked in."""
    import shutil

    root = Path(dst) / "repo"
    root.mkdir(parents=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, root / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, root / part)
    (Path(dst) / "shared").symlink_to(SHARED)
    (REPO / ".cache").mkdir(exist_ok=True)
    (root / ".cache").symlink_to(REPO / ".cache")
    return root


def snakemake(workdir, *args, timeout=1800):
    """Run the venv's Snakemake in `workdir`; returns the CompletedProcess (text)."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "snakemake"
    return subprocess.run([str(exe), *args], cwd=workdir, capture_output=True, text=True, timeout=timeout)


def job_counts(dry_run_output):
    """rule -> count from the 'Job stats' table of a dry run."""
    counts, in_table = {}, False
    for line in dry_run_output.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture
def workflow(tmp_path):
    return copy_workflow(tmp_path)

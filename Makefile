# Two commands set up and test a fresh machine:
#   make setup   # .venv with the pinned stack (requirements.txt), then the offline resources made ready
#   make test    # the lint, then the whole test suite (runs `make setup` first when needed)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
CACHE ?= .cache
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup resources test test-fast bench lint verify

setup: $(VENV)/.installed $(VENV)/.configfile-hook resources

# torch first and alone: the CPU build lies on this image's disk, while an unpinned resolve pulls a CUDA build.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$$(grep -E '^torch==' requirements.txt)"
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(PY) -m pip check
	touch $@

# Snakemake's error for a broken --configfile names no file: amda/snakemake_configfile.py adds it, run at
# interpreter start by a .pth file in the venv (remade when its source changes).
$(VENV)/.configfile-hook: src/amda/data/snakemake_configfile.pth $(VENV)/.installed
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "amda_snakemake_configfile.pth").write_text(open("$<").read())'
	touch $@

resources: $(VENV)/.installed
	$(PY) workflow_scripts/prepare_resources.py --nltk-src $(SHARED)/resources/nltk_data --nltk-dst $(CACHE)/nltk_data
	$(PY) -c "from amda.models import resolve_model_source as r; r('package:all_mpnet_base_v2', '$(CACHE)')"

# One test worker per core, each running whole test modules, longest first (tests/conftest.py).
PARALLEL := -n auto --dist loadfile --no-loadscope-reorder

test: setup lint
	$(PY) -m pytest -q $(PARALLEL)

test-fast: setup
	$(PY) -m pytest -q $(PARALLEL) -m "not slow"

# Every finished artifact under results/ against its manifest: one line per damaged or missing file, exit 1.
verify:
	PYTHONPATH=src $(PY) -m amda.verify results

# Settings in pyproject.toml; `ruff format . && snakefmt .` fixes what the format checks report.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/snakefmt --check .
	$(VENV)/bin/snakemake --lint

bench: setup
	$(PY) bench/bench_mixup_step.py
	$(PY) bench/bench_attack.py
	$(PY) bench/bench_main_job.py

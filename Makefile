# Two-command set-up: `make demo` (label the bundled sample with the shipped model and report)
# and `make test`.  Both create/update .venv in the repo root; nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_INPUTS := samples/demo/research_api_responses.json samples/demo/zeeschuimer_fosfor.ndjson \
               samples/demo/jp_urasoeofficial_videos.json samples/demo/jp_komei_official_videos.json \
               samples/demo/eu24_aiforensics.csv samples/demo/romania_ccl.csv

.PHONY: demo test test-fast lint wheel-check print-demo-inputs install install-dev model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	@mkdir -p out/demo
	$(BIN)/tiktok-diplomacy label $(DEMO_INPUTS) --transcripts samples/demo/transcripts \
		-o out/demo/labelled.jsonl --rejects out/demo/rejects.jsonl --explain
	$(BIN)/tiktok-diplomacy report out/demo/labelled.jsonl -o out/demo/report --examples 3 --pseudonymise \
		--format csv --format parquet --format json --format xlsx --bom \
		--events samples/demo/events.toml --window 30d
	$(BIN)/tiktok-diplomacy coordination out/demo/labelled.jsonl -o out/demo/coordination --window 48h
	@echo ""
	@echo "Demo done. Labelled posts: out/demo/labelled.jsonl (rejects: out/demo/rejects.jsonl)"
	@echo "Provenance of the labels: out/demo/labelled.jsonl.meta.json"
	@echo "Per-actor report: out/demo/report/report.html (tables, report.xlsx and codebook.md beside it)"
	@echo "Event windows and trend adoption: out/demo/report/analyses.html (the sample is too small for the"
	@echo "  event windows to show a change: under 30 dated posts in each window; the page says so)"
	@echo "Coordinated posting: out/demo/coordination/coordination.html"

# Everything CI checks: the whole test suite, lint and types, and the wheel installed outside the repo.
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory wheel-check

# For daily work: the tests not marked slow (no real-corpus training, CV, worker pools, subprocesses).
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow"

# ruff's linter and mypy (ruff's formatter is not applied: see the note in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check pipeline tests bench corpora/sampling
	$(BIN)/mypy pipeline

wheel-check: $(VENV)/.installed-dev
	bash .ci/wheel_check

print-demo-inputs:
	@echo $(DEMO_INPUTS)

# Retrain the shipped models from the corpus with the fixed seeds in configs/train.toml and
# configs/train_fast.toml (each with its cross-validation figures).
model: $(VENV)/.installed
	$(BIN)/tiktok-diplomacy train corpora/diplomacy_strategies.jsonl -o models/default --cv 5
	$(BIN)/tiktok-diplomacy train corpora/diplomacy_strategies.jsonl -o models/fast --config configs/train_fast.toml --cv 5

clean:
	rm -rf out .pytest_cache

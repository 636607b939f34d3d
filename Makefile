# Two-command set-up: `make demo` (label the bundled sample with the shipped model and report)
# and `make test`.  Both create/update .venv in the repo root; nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_INPUTS := samples/demo/research_api_responses.json samples/demo/zeeschuimer_fosfor.ndjson \
               samples/demo/jp_urasoeofficial_videos.json samples/demo/jp_komei_official_videos.json \
               samples/demo/eu24_aiforensics.csv samples/demo/romania_ccl.csv

.PHONY: demo test install install-dev model clean

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
		--format csv --format parquet --format json --format xlsx --bom
	@echo ""
	@echo "Demo done. Labelled posts: out/demo/labelled.jsonl (rejects: out/demo/rejects.jsonl)"
	@echo "Provenance of the labels: out/demo/labelled.jsonl.meta.json"
	@echo "Per-actor report: out/demo/report/report.html (tables, report.xlsx and codebook.md beside it)"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# Retrain the shipped model from the corpus with the fixed seed in configs/train.toml.
model: $(VENV)/.installed
	$(BIN)/tiktok-diplomacy train corpora/diplomacy_strategies.jsonl -o models/default --cv 5

clean:
	rm -rf out .pytest_cache

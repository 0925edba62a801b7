# Two commands do everything on a fresh machine: `make repro` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup repro test smoke lab lint format pipeline plots

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## the whole replication at the default tier (params.yaml: tier)
repro: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

## unit tests + every notebook executed at the smoke tier (CI)
test: setup
	$(BIN)/python -m pytest tests notebooks --nbval-lax

## the whole pipeline at the smoke tier into build/smoke (results/ and README.md untouched)
smoke: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m saerepro.pipeline --run smoke

## JupyterLab on the notebooks and results/; headless: make lab LAB_ARGS="--no-browser --ip=127.0.0.1"
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	$(BIN)/jupyter lab --notebook-dir=. $(ROOT_FLAG) $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check lib tests notebooks benchmarks studies
	$(BIN)/ruff format --check lib tests notebooks benchmarks studies

format: setup
	$(BIN)/ruff check --fix lib tests notebooks benchmarks studies
	$(BIN)/ruff format lib tests notebooks benchmarks studies

## dvc.yaml from the stage registry (lib/saerepro/pipeline.py)
pipeline: setup
	$(BIN)/python -m saerepro.pipeline

## the headline figures as one offline HTML page (build/plots/index.html)
VEGA := build/vega
plots: setup
	mkdir -p $(VEGA) build/plots
	cd $(VEGA) && for p in vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2; do \
	  [ -f "$$(echo $$p | tr @ -).tgz" ] || npm pack --silent $$p; done
	$(BIN)/python -m saerepro.reporting.plots_page $(VEGA) build/plots/template.html
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc plots show --html-template build/plots/template.html -o build/plots

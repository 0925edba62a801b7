# Two commands do everything on a fresh machine: `make repro` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup repro test lab lint format

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

lab: setup
	$(BIN)/jupyter lab notebooks

lint: setup
	$(BIN)/ruff check lib tests notebooks benchmarks
	$(BIN)/ruff format --check lib tests notebooks benchmarks

format: setup
	$(BIN)/ruff check --fix lib tests notebooks benchmarks
	$(BIN)/ruff format lib tests notebooks benchmarks

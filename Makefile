# giamsat: `make demo` runs the whole system on this machine, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo stop test test-unit lint typecheck deps bench-accuracy bench-footprint bench-ingest bench-query bench-map clean

demo: deps
	$(BIN)/python -m demo up

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m demo down; fi

# The type check runs first: CI runs `make test`, so a type error fails it.
test: deps typecheck
	$(BIN)/pytest -q

# Unit tests only (no service started). As root they run in a network namespace
# without even loopback, which proves they need no network.
test-unit: deps
	@if [ "$$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then \
		unshare --net $(BIN)/pytest -q -m unit; else $(BIN)/pytest -q -m unit; fi

lint: deps
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# mypy's settings (the package, the strict modules) are in pyproject.toml.
typecheck: deps
	$(BIN)/mypy

deps: $(STAMP)
	@bash scripts/install-deps.sh

$(STAMP): pyproject.toml
	@bash scripts/install-deps.sh
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

bench-accuracy: deps
	$(BIN)/python bench/accuracy.py

bench-footprint: deps
	$(BIN)/python bench/footprint.py

bench-ingest: deps
	$(BIN)/python bench/ingest.py

bench-query: deps
	$(BIN)/python bench/query.py

bench-map: deps
	$(BIN)/python bench/map.py

clean: stop
	rm -rf .state

# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_DB := $(CURDIR)/demo.db

.PHONY: demo test install lint typecheck clean

$(BIN)/cetate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/cetate

demo: install
	$(BIN)/cetate demo --database-url sqlite:///$(DEMO_DB)
	$(BIN)/cetate serve --database-url sqlite:///$(DEMO_DB) --host $(HOST) --port $(PORT) --simulate

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm test-artifacts

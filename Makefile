.PHONY: install test test-pg lint format bench docs ci

VENV ?= .venv
BIN = $(VENV)/bin

install:
	python3 -m venv $(VENV) && $(BIN)/pip install -e '.[test]'

test:
	$(BIN)/pytest

test-pg:
	SIGNALGRAPH_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test $(BIN)/pytest

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

format:
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench:
	$(BIN)/pip install -e '.[bench]'
	$(BIN)/python benchmarks/ingest.py --json
	$(BIN)/python benchmarks/resolve.py --json
	$(BIN)/python benchmarks/query.py --json
	$(BIN)/python benchmarks/startup.py --json

docs:
	$(BIN)/pytest tests/acceptance/test_docs.py -n0 -q

ci:
	.ci/run

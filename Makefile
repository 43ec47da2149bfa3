# mlops-platform: every target runs offline unless it says otherwise.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev

.PHONY: help venv test test-fast demo preview up destroy lint bench policy docs docs-serve clean

help:
	@echo "make demo | test | test-fast | lint | bench | docs | docs-serve | preview STACK=dev | up STACK=dev | destroy STACK=dev"

# The venv is rebuilt from the lock file whenever the lock file or pyproject.toml is newer.
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@echo "installing the locked dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/pip install --require-hashes -r requirements.lock > $(VENV)/install.log 2>&1 || { tail -20 $(VENV)/install.log; exit 1; }
	@$(BIN)/pip install --no-deps -e . >> $(VENV)/install.log 2>&1 || { tail -20 $(VENV)/install.log; exit 1; }
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# Everything but the tests marked slow (real servers, make demo, cold renders).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check common infra mlops policies pipelines tests benchmarks
	$(BIN)/mypy

demo: $(STAMP)
	@$(BIN)/mlops demo

preview: $(STAMP)
	$(BIN)/mlops preview --stack $(STACK)

up: $(STAMP)
	@$(BIN)/mlops up --stack $(STACK)

destroy: $(STAMP)
	@$(BIN)/mlops destroy --stack $(STACK)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# docs/policies.md from the rule registry, then the site into site/ (broken links fail it).
docs: $(STAMP)
	$(BIN)/mlops policy docs
	$(BIN)/mkdocs build --strict

# The site on http://127.0.0.1:8000, rebuilt on every change.
docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .cache .sandbox site

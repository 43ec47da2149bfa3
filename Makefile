# mlops-platform: every target runs offline unless it says otherwise.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev
# make test JUNIT=FILE also writes a JUnit report (CI shows it with make test-summary).
JUNIT  ?=
# make up STACK=prod YES=1 applies without asking after the preview (CI has no terminal).
YES    ?=
WORKFLOWS := $(wildcard .github/workflows/*.yml)
CHECKOV_VENV  := .cache/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_DIR   := .cache/checkov

.PHONY: help venv test test-fast test-summary demo preview up destroy drift lint checkov k8s-example bench docs docs-serve clean

help:
	@echo "make demo | test [JUNIT=FILE] | test-fast | lint | bench | docs | docs-serve | preview STACK=dev | up STACK=dev [YES=1] | destroy STACK=dev | drift STACK=dev | checkov STACK=dev"

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
	$(BIN)/python -m pytest $(if $(JUNIT),--junitxml=$(JUNIT))

# A JUnit report (make test JUNIT=FILE, or Checkov's) as Markdown, e.g. for a CI job summary.
test-summary: $(STAMP)
	@$(BIN)/python -m ci.junit_summary $(JUNIT) $(if $(TITLE),--title "$(TITLE)")

# Everything but the tests marked slow (real servers, make demo, cold renders, whole-pipeline runs).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check common infra mlops policies pipelines tests benchmarks bootstrap ci
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/zizmor --offline --config .github/zizmor.yml .github/workflows

demo: $(STAMP)
	@$(BIN)/mlops demo

preview: $(STAMP)
	$(BIN)/mlops preview --stack $(STACK)

up: $(STAMP)
	@$(BIN)/mlops up --stack $(STACK) $(if $(filter 1 yes true,$(YES)),--yes)

destroy: $(STAMP)
	@$(BIN)/mlops destroy --stack $(STACK)

# Live resources against the program (pulumi preview --refresh --expect-no-changes); needs AWS.
drift: $(STAMP)
	@$(BIN)/mlops stacks drift --stack $(STACK)

# Checkov in its own venv, installed from hash-pinned ci/checkov.lock, on the stack's exported
# Terraform plan; the skips and their reasons are in ci/checkov.yaml (docs/security.md).
$(CHECKOV_STAMP): ci/checkov.lock
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	@echo "installing Checkov into $(CHECKOV_VENV) (log: $(CHECKOV_VENV)/install.log)"
	@$(CHECKOV_VENV)/bin/pip install --require-hashes -r ci/checkov.lock > $(CHECKOV_VENV)/install.log 2>&1 || { tail -20 $(CHECKOV_VENV)/install.log; exit 1; }
	touch $(CHECKOV_STAMP)

checkov: $(STAMP) $(CHECKOV_STAMP)
	@mkdir -p $(CHECKOV_DIR)
	$(BIN)/mlops export terraform-plan --stack $(STACK) --output $(CHECKOV_DIR)/$(STACK).tfplan.json
	$(CHECKOV_VENV)/bin/checkov --config-file ci/checkov.yaml --file $(CHECKOV_DIR)/$(STACK).tfplan.json \
		--output cli --output junitxml --output-file-path console,$(CHECKOV_DIR)/$(STACK).junit.xml

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# docs/policies.md from the rule registry, then the site into site/ (broken links fail it).
# The documented Kubernetes example (docs/kubernetes.md): its manifests in build/k8s-example/manifests.
k8s-example: $(STAMP)
	$(BIN)/python -m tests.k8s_stack build/k8s-example

docs: $(STAMP)
	$(BIN)/mlops policy docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The site on http://127.0.0.1:8000, rebuilt on every change.
docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .cache .sandbox site

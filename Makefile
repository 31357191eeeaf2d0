# Telco360 — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The demo base: 800 key accounts x 24 months finishes in about 3 minutes on 2 cores
# (DEMO_ACCOUNTS=5000: about 11 minutes).
DEMO_ACCOUNTS ?= 800
DEMO_MONTHS ?= 24
PROTOS := $(shell find protos -name '*.proto')
REQS := requirements-dev.txt libs/requirements.txt $(wildcard services/*/requirements.txt)

.PHONY: setup gen demo lint test test-fast compose-smoke constraints bench clean

setup: $(VENV)/.installed $(VENV)/bin/telco360 libs/gen/.stamp

# Virtualenv with every dependency; the .pth file puts the repo, libs/ and the generated
# stubs on the import path (no PYTHONPATH juggling in every command).
$(VENV)/.installed: $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	printf '%s\n' "$(CURDIR)" "$(CURDIR)/libs" "$(CURDIR)/libs/gen" > "$$($(PY) -c 'import sysconfig;print(sysconfig.get_path("purelib"))')/telco360-dev.pth"
	touch $@

# The `telco360` command: pyproject.toml's console script, installed without dependencies
# or build isolation (setuptools comes with requirements-dev.txt), so it takes seconds.
$(VENV)/bin/telco360: pyproject.toml $(VENV)/.installed
	PYTHONWARNINGS=ignore $(PY) -m pip install -q --no-deps --no-build-isolation -e .
	test -x $@ && touch $@

gen: libs/gen/.stamp

libs/gen/.stamp: $(PROTOS) scripts/gen_protos.py $(VENV)/.installed
	$(PY) scripts/gen_protos.py libs/gen
	touch $@

# The main job, end to end on SQLite.
demo: setup
	$(PY) -m telco360_cli demo --accounts $(DEMO_ACCOUNTS) --months $(DEMO_MONTHS)

# The whole test suite, on SQLite and on a real PostgreSQL server (started on loopback from
# Debian's packages by scripts/pg_test_server.sh unless TELCO360_TEST_PG_URL is already set).
# Lint (pycodestyle, pyflakes, import order, bugbear, pyupgrade), formatting and types: any finding fails.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy libs services  # tests, migrations, libs/gen excluded ([tool.mypy]); domain/ strict

test: setup lint
	bash scripts/system_deps.sh
	@if [ -z "$$TELCO360_TEST_PG_URL" ]; then eval "$$(bash scripts/pg_test_server.sh start)"; fi; \
	  $(PY) -m pytest $(PYTEST_ARGS)

# The unit tier only (no server, no database, no subprocess; tiers are set in conftest.py).
test-fast: setup
	$(PY) -m pytest -m unit -q

# Build the images, run the suite under docker compose with a scaled service, check health.
compose-smoke: setup
	bash scripts/compose_smoke.sh

# Pin the service images to the versions .venv resolved (and the tests passed with), so image
# builds never backtrack; run after changing a requirements file.
constraints: setup
	{ sed -n '1,/^# a requirements file/p' docker/constraints.txt; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -e '^-e' -e '^telco360=='; } > docker/constraints.txt.new
	mv docker/constraints.txt.new docker/constraints.txt

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) libs/gen var

# Telco360 — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
REQS := requirements-dev.txt libs/requirements.txt $(wildcard services/*/requirements.txt)

.PHONY: setup gen demo test test-fast compose-smoke bench clean

setup: $(VENV)/.installed libs/gen/.stamp

# Virtualenv with every dependency; the .pth file puts the repo, libs/ and the generated
# stubs on the import path (no PYTHONPATH juggling in every command).
$(VENV)/.installed: $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	printf '%s\n' "$(CURDIR)" "$(CURDIR)/libs" "$(CURDIR)/libs/gen" > "$$($(PY) -c 'import sysconfig;print(sysconfig.get_path("purelib"))')/telco360-dev.pth"
	touch $@

gen: libs/gen/.stamp

libs/gen/.stamp: $(PROTOS) scripts/gen_protos.py $(VENV)/.installed
	$(PY) scripts/gen_protos.py libs/gen
	touch $@

# The main job, end to end on SQLite.
demo: setup
	$(PY) -m telco360_cli demo

# The whole test suite (PostgreSQL tests use TELCO360_TEST_PG_URL when set; .ci/run sets it).
test: setup
	$(PY) -m pytest

# Build the images, run the suite under docker compose with a scaled service, check health.
compose-smoke: setup
	bash scripts/compose_smoke.sh

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) libs/gen var

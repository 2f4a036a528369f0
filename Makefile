# acas-batch: `make run` starts the system on a demo company; `make test` runs lint and every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint typecheck unit bench faults long clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/acas-batch init
	$(BIN)/acas-batch demo generate --if-empty
	$(BIN)/acas-batch schedules forecast --from $$(date +%F) --to $$(date -d '+7 days' +%F)
	@echo "dashboard: http://127.0.0.1:8000 (the first administrator's credentials are printed below and kept in var/admin-credentials.txt)"
	$(BIN)/acas-batch scheduler start --workers 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright with executable_path; no browser download).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium chromium-driver)

test: lint typecheck chromium
	$(BIN)/pytest -n auto --dist loadfile --durations=30 $(PYTEST_ARGS)

# The fault tests alone (real processes, connections cut, a private PostgreSQL server restarted),
# the campaign with as many kills per database as asked: make faults FAULT_KILLS=300 (make test: 6);
# FAULT_SECONDS=N stops striking after N seconds; PYTEST_ARGS="-k 'campaign and sqlite'" picks one database.
FAULT_KILLS ?= 6
FAULT_PAUSE ?= 0.5
FAULT_RESTART_EVERY ?= 5
FAULT_SECONDS ?= 0
faults: $(STAMP)
	FAULT_KILLS=$(FAULT_KILLS) FAULT_PAUSE=$(FAULT_PAUSE) FAULT_RESTART_EVERY=$(FAULT_RESTART_EVERY) FAULT_SECONDS=$(FAULT_SECONDS) \
		$(BIN)/pytest -m faults tests/faults -s $(PYTEST_ARGS)

# The long forms of the acceptance tests that make test runs short: the whole quarter of the
# standard catalogue (make test: its last six weeks).
long: $(STAMP)
	ACAS_SIM_FROM=2026-10-01 $(BIN)/pytest -n auto tests/acceptance/test_simulated_quarter.py $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# The two commands a new machine needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format fuzz bench mail clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

# Style, types, and the layer order (import-linter contracts in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser tests drive Debian's chromium (never a downloaded browser): installed here
# when missing and this runs as root, otherwise the command to run is printed.
CHROMIUM := /usr/bin/chromium

test: lint $(CHROMIUM)
	$(BIN)/pytest -q

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; \
	else \
		echo "The browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2; \
		exit 1; \
	fi

# The API fuzzed from its OpenAPI document (tests/e2e/test_fuzz.py) with more generated
# cases per operation than `make test` sends; on PostgreSQL when TEST_DATABASE_URL is set.
FUZZ_EXAMPLES ?= 100
FUZZ_SEED ?= 20260302

fuzz: $(VENV)/.installed-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q tests/e2e/test_fuzz.py

# Slot search, daily list and booking at 10k and 1M appointments next to their SQL floors,
# booking throughput and search under load through gunicorn,
# on a scratch PostgreSQL database (BENCH_DATABASE_URL; see benchmarks/scheduling.py);
# then a cancellation to its waitlist offer e-mail, with 500 waitlisted pathways
# (benchmarks/waitlist.py); then each report over a year at 1M appointments
# (benchmarks/reports.py).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.scheduling
	$(BIN)/python -m benchmarks.waitlist
	$(BIN)/python -m benchmarks.reports

# A local SMTP server for trying the outbox worker: each message and its .ics are saved
# in instance/mail (flask outbox catch).
mail: $(VENV)/.installed-dev
	$(FLASK) outbox catch

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

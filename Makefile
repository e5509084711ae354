# make up: the whole system on this machine; make test: the test suite against real Kafka, PostgreSQL and Keycloak.
SHELL := /bin/bash
export UV_PROJECT_ENVIRONMENT ?= $(CURDIR)/.local/venv
PY := $(UV_PROJECT_ENVIRONMENT)/bin/python

.PHONY: up down platform python unit test test-reliability bench lint status

python:
	@deploy/local/python.sh

platform: python
	@deploy/local/postgres.sh start
	@deploy/local/kafka.sh start
	@$(PY) -m services.platform topics access
	@deploy/local/keycloak.sh start

up: platform
	@deploy/local/services.sh start

down:
	@deploy/local/services.sh stop
	@deploy/local/keycloak.sh stop
	@deploy/local/kafka.sh stop
	@deploy/local/postgres.sh stop

status:
	@deploy/local/services.sh status; deploy/local/keycloak.sh status; deploy/local/kafka.sh status; deploy/local/postgres.sh status

lint: python
	$(PY) -m ruff check shared services tests deploy
	$(PY) -m ruff format --check shared services tests deploy
	$(PY) -m mypy shared services deploy/local/demo.py
	$(UV_PROJECT_ENVIRONMENT)/bin/lint-imports

# The unit tests alone: no Kafka, no PostgreSQL, no network (a few seconds).
unit: python
	$(PY) -m pytest -q tests/unit

test: platform lint
	deploy/local/promtool.sh
	deploy/local/chromium.sh
	PYTHONFAULTHANDLER=1 $(PY) -m pytest -q -m "not slow" tests/unit tests/integration tests/e2e tests/reliability

# Every fault test (the 60 s Kafka outage and the three-broker cluster too) and a fresh random fuzz.
test-reliability: platform
	PYTHONFAULTHANDLER=1 REHAB_FUZZ_RANDOM=1 $(PY) -m pytest -q tests/reliability

bench: platform
	$(PY) -m tests.perf.bench_kernel
	$(PY) -m tests.perf.bench_registry
	$(PY) -m tests.perf.bench_reporting
	$(PY) -m tests.perf.bench_web
	$(PY) -m tests.perf.bench_national

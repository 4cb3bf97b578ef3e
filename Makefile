# One entry point for the common commands. `make demo` sets everything up and runs the pipeline;
# `make test` runs the test suite (what CI runs). Everything runs from .venv, created by `make setup`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)

# Airflow runs from the repository: its home (metadata DB, logs) under .airflow/, our dags and plugins.
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT := 120

# Demo settings (override on the command line: make demo CUSTOMERS=100000).
CUSTOMERS ?= 10000
SEED ?= 42
AS_OF ?= $(shell date -u +%F)
SAMPLE ?= 2

.PHONY: help setup airflow-init airflow-ui generate check-landing dbt-build preview demo test test-fast lint format bench clean

help:  ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup:  ## create .venv from the pinned requirements (idempotent)
	@bash scripts/setup.sh

airflow-init: setup  ## create Airflow's metadata DB and the pools the DAGs use
	@bash scripts/airflow_init.sh

airflow-ui: airflow-init  ## run Airflow (API server, scheduler, DAG processor) on http://localhost:8080
	@echo "Airflow's generated admin password is in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	@airflow standalone

generate: setup  ## generate the synthetic business into data/landing (CUSTOMERS, SEED, AS_OF)
	@$(BIN)/generate-business --customers $(CUSTOMERS) --seed $(SEED) --end $(AS_OF) --out data/landing

check-landing: setup  ## check data/landing against the data contract
	@$(BIN)/lifecycle check-landing

dbt-build: setup  ## build the warehouse as of AS_OF with dbt
	@cd dbt_project && LIFECYCLE_AS_OF=$(AS_OF) $(BIN)/dbt build

preview: setup  ## build what due_messages needs as of AS_OF, then show what would go out (sends nothing)
	@$(BIN)/lifecycle export >/dev/null  # the ledger as dbt's enrollment state sees it (reads the ledger only)
	@cd dbt_project && LIFECYCLE_AS_OF=$(AS_OF) $(BIN)/dbt build --select +due_messages +held_out_messages +message_exclusions
	@$(BIN)/lifecycle preview --date $(AS_OF) --sample $(SAMPLE)

demo: airflow-init  ## set up, generate a business, run the daily DAG through Airflow against local providers
	@bash scripts/demo.sh $(CUSTOMERS) $(SEED) $(AS_OF)

test: setup  ## run the whole test suite (CI runs this)
	@$(BIN)/pytest

test-fast: setup  ## unit tests only (no dbt, Airflow or servers)
	@$(BIN)/pytest -m "not integration"

lint: setup  ## ruff lint and format check
	@$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup  ## apply ruff formatting and safe fixes
	@$(BIN)/ruff check --fix . && $(BIN)/ruff format .

bench: setup  ## run the benchmarks (minutes; figures go to docs/benchmarks.md by hand)
	@$(BIN)/python bench/run_all.py

clean:  ## remove generated data, the warehouse, Airflow's home and dbt's target (keeps .venv)
	rm -rf data .airflow dbt_project/target dbt_project/logs

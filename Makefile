# Entry points for the lab and its checks. Every target installs what it needs.
# Run `make help` for the list.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup test lab lab-down status load drill dashboards bench check debs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv with the services, test and lab dependencies

$(STAMP): requirements-dev.txt agent/pyproject.toml receiver/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e ./agent -e ./receiver
	touch $(STAMP)

debs: ## Install Debian's prometheus and prometheus-alertmanager when missing (needs root)
	@bash scripts/install-debs.sh

test: setup debs ## Run the whole test suite (unit, config checks, native end to end)
	$(PY) -m pytest

lab: setup debs ## Start the native lab (no Docker) on the standard ports
	$(PY) -m lab up

lab-down: setup ## Stop what `make lab` started
	$(PY) -m lab down

status: setup ## Show the health of each lab component
	$(PY) -m lab status

load: setup ## Run Locust headless against the lab
	$(PY) -m lab load

drill: setup ## Run every alert drill against the running lab
	$(PY) -m lab drill all

dashboards: setup ## Regenerate grafana/dashboards/*.json from grafana/generate_dashboards.py
	$(PY) grafana/generate_dashboards.py

bench: setup debs ## Measure start-up time, memory under load and alert latency
	$(PY) -m lab.bench

clean: ## Remove the virtual environment and the native run folder
	rm -rf $(VENV) run

# Two commands for a fresh machine: `make run` (gateway on :8080) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run dev test lint fuzz bench demo command
# A bare `make`: the venv and the `deepintshield` command.
.DEFAULT_GOAL := command

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

# The `deepintshield` command (cli/): a launcher in the venv's bin that runs `python -m cli` from this
# checkout, wherever it is called from. No build step or editable install; written on every make, so it
# always names the checkout make last ran in (a venv shared by several checkouts included).
command: $(VENV)/.runtime
	@printf '#!/bin/sh\n# The DeepintShield command line (cli/), written by make.\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s" -m cli "$$@"\n' \
		'$(CURDIR)' '$(abspath $(PY))' > $(VENV)/bin/deepintshield.new
	@chmod +x $(VENV)/bin/deepintshield.new && mv $(VENV)/bin/deepintshield.new $(VENV)/bin/deepintshield

# The gateway and one worker for the batches it runs itself; Ctrl-C stops both.
run: $(VENV)/.runtime command
	$(PY) -m worker & trap 'kill $$! 2>/dev/null' EXIT; $(VENV)/bin/gunicorn wsgi:app

dev: $(VENV)/.runtime command
	$(VENV)/bin/flask run

lint: $(VENV)/.test command
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q
	$(MAKE) fuzz

# Schemathesis against /openapi.json with the provider fakes behind the app: deterministic, a bounded
# number of cases (tests/test_openapi_fuzz.py), and cut off by the clock should anything hang.
fuzz: $(VENV)/.test
	timeout 300 $(PY) -m pytest -q -m fuzz tests/test_openapi_fuzz.py

bench: $(VENV)/.test
	bash bench/run_all.sh

demo: $(VENV)/.test command
	$(PY) scripts/demo.py

# Two commands for a fresh machine: `make run` (gateway on :8080) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run dev test lint bench demo

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

run: $(VENV)/.runtime
	$(VENV)/bin/gunicorn wsgi:app

dev: $(VENV)/.runtime
	$(VENV)/bin/flask run

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

bench: $(VENV)/.test
	bash bench/run_all.sh

demo: $(VENV)/.test
	$(PY) scripts/demo.py

# Nudge — the two commands are `make run` and `make test`; everything else is their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
NUDGE := $(VENV)/bin/nudge
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)

# Python 3.11+ for the service; Python 3.10 for Rasa 3.6 (it supports no newer Python).
PYTHON311 := $(shell for p in python3.13 python3.12 python3.11 $(PYENV_ROOT)/versions/3.1[1-3]*/bin/python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { $$p -c 'import sys; print(sys.executable)'; break; }; done)
PYTHON310 := $(shell for p in python3.10 $(PYENV_ROOT)/versions/3.10*/bin/python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null && { $$p -c 'import sys; print(sys.executable)'; break; }; done)

.PHONY: help run test lint typecheck pytest venv lock rasa-venv train browser nlu-report \
	bench-events bench-nlu bench-touches bench-webhooks bench-replies bench-reports bench-faults bench-compare clean

help:
	@echo "make run   — set everything up and start the sandbox service on http://127.0.0.1:8080"
	@echo "make test  — ruff, mypy and the whole pytest suite"

# Every dependency comes from the hashed lock; the project itself is installed without any.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON311)" || { echo "Python 3.11+ not found: install python3.11 (apt-get install python3.11 python3.11-venv, or pyenv install 3.11)"; exit 1; }
	$(PYTHON311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	@$(VENV)/bin/pip check >/dev/null || { $(VENV)/bin/pip check; echo "requirements.lock does not satisfy pyproject.toml: run make lock"; exit 1; }
	touch $@

venv: $(VENV)/.installed

# Refresh requirements.lock from pyproject.toml (LOCK_ARGS=--upgrade moves every pin to the newest allowed).
lock:
	@test -x $(VENV)/bin/pip-compile || $(MAKE) venv
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --extra dev \
		--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements.lock pyproject.toml

$(RASA_VENV)/.installed: nlu/rasa-constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs exactly 3.10): install it with 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv'"; exit 1; }
	$(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q --upgrade pip setuptools wheel
	$(RASA_VENV)/bin/pip install -q rasa==3.6.21 -c nlu/rasa-constraints.txt
	touch $@

rasa-venv: $(RASA_VENV)/.installed

train: venv rasa-venv
	$(NUDGE) train

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		echo "installing Debian chromium and chromium-driver for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }

run: venv rasa-venv train
	NUDGE_SANDBOX=$${NUDGE_SANDBOX:-1} $(NUDGE) run --host 127.0.0.1 --port 8080

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv rasa-venv train browser
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test: lint typecheck pytest

nlu-report: venv rasa-venv train
	$(PY) -m nlu.report

# `make bench-X` runs bench/X.py; the ones that classify text need the trained Rasa model.
BENCHES := events nlu touches webhooks faults replies reports
bench-nlu bench-replies: rasa-venv train
$(addprefix bench-,$(BENCHES)): bench-%: venv
	$(PY) -m bench.$*

# One benchmark on an earlier commit and on this tree, alternately in one run.
BENCH ?= webhooks
BASE ?= HEAD~1
bench-compare: venv
	$(PY) -m bench.compare $(BENCH) $(BASE)

clean:
	rm -rf $(VENV) $(RASA_VENV) models var .mypy_cache .ruff_cache

# Two commands from a fresh clone: `make run` (the whole platform on a laptop) and `make test`.
# Everything installs into .venv; nothing is installed system-wide.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.11 is what the project pins (Django 5.2); fall back to whatever python3 there is.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.requirements-installed
PYTEST_ARGS ?=

.PHONY: help run test lint venv

help:
	@echo "make run   start web, worker (and an embedded Redis unless REDIS_URL is set) on http://127.0.0.1:8000/"
	@echo "make test  run the whole test suite (extra pytest arguments: PYTEST_ARGS='-k healthz')"
	@echo "make lint  ruff check, ruff format --check and the apps' layers (lint-imports)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is older than requirements.txt whenever a pin changed: only then does pip run again.
$(STAMP): requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

run: export DJANGO_SETTINGS_MODULE = runbooks_site.settings.dev
run: $(STAMP)
	$(VENV)/bin/python manage.py migrate --noinput
	$(VENV)/bin/python manage.py seed_demo
	@bash scripts/ensure-runner-image.sh
	@echo
	@echo "  Runbooks is starting on  http://127.0.0.1:8000/"
	@echo "  Sign in as               admin / $$(cat "$${RUNBOOKS_VAR_DIR:-var}/demo_admin_password")"
	@echo "  On-call demo user        oncall / $$(cat "$${RUNBOOKS_VAR_DIR:-var}/demo_oncall_password")"
	@if [ -n "$$REDIS_URL" ]; then echo "  Redis                    REDIS_URL from the environment"; \
	else echo "  Redis                    embedded, redis://127.0.0.1:6380/0"; fi
	@echo "  Stop with Ctrl-C."
	@echo
	@# honcho runs every Procfile process and stops them all on Ctrl-C or when one of them exits;
	@# scripts/foreground.py makes it the terminal's foreground job, so Ctrl-C ends make with 0.
	@if [ -n "$$REDIS_URL" ]; then processes="web worker"; else processes=""; fi; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" exec $(VENV)/bin/python scripts/foreground.py \
		$(VENV)/bin/honcho start -f Procfile $$processes

# No pipe after pytest: its exit status (5 = "no tests ran" included) is make's exit status.
test: $(STAMP)
	DJANGO_SETTINGS_MODULE=runbooks_site.settings.test $(VENV)/bin/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The verbs a person types. Everything installs what it needs on first use (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
# The CPU build of torch; letting pip choose a version pulls a multi-GB CUDA build.
TORCH_VERSION ?= 2.13.0
STAMP   := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed

.PHONY: help run test test-python test-web lint format proto bench venv web-deps chromium clean

help: ## list the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==$(TORCH_VERSION)"
	$(PIP) install -q -e '.[worker,api,dev]' "torch==$(TORCH_VERSION)"
	touch $@

venv: $(STAMP) ## create .venv with the worker, api and dev extras

proto: $(STAMP) ## regenerate the Python stubs from proto/genproto/generator.proto
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -Iproto --python_out=proto --grpc_python_out=proto \
	  --mypy_out=proto --mypy_grpc_out=proto proto/genproto/generator.proto

run: $(STAMP) ## start worker + api (+ web) on this machine and print the URL
	$(PY) scripts/run_stack.py

lint: $(STAMP) ## ruff, ruff format --check, mypy (and tsc + eslint on web/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: test-python ## install what is missing and run every test

test-python: lint ## pytest: unit tests and end-to-end tests with real processes
	$(PY) -m pytest

clean: ## remove the environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache models/.cache

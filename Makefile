# Two commands do all the set-up: `make run` and `make test`.
# Both create .venv if it is missing and (re)install the project when pyproject.toml changes.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

ifeq (, $(shell command -v $(PYTHON) 2>/dev/null))
PYTHON := python3
endif

.PHONY: run test soak bench index clean help

help:
	@echo "make run    start the Telegram bot (TELEGRAM_BOT_TOKEN set) or the terminal chat"
	@echo "make test   set up .venv and run the whole test suite"
	@echo "make soak   run the 20,000-question soak test"
	@echo "make bench  run the speed benchmark (qabot bench)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py retrieval/kernels.pyx | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ] || grep -qs '^TELEGRAM_BOT_TOKEN=..*' .env; then \
		$(BIN)/qabot run; \
	else \
		echo "TELEGRAM_BOT_TOKEN is not set: starting the terminal chat (see README, 'Run it on Telegram')."; \
		$(BIN)/qabot chat; \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest -m "not soak" $(PYTEST_ARGS)

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak -s $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/qabot bench $(BENCH_ARGS)

index: $(STAMP)
	$(BIN)/qabot index

clean:
	rm -rf $(VENV) .cache *.egg-info
